"""Targets: the task a target calls for (classification or regression) and its values as an array."""

from __future__ import annotations

import numpy as np
import pandas as pd

from backends import TASKS
from backends.preprocessing import is_categorical

__all__ = ["MAX_CLASSES", "detect_task", "target_array", "sorted_labels", "resolve_task", "label_repr"]

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
    override the rule.

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
    series = y if isinstance(y, pd.Series) else pd.Series(np.asarray(y))
    if is_categorical(series.dtype) or not pd.api.types.is_numeric_dtype(series.dtype):
        return "classification"
    values = series.dropna().to_numpy(dtype=np.float64)
    if values.size and np.all(np.isfinite(values)) and np.all(values == np.round(values)):
        if len(np.unique(values)) <= MAX_CLASSES:
            return "classification"
    return "regression"


def target_array(series: pd.Series) -> np.ndarray:
    """The target as a NumPy array: numbers stay numbers (float with NaN when some are
    missing), labels stay labels (object array, NaN for missing)."""
    dtype = series.dtype
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        if isinstance(dtype, np.dtype):
            return series.to_numpy()
        if series.isna().any():
            return series.to_numpy(dtype=np.float64, na_value=np.nan)
        return series.to_numpy(dtype=dtype.numpy_dtype)
    if isinstance(dtype, np.dtype) and dtype.kind == "b":
        return series.to_numpy()
    if pd.api.types.is_bool_dtype(dtype) and not series.isna().any():
        return series.to_numpy(dtype=bool)
    values = np.array(series.astype(object).to_numpy(), dtype=object)  # a writable copy
    values[series.isna().to_numpy()] = np.nan
    return values


def sorted_labels(y: np.ndarray) -> list:
    """Distinct non-missing labels in ``np.unique`` order (by ``str`` if types are mixed)."""
    values = pd.Series(y).dropna().unique()
    try:
        return list(np.unique(np.asarray(list(values))))
    except TypeError:
        return sorted(values, key=str)


def resolve_task(task, y: np.ndarray, target: str, name: str, dtype=None) -> str:
    """The task asked for (checked against the target) or detected; ``dtype`` is the
    target's dtype as loaded, for the message."""
    if task is None:
        return detect_task(y)
    if task not in TASKS:
        raise ValueError(
            f"task must be 'classification', 'regression' or None (detect it); got {task!r}."
        )
    if task == "regression" and not (
        pd.api.types.is_numeric_dtype(y.dtype) and not pd.api.types.is_bool_dtype(y.dtype)
    ):
        raise ValueError(
            f"task='regression' needs a numeric target, but target {target!r} of dataset "
            f"{name!r} has dtype {y.dtype if dtype is None else dtype}. Use "
            "task='classification', or convert the target to numbers."
        )
    return task


def label_repr(value) -> str:
    """``repr`` of a class label without NumPy's scalar wrapper (``3``, not ``np.int64(3)``)."""
    return repr(value.item() if isinstance(value, np.generic) else value)
