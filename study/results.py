"""The tidy results table: the one hand-off between running a study and reporting on it.

SCHEMA (for anyone reading this module to learn the table's layout)
------------------------------------------------------------------
``results.csv`` / the DataFrame returned by ``study.run_study``: one row per
dataset x model x split x fold x metric. Columns (``COLUMNS``):

- ``dataset`` (str), ``model`` (str: logistic_regression, ridge, random_forest,
  keras_dense, keras_cnn, ...), ``framework`` ("scikit-learn" | "keras").
- ``split`` (str):
  - "train": score of the best GridSearchCV candidate on the training part of CV fold ``fold``;
  - "validation": score of the best candidate on the held-out part of CV fold ``fold``
    (their mean is GridSearchCV's ``best_score_``, the non-nested estimate);
  - "test": score of the refit model on the untouched hold-out test split (``fold`` is NA);
  - "nested": score on outer fold ``fold`` of nested cross-validation (outer folds are the
    shared folds, inner GridSearchCV); present only when nested CV was requested.
- ``fold`` (nullable int): 0 .. k*r-1 over the shared (Repeated)StratifiedKFold splits of
  the training part. Fold i is the same index set for every model of a dataset (paired);
  ``repeat = fold // k``.
- ``metric`` (str): "accuracy", "balanced_accuracy" (classification); "r2",
  "neg_root_mean_squared_error" (regression). The first metric of a study is its primary one.
- ``score`` (float, higher is better).
- ``n_train``, ``n_test`` (int): samples fitted on / scored on for that row (validation rows:
  the fold's training part and held-out part; test rows: the whole training part and the
  hold-out test split).
- ``best_params`` (JSON str), ``fit_time`` (float, seconds to refit the best candidate on the
  whole training part), ``status`` ("ok" | "failed"), ``error`` (str, empty when ok).
  A failed unit has one row with status "failed" and a NaN score.

Companion table ``predictions.csv`` (hold-out test predictions): ``dataset``, ``model``,
``index`` (row index into the dataset), ``y_true``, ``y_pred``.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["COLUMNS", "PREDICTION_COLUMNS", "primary_metric", "summarize", "read_results"]

COLUMNS = [
    "dataset", "model", "framework", "split", "fold", "metric", "score",
    "n_train", "n_test", "best_params", "fit_time", "status", "error",
]
PREDICTION_COLUMNS = ["dataset", "model", "index", "y_true", "y_pred"]


def primary_metric(results: pd.DataFrame) -> str:
    """The table's primary metric: the first metric in row order, i.e. the study's first metric
    (GridSearchCV's ``refit`` metric).

    Raises
    ------
    ValueError
        If the table holds no scored rows.
    """
    metrics = results["metric"].dropna().unique().tolist()
    if not metrics:
        raise ValueError("The results table has no scored rows (every unit failed or it is empty).")
    return metrics[0]


def summarize(results: pd.DataFrame, metric: str | None = None) -> pd.DataFrame:
    """The side-by-side table: one row per dataset x model.

    Parameters
    ----------
    results : pandas.DataFrame
        The tidy results table.
    metric : str or None, default=None
        Which metric; default :func:`primary_metric`.

    Returns
    -------
    pandas.DataFrame
        Columns: dataset, model, framework, status, error, best_params, ``mean_train_score``,
        ``std_train_score``, ``mean_test_score`` and ``std_test_score`` (over the validation
        folds, scikit-learn's ``cv_results_`` names), ``test_score`` (hold-out),
        ``gap_train_cv`` = mean_train_score - mean_test_score, ``gap_cv_test`` =
        mean_test_score - test_score, ``fit_time`` (seconds). Failed units have NaN scores.
    """
    metric = metric or primary_metric(results)
    units = results.drop_duplicates(["dataset", "model"])[
        ["dataset", "model", "framework", "status", "error", "best_params", "fit_time"]
    ]
    scored = results[results["metric"] == metric]
    folds = scored[scored["split"].isin(["train", "validation"])].groupby(["dataset", "model", "split"])["score"]
    stats = folds.agg(["mean", "std"]).unstack("split")
    stats.columns = [f"{agg}_{'train' if split == 'train' else 'test'}_score" for agg, split in stats.columns]
    test = scored[scored["split"] == "test"].set_index(["dataset", "model"])["score"].rename("test_score")
    table = units.set_index(["dataset", "model"]).join(stats).join(test).reset_index()
    for column in ("mean_train_score", "std_train_score", "mean_test_score", "std_test_score", "test_score"):
        if column not in table:
            table[column] = float("nan")
    table["gap_train_cv"] = table["mean_train_score"] - table["mean_test_score"]
    table["gap_cv_test"] = table["mean_test_score"] - table["test_score"]
    return table


def read_results(path) -> pd.DataFrame:
    """Read a ``results.csv`` written by the study, with its nullable integer columns."""
    dtypes = {"fold": "Int64", "n_train": "Int64", "n_test": "Int64", "error": object, "best_params": object}
    return pd.read_csv(path, dtype=dtypes).fillna({"error": "", "best_params": ""})
