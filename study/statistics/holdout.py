"""Hold-out estimates: test scores with bootstrap intervals (any scorer), nested versus non-nested
cross-validation, and per-class recall of the hold-out predictions.

Sources
-------
- Efron, B. & Tibshirani, R. (1993). An Introduction to the Bootstrap (percentile intervals);
  ``scipy.stats.bootstrap``.
- Cawley, G. C. & Talbot, N. L. C. (2010). On over-fitting in model selection and subsequent
  selection bias in performance evaluation. JMLR 11, 2079-2107; scikit-learn example
  "Nested versus non-nested cross-validation".
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from study.results import PER_CLASS_COLUMNS
from study.scoring import missing_responses, score_stored, stored_outputs
from study.statistics.rows import require_columns, resolve_metric, rows_of

__all__ = ["bootstrap_interval", "test_score_intervals", "nested_summary", "per_class_recall"]

_PREDICTION_COLUMNS = ("dataset", "model", "y_true", "y_pred")


def _accuracy(y_true, y_pred, axis=-1):
    return np.mean(y_true == y_pred, axis=axis)


def _balanced_accuracy(y_true, y_pred, axis=-1):
    # Mean recall over the classes present in y_true (classes with no support in a resample
    # are ignored, as sklearn.metrics.balanced_accuracy_score does).
    classes = np.unique(np.concatenate([np.ravel(y_true), np.ravel(y_pred)]))
    with np.errstate(invalid="ignore", divide="ignore"):
        recalls = [
            np.sum((y_true == c) & (y_pred == c), axis=axis) / np.sum(y_true == c, axis=axis)
            for c in classes
        ]
    return np.nanmean(np.stack(recalls), axis=0)


def _r2(y_true, y_pred, axis=-1):
    residual = np.sum((y_true - y_pred) ** 2, axis=axis)
    total = np.sum((y_true - np.mean(y_true, axis=axis, keepdims=True)) ** 2, axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        # sklearn.metrics.r2_score's force_finite: constant y_true gives 1 (perfect) or 0.
        return np.where(total > 0, 1 - residual / total, np.where(residual == 0, 1.0, 0.0))


def _neg_rmse(y_true, y_pred, axis=-1):
    return -np.sqrt(np.mean((y_true - y_pred) ** 2, axis=axis))


def _counts(values, size: int) -> np.ndarray:
    """How often each of ``0 .. size - 1`` occurs in every row of ``values`` (integers of shape
    (..., n)): shape (..., size), one ``np.bincount`` for all the rows."""
    values = np.asarray(values, dtype=np.int64)
    lead = values.shape[:-1]
    offsets = np.arange(int(np.prod(lead)), dtype=np.int64).reshape(*lead, 1) * size
    return np.bincount((values + offsets).ravel(), minlength=offsets.size * size).reshape(*lead, size)


def _confusion(y_true, y_pred, axis=-1):
    """Confusion counts of integer class codes: shape (..., K, K), true class by predicted class."""
    y_true, y_pred = np.moveaxis(np.asarray(y_true), axis, -1), np.moveaxis(np.asarray(y_pred), axis, -1)
    k = int(max(y_true.max(), y_pred.max())) + 1
    counts = _counts(y_true.astype(np.int64) * k + y_pred, k * k)
    return counts.reshape(*counts.shape[:-1], k, k)


def _set_wise(kind: str, average: str):
    """The vectorized ``sklearn.metrics`` ``{kind}_score(average=average)`` on integer class codes.

    As scikit-learn's ``precision_recall_fscore_support`` (labels: the classes present in the
    resample's truth or predictions; an undefined ratio, e.g. the precision of a class never
    predicted, is 0 as with ``zero_division="warn"``): per class, precision ``tp / (tp + fp)``,
    recall ``tp / (tp + fn)``, F1 ``2 tp / (2 tp + fp + fn)``, Jaccard ``tp / (tp + fp + fn)``;
    ``macro`` is their mean over the present classes, ``weighted`` their mean weighted by the
    true counts, ``micro`` the same ratio of the counts summed over the classes.
    """

    def score(y_true, y_pred, axis=-1):
        counts = _confusion(y_true, y_pred, axis)
        tp = np.diagonal(counts, axis1=-2, axis2=-1).astype(float)
        truth, predicted = counts.sum(-1), counts.sum(-2)
        numerator, denominator = {"precision": (tp, predicted), "recall": (tp, truth),
                                  "f1": (2 * tp, truth + predicted),
                                  "jaccard": (tp, truth + predicted - tp)}[kind]
        if average == "micro":
            return numerator.sum(-1) / denominator.sum(-1)
        per_class = np.divide(numerator, denominator, out=np.zeros_like(tp), where=denominator > 0)
        weights = truth if average == "weighted" else (truth + predicted > 0)
        return (per_class * weights).sum(-1) / weights.sum(-1)

    return score


# Vectorized versions of the sklearn.metrics scores of the same names (scorer sign: higher is
# better), so that scipy.stats.bootstrap can score all resamples of a batch at once (scikit-learn's
# scorer called 2,000 times costs ~3 ms a call: seconds per model on 30 test rows).
_METRICS = {
    "accuracy": _accuracy,
    "balanced_accuracy": _balanced_accuracy,
    "r2": _r2,
    "neg_root_mean_squared_error": _neg_rmse,
    **{f"{kind}_{average}": _set_wise(kind, average) for kind in ("f1", "precision", "recall", "jaccard")
       for average in ("macro", "micro", "weighted")},
}
_LABEL_METRICS = frozenset(name for name in _METRICS if name not in ("r2", "neg_root_mean_squared_error"))
"""Metrics of class labels, scored on integer codes of the labels."""


def bootstrap_interval(y_true, y_pred, metric="accuracy", confidence=0.95, n_resamples=2000, random_state=0,
                       outputs=None):
    """Percentile bootstrap interval of a hold-out test score, for any scikit-learn scorer.

    Test samples are resampled with replacement, keeping each row's truth, prediction and
    stored outputs together, and the score is recomputed on every resample. The common
    metrics (accuracy, balanced accuracy, R^2, -RMSE, and F1, precision, recall and Jaccard with
    ``_macro``, ``_micro`` or ``_weighted`` averaging) use vectorized equivalents of their
    scikit-learn functions, tested equal to them (``scipy.stats.bootstrap(..., paired=True, vectorized=True)``);
    any other scorer is called itself on every resample, on the stored outputs
    (``study.scoring.score_stored``).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels (any hashable values) or numeric targets of the hold-out test split.
    y_pred : array-like of shape (n_samples,)
        Predictions of the refit model on the same samples.
    metric : str, default="accuracy"
        scikit-learn scorer name (higher is better).
    confidence : float, default=0.95
        Coverage of the interval, in (0, 1).
    n_resamples : int, default=2000
        Number of bootstrap resamples.
    random_state : int, default=0
        Seed of the resampling; the same seed gives the same interval.
    outputs : dict or None, default=None
        ``study.scoring.stored_outputs`` of the same rows (class probabilities or decision
        scores), for scorers that need more than the predictions; None: ``y_true`` and
        ``y_pred`` only.

    Returns
    -------
    low, high : float
        Interval bounds in score units; NaN when no resample could be scored, or when the
        scorer needs outputs (e.g. probabilities) that ``outputs`` does not hold.

    Raises
    ------
    ValueError
        If the arrays are not 1-D of the same length >= 2.

    Notes
    -----
    The percentile method is used rather than SciPy's default BCa because BCa returns NaN
    when the bootstrap distribution is degenerate (for example a perfect test accuracy). With
    a scorer called on every resample, resamples it cannot score (e.g. ``roc_auc`` on a
    resample with one class) are left out. Source: Efron & Tibshirani (1993), An Introduction
    to the Bootstrap; ``scipy.stats.bootstrap``.
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.ndim != 1 or y_true.size < 2:
        raise ValueError(
            f"Got y_true of shape {y_true.shape} and y_pred of shape {y_pred.shape}; expected "
            "two 1-D arrays of the same length >= 2."
        )
    if metric not in _METRICS:
        return _scorer_interval(metric, outputs or {"y_true": y_true, "y_pred": y_pred}, confidence, n_resamples,
                                random_state)
    if metric in _LABEL_METRICS:  # integer codes: fast, any label type
        codes = np.unique(np.concatenate([y_true, y_pred]), return_inverse=True)[1]
        y_true, y_pred = codes[: y_true.size], codes[y_true.size:]
    else:
        y_true, y_pred = y_true.astype(float), y_pred.astype(float)
    result = stats.bootstrap(
        (y_true, y_pred), _METRICS[metric], paired=True, vectorized=True, batch=250,
        n_resamples=n_resamples, confidence_level=confidence, method="percentile",
        rng=np.random.default_rng(random_state),
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def _ovr_auc(outputs: dict, resamples: np.ndarray, weighted: bool) -> np.ndarray | None:
    """``roc_auc_ovr`` (``weighted``: ``roc_auc_ovr_weighted``) of every resample at once, from the
    stored class probabilities of three or more classes; None when they are not stored.

    Per class ``c``, the AUC of its probability column separating the resample's rows of class
    ``c`` from the others is the Mann-Whitney statistic (a tie counts one half), with each row
    counted as often as the resample draws it: the area under the ROC curve that
    ``sklearn.metrics.roc_auc_score`` computes (Hanley & McNeil 1982, Radiology 143(1)); the
    classes' AUCs are averaged (``weighted``: by their counts in the resample). A resample that
    misses a class is NaN, as ``roc_auc_score`` refuses it.

    Parameters
    ----------
    outputs : dict
        ``study.scoring.stored_outputs``: ``y_true``, ``proba`` (n, k), ``classes``.
    resamples : ndarray of int, shape (n_resamples, n)
        Row positions of each resample.

    Returns
    -------
    ndarray of shape (n_resamples,) or None
    """
    proba, classes = outputs.get("proba"), outputs.get("classes")
    if proba is None or proba.shape[1] < 3 or not np.allclose(proba.sum(1), 1.0):  # as roc_auc_score checks
        return None
    n_resamples, n = resamples.shape
    truth = np.searchsorted(classes, outputs["y_true"])
    if np.any(truth >= len(classes)) or np.any(np.asarray(classes)[np.minimum(truth, len(classes) - 1)]
                                                != outputs["y_true"]):
        return None  # a label without its column, or columns out of order: the scorer itself decides
    counts = _counts(resamples, n)  # how often each resample draws each row
    aucs, support = np.empty((n_resamples, len(classes))), np.empty((n_resamples, len(classes)))
    for c in range(len(classes)):
        order = np.argsort(proba[:, c], kind="stable")
        ranked = proba[order, c]
        starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])  # runs of tied scores
        run = np.cumsum(np.r_[True, ranked[1:] != ranked[:-1]]) - 1
        weight, positive = counts[:, order].astype(float), truth[order] == c
        negatives = np.add.reduceat(weight * ~positive, starts, axis=1)
        below = np.cumsum(negatives, axis=1) - negatives
        wins = (weight * positive * (below[:, run] + 0.5 * negatives[:, run])).sum(1)
        support[:, c] = (weight * positive).sum(1)
        with np.errstate(invalid="ignore", divide="ignore"):
            aucs[:, c] = wins / (support[:, c] * (n - support[:, c]))
    auc = (aucs * support).sum(1) / n if weighted else aucs.mean(1)
    auc[(support == 0).any(1)] = np.nan
    return auc


