"""The columns of every table a study writes, and the side-by-side summary.

The tables are the one hand-off between running a study and reporting on it: reports,
figures and statistics read only them. One row per observation, scikit-learn's names where
they exist.

``results`` (``results.csv``, :data:`COLUMNS`): one row per dataset x model x split x fold x metric.

- ``dataset``, ``model``, ``framework`` ("scikit-learn" | "keras").
- ``split``: "train" / "validation" (the best GridSearchCV candidate on the training /
  held-out part of CV fold ``fold``; the validation mean is ``best_score_``, the non-nested
  estimate); "test" (the refit model on the untouched hold-out test split, ``fold`` NA);
  "nested" (outer fold ``fold`` of nested cross-validation, when requested).
- ``fold`` (nullable int): 0 .. k*r-1 over the shared (Repeated)StratifiedKFold splits of the
  training part; the same index set for every model of a dataset (paired); ``repeat = fold // k``.
- ``metric``: a scikit-learn scorer name; the study's first metric is its primary one.
- ``score`` (float, higher is better).
- ``n_train``, ``n_test`` (int): samples fitted on / scored on for that row.
- ``best_params`` (JSON), ``fit_time`` (seconds to refit the best candidate on the whole
  training part), ``status`` ("ok" | "failed" | "skipped"), ``error`` (one line; empty when ok).
  A failed or skipped unit has one row with a NaN score.

``predictions`` (:data:`PREDICTION_COLUMNS`, then stored outputs): the hold-out test rows of
every unit: ``index`` (row index into the dataset), ``y_true``, ``y_pred``, then
``proba:<class>`` per class (classifiers with ``predict_proba``), or ``decision`` /
``decision:<class>`` (decision scores), NaN where a dataset or model has none
(``study.scoring.output_columns``).

The experiments' tables (:data:`TABLES`) are described with their experiments in
``study.experiments``; their ``source`` column says whether a row was fitted by the experiment
("fitted"), taken from the unit's own fit of the same estimator on the same fold ("unit's grid
search"), or derived from another fit's history ("derived"); ``verdicts`` in
``study.statistics.verdicts``; ``failures`` holds one
row per failed work item (``work`` = "unit" or the experiment's name) and ``timings`` the
seconds and the number of fits of every work item (as computed, also when loaded from the store).

``data_checks`` (:data:`DATA_CHECK_COLUMNS`, ``study.data_checks``): checks of each dataset's data
before any model is blamed, one finding per row: the ``check`` ("duplicates_within_train",
"duplicates_across_split", "single_feature_score", "constant_feature", "class_balance",
"distribution_shift"), its ``severity`` ("info", "warning", "severe"), the ``feature`` (empty for a
dataset-wide finding), the number that is its evidence (``value``, in the unit named by
``measure``: a row count, a share, a score, a p-value) and one line of ``text`` saying it. Its work
item has no model: its failures and timings rows have an empty ``model``.

``importance`` (:data:`IMPORTANCE_COLUMNS`, ``study.statistics.importance``): the permutation
importance of each unit's refit model on the hold-out test split (the chance baseline has none),
one row per dataset x model x input column (``feature``, the dataset's raw column): the drop of the
primary ``metric`` when the column is shuffled, ``importance_mean`` and ``importance_std`` over
``n_repeats`` shuffles (scikit-learn's ``importances_mean`` and ``importances_std``, in the metric's
units), its ``rank`` within the model (1 = largest mean drop), ``n_test`` (hold-out rows scored) and
``signal``: whether the dataset knows the column to carry signal (``Dataset.signal_features``;
empty when it does not know).

``searches`` (:data:`SEARCH_COLUMNS`): what tuned each unit: ``search`` (the scikit-learn class),
one row per ``round`` (one for grid and random search; successive halving's rounds), the
``candidates`` fitted in it, the ``rows`` of the training part it used (halving's
``n_resources_``: each fold fits on its share of a subsample of that size; NA: all of them) and its
``fits`` (candidates x folds).

From the hold-out predictions of every classifier (``study.statistics.threshold_curves``): ``roc_curves``
and ``pr_curves`` (one-vs-rest per class for multiclass; ``class`` is the positive class),
``confusion`` (counts, and the fraction of each true class) and ``calibration`` (the
reliability diagram's bins; ``brier_ovr``: the one-vs-rest Brier score of the row's class's
probability; ``brier``: the model's standard Brier score over all classes, the same on every row of
a dataset x model, ``study.statistics.threshold_curves.multiclass_brier``).
"""

from __future__ import annotations

import pandas as pd

from backends import BASELINE

__all__ = ["COLUMNS", "PREDICTION_COLUMNS", "TABLES", "BASELINE", "frame", "primary_metric", "summarize",
           "read_results", "without_baseline", "EXACT_FLOATS"]

EXACT_FLOATS = {"float_precision": "round_trip"} if int(pd.__version__.split(".")[0]) < 3 else {}
"""``pandas.read_csv`` arguments that read every float of a written table back exactly: before
pandas 3, its default parser can be one unit in the last place off (``0.4736842105263157`` for
``0.47368421052631576``); pandas 3 reads exactly by default and deprecates ``float_precision``."""

