"""The "Data checks" section (after the protocol, before the datasets' sections) and the severe
findings for "At a glance", from the ``data_checks`` table (``study.data_checks``) alone.

Every name from the data (datasets, features, classes inside the findings' text) and every error
text goes through :func:`study.report.format.escape`.
"""

from __future__ import annotations

import pandas as pd

from study.data_checks import (
    DUPLICATE_SEVERE,
    DUPLICATE_WARNING,
    LEAK_SKILL,
    MINORITY_WARNING,
    NEAR_CONSTANT_SHARE,
    SHIFT_ALPHA,
    SHIFT_SEVERE_EFFECT,
)
from study.report.format import anchor, escape, fmt, markdown_table

__all__ = ["data_checks_section", "severe_findings", "TITLE", "CHECK_LABELS", "GLANCE_LINES"]

TITLE = "Data checks"

CHECK_LABELS = {
    "duplicates_within_train": "duplicated rows in the training part",
    "duplicates_across_split": "hold-out rows also in the training part",
    "single_feature_score": "one feature predicts the target",
    "constant_feature": "constant feature",
    "class_balance": "class balance",
    "distribution_shift": "training part vs hold-out shift",
}
"""Each check's name in the report."""

GLANCE_LINES = 10
"""Severe findings listed in "At a glance" (the others are counted there and listed in the section)."""

_FEATURES_SHOWN = 6
_WITH_TARGET = "rows (features and target)"


def _checks(tables: dict) -> pd.DataFrame:
    table = tables.get("data_checks")
    return table if table is not None else pd.DataFrame(columns=["dataset", "check", "severity", "feature",
                                                                  "measure", "value", "text"])


def _failures(tables: dict) -> pd.DataFrame:
    failures = tables.get("failures")
    if failures is None or failures.empty:
        return pd.DataFrame(columns=["dataset", "error"])
    return failures[failures["work"] == "data_checks"]


def _has_feature(rows: pd.DataFrame) -> pd.Series:
    return rows["feature"].notna() & (rows["feature"].astype(str) != "")


def _label(check: str) -> str:
    return CHECK_LABELS.get(check, escape(check))


def _summary_row(dataset: str, rows: pd.DataFrame) -> list:
    """One dataset's line of the summary table."""
    def one(check, measure=None):
        block = rows[(rows["check"] == check) & ((rows["measure"] == measure) if measure else True)]
        return block

    best = one("single_feature_score").sort_values("value", ascending=False)
    best_text = "n/a"
    if len(best) and pd.notna(best["value"].iloc[0]):
        top = best.iloc[0]
        best_text = f"{fmt(top['value'])} ({escape(top['feature'])}, {escape(top['measure'])})"
        if (best["severity"] == "severe").any():
            best_text = f"**possible leak**: {best_text}"
    across, within = one("duplicates_across_split", _WITH_TARGET), one("duplicates_within_train", _WITH_TARGET)
    constant = one("constant_feature")
    named = constant[_has_feature(constant)]
    n_constant, n_near = int((named["value"] >= 1.0).sum()), int((named["value"] < 1.0).sum())
    balance = one("class_balance")
    shift = one("distribution_shift")
    n_shifted = int(_has_feature(shift).sum())
    return [escape(dataset), str(int((rows["severity"] == "severe").sum())),
            str(int((rows["severity"] == "warning").sum())), best_text,
            f"{int(across['value'].iloc[0])}" if len(across) else "n/a",
            f"{int(within['value'].iloc[0])}" if len(within) else "n/a",
            f"{n_constant} / {n_near}",
            f"{balance['value'].iloc[0]:.1%}" if len(balance) else "n/a (regression)",
            str(n_shifted) if len(shift) else "n/a"]


def _features_text(block: pd.DataFrame) -> str:
    names = [escape(name) for name in block.loc[_has_feature(block), "feature"]]
    if not names:
        return "(dataset)"
    more = len(names) - _FEATURES_SHOWN
    return ", ".join(names[:_FEATURES_SHOWN]) + (f" and {more} more" if more > 0 else "")


