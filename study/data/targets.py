"""Targets: the task a target calls for (classification or regression) and its values as an array."""

from __future__ import annotations

import numpy as np
import pandas as pd

from backends import TASKS
from backends.preprocessing import is_categorical

__all__ = ["MAX_CLASSES", "detect_task", "explain_task", "target_array", "bool_labels", "sorted_labels",
           "resolve_task", "label_repr"]

MAX_CLASSES = 20
"""A numeric target with at most this many distinct values, all whole numbers, is detected as
classification (see :func:`detect_task`)."""


def detect_task(y) -> str:
    """Classification or regression, from the target's values.

    The rule, applied to the non-missing values:

    - bool, string, object or ``category`` dtype -> ``"classification"``;
    - numeric, every value a whole number (``3`` or ``3.0``) and at most
      :data:`MAX_CLASSES` (20) distinct values -> ``"classification"``;
    - any other numeric target -> ``"regression"``.

    So ratings 1..5 are classes and prices are values; pass ``task=`` to the loaders to
    override the rule. :func:`explain_task` gives the reason in words.

    Parameters
    ----------
    y : array-like of shape (n_samples,)

    Returns
    -------
    {"classification", "regression"}

    Examples
    --------
    >>> detect_task(["yes", "no"]), detect_task([0, 1, 1]), detect_task([0.5, 1.5, 2.0])
    ('classification', 'classification', 'regression')
    """
    return explain_task(y)[0]


def explain_task(y) -> tuple:
    """The task :func:`detect_task` chooses, and why, as a clause about the target's values.

    Parameters
    ----------
    y : array-like of shape (n_samples,)

    Returns
    -------
    task : {"classification", "regression"}
    reason : str
        What decided it, e.g. ``"has 25 distinct integer values (more than 20)"``.

    Examples
    --------
    >>> explain_task(list(range(25)))
    ('regression', 'has 25 distinct integer values (more than 20)')
    >>> explain_task(["yes", "no", "yes"])
    ('classification', 'holds labels, not numbers (2 distinct)')
    """
    series = y if isinstance(y, pd.Series) else pd.Series(np.asarray(y))
    labels = is_categorical(series.dtype) or not pd.api.types.is_numeric_dtype(series.dtype)
    if not series.notna().any():
        return ("classification" if labels else "regression"), "has no values"
    if labels:
        return "classification", f"holds labels, not numbers ({series.nunique()} distinct)"
    values = series.dropna().to_numpy(dtype=np.float64)
    if not np.all(np.isfinite(values)):
        return "regression", "has infinite values"
    whole = values == np.round(values)
    if not np.all(whole):
        example = values[~whole][0]
        return "regression", f"has non-integer values (e.g. {example:g})"
    n_distinct = len(np.unique(values))
    if n_distinct <= MAX_CLASSES:
        return "classification", f"has {n_distinct} distinct integer values (at most {MAX_CLASSES})"
    return "regression", f"has {n_distinct} distinct integer values (more than {MAX_CLASSES})"


def target_array(series: pd.Series) -> np.ndarray:
    """The target as a NumPy array: numbers stay numbers (float with NaN when some are
    missing), labels stay labels (object array, NaN for missing); booleans become the labels
    ``"False"`` and ``"True"`` (:func:`bool_labels`)."""
    dtype = series.dtype
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        if isinstance(dtype, np.dtype):
            return series.to_numpy()
        if series.isna().any():
            return series.to_numpy(dtype=np.float64, na_value=np.nan)
        return series.to_numpy(dtype=dtype.numpy_dtype)
    if pd.api.types.is_bool_dtype(dtype):
        return bool_labels(series)
    values = np.array(series.astype(object).to_numpy(), dtype=object)  # a writable copy
    values[series.isna().to_numpy()] = np.nan
    return values


def bool_labels(y) -> np.ndarray:
    """A boolean target as the class labels ``"False"`` and ``"True"`` (object array, NaN for
    missing), in the same order as the booleans (``"False" < "True"``, so ``"True"`` is the
    positive class of binary metrics).

    Labels travel through the study's tables as text (the predictions' ``proba:<class>``
    columns, the report's class names, ``study.predict``'s output), where a bool label would
    come back as the string ``"False"`` and no longer match the target; as text it is a label
    like any other.

    Parameters
    ----------
    y : pandas.Series or array-like of shape (n_samples,)
        Booleans (numpy ``bool`` or pandas ``boolean``, with ``pd.NA`` for missing).

    Returns
    -------
    ndarray of object of shape (n_samples,)

    Examples
    --------
    >>> bool_labels(np.array([True, False])).tolist()
    ['True', 'False']
    """
    series = y if isinstance(y, pd.Series) else pd.Series(np.asarray(y))
    missing = series.isna().to_numpy()
    values = np.array(["True" if v else "False" for v in series.fillna(False).astype(bool)], dtype=object)
    values[missing] = np.nan
    return values


def sorted_labels(y: np.ndarray) -> list:
    """Distinct non-missing labels in ``np.unique`` order (by ``str`` if types are mixed)."""
    values = pd.Series(y).dropna().unique()
    try:
        return list(np.unique(np.asarray(list(values))))
    except TypeError:
        return sorted(values, key=str)


def resolve_task(task, y: np.ndarray, target: str, name: str, dtype=None) -> tuple:
    """The task asked for (checked against the target), or the detected one with a note.

    Parameters
    ----------
    task : {"classification", "regression"} or None
        None detects it (:func:`explain_task`).
    y : ndarray of shape (n_samples,)
    target : str
        The target's name, for the messages.
    name : str
        The dataset's name, for the messages.
    dtype : dtype or None, default=None
        The target's dtype as loaded, for the error message.

    Returns
    -------
    task : {"classification", "regression"}
    notes : tuple of str
        Empty when ``task`` was given; else one sentence saying which task was detected, why,
        and how to override it (shown before training and in the report).

    Raises
    ------
    ValueError
        An unknown ``task``, or ``"regression"`` with a non-numeric target.
    """
    if task is None:
        task, reason = explain_task(y)
        if task == "regression":
            how = "to treat them as classes, pass --task classification (task = 'classification' in TOML or Python)"
        elif _is_number(y):
            how = "to treat them as numbers, pass --task regression (task = 'regression' in TOML or Python)"
        else:
            how = "only a numeric target can be treated as regression"
        return task, (f"dataset {name!r}: target {target!r} {reason}: treated as {task}; {how}.",)
    if task not in TASKS:
        raise ValueError(
            f"task must be 'classification', 'regression' or None (detect it); got {task!r}."
        )
    if task == "regression" and not _is_number(y):
        raise ValueError(
            f"task='regression' needs a numeric target, but target {target!r} of dataset "
            f"{name!r} has dtype {y.dtype if dtype is None else dtype}. Use "
            "task='classification', or convert the target to numbers."
        )
    return task, ()


def _is_number(y: np.ndarray) -> bool:
    return pd.api.types.is_numeric_dtype(y.dtype) and not pd.api.types.is_bool_dtype(y.dtype)


def label_repr(value) -> str:
    """``repr`` of a class label without NumPy's scalar wrapper (``3``, not ``np.int64(3)``)."""
    return repr(value.item() if isinstance(value, np.generic) else value)