_VECTORIZED_SCORERS = {"roc_auc_ovr": lambda o, r: _ovr_auc(o, r, weighted=False),
                       "roc_auc_ovr_weighted": lambda o, r: _ovr_auc(o, r, weighted=True)}
"""Scorers computed for every resample at once from the stored outputs, where they allow it (else
None: the scorer is called on each resample); tested equal to scikit-learn's scorer."""


def _scorer_interval(metric, outputs, confidence, n_resamples, random_state):
    """Percentile interval of the scorer itself over resampled rows of the stored outputs."""
    available = {"predict"} | {m for key, m in (("proba", "predict_proba"), ("decision", "decision_function"))
                               if key in outputs}
    if missing_responses(available, [metric]):  # the outputs this scorer needs were not stored
        return np.nan, np.nan
    n = len(outputs["y_true"])
    resamples = np.random.default_rng(random_state).integers(0, n, (n_resamples, n))
    vectorized = _VECTORIZED_SCORERS.get(metric)
    scores = None if vectorized is None else vectorized(outputs, resamples)
    if scores is None:
        scores = []
        for rows in resamples:
            try:
                scores.append(score_stored(metric, outputs, rows))
            except ValueError:  # a resample this metric cannot score
                continue
    scores = np.asarray(scores, dtype=float)
    scores = scores[np.isfinite(scores)]
    if not scores.size:
        return np.nan, np.nan
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(scores, [tail, 100 - tail])
    return float(low), float(high)


