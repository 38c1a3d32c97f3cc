"""A study's result displayed in a notebook (``StudyResult._repr_html_``): per dataset the
side-by-side table and the gap figure, the same table and figure as the report's."""

from __future__ import annotations

import base64
import io

import matplotlib.pyplot as plt

from study.report.html import markdown_html, render_template
from study.report.overview import gaps_figure, summary_table
from study.results import primary_metric, summarize

__all__ = ["result_html"]


def _png(fig) -> str:
    """A matplotlib figure as a base64 PNG ``data:`` URI (the figure is closed)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def result_html(result) -> str:
    """HTML of a study's result for Jupyter.

    Parameters
    ----------
    result : study.orchestrator.StudyResult

    Returns
    -------
    str
        An HTML fragment: per dataset its side-by-side table (model, framework, best params,
        train, CV mean ± std, hold-out test, gaps, fit time, on the primary metric) and its gap
        figure (a base64 PNG; none when no unit of the dataset succeeded).
    """
    results = result.results
    metric = primary_metric(results) if (results["status"] == "ok").any() else None
    summary = summarize(results, metric) if metric else results.drop_duplicates(["dataset", "model"])
    datasets = []
    for dataset in summary["dataset"].unique():
        block = summary[summary["dataset"] == dataset]
        ok = block[block["status"] == "ok"]
        with plt.rc_context({"text.parse_math": False}):  # a "$" in a name is text, as in the report's figures
            figure = _png(gaps_figure.__wrapped__(ok, dataset, metric)) if len(ok) else None
        datasets.append(dict(name=dataset, table=markdown_html(summary_table(block)), figure=figure))
    return render_template("notebook.html.j2", metric=metric, datasets=datasets, n_failed=len(result.failed))
