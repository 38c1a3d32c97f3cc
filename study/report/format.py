"""Shared formatting of the report: numbers, p-values, Markdown tables, headings, labels.

Every section formats through these helpers, so a number or a table looks the same everywhere.
Every string a user controls goes into the Markdown through :func:`escape` (headings, prose, list
items, figure alt texts, table cells); file names come from ``study.names``.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd

from backends.routing import unroute
from study.text import plain_line

__all__ = ["fmt", "fmt_signed", "format_p", "pm", "markdown_table", "escape", "cell", "mean_std", "anchor",
           "metric_label",
           "params_text", "axis_floor", "empty_section", "chance_levels", "METRIC_LABELS"]

_ESCAPING_BACKSLASH = re.compile(r"\\(?=[!-/:-@\[-`{-~]|$)")  # Markdown's escapes; at the end, a line break
_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")  # an HTML tag, comment or autolink would open here
_ENTITY = re.compile(r"&(?=#|[A-Za-z0-9]+;)")  # an entity (&lt; &#60;) would be decoded
_INLINE = re.compile(r"[`*\[\]~]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")  # code, emphasis, links and images
_LINE_START = re.compile(r"^(?:#{1,6}(?=\s|$)|>|[-+=](?=[\s=-]|$)|\d{1,9}(?=[.)](?:\s|$)))")  # a heading, quote,
# list, rule or underline would start here (as the first text of a line or of a list item)

METRIC_LABELS = {
    "accuracy": "accuracy (fraction correct)",
    "balanced_accuracy": "balanced accuracy (mean per-class recall)",
    "r2": "R^2",
    "neg_root_mean_squared_error": "-RMSE (target units)",
}


def fmt(value, digits: int = 3) -> str:
    """A number with ``digits`` decimals; "n/a" for a missing value."""
    return "n/a" if value is None or pd.isna(value) else f"{value:.{digits}f}"


def fmt_signed(value, digits: int = 3) -> str:
    """A difference with its sign (``+0.012``); "n/a" for a missing value."""
    return "n/a" if value is None or pd.isna(value) else f"{value:+.{digits}f}"


def format_p(p) -> str:
    """A p-value: 3 decimals, "< 0.001" below that, "n/a" when missing."""
    return "n/a" if p is None or pd.isna(p) else ("< 0.001" if p < 0.001 else f"{p:.3f}")


def pm(mean, std) -> str:
    """"mean ± std", or "mean (1 fold)" when there is no spread to report."""
    return f"{fmt(mean)} (1 fold)" if pd.isna(std) and pd.notna(mean) else f"{fmt(mean)} ± {fmt(std)}"


def escape(text) -> str:
    """Any text a user controls (a dataset, model, column, file or class name, a note, an error
    message, a parameter value), safe wherever it goes into the report's Markdown: prose, headings,
    list items, figure alt texts and table cells. The one escaping helper of the report.

    The text becomes one line without terminal escape sequences or control characters
    (``study.text.plain_line``); a backslash is escaped where it would escape the next character
    (or break the line), so ``C:\\data`` stays readable; the characters that would start code,
    emphasis, a link or an image (`` ` * _ [ ] ~ ``; ``_`` only outside a word) and, at the
    start, a heading, quote, list or rule (``# x``, ``>``, ``- x``, ``+ x``, ``---``, ``1. x``) are
    backslash-escaped (``-RMSE`` and ``0.1`` stay as they are); ``&`` where it
    would start an entity; ``<`` is ``&lt;`` where it would open an HTML tag, comment or autolink
    (``<class 'int'>`` would vanish, ``<script>`` would run); pipes are ``\\|`` (a table cell).
    Rendered, the text reads as it was: no tag, link or image can come out of it.

    Parameters
    ----------
    text : object
        Taken as ``str(text)``.

    Returns
    -------
    str
        Markdown that renders as ``text`` (on one line).

    Examples
    --------
    >>> escape("![k](../../secret.txt) <script>alert(1)</script> a|b")
    '!\\\\[k\\\\](../../secret.txt) &lt;script>alert(1)&lt;/script> a\\\\|b'
    """
    text = _ESCAPING_BACKSLASH.sub(r"\\\\", plain_line(text))
    text = _LINE_START.sub(lambda start: start[0] + "\\" if start[0].isdigit() else "\\" + start[0], text)
    text = _INLINE.sub(r"\\\g<0>", _ENTITY.sub(r"\\&", text))
    return _TAG_START.sub("&lt;", text).replace("|", "\\|")


cell = escape
"""The name :func:`escape` has in the report's table code (the same function)."""


def markdown_table(header: list, rows: list) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def anchor(heading: str) -> str:
    """GitHub's anchor of a Markdown heading: lower case, punctuation dropped, spaces to '-'."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def metric_label(metric: str) -> str:
    """An axis label for a metric, with its units where it has them."""
    return METRIC_LABELS.get(metric, metric)


def params_text(best_params: str) -> str:
    """GridSearchCV's choice (JSON of routed names) as ``C=1.0, l2=0.001``."""
    if not best_params:
        return ""
    return ", ".join(f"{k}={v}" for k, v in unroute(json.loads(best_params)).items())


def axis_floor(values) -> float:
    """Lower y limit for score axes: a little below the lowest finite value, on a 0.05 grid."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if not len(values):
        return 0.0
    low = values.min()
    return max(0.0, np.floor((low - 0.02) * 20) / 20) if low > 0 else low - 0.05


def empty_section(title: str, what: str) -> str:
    """A section that says there was nothing of its kind in this study."""
    return f"## {title}\n\nNo {what} in this study.\n"


def mean_std(frame: pd.DataFrame, by: list) -> pd.DataFrame:
    """Mean, std and count of ``score`` per group, for tables and figures over folds."""
    return frame.groupby(by, sort=False)["score"].agg(["mean", "std", "count"]).reset_index()


def chance_levels(tables: dict) -> dict:
    """The chance baseline's mean CV score on the primary metric, by dataset, from the verdict
    table's ``chance_mean`` (``study.statistics.verdicts``); ``{}`` without verdicts."""
    verdicts = tables.get("verdicts")
    if verdicts is None or verdicts.empty or "chance_mean" not in verdicts:
        return {}
    return verdicts.dropna(subset=["chance_mean"]).groupby("dataset", sort=False)["chance_mean"].first().to_dict()
