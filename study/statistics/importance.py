"""Permutation importance on the hold-out test split: what each model learned.

For each unit (dataset x model, the chance baseline excepted) the refit best estimator is scored
on the hold-out test rows with one input column shuffled, ``N_REPEATS`` times per column;
a column's importance is the drop of the primary metric (the study's first scorer) from the
unshuffled score: scikit-learn's :func:`sklearn.inspection.permutation_importance` (Breiman,
"Random forests", Machine Learning 45, 2001; scikit-learn user guide, "Permutation feature
importance"). It is computed in the unit's work item on the estimator the unit already fitted: no
extra fit. Columns are the dataset's raw input columns (the Pipeline's preprocessing is part of
what is permuted through), named by ``Dataset.feature_names``.

Cost. Each call of the scorer goes through the Pipeline (``TabularPreprocessor``'s
ColumnTransformer: about 2 ms a call, for a prediction that takes 0.1 ms) and there are
n_features x ``N_REPEATS`` calls (1,000 on ``wide``). When the preprocessing maps every input
column to one output column by itself (imputing and scaling numeric columns; scaling pixels),
shuffling a raw column and then preprocessing gives exactly the preprocessed rows with that
column shuffled, so the same function is run on the final step and the preprocessed hold-out rows:
the same shuffles, the same predictions, the same importances (tested), at a fraction of the
cost. Any other preprocessing (one-hot encoded columns, a user's own step) is permuted through as
it is. Measured on the default study's 21 units (one thread, CPU seconds): 23 s in all instead of
38 s through the Pipeline; ``random_forest`` is half of it (7.5 ms a call on ``wide``, where
scikit-learn dispatches each of its 100 trees through joblib), a Keras call 1-2 ms (``keras_cnn``
on ``digits``: 4-5 ms, its convolutions). On numeric rows the predictions of all the shuffled
copies are then made beforehand in a few stacked calls
(:class:`~study.statistics.permuted_predictions.PermutedPredictions`, used only for an estimator
that predicts each row on its own): scikit-learn's function still draws the shuffles and scores.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.inspection import permutation_importance
from sklearn.pipeline import Pipeline

from backends.preprocessing import ImageScaler, TabularPreprocessor
from study.statistics.permuted_predictions import PermutedPredictions

__all__ = ["N_REPEATS", "TOP_K", "NOISE_SHARE", "feature_labels", "importance_rows", "column_wise",
           "signal_summary"]

N_REPEATS = 5
"""Shuffles of each column (``permutation_importance``'s ``n_repeats``)."""
TOP_K = 10
"""The top features of a model checked against the dataset's signal columns."""
NOISE_SHARE = 0.5
"""A model leans on the noise columns when they hold more than this fraction of its positive
importance (the sum over columns of ``max(importance_mean, 0)``)."""


def feature_labels(dataset) -> list:
    """The names of ``dataset``'s input columns: ``Dataset.feature_names``, else a DataFrame's column
    names, else ``x0, x1, ...`` (as the stored models name them).

    Parameters
    ----------
    dataset : study.data.Dataset

    Returns
    -------
    list of str, of length ``dataset.n_features``
    """
    if dataset.feature_names is not None:
        return [str(name) for name in dataset.feature_names]
    if hasattr(dataset.X, "columns"):
        return [str(name) for name in dataset.X.columns]
    return [f"x{i}" for i in range(dataset.n_features)]


def column_wise(estimator, X):
    """``(final step, preprocessed X)`` when ``estimator`` is a Pipeline whose preprocessing maps each
    input column to one output column on its own, else ``(estimator, X)``.

    Column-wise preprocessing: :class:`~backends.preprocessing.ImageScaler` (one global factor) and
    :class:`~backends.preprocessing.TabularPreprocessor` without categorical columns (median
    imputation, then standard scaling, of every column in order) when it keeps every column (an
    all-missing training column would be dropped). Then shuffling column ``j`` of ``X`` and
    preprocessing equals preprocessing and shuffling column ``j``: the permutation importances of
    the two are the same numbers.

    Parameters
    ----------
    estimator : fitted scikit-learn estimator
    X : ndarray or pandas.DataFrame of shape (n_samples, n_features)

    Returns
    -------
    (estimator, array-like of shape (n_samples, n_features))
    """
    if not isinstance(estimator, Pipeline) or len(estimator.steps) != 2:
        return estimator, X
    pre = estimator[0]
    elementwise = type(pre) is ImageScaler or (type(pre) is TabularPreprocessor and not pre.categorical_features_)
    if not elementwise:
        return estimator, X
    transformed = pre.transform(X)
    if transformed.shape != tuple(X.shape):
        return estimator, X
    return estimator[-1], transformed


def importance_rows(estimator, X, y, *, metric: str, feature_names: list, seed: int, signal=None,
                    n_repeats: int = N_REPEATS) -> list:
    """Permutation importance of a fitted estimator on hold-out rows, one row per input column.

    Parameters
    ----------
    estimator : fitted scikit-learn estimator
        The unit's refit best estimator (a Pipeline: its preprocessing included).
    X : ndarray or pandas.DataFrame of shape (n_test, n_features)
        The hold-out test rows, raw input columns.
    y : ndarray of shape (n_test,)
    metric : str
        A scikit-learn scorer name (the study's primary metric); higher is better.
    feature_names : list of str
        One name per column of ``X`` (:func:`feature_labels`).
    seed : int
        ``random_state`` of the shuffles (the study's seed).
    signal : collection of str or None, default=None
        Names of the columns known to carry signal (``Dataset.signal_features``); None: unknown.
    n_repeats : int, default=N_REPEATS

    Returns
    -------
    list of dict
        Per column, in column order: ``feature``, ``metric``, ``importance_mean`` and
        ``importance_std`` (mean and standard deviation over the repeats of the score drop, in the
        metric's units: scikit-learn's ``importances_mean`` and ``importances_std``), ``rank``
        (1 = largest mean drop; ties by column order), ``n_repeats``, ``n_test`` and ``signal``
        (True / False, None when unknown).

    Raises
    ------
    ValueError
        ``feature_names`` does not have one name per column of ``X``.
    """
    if len(feature_names) != X.shape[1]:
        raise ValueError(f"Permutation importance needs one name per column: got {len(feature_names)} names for "
                         f"{X.shape[1]} columns. Pass the dataset's feature names (feature_labels(dataset)).")
    model, rows = column_wise(estimator, X)
    if isinstance(rows, np.ndarray) and rows.dtype.kind in "biuf":
        model = PermutedPredictions(model, rows, seed, n_repeats)
    result = permutation_importance(model, rows, y, scoring=metric, n_repeats=n_repeats, random_state=seed)
    mean, std = result.importances_mean, result.importances_std
    rank = np.empty(len(mean), dtype=int)
    rank[np.argsort(-mean, kind="stable")] = np.arange(1, len(mean) + 1)
    known = None if signal is None else set(signal)
    return [dict(feature=name, metric=metric, importance_mean=float(mean[j]), importance_std=float(std[j]),
                 rank=int(rank[j]), n_repeats=n_repeats, n_test=len(y),
                 signal=None if known is None else name in known)
            for j, name in enumerate(feature_names)]


def signal_summary(importance: pd.DataFrame, top: int = TOP_K) -> pd.DataFrame:
    """What each model's importances say about the columns known to carry signal.

    Only datasets that know them (``signal`` not empty) are summarized; a column without known
    signal is called noise here.

    Parameters
    ----------
    importance : pandas.DataFrame
        The ``importance`` table (``study.results.IMPORTANCE_COLUMNS``).
    top : int, default=TOP_K
        How many of each model's best-ranked features are checked.

    Returns
    -------
    pandas.DataFrame
        One row per dataset x model, in table order: ``n_features``, ``n_signal``, ``top``,
        ``signal_in_top`` (signal columns among the ``top`` best ranked), ``expected_in_top``
        (``top * n_signal / n_features``: the count if the ranks were random), ``signal_per_column``
        and ``noise_per_column`` (mean ``importance_mean`` of a signal / noise column),
        ``noise_share`` (the noise columns' share of the positive importance, NaN when no column
        has any) and ``leans_on_noise`` (``noise_share > NOISE_SHARE``).
    """
    columns = ["dataset", "model", "n_features", "n_signal", "top", "signal_in_top", "expected_in_top",
               "signal_per_column", "noise_per_column", "noise_share", "leans_on_noise"]
    rows = []
    known = importance[importance["signal"].notna()] if "signal" in importance else importance.iloc[:0]
    for (dataset, model), block in known.groupby(["dataset", "model"], sort=False):
        signal = block["signal"].astype(bool).to_numpy()
        mean = block["importance_mean"].to_numpy(dtype=float)
        best = block.sort_values("rank", kind="stable").head(top)
        positive = np.clip(mean, 0.0, None)
        share = float(positive[~signal].sum() / positive.sum()) if positive.sum() > 0 else float("nan")
        rows.append(dict(dataset=dataset, model=model, n_features=len(block), n_signal=int(signal.sum()),
                         top=min(top, len(block)), signal_in_top=int(best["signal"].astype(bool).sum()),
                         expected_in_top=min(top, len(block)) * signal.sum() / len(block),
                         signal_per_column=float(mean[signal].mean()) if signal.any() else float("nan"),
                         noise_per_column=float(mean[~signal].mean()) if (~signal).any() else float("nan"),
                         noise_share=share, leans_on_noise=bool(share > NOISE_SHARE)))
    return pd.DataFrame(rows, columns=columns)
