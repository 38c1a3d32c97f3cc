"""Columns that say how rows relate, not what they measure: the groups column and the time column.

A **groups** column (``--groups``; ``groups`` in TOML and :class:`~study.spec.DataSource`) names
the unit each row belongs to: a patient, a customer, an image source. Rows of one group are not
independent (several noisy copies of one sample are nearly identical), so the splits keep each
group on one side (``study.splits``). A **time** column (``--time``) orders the rows: the hold-out
test split is the latest rows and every validation fold comes after its training rows.

Neither column is a feature: both are taken out of the table before the models see it. On request
(``time_features``) the time column is also expanded into features: a numeric time as itself (as
a float), a date into calendar parts (year, month, day, day of week, day of year, and the hour and
minute when any row has one).
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
from pandas.tseries.api import guess_datetime_format

from study.rules import check_one_split_structure

__all__ = ["take_structure", "parse_time", "time_text", "check_structure", "nested_kind"]

_FLAGS = {"groups": "--groups", "time": "--time"}


def _shown_rows(rows: np.ndarray) -> str:
    return ", ".join(str(i) for i in rows[:5]) + (", ..." if len(rows) > 5 else "")


_NESTED = {list: "lists", tuple: "lists", np.ndarray: "lists", set: "sets", frozenset: "sets", dict: "records"}


def nested_kind(values) -> str | None:
    """What a column holds when its values are not single values: ``"lists"`` (Parquet list
    columns arrive as arrays), ``"records"`` (struct columns arrive as dicts) or ``"sets"``;
    None for a column of single values.

    Parameters
    ----------
    values : pandas.Series or ndarray of shape (n_samples,)

    Returns
    -------
    str or None

    Examples
    --------
    >>> nested_kind(pd.Series([[1, 2], None])), nested_kind(pd.Series([{"a": 1}])), nested_kind(pd.Series(["a"]))
    ('lists', 'records', None)
    """
    dtype = getattr(values, "dtype", None)
    if isinstance(dtype, pd.ArrowDtype):
        import pyarrow as pa

        arrow = dtype.pyarrow_dtype
        return "records" if pa.types.is_struct(arrow) or pa.types.is_map(arrow) else \
            "lists" if pa.types.is_nested(arrow) else None
    if dtype is not None and not pd.api.types.is_object_dtype(dtype):
        return None
    items = values.to_numpy(dtype=object) if isinstance(values, pd.Series) else np.asarray(values, dtype=object)
    if pd.api.types.infer_dtype(items.ravel(), skipna=True) != "mixed":  # a fast scan: strings, numbers, dates
        return None
    nested = tuple(_NESTED)
    for value in items.ravel():
        if isinstance(value, nested):
            return next(what for kind, what in _NESTED.items() if isinstance(value, kind))
    return None


def _column(df: pd.DataFrame, kind: str, column, target: str, name: str) -> pd.Series:
    """The ``kind`` ("groups" or "time") column, checked: present, not the target, no missing value."""
    flag = _FLAGS[kind]
    if not isinstance(column, str) or not column:
        raise ValueError(f"The {kind} column of dataset {name!r} must be a column name (a non-empty string); got "
                         f"{column!r}. Fix {flag} ({kind} in TOML or DataSource).")
    if column == target:
        meaning = "the unit each row belongs to, e.g. a patient" if kind == "groups" else "the time of each row"
        raise ValueError(f"The {kind} column {column!r} of dataset {name!r} is its target; expected another column "
                         f"({meaning}). Fix {flag} or --target.")
    if column not in df.columns:
        raise ValueError(f"{kind.capitalize()} column {column!r} not found in dataset {name!r}; available columns: "
                         f"{[c for c in df.columns if c != target]}. Pass one of them as {flag} ({kind} in TOML or "
                         "DataSource); names are case-sensitive.")
    series = df[column]
    nested = nested_kind(series)
    if nested:
        raise ValueError(f"The {kind} column {column!r} of dataset {name!r} holds {nested} (a Parquet list or struct "
                         f"column); expected one value per row. Choose another column for {flag}, or flatten it into "
                         "single values before loading.")
    missing = np.flatnonzero(series.isna().to_numpy())
    if missing.size:
        raise ValueError(f"The {kind} column {column!r} of dataset {name!r} is missing in {missing.size} of "
                         f"{len(series)} rows (row positions {_shown_rows(missing)}); expected a value in every row. "
                         "Fill them in or drop those rows.")
    return series


def parse_time(series: pd.Series, column: str, name: str) -> np.ndarray:
    """The values of a time column as a sortable array.

    Numbers (not bools) stay numbers (int64 or float64); datetimes, and strings that pandas
    parses as dates in one format (``pd.to_datetime``: ISO 8601 such as ``2024-01-31`` or
    ``2024-01-31 14:00``, else the one format every row parses in, e.g. ``31.01.2024``), become
    ``datetime64[ns]`` (time-zone aware ones, and times with UTC offsets, in UTC).

    Parameters
    ----------
    series : pandas.Series of shape (n_samples,)
        Without missing values.
    column, name : str
        The column's and the dataset's names (for messages).

    Returns
    -------
    ndarray of shape (n_samples,)

    Raises
    ------
    ValueError
        Bools, values that are neither numbers nor dates (the message names the first), dates
        in several formats (the message counts the rows not in the most common format), or
        times with and without a UTC offset in one column.
    """
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        raise ValueError(f"The time column {column!r} of dataset {name!r} holds booleans; expected numbers or dates "
                         "such as 2024-01-31 that order the rows. Choose another --time column.")
    if pd.api.types.is_numeric_dtype(dtype):
        return series.to_numpy(dtype=np.int64 if pd.api.types.is_integer_dtype(dtype) else np.float64)
    if isinstance(dtype, pd.DatetimeTZDtype):
        return series.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return series.to_numpy(dtype="datetime64[ns]")
    return _parse_date_text(series.astype(str).str.strip(), series, column, name)


_OFFSET = re.compile(r"\d:\d\d(?::\d\d(?:[.,]\d+)?)?\s*(?:Z|UTC|GMT|[+-]\d\d(?::?\d\d)?)$", re.IGNORECASE)
"""A time of day followed by a UTC offset (``14:00+01:00``, ``14:00:00Z``): an absolute instant."""
_GUESSED_VALUES = 1000
"""Distinct values whose format is guessed (:func:`pandas.tseries.api.guess_datetime_format`)."""


def _to_datetime(text: pd.Series, fmt: str, utc: bool) -> pd.Series:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas' notes on inferring a format element by element
        try:
            return pd.to_datetime(text, format=fmt, errors="coerce", utc=utc)
        except (ValueError, TypeError, OverflowError):  # e.g. a format pandas cannot apply
            return pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns, UTC]" if utc else "datetime64[ns]")


def _format_words(fmt: str) -> str:
    return "ISO 8601 (YYYY-MM-DD, with an optional time)" if fmt == "ISO8601" else repr(fmt)


def _parse_date_text(text: pd.Series, series: pd.Series, column: str, name: str) -> np.ndarray:
    """Date strings in one format: ISO 8601, else the one format every row parses in.

    A column whose rows are written in different formats (``2022-01-02`` and ``02/01/2022``) is
    refused: pandas' element-by-element parsing would read ``02/01/2022`` as 1 February or as 2
    January depending on the row, and order the rows wrongly without a word. Times with UTC
    offsets are ordered as instants (in UTC); a column mixing times with and without an offset
    is refused.
    """
    where = f"The time column {column!r} of dataset {name!r}"
    with_offset = text.str.contains(_OFFSET).to_numpy()
    if with_offset.any() and not with_offset.all():
        aware, naive = np.flatnonzero(with_offset), np.flatnonzero(~with_offset)
        raise ValueError(f"{where} mixes times with a UTC offset ({len(aware)} rows, e.g. {text.iloc[aware[0]]!r} in "
                         f"row {aware[0]}) and without one ({len(naive)} rows, e.g. {text.iloc[naive[0]]!r} in row "
                         f"{naive[0]}); expected an offset in every row or in none, so that the rows can be ordered. "
                         "Write every time in one zone, or every time with its offset in ISO 8601 (e.g. "
                         "2024-01-31T14:00:00+01:00).")
    utc = bool(with_offset.all())
    parsed = _to_datetime(text, "ISO8601", utc)
    if parsed.isna().any():
        distinct = pd.unique(text[parsed.isna()].to_numpy())[:_GUESSED_VALUES]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pandas' notes on dayfirst
            month_first = {guess_datetime_format(str(value)) for value in distinct} - {None}
            day_first = {guess_datetime_format(str(value), dayfirst=True) for value in distinct} - {None}
        candidates = {"ISO8601": parsed}
        candidates.update((fmt, _to_datetime(text, fmt, utc)) for fmt in sorted(month_first | day_first))
        # the format parsing most rows; on a tie ISO 8601, then month first (as pandas reads 02/01/2022)
        best = max(candidates, key=lambda fmt: (int(candidates[fmt].notna().sum()), fmt == "ISO8601",
                                                fmt in month_first))
        parsed = candidates[best]
        bad = np.flatnonzero(parsed.isna().to_numpy())
        if bad.size:
            lenient = _to_datetime(text.iloc[bad], "mixed", utc)  # element by element: slow, on these rows only
            not_dates = bad[lenient.isna().to_numpy()]
            if not_dates.size:
                raise ValueError(f"{where} holds values that are neither numbers nor dates (e.g. "
                                 f"{str(series.iloc[not_dates[0]])!r} in row {not_dates[0]}); expected numbers or "
                                 "dates such as 2024-01-31 that order the rows. Fix the column or choose another "
                                 "--time.")
            raise ValueError(f"{where} mixes date formats: {bad.size} of {len(text)} rows "
                             f"{'is' if bad.size == 1 else 'are'} not in its most "
                             f"common format, {_format_words(best)}, e.g. {text.iloc[bad[0]]!r} in row {bad[0]}; "
                             "their day, month and order would be guessed row by row. Expected one format in every "
                             "row: rewrite the column in one format, preferably ISO 8601 (2024-01-31).")
    if utc or parsed.dt.tz is not None:
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    return parsed.to_numpy(dtype="datetime64[ns]")


def time_text(value) -> str:
    """A time value as text: a date (``2024-01-31``), a date and time, or a number (``17``)."""
    if isinstance(value, np.datetime64):
        stamp = pd.Timestamp(value)
        return stamp.date().isoformat() if stamp == stamp.normalize() else stamp.isoformat(sep=" ")
    return f"{value:g}" if isinstance(value, (float, np.floating)) else str(value)


def _time_features(series: pd.Series, values: np.ndarray, column: str) -> pd.DataFrame:
    """The time column as features: a number as itself (float); a date as its calendar parts."""
    if values.dtype.kind != "M":
        return pd.DataFrame({column: values.astype(np.float64)})
    stamps = pd.Series(pd.to_datetime(values))
    parts = {"year": stamps.dt.year, "month": stamps.dt.month, "day": stamps.dt.day,
             "dayofweek": stamps.dt.day_of_week, "dayofyear": stamps.dt.day_of_year}
    for part in ("hour", "minute"):
        if (getattr(stamps.dt, part) != 0).any():
            parts[part] = getattr(stamps.dt, part)
    return pd.DataFrame({f"{column}_{part}": v.to_numpy(dtype=np.float64) for part, v in parts.items()})


def take_structure(X: pd.DataFrame, *, name: str, target: str, groups=None, time=None,
                   time_features: bool = False) -> tuple:
    """Take the groups and the time column out of a table's features.

    Parameters
    ----------
    X : pandas.DataFrame of shape (n_samples, n_columns)
        The table without its target (``target`` is only named in messages).
    name, target : str
        The dataset's and its target's names.
    groups : str or None, default=None
        The groups column.
    time : str or None, default=None
        The time column.
    time_features : bool, default=False
        Also expand the time column into features (see the module docstring).

    Returns
    -------
    X : pandas.DataFrame
        The features: without the two columns (with the time features appended, when asked).
    groups : ndarray of str of shape (n_samples,) or None
        Each row's group, as text.
    time : ndarray of shape (n_samples,) or None
        Each row's time (:func:`parse_time`).
    notes : tuple of str
        A sentence for the report when the time column was expanded into features.

    Raises
    ------
    ValueError
        Both columns given (grouped and time-ordered splits together are not supported), a
        column that is missing or is the target, holds lists or records, or has missing values,
        a time column that is neither numbers nor dates or mixes date formats or times with and
        without UTC offsets (:func:`parse_time`), ``time_features`` without a time column, or a
        time feature whose name is already a column.
    """
    check_one_split_structure(name, groups, time)
    if time_features and time is None:
        raise ValueError(f"time_features is set for dataset {name!r}, which has no time column; expected --time "
                         "COLUMN with it. Add --time or remove --time-features.")
    group_values = time_values = None
    notes: tuple = ()
    if groups is not None:
        group_values = _column(X, "groups", groups, target, name).astype(str).to_numpy().astype(str)
        X = X.drop(columns=[groups])
    if time is not None:
        series = _column(X, "time", time, target, name)
        time_values = parse_time(series, time, name)
        X = X.drop(columns=[time])
        if time_features:
            extra = _time_features(series, time_values, time)
            clash = sorted(set(extra.columns) & set(X.columns))
            if clash:
                raise ValueError(f"Dataset {name!r} already has column(s) {clash}, the names of the features of the "
                                 f"time column {time!r}; expected new names. Rename those columns or remove "
                                 "--time-features.")
            X = pd.concat([X.reset_index(drop=True), extra], axis=1)
            notes = (f"dataset {name!r}: the time column {time!r} orders the splits and is also expanded into the "
                     f"features {list(extra.columns)} (time_features).",)
    return X, group_values, time_values, notes


def check_structure(dataset) -> None:
    """A dataset's ``groups`` and ``time``, when set, have one value per row and no missing one.

    Raises
    ------
    ValueError
        A length that is not the number of rows, missing values, or both set.
    """
    n = dataset.n_samples
    check_one_split_structure(dataset.name, dataset.groups, dataset.time)
    for kind, values in (("groups", dataset.groups), ("time", dataset.time)):
        if values is None:
            continue
        if np.ndim(values) != 1 or len(values) != n:
            raise ValueError(f"The {kind} of dataset {dataset.name!r} have shape {np.shape(values)}; expected one "
                             f"value per row, shape ({n},). Build them from the same rows as X and y.")
        if pd.isna(pd.Series(values)).any():
            raise ValueError(f"The {kind} of dataset {dataset.name!r} are missing in "
                             f"{int(pd.isna(pd.Series(values)).sum())} rows; expected a value in every row.")
