"""Scorers: which metrics a study uses, whether they fit its data, and scoring stored outputs.

Any scikit-learn scorer name works (``sklearn.metrics.get_scorer_names()``); higher is better,
as scikit-learn's scorers are signed. :func:`check_metrics` refuses, before any training, a
metric that cannot score a dataset (a regression metric on class labels or the reverse, a
binary-only metric on multiclass data, one named twice), with one line saying what to use.

A unit stores, for every hold-out row, the model's prediction and the outputs the scorers
need (class probabilities, or decision scores when the model has no probabilities), as columns
of the predictions table (:func:`output_columns`). :func:`score_stored` scores those stored
outputs with the scorer itself, so statistics (e.g. bootstrap intervals) can be computed for
any metric from the tables alone, without the fitted model.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.metrics import get_scorer, get_scorer_names
from sklearn.utils.metaestimators import available_if

from backends._compat import metric_kind, scorer_function, scorer_response_method

__all__ = [
    "DEFAULT_METRICS", "study_metrics", "metric_task", "response_methods", "check_metrics",
    "missing_responses", "output_columns", "stored_outputs", "score_stored",
]

DEFAULT_METRICS = {
    "classification": ("accuracy", "balanced_accuracy"),
    "regression": ("r2", "neg_root_mean_squared_error"),
}
"""A study's metrics when none are given, primary first."""

PROBA, DECISION = "proba:", "decision"
"""Prefixes of the stored-output columns of the predictions table."""


def study_metrics(metrics, task: str) -> tuple:
    """The metrics scored on a dataset of ``task``: ``metrics`` if given, else :data:`DEFAULT_METRICS`."""
    return tuple(metrics) if metrics else DEFAULT_METRICS[task]


def metric_task(metric: str) -> str | None:
    """"classification", "regression", "clustering", or None when the scorer does not say
    (from the module of the scorer's metric function: ``backends._compat.metric_kind``).

    Raises
    ------
    backends._compat.IncompatibleVersionError
        If the installed scikit-learn's scorers no longer expose their metric function.
    """
    return metric_kind(scorer_function(get_scorer(metric)))


def response_methods(metric: str) -> tuple:
    """The estimator methods a scorer calls, any one of which suffices (e.g. ``("predict",)``,
    ``("decision_function", "predict_proba")``).

    Raises
    ------
    backends._compat.IncompatibleVersionError
        If the installed scikit-learn's scorers no longer say which methods they call.
    """
    return scorer_response_method(get_scorer(metric))


def _suggest(metric: str, task: str) -> str:
    variants = [name for name in get_scorer_names() if name.startswith(metric + "_")]
    return ", ".join(variants) if variants else ", ".join(DEFAULT_METRICS[task])