def _finding_rows(checks: pd.DataFrame) -> list:
    """Warnings and severe findings, one table row per dataset x check x severity (several
    features in one row, with the first one's evidence)."""
    flagged = checks[checks["severity"].isin(["severe", "warning"])]
    rows = []
    for (dataset, check, severity), block in flagged.groupby(["dataset", "check", "severity"], sort=False):
        evidence = escape(block["text"].iloc[0])
        if len(block) > 1:
            evidence += f" (the first of {len(block)}; all in data_checks.csv)"
        rows.append([escape(dataset), _label(check), f"**{severity}**" if severity == "severe" else severity,
                     _features_text(block), evidence])
    order = {"severe": 0, "warning": 1}
    return sorted(rows, key=lambda r: order.get(r[2].strip("*"), 2))


def data_checks_section(tables: dict) -> str:
    """The "Data checks" section: per dataset a summary line, then every warning and severe
    finding, and the datasets whose checks failed.

    Parameters
    ----------
    tables : dict of str to pandas.DataFrame
        The study's tables (``data_checks`` and ``failures`` are read).

    Returns
    -------
    str
        Markdown; "" when the study has neither data checks nor a failed one.
    """
    checks, failed = _checks(tables), _failures(tables)
    if checks.empty and failed.empty:
        return ""
    parts = [f"## {TITLE}\n\nChecks of the data itself, before any model is blamed: on the training part "
             "(which alone decides: the one-feature models are fitted and scored on the shared folds), compared "
             "with the hold-out test split (never fitted on). Duplicated rows: features and target equal, a warning "
             f"from {DUPLICATE_WARNING:.0%} of the rows, severe from {DUPLICATE_SEVERE:.0%} (copies across the split "
             "make the hold-out score optimistic, copies within the training part the CV score). One feature: a "
             "depth-6 decision tree on each feature alone, scored by the primary metric; a possible leak when it "
             f"covers {LEAK_SKILL:.0%} of the way from chance to perfect. Constant: one value in every training row "
             f"(near-constant: in {NEAR_CONSTANT_SHARE:.0%}). Class balance: a warning when the smallest class has "
             f"less than {MINORITY_WARNING:.0%} of its balanced share. Shift: per feature, Kolmogorov-Smirnov "
             f"(numbers) or chi-square (categories), Holm-corrected at {SHIFT_ALPHA:g} over the features; severe "
             f"from an effect of {SHIFT_SEVERE_EFFECT:g} (D or Cramér's V). Every finding, with its evidence, is in "
             "`data_checks.csv`.\n"]
    if not checks.empty:
        summary = [_summary_row(dataset, rows) for dataset, rows in checks.groupby("dataset", sort=False)]
        parts.append(markdown_table(["dataset", "severe", "warnings", "best one-feature CV score",
                                     "hold-out rows in training part", "duplicated training rows",
                                     "constant / near-constant features", "smallest class (train share)",
                                     "shifted features"], summary) + "\n")
        findings = _finding_rows(checks)
        parts.append(markdown_table(["dataset", "check", "severity", "features", "evidence"], findings) + "\n"
                     if findings else "No warning and no severe finding.\n")
    for row in failed.itertuples():
        parts.append(f"The data checks of {escape(row.dataset)} failed: {escape(row.error)}\n")
    return "\n".join(parts)


def severe_findings(tables: dict) -> str:
    """The severe findings for "At a glance": one line each (at most :data:`GLANCE_LINES`, then
    how many more), with a link to the section; "" when there is none.

    Parameters
    ----------
    tables : dict of str to pandas.DataFrame

    Returns
    -------
    str
        Markdown.
    """
    checks = _checks(tables)
    severe = checks[checks["severity"] == "severe"]
    if severe.empty:
        return ""
    lines = [f"- {escape(r.dataset)}, {_label(r.check)}: {escape(r.text)}"
             for r in severe.iloc[:GLANCE_LINES].itertuples()]
    if len(severe) > GLANCE_LINES:
        lines.append(f"- and {len(severe) - GLANCE_LINES} more")
    return (f"**Severe data findings** (details: [{TITLE}](#{anchor(TITLE)})): check these before reading the "
            "scores.\n\n" + "\n".join(lines) + "\n")