def test_score_intervals(
    results, predictions, metric=None, confidence=0.95, n_resamples=2000, random_state=0
):
    """Hold-out test score of every dataset x model with its bootstrap interval.

    Parameters
    ----------
    results : pandas.DataFrame
        Tidy results table; its ``test`` rows give the scores.
    predictions : pandas.DataFrame or None
        Hold-out predictions (``dataset, model, y_true, y_pred`` and the stored outputs).
        Models without predictions (or ``predictions=None``) get NaN bounds.
    metric : str or None, default=None
        Metric; None picks the primary metric.
    confidence, n_resamples, random_state
        Passed to :func:`bootstrap_interval`.

    Returns
    -------
    pandas.DataFrame
        Columns ``dataset, model, metric, score, low, high``; one row per successful test row.

    Raises
    ------
    ValueError
        If a table lacks a required column or the metric is absent.
    """
    metric = resolve_metric(results, metric)
    tests = rows_of(results, "test", metric)
    order = {d: i for i, d in enumerate(pd.unique(tests["dataset"]))}
    tests = tests.sort_values("dataset", key=lambda s: s.map(order), kind="stable")
    if predictions is not None:
        require_columns(predictions, _PREDICTION_COLUMNS, "predictions")
        groups = dict(list(predictions.groupby(["dataset", "model"], sort=False)))
    else:
        groups = {}
    records = []
    for row in tests.itertuples(index=False):
        low = high = np.nan
        pred = groups.get((row.dataset, row.model))
        if pred is not None and len(pred) >= 2:
            low, high = bootstrap_interval(pred["y_true"], pred["y_pred"], metric, confidence, n_resamples,
                                           random_state, outputs=stored_outputs(pred))
        records.append((row.dataset, row.model, metric, row.score, low, high))
    return pd.DataFrame(records, columns=["dataset", "model", "metric", "score", "low", "high"])


