"""Reading the results table's scored rows: the one place the statistics select rows.

Only rows with ``status == "ok"`` and a finite score are used. The primary metric is the
explicit ``metric`` argument, else the table's first metric (``study.results.primary_metric``).
The cross-validated score the comparisons use is the ``nested`` rows' when the study ran nested
cross-validation, else the ``validation`` rows' (:func:`cv_split`).
"""

from __future__ import annotations

import pandas as pd

from study.results import primary_metric, without_baseline

__all__ = ["require_columns", "ok_rows", "resolve_metric", "rows_of", "cv_split", "fold_scores"]

RESULT_COLUMNS = ("dataset", "model", "split", "fold", "metric", "score", "n_train", "n_test")


def require_columns(table, columns, name):
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(
            f"The {name} table has no column(s) {missing}; found {list(table.columns)}. "
            "Pass the tidy table described in study/results.py."
        )


def ok_rows(results):
    """Rows of successful units with a finite score."""
    require_columns(results, RESULT_COLUMNS, "results")
    ok = results["score"].notna()
    if "status" in results.columns:
        ok &= results["status"].eq("ok")
    return results[ok]


def resolve_metric(results, metric=None):
    """The explicit metric, else the table's primary metric (``study.results.primary_metric``)."""
    found = list(pd.unique(ok_rows(results)["metric"].dropna()))
    if metric is not None:
        if metric not in found:
            raise ValueError(
                f"Got metric={metric!r}, which has no successful rows; the table has {found}. "
                "Pass one of those or metric=None."
            )
        return metric
    if not found:
        raise ValueError("The results table has no successful rows with a metric; nothing to compare.")
    return primary_metric(ok_rows(results))


def rows_of(results, split, metric):
    rows = ok_rows(results)
    return rows[rows["split"].eq(split) & rows["metric"].eq(metric)]


def cv_split(results, metric):
    """The split holding the cross-validated score: "nested" when the study ran nested CV, else "validation".

    Nested CV ran when every dataset x model with ``validation`` rows of ``metric`` also has
    ``nested`` rows (its outer-fold scores; ``study.protocol.nested_rows``). The chance baseline
    (``study.results.BASELINE``) is left out of that check: it has nothing to tune, so it never
    has nested rows.

    Parameters
    ----------
    results : pandas.DataFrame
        Tidy results table (``study.results``).
    metric : str
        Metric whose rows are checked.

    Returns
    -------
    {"nested", "validation"}
        "nested": the outer-fold scores of nested cross-validation, whose candidate was chosen by
        an inner search that never saw the fold; "validation": GridSearchCV's per-fold scores of
        the candidate it chose on those same folds (optimistic; Cawley & Talbot 2010, JMLR 11).
    """
    scored = without_baseline(results)
    units = {split: set(map(tuple, rows_of(scored, split, metric)[["dataset", "model"]].to_numpy()))
             for split in ("nested", "validation")}
    return "nested" if units["nested"] and units["nested"] >= units["validation"] else "validation"


def fold_scores(rows):
    """Wide table of scores: index fold, columns model (in order of appearance)."""
    if rows.duplicated(["model", "fold"]).any():
        raise ValueError(
            "Found more than one score for the same dataset, model, split, fold and metric; "
            "expected one. Deduplicate the results table before comparing."
        )
    models = list(pd.unique(rows["model"]))
    return rows.pivot(index="fold", columns="model", values="score")[models]