def _dry_run(metric: str, dataset) -> None:
    """Score a prior-predicting dummy on the dataset's target; raise what the scorer raises."""
    X = np.zeros((len(dataset.y), 1))
    dummy = (DummyClassifier() if dataset.task == "classification" else DummyRegressor()).fit(X, dataset.y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        get_scorer(metric)(dummy, X, dataset.y)


def check_metrics(metrics, datasets) -> None:
    """Refuse, before any training, metrics that cannot score the study's datasets.

    Parameters
    ----------
    metrics : sequence of str or None
        scikit-learn scorer names, primary first; None (each dataset's default metrics) passes.
    datasets : sequence of Dataset
        The loaded datasets (task and target values are used).

    Raises
    ------
    ValueError
        One line naming the metric and the dataset and saying what to use instead: an unknown
        name, a metric named twice, a regression metric on a classification dataset or the
        reverse, a clustering metric, or a metric whose scorer fails on the dataset's labels
        (e.g. ``roc_auc`` or ``f1`` on multiclass or string labels).
    """
    if metrics is None:
        return
    metrics = list(metrics)
    unknown = [m for m in metrics if m not in set(get_scorer_names())]
    if not metrics or unknown:
        raise ValueError(
            f"Unknown metric(s) {unknown or metrics}; expected scikit-learn scorer names such as "
            "'accuracy', 'balanced_accuracy', 'f1_macro', 'roc_auc_ovr', 'r2', 'neg_root_mean_squared_error' "
            "(see sklearn.metrics.get_scorer_names())."
        )
    twice = sorted({m for m in metrics if metrics.count(m) > 1})
    if twice:
        raise ValueError(f"Metric(s) {twice} are named more than once in {metrics}; name each metric once.")
    for dataset in datasets:
        for metric in metrics:
            kind = metric_task(metric)
            if kind is not None and kind != dataset.task:
                raise ValueError(
                    f"Metric {metric!r} is a {kind} metric, but dataset {dataset.name!r} is a {dataset.task} "
                    f"task; use {dataset.task} metrics such as {', '.join(DEFAULT_METRICS[dataset.task])}."
                )
            try:
                _dry_run(metric, dataset)
            except (ValueError, TypeError) as exc:
                first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise ValueError(
                    f"Metric {metric!r} cannot score dataset {dataset.name!r} ({first.rstrip('.')}); "
                    f"use e.g. {_suggest(metric, dataset.task)}."
                ) from None


def missing_responses(responses, metrics) -> list:
    """The metrics a model cannot be scored with: those needing a method it lacks.

    Parameters
    ----------
    responses : collection of str
        The model's methods (``ModelSpec.responses``).
    metrics : sequence of str

    Returns
    -------
    list of str
    """
    return [m for m in metrics if not set(response_methods(m)) & set(responses)]


# --------------------------------------------------------------------------- stored outputs

def output_columns(estimator, X) -> dict:
    """The outputs of a fitted classifier that scorers may need, as predictions-table columns.

    Returns
    -------
    dict of str to ndarray of shape (n_samples,)
        ``"proba:<class>"`` per class when the estimator has ``predict_proba``, else
        ``"decision"`` (binary) or ``"decision:<class>"`` per class from ``decision_function``;
        empty for regressors and for classifiers with neither.
    """
    classes = getattr(estimator, "classes_", None)
    if classes is None:
        return {}
    if hasattr(estimator, "predict_proba"):
        proba = np.asarray(estimator.predict_proba(X), dtype=float)
        return {f"{PROBA}{c}": proba[:, i] for i, c in enumerate(classes)}
    if hasattr(estimator, "decision_function"):
        scores = np.asarray(estimator.decision_function(X), dtype=float)
        if scores.ndim == 1:
            return {DECISION: scores}
        return {f"{DECISION}:{c}": scores[:, i] for i, c in enumerate(classes)}
    return {}


def _typed(labels: list, y_true: np.ndarray) -> np.ndarray:
    """Class labels parsed from column names, as the type of the stored ``y_true`` values."""
    if y_true.dtype.kind in "biuf":
        return np.asarray([float(text) for text in labels]).astype(y_true.dtype)
    return np.asarray(labels, dtype=object)


def stored_outputs(block: pd.DataFrame) -> dict:
    """The outputs stored for one dataset x model block of the predictions table.

    Returns
    -------
    dict
        ``y_true`` and ``y_pred`` arrays, and when stored: ``proba`` (n, k) with ``classes``,
        or ``decision`` (n,) or (n, k) with ``classes``.
    """
    y_true = block["y_true"].to_numpy()
    out = {"y_true": y_true, "y_pred": block["y_pred"].to_numpy()}
    proba = [c for c in block.columns if c.startswith(PROBA) and block[c].notna().all()]
    decision = [c for c in block.columns if c.startswith(DECISION + ":") and block[c].notna().all()]
    if proba:
        out["proba"] = block[proba].to_numpy(dtype=float)
        out["classes"] = _typed([c[len(PROBA):] for c in proba], y_true)
    elif decision:
        out["decision"] = block[decision].to_numpy(dtype=float)
        out["classes"] = _typed([c[len(DECISION) + 1:] for c in decision], y_true)
    elif DECISION in block.columns and block[DECISION].notna().all():
        out["decision"] = block[DECISION].to_numpy(dtype=float)
        out["classes"] = np.unique(np.concatenate([y_true, out["y_pred"]]))
    return out


class _Replay(BaseEstimator):
    """A fitted estimator's stored outputs, indexed by row position: ``X`` is an array of
    positions into them, so a scorer called on it scores the stored outputs."""

    def __init__(self, outputs):
        self.outputs = outputs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.estimator_type = "classifier" if "classes" in self.outputs else "regressor"
        return tags

    @property
    def classes_(self):
        return self.outputs["classes"]

    def predict(self, X):
        return self.outputs["y_pred"][np.ravel(X)]

    @available_if(lambda self: "proba" in self.outputs)
    def predict_proba(self, X):
        return self.outputs["proba"][np.ravel(X)]

    @available_if(lambda self: "decision" in self.outputs)
    def decision_function(self, X):
        return self.outputs["decision"][np.ravel(X)]


def score_stored(metric: str, outputs: dict, rows=None) -> float:
    """Score stored outputs with the scorer of ``metric`` itself.

    Parameters
    ----------
    metric : str
        scikit-learn scorer name.
    outputs : dict
        From :func:`stored_outputs`.
    rows : array-like of int or None, default=None
        Positions to score (e.g. a bootstrap resample); default all.

    Returns
    -------
    float
        The scorer's value (higher is better).
    """
    rows = np.arange(len(outputs["y_true"])) if rows is None else np.asarray(rows)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a resample missing a class makes some metrics warn
        return float(get_scorer(metric)(_Replay(outputs), rows.reshape(-1, 1), outputs["y_true"][rows]))