test_score_intervals.__test__ = False  # not a pytest test despite its name


def nested_summary(results, metric=None):
    """Non-nested (``best_score_``) versus nested cross-validation estimates.

    Parameters
    ----------
    results : pandas.DataFrame
        Tidy results table (see module docstring).
    metric : str or None, default=None
        Metric; None picks the primary metric.

    Returns
    -------
    pandas.DataFrame
        One row per dataset x model that has ``nested`` rows, with columns ``dataset, model,
        metric, non_nested`` (mean of the ``validation`` rows, i.e. GridSearchCV's
        ``best_score_``), ``nested_mean``, ``nested_std`` (population std, ddof=0, like
        ``std_test_score``), ``n_outer_folds`` and ``optimism = non_nested - nested_mean``
        (positive: the non-nested estimate is optimistic). Empty (same columns) when there
        are no nested rows.

    Raises
    ------
    ValueError
        If the table lacks a required column or the metric is absent.

    Notes
    -----
    Source: Cawley & Talbot (2010), JMLR 11; scikit-learn example "Nested versus non-nested
    cross-validation".
    """
    metric = resolve_metric(results, metric)
    keys = ["dataset", "model"]
    nested = rows_of(results, "nested", metric).groupby(keys, sort=False)["score"].agg(
        nested_mean="mean", nested_std=lambda s: float(np.std(s)), n_outer_folds="size"
    )
    flat = rows_of(results, "validation", metric).groupby(keys, sort=False)["score"].mean()
    table = nested.join(flat.rename("non_nested"), how="left").reset_index()
    table["metric"] = metric
    table["optimism"] = table["non_nested"] - table["nested_mean"]
    return table[
        ["dataset", "model", "metric", "non_nested", "nested_mean", "nested_std",
         "n_outer_folds", "optimism"]
    ]


def per_class_recall(predictions: pd.DataFrame, class_names: dict | None = None) -> pd.DataFrame:
    """Recall of every class on the hold-out test predictions, per dataset x model.

    Parameters
    ----------
    predictions : pandas.DataFrame
        Columns dataset, model, index, y_true, y_pred (``study.results.PREDICTION_COLUMNS``).
    class_names : dict or None, default=None
        ``{dataset: names}`` with ``names`` a list (indexed by integer label, as
        ``Dataset.target_names``) or a dict ``{label: name}``; default: the labels as text.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`study.results.PER_CLASS_COLUMNS`: ``class`` (name), ``recall`` (fraction of the
        class's test rows predicted as it; NaN if it has none), ``support`` (its test rows).
    """
    rows = []
    for (dataset, model), block in predictions.groupby(["dataset", "model"], sort=False):
        truth, pred = block["y_true"].to_numpy(), block["y_pred"].to_numpy()
        names = (class_names or {}).get(dataset)
        for label in np.unique(truth):
            mask = truth == label
            if isinstance(names, dict):
                name = names.get(label, str(label))
            elif names is not None and isinstance(label, (int, np.integer)) and 0 <= label < len(names):
                name = names[int(label)]
            else:
                name = str(label)
            rows.append(dict(dataset=dataset, model=model, **{"class": str(name)},
                             recall=float((pred[mask] == label).mean()), support=int(mask.sum())))
    return pd.DataFrame(rows, columns=PER_CLASS_COLUMNS)
