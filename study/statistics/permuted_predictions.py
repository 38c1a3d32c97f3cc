"""Every prediction permutation importance asks for, made beforehand in a few large calls.

:func:`sklearn.inspection.permutation_importance` scores a fitted estimator once on the hold-out
rows as they are and once per shuffle of each column: ``1 + n_features * n_repeats`` calls of
``predict`` (or ``predict_proba``, ``decision_function``), 1,001 on ``wide``. A call on a few
dozen rows costs mostly its fixed overhead: scikit-learn's random forest dispatches each of its
100 trees through joblib (7.5 ms a call on ``wide``), a Keras network runs its traced function
(1-5 ms). In the ``--quick`` study permutation importance was a third of the workers' time.
Made beforehand, stacked: the ``--quick`` study 36.4 -> 28.8 s wall, 63 -> 49 CPU-s (medians of 3
paired runs, 2026-12-07), the same importances.

:class:`PermutedPredictions` stands in for the estimator inside scikit-learn's own
``permutation_importance`` (its shuffles, its scorer, its means and standard deviations are
unchanged). It draws the same shuffles scikit-learn draws (one seed drawn from ``random_state``,
then per column a ``RandomState`` of that seed shuffling an index ``n_repeats`` times, each
shuffle applied to the column as it was left by the previous one: ``_calculate_permutation_scores``
in ``sklearn/inspection/_permutation_importance.py``, read in scikit-learn 1.9.1), stacks all the
shuffled copies of the rows and predicts them in calls of at most :data:`MAX_CELLS` values. Each
call scikit-learn then makes is answered by content: rows equal to the original but for one
column that equals one of the expected shuffles of it get that copy's predictions; anything else
is predicted by the estimator itself. So the numbers are the estimator's own whatever order or
shuffles scikit-learn uses; only the speed depends on drawing the same shuffles.

The stacked predictions are used only when the estimator predicts each row on its own: the
original rows' predictions inside the stacked call must equal those of a call on them alone, bit
for bit (else every call goes to the estimator, as without this class).
"""

from __future__ import annotations

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if

__all__ = ["PermutedPredictions", "MAX_CELLS", "MAX_ROWS"]

MAX_CELLS = 1 << 18
"""Values (rows x columns) of the stacked copies predicted in one call: 2 MiB of float64 (rows
of more than half of it are predicted one copy a call, by the estimator itself: a 10,000 x 30
hold-out split gained nothing from stacking, measured on a 50,000-row table). Larger
calls leave the processor's cache: HistGradientBoosting, which passes over all the rows tree by
tree, took twice as long on digits in calls of 32 MiB as in calls of the hold-out rows alone;
at 2 MiB every built-in model was faster than unstacked (measured 2026-12-07)."""
MAX_ROWS = 2_000_000
"""Stacked rows (hold-out rows x copies) above which nothing is predicted beforehand: the
predictions of all copies are held in memory at once (e.g. 160 MB for 10 class probabilities),
and the expected shuffled columns too; the estimator then answers every call itself. On large
hold-out splits a call's fixed overhead matters little anyway."""

