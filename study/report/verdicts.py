"""Sections of the fit verdicts and of every failed work item."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from study.report.format import empty_section, escape, fmt, markdown_table
from study.statistics.verdicts import VERDICT_RULE

__all__ = ["verdicts_section", "failures_section"]


def _ci(mean, low, high) -> str:
    return "n/a" if pd.isna(mean) else f"{fmt(mean)} ({fmt(low)} to {fmt(high)})"


def verdicts_section(tables: dict, fig_dir: Path) -> str:
    """The "Fit verdicts" section: the rule, then one row per dataset x model with its evidence
    (the chance baseline has no row: it is the reference of the "vs chance" column)."""
    title = "Fit verdicts"
    verdicts = tables.get("verdicts")
    if verdicts is None or verdicts.empty:
        return empty_section(title, "scored units")
    rows = [[escape(r.dataset), escape(r.model), f"**{escape(r.verdict)}**", fmt(r.train_mean), fmt(r.validation_mean),
             _ci(r.chance_diff_mean, r.chance_diff_low, r.chance_diff_high), _ci(r.gap_mean, r.gap_low, r.gap_high),
             "best" if r.best_model == r.model else _ci(r.shortfall_mean, r.shortfall_low, r.shortfall_high),
             _ci(r.lc_last_gain, r.lc_gain_low, r.lc_gain_high), escape(r.reason), escape(r.remedy)]
            for r in verdicts.itertuples()]
    header = ["dataset", "model", "verdict", "train", "CV", "vs chance (95% CI)", "gap (95% CI)",
              "shortfall to the best (95% CI)", "LC last gain (95% CI)", "rule", "remedy and its evidence"]
    return f"## {title}\n\n{VERDICT_RULE}\n" + markdown_table(header, rows) + "\n"


def failures_section(tables: dict, fig_dir: Path) -> str:
    """The "Failures" section: every unit or diagnostic that failed, with its reason ("" if none)."""
    failures = tables.get("failures")
    if failures is None or failures.empty:
        return ""
    return "## Failures\n\nEach failed work item was recorded and the study went on.\n\n" + "\n".join(
        f"- {escape(r.work)}{f' of {escape(r.model)}' if r.model else ''} on {escape(r.dataset)}: {escape(r.error)}"
        for r in failures.itertuples()) + "\n"