COLUMNS = [
    "dataset", "model", "framework", "split", "fold", "metric", "score",
    "n_train", "n_test", "best_params", "fit_time", "status", "error",
]
PREDICTION_COLUMNS = ["dataset", "model", "index", "y_true", "y_pred"]
LEARNING_CURVE_COLUMNS = ["dataset", "model", "metric", "train_size", "train_fraction", "fold", "split", "score",
                          "source"]
VALIDATION_CURVE_COLUMNS = ["dataset", "model", "metric", "sweep", "param", "param_value", "param_label", "params",
                            "axis_label", "log_scale", "stronger", "chosen", "chosen_source", "fold", "split", "score",
                            "source"]
HISTORY_COLUMNS = ["dataset", "model", "fold", "variant", "epoch", "curve", "value", "stopped_epoch",
                   "best_epoch", "patience", "source"]
ABLATION_COLUMNS = ["dataset", "model", "metric", "variant", "settings", "fold", "split", "score", "source"]
IMBALANCE_COLUMNS = ["dataset", "model", "class_weight", "minority_class", "ratio", "metric", "fold",
                     "split", "score"]
PER_CLASS_COLUMNS = ["dataset", "model", "class", "recall", "support"]
VERDICT_COLUMNS = ["dataset", "model", "metric", "verdict", "advice", "reason", "remedy", "n_folds", "train_mean",
                   "validation_mean", "gap_mean", "gap_low", "gap_high", "best_model", "shortfall_mean",
                   "shortfall_low", "shortfall_high", "chance_mean", "chance_diff_mean", "chance_diff_low",
                   "chance_diff_high", "lc_last_gain", "lc_gain_low", "lc_gain_high"]
SEARCH_COLUMNS = ["dataset", "model", "search", "round", "candidates", "rows", "fits"]
ROC_COLUMNS = ["dataset", "model", "class", "fpr", "tpr", "threshold", "auc"]
PR_COLUMNS = ["dataset", "model", "class", "recall", "precision", "threshold", "average_precision"]
CONFUSION_COLUMNS = ["dataset", "model", "true_class", "predicted_class", "count", "fraction_of_true"]
CALIBRATION_COLUMNS = ["dataset", "model", "class", "bin", "mean_predicted", "fraction_positive", "count", "brier_ovr", "brier"]
FAILURE_COLUMNS = ["dataset", "model", "work", "error"]
TIMING_COLUMNS = ["dataset", "model", "work", "seconds", "fits"]
IMPORTANCE_COLUMNS = ["dataset", "model", "metric", "feature", "rank", "importance_mean", "importance_std",
                      "n_repeats", "n_test", "signal"]
DATA_CHECK_COLUMNS = ["dataset", "check", "severity", "feature", "measure", "value", "text"]

TABLES = {
    "learning_curves": LEARNING_CURVE_COLUMNS,
    "validation_curves": VALIDATION_CURVE_COLUMNS,
    "histories": HISTORY_COLUMNS,
    "ablation": ABLATION_COLUMNS,
    "imbalance": IMBALANCE_COLUMNS,
    "per_class_recall": PER_CLASS_COLUMNS,
    "verdicts": VERDICT_COLUMNS,
    "importance": IMPORTANCE_COLUMNS,
    "searches": SEARCH_COLUMNS,
    "roc_curves": ROC_COLUMNS,
    "pr_curves": PR_COLUMNS,
    "confusion": CONFUSION_COLUMNS,
    "calibration": CALIBRATION_COLUMNS,
    "failures": FAILURE_COLUMNS,
    "timings": TIMING_COLUMNS,
    "data_checks": DATA_CHECK_COLUMNS,
}
"""Every table beside ``results`` and ``predictions``, by name (its file is ``<name>.csv``)."""

_INTEGERS = ("fold", "n_train", "n_test", "best_epoch", "rows")


def frame(rows: list, columns: list) -> pd.DataFrame:
    """A table from row dicts with these columns; nullable integer columns (fold, ...) as Int64."""
    table = pd.DataFrame(rows, columns=columns)
    for column in _INTEGERS:
        if column in table:
            table[column] = table[column].astype("Int64")
    return table


def primary_metric(results: pd.DataFrame) -> str:
    """The table's primary metric: the first metric in row order, i.e. the study's first metric
    (GridSearchCV's ``refit`` metric).

    Raises
    ------
    ValueError
        If the table holds no scored rows.
    """
    metrics = results.loc[results["status"] == "ok", "metric"].dropna().unique().tolist()
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
        mean_test_score - test_score, ``fit_time`` (seconds). Failed and skipped units have
        NaN scores.
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
    return pd.read_csv(path, dtype=dtypes, **EXACT_FLOATS).fillna({"error": "", "best_params": ""})


def without_baseline(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``table`` (any table with a ``model`` column) that are not the chance baseline
    (:data:`BASELINE`): what "best model", ranks and pairwise comparisons are computed from."""
    return table[table["model"] != BASELINE]
