"""The estimator :func:`study.model_store.load_model` and ``StudyResult.best_estimator`` return: the
stored Pipeline, frozen, taking a DataFrame's columns by name.

scikit-learn refuses a DataFrame whose columns are the training ones in another order ("The
feature names should match those that were passed during fit"), and an estimator fitted on a
NumPy array cannot know names at all. A stored model knows its columns (``model.json``'s
``features``), so :class:`StoredEstimator` selects them by name, in the trained order, and refuses a
DataFrame that lacks one or has another, in one line. A NumPy array is taken by position, as
the Pipeline takes it.

It is scikit-learn's :class:`sklearn.frozen.FrozenEstimator` (``fit`` does nothing: the model was
tuned and fitted by the study; every attribute of the Pipeline is reachable, ``est[-1]`` and
``est.named_steps`` included), with the column selection before ``predict``, ``predict_proba``,
``predict_log_proba``, ``decision_function``, ``score`` and ``transform``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.frozen import FrozenEstimator
from sklearn.utils.metaestimators import available_if

__all__ = ["StoredEstimator", "stored_estimator"]

_SHOWN = 12
"""Most column names a message or the repr lists (then "... (N in all)")."""


def _has(method: str):
    """``available_if`` check: the stored estimator has ``method`` (else its AttributeError)."""

    def check(self):
        getattr(self.estimator, method)
        return True

    return check


def _names(names) -> str:
    """A list of column names for a message, at most :data:`_SHOWN` of them."""
    names = [str(name) for name in names]
    return str(names) if len(names) <= _SHOWN else f"{str(names[:_SHOWN])[:-1]}, ... ({len(names)} in all)]"


class _Abbreviated(tuple):
    """A long tuple of names whose repr lists the first few and the count (for :meth:`StoredEstimator.__repr__`)."""

    def __repr__(self):
        if len(self) <= _SHOWN:
            return repr(tuple(self))
        return f"({', '.join(map(repr, self[:_SHOWN // 2]))}, ... {len(self)} names)"


class StoredEstimator(FrozenEstimator):
    """A stored, fitted estimator that takes a DataFrame's columns by name.

    Parameters
    ----------
    estimator : fitted scikit-learn estimator
        The stored Pipeline (``preprocess -> model``).
    feature_names : sequence of str or None, default=None
        The training columns, in the trained order. None: the estimator's own
        ``feature_names_in_`` (a Pipeline fitted on a DataFrame).
    array_input : bool, default=False
        True when the estimator was fitted on a NumPy array: a DataFrame's columns, selected by
        name, are passed to it as an array.

    Attributes
    ----------
    feature_names_in_ : ndarray of str of shape (n_features_in_,)
        The training columns, in order.
    n_features_in_ : int
    classes_ : ndarray of shape (n_classes,)
        The estimator's classes (a classifier).

    Notes
    -----
    ``fit`` does nothing (scikit-learn's ``FrozenEstimator``): to train the model again, clone
    :attr:`estimator` (``sklearn.base.clone(est.estimator)``). Any attribute the wrapper does not
    define is the estimator's (``est[-1]``, ``est.named_steps``).

    Examples
    --------
    >>> est = load_model("out/models/shop/logistic_regression")  # doctest: +SKIP
    >>> est.predict(table[list(reversed(table.columns))])        # doctest: +SKIP
    """

    def __init__(self, estimator, feature_names=None, array_input=False):
        self.estimator = estimator
        self.feature_names = feature_names
        self.array_input = array_input

    def get_params(self, deep=True):
        """The wrapper's parameters (``estimator``, ``feature_names``, ``array_input``); the frozen
        estimator's own are not routed (``deep`` is ignored, as in ``FrozenEstimator``)."""
        return dict(estimator=self.estimator, feature_names=self.feature_names, array_input=self.array_input)

    def set_params(self, **params):
        """Set the wrapper's parameters; the frozen estimator's own cannot be set (``ValueError``)."""
        unknown = sorted(set(params) - set(self.get_params()))
        if unknown:
            raise ValueError(f"Cannot set {unknown} on a stored model: its estimator is fitted and frozen. "
                             "Set them on a clone of its estimator: clone(est.estimator).set_params(...), then fit it.")
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def __repr__(self, N_CHAR_MAX=700):
        shown = BaseEstimator.__new__(type(self))
        shown.__dict__.update(self.__dict__)
        if self.feature_names is not None:
            shown.feature_names = _Abbreviated(self.feature_names)
        return BaseEstimator.__repr__(shown, N_CHAR_MAX=N_CHAR_MAX)

    @property
    def feature_names_in_(self) -> np.ndarray:
        names = self.estimator.feature_names_in_ if self.feature_names is None else self.feature_names
        return np.asarray([str(name) for name in names], dtype=object)

    @property
    def n_features_in_(self) -> int:
        return len(self.feature_names_in_)

    def _columns(self, X):
        """``X`` with the training columns in the trained order, when it is a DataFrame.

        Raises
        ------
        ValueError
            A DataFrame with a missing, an extra or a repeated column, in one line.
        """
        if not isinstance(X, pd.DataFrame):
            return X
        expected = list(self.feature_names_in_)
        columns = [str(column) for column in X.columns]
        missing = [name for name in expected if name not in columns]
        extra = [column for column in columns if column not in expected]
        repeated = sorted({column for column in columns if columns.count(column) > 1})
        if missing or extra or repeated:
            found = "; ".join(f"{what} {_names(names)}" for what, names in
                              (("missing", missing), ("extra", extra), ("repeated", repeated)) if names)
            raise ValueError(f"X's columns do not match the model's: {found}. Expected the {len(expected)} "
                             f"training columns {_names(expected)} in any order: give a DataFrame with exactly "
                             "those columns (drop the target and any other), or a NumPy array of them in that order.")
        X = X.iloc[:, [columns.index(name) for name in expected]]
        if self.array_input:
            return X.to_numpy()
        inner = getattr(self.estimator, "feature_names_in_", None)
        return X.set_axis(list(inner if inner is not None else expected), axis=1)

    @available_if(_has("predict"))
    def predict(self, X, **params):
        """The estimator's ``predict`` on ``X``'s training columns (a DataFrame by name, an array by position)."""
        return self.estimator.predict(self._columns(X), **params)

    @available_if(_has("predict_proba"))
    def predict_proba(self, X, **params):
        """The estimator's ``predict_proba``, shape (n_samples, n_classes); columns as :meth:`predict`."""
        return self.estimator.predict_proba(self._columns(X), **params)

    @available_if(_has("predict_log_proba"))
    def predict_log_proba(self, X, **params):
        """The estimator's ``predict_log_proba``; columns as :meth:`predict`."""
        return self.estimator.predict_log_proba(self._columns(X), **params)

    @available_if(_has("decision_function"))
    def decision_function(self, X, **params):
        """The estimator's ``decision_function``; columns as :meth:`predict`."""
        return self.estimator.decision_function(self._columns(X), **params)

    @available_if(_has("transform"))
    def transform(self, X, **params):
        """The estimator's ``transform``; columns as :meth:`predict`."""
        return self.estimator.transform(self._columns(X), **params)

    @available_if(_has("score"))
    def score(self, X, y, sample_weight=None, **params):
        """The estimator's ``score`` (accuracy, or R^2 for a regressor); columns as :meth:`predict`."""
        if sample_weight is not None:
            params["sample_weight"] = sample_weight
        return self.estimator.score(self._columns(X), y, **params)


def stored_estimator(estimator, info: dict) -> StoredEstimator:
    """Wrap a loaded estimator with the columns its ``model.json`` (``info``) lists.

    Parameters
    ----------
    estimator : fitted scikit-learn estimator
        Checked against ``info`` (``study.model_store_checks.check_loaded``).
    info : dict
        Its ``model.json``: ``features`` (the columns, in order) and ``input`` (``"frame"`` or
        ``"array"``).

    Returns
    -------
    StoredEstimator
        ``feature_names`` given only when the estimator does not know them itself (fitted on an
        array), so that its repr stays short.
    """
    if isinstance(estimator, StoredEstimator):  # a loaded model pickled again
        estimator = estimator.estimator
    names = [feature["name"] for feature in info["features"]]
    array_input = info.get("input") == "array"
    known = getattr(estimator, "feature_names_in_", None)
    own = known is not None and [str(name) for name in known] == names
    return StoredEstimator(estimator, feature_names=None if own else tuple(names), array_input=array_input)
