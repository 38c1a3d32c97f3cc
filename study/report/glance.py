"""The "At a glance" section, first in the report: per dataset one row per model (CV score with its
interval, hold-out score, verdict, what to do), the chance line, and the answer in one sentence."""

from __future__ import annotations

import pandas as pd

from study.report.data_checks import severe_findings
from study.report.format import anchor, escape, fmt, markdown_table
from study.results import BASELINE
from study.statistics.evidence import interval

__all__ = ["glance_section", "answer"]

TITLE = "At a glance"


def _cv_intervals(results: pd.DataFrame, metric: str) -> dict:
    """(dataset, model) -> the CV mean with its corrected 95% interval (``evidence.interval``)."""
    ok = results[(results["status"] == "ok") & (results["metric"] == metric) & (results["split"] == "validation")]
    return {key: interval(block["score"].to_numpy(dtype=float), block["n_train"].mean(), block["n_test"].mean())
            for key, block in ok.groupby(["dataset", "model"], sort=False)}


def _holdout(results: pd.DataFrame, metric: str) -> dict:
    test = results[(results["status"] == "ok") & (results["metric"] == metric) & (results["split"] == "test")]
    return test.set_index(["dataset", "model"])["score"].to_dict()


def _span(values) -> str:
    low, high = min(values), max(values)
    return fmt(low, 2) if f"{low:.2f}" == f"{high:.2f}" else f"{low:.2f}-{high:.2f}"


def answer(dataset: str, verdicts: pd.DataFrame, chance: float | None, holdout: dict) -> str:
    """The one-sentence answer for a dataset from its verdict rows (``study.statistics.verdicts``).

    Parameters
    ----------
    dataset : str
    verdicts : pandas.DataFrame
        The dataset's rows of the verdict table (the baseline has none).
    chance : float or None
        The chance baseline's mean CV score (None without one).
    holdout : dict of (str, str) to float
        Hold-out scores by (dataset, model).

    Returns
    -------
    str
        Markdown (names escaped with ``escape``), without the dataset's name.
    """
    chance_text = "" if chance is None else f"chance {chance:.2f}"
    if verdicts.empty:
        return "no model was scored."
    by_verdict = {v: block for v, block in verdicts.groupby("verdict", sort=False)}
    n = len(verdicts)
    at_chance = by_verdict.get("no better than chance", verdicts.iloc[:0])
    if len(at_chance) == n:
        return (f"no model beats chance (CV {_span(verdicts['validation_mean'])}"
                f"{', ' + chance_text if chance_text else ''}): these "
                "features carry no signal the models can find; check the target and the features before tuning.")
    best = verdicts["best_model"].iloc[0]
    best_row = verdicts.set_index("model").loc[best]
    parts = [f"best **{escape(best)}** (CV {best_row.validation_mean:.2f}, hold-out "
             f"{fmt(holdout.get((dataset, best)), 2)}{', ' + chance_text if chance_text else ''})"]
    for kind in ("overfitting", "underfitting", "not converged", "no better than chance", "good fit",
                 "not enough evidence"):
        block = by_verdict.get(kind)
        if block is None:
            continue
        who = "every model" if len(block) == n else ", ".join(escape(m) for m in block["model"])
        detail = (f" (train {_span(block['train_mean'])} vs CV {_span(block['validation_mean'])})"
                  if kind == "overfitting" else "")
        parts.append(f"{kind}: {who}{detail}")
    fixes = [f"{escape(r.model)}: {escape(r.advice)}" for r in verdicts.itertuples()
             if r.advice.startswith("regularize more")]
    return "; ".join(parts + fixes) + "."


def _cv_text(cv, metric: str) -> str:
    """The CV mean and its interval, the interval cut at the metric's best value (1, or 0 for a
    ``neg_`` error)."""
    if cv is None:
        return "n/a"
    top = 0.0 if metric.startswith("neg_") else 1.0
    return f"{fmt(cv.mean)} ({fmt(min(cv.low, top))} to {fmt(min(cv.high, top))})"


def _rows(dataset: str, summary: pd.DataFrame, verdicts: pd.DataFrame, intervals: dict, holdout: dict,
          metric: str) -> list:
    rows = []
    by_model = verdicts.set_index("model")
    for model in summary["model"]:
        if model == BASELINE or model not in by_model.index:
            continue
        v, cv = by_model.loc[model], intervals.get((dataset, model))
        label = f"**{escape(model)}** (best)" if v.best_model == model else escape(model)
        rows.append([label, _cv_text(cv, metric),
                     fmt(holdout.get((dataset, model))), f"**{v.verdict}**", escape(v.advice)])
    return rows


def glance_section(results: pd.DataFrame, tables: dict, metric: str | None) -> str:
    """The "At a glance" section: per dataset a short table and its answer, with links into the
    dataset's section and the fit verdicts.

    Parameters
    ----------
    results : pandas.DataFrame
        The tidy results table.
    tables : dict of str to pandas.DataFrame
        The study's other tables (``verdicts`` is read; ``data_checks``: its severe findings, one
        line each, also when no model was scored).
    metric : str or None
        The primary metric; None when no unit succeeded (then the section says so).

    Returns
    -------
    str
        Markdown.
    """
    verdicts = tables.get("verdicts")
    if metric is None or verdicts is None or verdicts.empty:
        return "\n".join([f"## {TITLE}\n\nNo model was scored: see the failures at the end of this report.\n",
                          severe_findings(tables)]).rstrip("\n") + "\n"
    intervals, holdout = _cv_intervals(results, metric), _holdout(results, metric)
    summary = results.drop_duplicates(["dataset", "model"])
    parts = [f"## {TITLE}\n\nCV: mean {escape(metric)} over the shared folds (95% interval corrected for the folds' "
             f"overlap); hold-out: the untouched test split; chance: `{BASELINE}` on the same folds. Verdict and "
             f"remedy rules: [Fit verdicts](#{anchor('Fit verdicts')}).\n"]
    alerts = severe_findings(tables)  # the data's severe findings (study.report.data_checks), before the models'
    parts += [alerts] if alerts else []
    for dataset in summary["dataset"].unique():
        rows = verdicts[verdicts["dataset"] == dataset]
        chance = intervals.get((dataset, BASELINE))
        chance_mean = None if chance is None else chance.mean
        table = _rows(dataset, summary[summary["dataset"] == dataset], rows, intervals, holdout, metric)
        line = f"chance line ({BASELINE}, CV): {fmt(chance_mean)}" if chance is not None else "no chance baseline"
        target = anchor(escape(dataset)) or "section"  # the section's id in report.html (html.heading_ids)
        parts.append(f"**[{escape(dataset)}](#{target})**: {answer(dataset, rows, chance_mean, holdout)}\n\n"
                     + (markdown_table(["model", "CV (95% CI)", "hold-out", "verdict", "what to do"], table)
                        + f"\n\n{line}.\n" if table else ""))
    return "\n".join(parts)

