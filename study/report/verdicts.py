"""Sections of the fit verdicts and of every failed work item."""

from __future__ import annotations

from pathlib import Path

from study.report.format import cell, empty_section, fmt, markdown_table
from study.statistics.verdicts import VERDICT_RULE

__all__ = ["verdicts_section", "failures_section"]


def verdicts_section(tables: dict, fig_dir: Path) -> str:
    """The "Fit verdicts" section: the rule, then one row per dataset x model with its evidence."""
    title = "Fit verdicts"
    verdicts = tables.get("verdicts")
    if verdicts is None or verdicts.empty:
        return empty_section(title, "scored units")
    rows = [[r.dataset, r.model, f"**{r.verdict}**", fmt(r.train_mean), fmt(r.validation_mean),
             f"{fmt(r.gap_mean)} ({fmt(r.gap_low)} to {fmt(r.gap_high)})",
             "best" if r.best_model == r.model else f"{fmt(r.shortfall_mean)} ({fmt(r.shortfall_low)} to "
                                                     f"{fmt(r.shortfall_high)})",
             fmt(r.lc_last_gain), cell(r.reason), cell(r.remedy)] for r in verdicts.itertuples()]
    header = ["dataset", "model", "verdict", "train", "CV", "gap (95% CI)", "shortfall to the best (95% CI)",
              "LC last gain", "rule", "remedy"]
    return f"## {title}\n\n{VERDICT_RULE}\n" + markdown_table(header, rows) + "\n"


def failures_section(tables: dict, fig_dir: Path) -> str:
    """The "Failures" section: every unit or diagnostic that failed, with its reason ("" if none)."""
    failures = tables.get("failures")
    if failures is None or failures.empty:
        return ""
    return "## Failures\n\nEach failed work item was recorded and the study went on.\n\n" + "\n".join(
        f"- {r.work} of {r.model} on {r.dataset}: {cell(r.error)}" for r in failures.itertuples()) + "\n"