def _has(method: str):
    return lambda self: hasattr(self.estimator, method)


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two arrays hold the same values bit for bit (NaN equal to NaN in float arrays)."""
    return a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc" and b.dtype.kind in "fc")


def _shuffled_columns(X: np.ndarray, seed, n_repeats: int) -> list:
    """``columns[j][r]``: column ``j`` of ``X`` after the ``r + 1``-th shuffle scikit-learn's
    ``permutation_importance(..., n_repeats=n_repeats, random_state=seed)`` applies to it."""
    column_seed = check_random_state(seed).randint(np.iinfo(np.int32).max + 1)
    columns = []
    for j in range(X.shape[1]):
        state, index, column = check_random_state(column_seed), np.arange(X.shape[0]), X[:, j]
        shuffles = []
        for _ in range(n_repeats):
            state.shuffle(index)
            column = column[index]
            shuffles.append(column)
        columns.append(shuffles)
    return columns


class PermutedPredictions:
    """A fitted estimator's predictions on every shuffled copy of ``X`` that permutation importance
    scores, made in a few stacked calls; passed to ``permutation_importance`` instead of the estimator.

    Parameters
    ----------
    estimator : fitted scikit-learn estimator
        Its other attributes (``classes_``, tags, ``fit``) are read through.
    X : ndarray of shape (n_samples, n_features)
        The rows ``permutation_importance`` is given (numeric).
    seed : int, RandomState or None
        ``permutation_importance``'s ``random_state``.
    n_repeats : int
        ``permutation_importance``'s ``n_repeats``.

    Attributes
    ----------
    answered : int
        Calls answered from the stacked predictions.
    predicted : int
        Calls passed to the estimator (a copy not expected, or an estimator whose stacked
        predictions differ from its own).
    """

    def __init__(self, estimator, X: np.ndarray, seed, n_repeats: int):
        self.estimator = estimator
        self._X = X
        stacked_rows = X.shape[0] * (1 + X.shape[1] * n_repeats)
        stacks = 0 < stacked_rows <= MAX_ROWS and 2 * X.size <= MAX_CELLS  # else one copy a call, as scikit-learn
        self._columns = _shuffled_columns(X, seed, n_repeats) if stacks else None
        self._stacked: dict = {}  # method -> list of outputs per copy (None: not row by row)
        self.answered = self.predicted = 0

    def __getattr__(self, name):
        if name.startswith("__") or name in ("estimator", "_X", "_columns", "_stacked"):
            raise AttributeError(name)
        return getattr(self.estimator, name)

    def __sklearn_tags__(self):
        return self.estimator.__sklearn_tags__()

    @available_if(_has("predict"))
    def predict(self, X):
        return self._answer("predict", X)

    @available_if(_has("predict_proba"))
    def predict_proba(self, X):
        return self._answer("predict_proba", X)

    @available_if(_has("predict_log_proba"))
    def predict_log_proba(self, X):
        return self._answer("predict_log_proba", X)

    @available_if(_has("decision_function"))
    def decision_function(self, X):
        return self._answer("decision_function", X)

    def _answer(self, method: str, X):
        copy = self._copy_of(X) if self._columns is not None else None
        outputs = self._outputs(method) if copy is not None else None
        if outputs is None:
            self.predicted += 1
            return getattr(self.estimator, method)(X)
        self.answered += 1
        return outputs[copy].copy()

    def _copy_of(self, X):
        """The index of the expected copy ``X`` equals (0: the rows as they are; then column by
        column, shuffle by shuffle), or None."""
        if not isinstance(X, np.ndarray) or X.shape != self._X.shape:
            return None
        differs = X != self._X
        if X.dtype.kind == "f":
            differs &= ~(np.isnan(X) & np.isnan(self._X))
        changed = np.flatnonzero(differs.any(axis=0))
        if len(changed) == 0:
            return 0
        if len(changed) > 1:
            return None
        j = int(changed[0])
        for r, column in enumerate(self._columns[j]):
            if _same(X[:, j], column):
                return 1 + j * len(self._columns[j]) + r
        return None

    def _copies(self):
        """Every expected copy of ``X``, in :meth:`_copy_of`'s order."""
        yield self._X
        for j, shuffles in enumerate(self._columns):
            for column in shuffles:
                copy = self._X.copy()
                copy[:, j] = column
                yield copy

    def _outputs(self, method: str):
        """``method``'s output on every expected copy (predicted in stacked calls the first time),
        or None when the estimator does not predict row by row or a stacked call raised."""
        if method not in self._stacked:
            self._stacked[method] = self._predict_stacked(method)
        return self._stacked[method]

    def _predict_stacked(self, method: str):
        try:
            return self._stacked_outputs(method)
        except Exception:  # noqa: BLE001 (e.g. a model that refuses large calls: it answers each call itself,
            return None    # and an error it raises there is scikit-learn's to report, as without this class)

    def _stacked_outputs(self, method: str):
        n, p = self._X.shape
        per_call = max(1, MAX_CELLS // max(n * p, 1))
        predict, outputs, batch = getattr(self.estimator, method), [], []
        for copy in self._copies():
            batch.append(copy)
            if len(batch) == per_call:
                outputs += np.split(np.asarray(predict(np.concatenate(batch))), len(batch))
                batch = []
        if batch:
            outputs += np.split(np.asarray(predict(np.concatenate(batch))), len(batch))
        alone = np.asarray(predict(self._X))
        return outputs if _same(outputs[0], alone) else None
