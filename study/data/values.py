"""Numbers the models can hold: infinite values and magnitudes beyond :data:`MAX_ABS_VALUE` are
refused before training, in features, images and a regression target (NaN in features is allowed:
it is imputed inside each fold)."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["MAX_ABS_VALUE", "check_feature_values", "check_image_values", "check_target_values"]

MAX_ABS_VALUE = 1e30
"""Largest magnitude accepted in a numeric feature, an image or a regression target.

Every model receives its data as float32 (``TabularPreprocessor`` and ``ImageScaler`` output
float32), whose largest value is 3.4e38: an unscaled value above it (random forests skip the
scaler) becomes inf and the fit fails. scikit-learn's ``Ridge`` also casts the target to
float32 and sums products over the rows, which overflowed for targets of 1e35 on 20,000 rows
(measured with scikit-learn 1.9). 1e30 keeps sums over up to 1e8 rows below 3.4e38; float64
``StandardScaler``, which squares values, would only overflow beyond about 1e150. Values of this
size are almost always a unit or parsing error; rescale them (other units, a log)."""


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'s' if n != 1 else ''}"


def _rows(n: int) -> str:
    return _count(n, "row")


def _as_float(values) -> np.ndarray | None:
    """Float64 values (NaN for missing), or None when they are not numbers."""
    try:
        if isinstance(values, pd.Series):
            return values.to_numpy(dtype=np.float64, na_value=np.nan)
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        return None


def _numeric_columns(X, feature_names) -> list:
    """(name, float64 values) of the numeric, non-bool columns of a tabular ``X``."""
    if isinstance(X, pd.DataFrame):
        return [(str(c), X.iloc[:, i].to_numpy(dtype=np.float64, na_value=np.nan)) for i, c in enumerate(X.columns)
                if pd.api.types.is_numeric_dtype(X.dtypes.iloc[i]) and not pd.api.types.is_bool_dtype(X.dtypes.iloc[i])]
    if np.asarray(X).dtype.kind != "f":  # integers cannot be infinite, and stay below 1e30
        return []
    names = feature_names or [f"x{i}" for i in range(X.shape[1])]
    finite = np.isfinite(X)
    bad = np.flatnonzero((np.isinf(X) | (finite & (np.abs(np.where(finite, X, 0)) > MAX_ABS_VALUE))).any(axis=0))
    return [(str(names[i]), X[:, i]) for i in bad]


def check_feature_values(X, name: str, feature_names=None) -> None:
    """Refuse infinite values and magnitudes above :data:`MAX_ABS_VALUE` in numeric features.

    Parameters
    ----------
    X : pandas.DataFrame or ndarray of shape (n_samples, n_features)
        Tabular features; only numeric (non-bool) columns are looked at, NaN is allowed.
    name : str
        The dataset's name, for the message.
    feature_names : list of str or None, default=None
        Column names of an ndarray ``X`` (default ``x0, x1, ...``).

    Raises
    ------
    ValueError
        Naming each offending column and its number of rows: first infinite values, then
        values beyond +-:data:`MAX_ABS_VALUE`.
    """
    infinite, huge = [], []
    for column, values in _numeric_columns(X, feature_names):
        n_inf = int(np.isinf(values).sum())
        if n_inf:
            infinite.append(f"{column!r} ({_rows(n_inf)})")
        big = np.abs(values[np.isfinite(values)])
        big = big[big > MAX_ABS_VALUE]
        if big.size:
            huge.append(f"{column!r} ({_rows(big.size)}, largest {big.max():.3g})")
    if infinite:
        raise ValueError(
            f"Column(s) {', '.join(infinite)} of dataset {name!r} hold infinite values (inf or -inf); expected "
            "finite numbers (missing values may be NaN or empty: they are imputed). Replace them with NaN "
            "(df.replace([np.inf, -np.inf], np.nan)) or drop those rows."
        )
    if huge:
        raise ValueError(
            f"Column(s) {', '.join(huge)} of dataset {name!r} hold values beyond +-{MAX_ABS_VALUE:.0e}; expected "
            f"magnitudes up to {MAX_ABS_VALUE:.0e}, which the models' float32 arithmetic can hold. Rescale the "
            "column(s) (other units, or a log) or drop those rows."
        )


def check_image_values(X: np.ndarray, name: str) -> None:
    """Refuse NaN, infinite and out-of-range (:data:`MAX_ABS_VALUE`) pixel values.

    Parameters
    ----------
    X : ndarray of shape (n_samples, height*width*channels)
        Numeric pixel values.
    name : str
        The dataset's name, for the message.

    Raises
    ------
    ValueError
        Saying how many values are missing, infinite or too large.
    """
    if X.dtype.kind != "f":
        return
    n_missing = int(np.isnan(X).sum())
    if n_missing:
        raise ValueError(
            f"Image data of dataset {name!r} has {n_missing} missing (NaN) pixel values; "
            "expected none. Fill them (e.g. with 0) before loading."
        )
    n_inf = int(np.isinf(X).sum())
    if n_inf:
        raise ValueError(
            f"Image data of dataset {name!r} has {_count(n_inf, 'infinite (inf or -inf) pixel value')}; expected "
            "finite numbers. Replace them (e.g. with 0 or the largest valid intensity) before loading."
        )
    peak = float(np.abs(X).max()) if X.size else 0.0
    if peak > MAX_ABS_VALUE:
        n_big = int((np.abs(X) > MAX_ABS_VALUE).sum())
        raise ValueError(
            f"Image data of dataset {name!r} has {_count(n_big, 'pixel value')} beyond +-{MAX_ABS_VALUE:.0e} (largest "
            f"{peak:.3g}); expected magnitudes up to {MAX_ABS_VALUE:.0e}, which float32 pixels can hold. "
            "Rescale the images (e.g. to [0, 1]) before loading."
        )


def check_target_values(y, name: str) -> None:
    """Refuse infinite values and magnitudes above :data:`MAX_ABS_VALUE` in a regression target.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Numeric target values without NaN (missing values are refused before).
    name : str
        The dataset's name, for the message.

    Raises
    ------
    ValueError
        Saying in how many rows (and the first row positions) the target is infinite or too
        large.
    """
    values = _as_float(y)
    if values is None:
        return
    for bad, what, fix in (
        (np.isinf(values), "infinite (inf or -inf)", "Drop those rows or fill in a finite target."),
        (np.isfinite(values) & (np.abs(values) > MAX_ABS_VALUE), f"beyond +-{MAX_ABS_VALUE:.0e}",
         "Rescale the target (other units, or a log); the models' float32 arithmetic holds magnitudes up to "
         f"{MAX_ABS_VALUE:.0e}."),
    ):
        rows = np.flatnonzero(bad)
        if rows.size:
            shown = ", ".join(str(i) for i in rows[:5]) + (", ..." if rows.size > 5 else "")
            raise ValueError(
                f"The target of dataset {name!r} is {what} in {rows.size} of {len(values)} rows (row positions "
                f"{shown}); expected finite numbers. {fix}"
            )
