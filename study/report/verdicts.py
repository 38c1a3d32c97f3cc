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
             fmt(r.gap_mean), fmt(r.gap_se), fmt(r.gap_t, 1), fmt(r.best_validation), fmt(r.lc_last_gain),
             r.reason] for r in verdicts.itertuples()]
    header = ["dataset", "model", "verdict", "train", "CV", "gap", "se(gap)", "t", "best CV", "LC last gain",
              "rule"]
    return f"## {title}\n\n{VERDICT_RULE}\n" + markdown_table(header, rows) + "\n"


def failures_section(tables: dict, fig_dir: Path) -> str:
    """The "Failures" section: every unit or diagnostic that failed, with its reason ("" if none)."""
    failures = tables.get("failures")
    if failures is None or failures.empty:
        return ""
    return "## Failures\n\nEach failed work item was recorded and the study went on.\n\n" + "\n".join(
        f"- {r.work} of {r.model} on {r.dataset}: {cell(r.error)}" for r in failures.itertuples()) + "\n"
