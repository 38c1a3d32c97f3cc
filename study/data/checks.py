"""Checks of a dataset before any fitting, each failure one ``ValueError`` saying what was found,
what was expected and how to fix it; columns that cannot help a model are dropped, and every notice
(a ``UserWarning``) is also kept in the dataset's ``notes`` for the report."""

from __future__ import annotations

import dataclasses
import math
import re
import warnings

import numpy as np
import pandas as pd

from backends.preprocessing import MAX_CATEGORIES, is_categorical
from study.data.columns import check_structure, nested_kind
from study.data.dataset import Dataset
from study.data.targets import bool_labels, label_repr, sorted_labels
from study.data.values import check_feature_values, check_image_values, check_target_values

__all__ = ["check_dataset", "is_id_like"]

ID_NAME_TOKENS = frozenset({"id", "uuid", "guid", "key", "index", "idx"})


def _name_tokens(name: str) -> list:
    """Lower-case words of a column name: ``"CustomerID"`` and ``"customer_id"`` ->
    ``["customer", "id"]``."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", str(name))
    return [t for t in re.split(r"[^0-9a-zA-Z]+", spaced.lower()) if t]


def is_id_like(column, name: str = "") -> bool:
    """True if a feature column looks like a row identifier rather than a feature.

    The rule: the column has at least 2 rows, no missing value and a distinct value in
    every row, and either

    - its values are strings (``str``/object/``category`` of strings): UUIDs, e-mails,
      codes; or
    - its values are integers (an integer dtype; not bool) and either its name contains
      the word ``id``, ``uuid``, ``guid``, ``key``, ``index`` or ``idx`` (``id``,
      ``customer_id``, ``CustomerID``, ``row_index``) or the values are consecutive
      (a row counter such as 0..n-1 or 1001..1300).

    A float column is never ID-like, nor a unique integer measurement such as ``income``
    (convert a column to float to keep it).

    Parameters
    ----------
    column : pandas.Series or ndarray of shape (n_samples,)
    name : str, default=""
        The column's name.

    Returns
    -------
    bool
    """
    series = column if isinstance(column, pd.Series) else pd.Series(np.asarray(column))
    n = len(series)
    if n < 2 or series.isna().any() or series.nunique(dropna=False) != n:
        return False
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return False
    if pd.api.types.is_integer_dtype(dtype):
        if ID_NAME_TOKENS.intersection(_name_tokens(name)):
            return True
        return int(series.max()) - int(series.min()) == n - 1
    if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(dtype) \
            or pd.api.types.is_object_dtype(dtype):
        return all(isinstance(v, str) for v in series.astype(object))
    return False


def _columns_of(dataset: Dataset) -> list:
    """(name, values) of each feature column of a tabular dataset."""
    X = dataset.X
    if isinstance(X, pd.DataFrame):
        return [(str(c), X.iloc[:, i]) for i, c in enumerate(X.columns)]
    names = dataset.feature_names or [f"x{i}" for i in range(X.shape[1])]
    return [(str(names[i]), X[:, i]) for i in range(X.shape[1])]


def _keep_columns(dataset: Dataset, keep: list) -> Dataset:
    X = dataset.X
    if isinstance(X, pd.DataFrame):
        X = X.iloc[:, keep]
        names = list(X.columns)
    else:
        X = X[:, keep]
        names = None if dataset.feature_names is None else [dataset.feature_names[i] for i in keep]
    return dataclasses.replace(dataset, X=X, feature_names=names)


def _check_image(dataset: Dataset) -> None:
    X, name, shape = dataset.X, dataset.name, dataset.image_shape
    dims = tuple(shape) if isinstance(shape, (tuple, list)) else ()
    if len(dims) != 3 or not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d >= 1
                                 for d in dims):
        raise ValueError(
            f"image_shape {shape!r} of dataset {name!r} is not (height, width, channels) with each an integer "
            "of at least 1; expected e.g. (28, 28, 1). Fix image_shape (images with a dimension of 0 hold no "
            "pixels)."
        )
    if isinstance(X, pd.DataFrame) or np.asarray(X).dtype.kind not in "biuf":
        found = "a DataFrame" if isinstance(X, pd.DataFrame) else f"an array of dtype {np.asarray(X).dtype}"
        raise ValueError(
            f"Image data of dataset {name!r} is {found}; expected a numeric ndarray of pixel "
            "values of shape (n_samples, height*width*channels). Convert it with "
            "np.asarray(X, dtype='float32')."
        )
    width = int(np.prod(dataset.image_shape))
    if X.ndim != 2 or X.shape[1] != width:
        raise ValueError(
            f"image_shape {tuple(dataset.image_shape)} of dataset {name!r} needs {width} "
            f"columns (height*width*channels), but X has shape {X.shape}. Fix image_shape, or "
            f"flatten the images row-major to (n_samples, {width})."
        )
    check_image_values(X, name)


def _dates_as_text(dataset: Dataset, notices: list) -> Dataset:
    """Datetime and timedelta feature columns (Parquet, a DataFrame) as text, as a CSV file brings
    them: the models take numbers and categories, and ``study.predict`` reads a CSV's dates as text."""
    X = dataset.X
    if not isinstance(X, pd.DataFrame):
        return dataset
    dates = [i for i, dtype in enumerate(X.dtypes)
             if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype)]
    if not dates:
        return dataset
    X = X.copy()
    for i in dates:
        column = X.iloc[:, i]
        X.isetitem(i, column.astype(str).astype(object).where(column.notna(), np.nan))
    shown = [str(X.columns[i]) for i in dates]
    _notice(
        notices,
        f"Column(s) {shown} of dataset {dataset.name!r} hold dates or durations, which the models cannot take as "
        "numbers: they are used as text categories, as a date column of a CSV file is (a distinct value in every "
        "row makes a column ID-like). To split by time instead, pass --time COLUMN (with --time-features for its "
        "calendar parts as features)."
    )
    return dataclasses.replace(dataset, X=X)


def _clean_tabular(dataset: Dataset, notices: list) -> Dataset:
    name = dataset.name
    dataset = _dates_as_text(dataset, notices)
    columns = _columns_of(dataset)
    if not columns:
        raise ValueError(
            f"Dataset {name!r} has no feature columns; expected at least one column besides "
            "the target. Check the target and drop arguments."
        )
    empty = [c for c, values in columns if pd.isna(values).all()]
    if len(empty) == len(columns):
        raise ValueError(
            f"All {len(columns)} feature columns of dataset {name!r} are entirely missing "
            f"(NaN in every row): {empty}; expected at least one column with values. Check "
            "that the file was read with the right separator and header."
        )
    if empty:
        _notice(
            notices,
            f"Dropping column(s) {empty} of dataset {name!r}: entirely missing (NaN in every "
            "row), so they carry no information."
        )
    nested = {c: kind for c, values in columns if c not in empty for kind in [nested_kind(values)] if kind}
    if nested:
        _notice(
            notices,
            f"Dropping column(s) {', '.join(f'{c!r} ({kind})' for c, kind in nested.items())} of dataset {name!r}: "
            "they hold lists or records (Parquet list or struct columns), not one value per row, so the models "
            "cannot take them. To use them, flatten them into one column per element or field before loading "
            "(e.g. pd.json_normalize, or pd.DataFrame(df[column].tolist()))."
        )
    ids = [c for c, values in columns if c not in empty and c not in nested and is_id_like(values, c)]
    if ids:
        _notice(
            notices,
            f"Dropping ID-like column(s) {ids} of dataset {name!r}: a distinct integer or string "
            "in every row identifies the row, it is not a feature. To keep such a column, "
            "convert it to float."
        )
    if len(empty) + len(nested) + len(ids) == len(columns):
        dropped = " and ".join(part for part in (f"the ID-like column(s) {ids}" if ids else "",
                                                 f"the list or record column(s) {list(nested)}" if nested else "")
                               if part) or "the entirely missing column(s)"
        raise ValueError(
            f"Dataset {name!r} has no feature columns left after dropping {dropped}; expected at least one real "
            "feature. Add feature columns to the data."
        )
    keep = [i for i, (c, _) in enumerate(columns) if c not in empty and c not in nested and c not in ids]
    dataset = dataset if len(keep) == len(columns) else _keep_columns(dataset, keep)
    check_feature_values(dataset.X, name, dataset.feature_names)
    for notice in _many_categories(dataset):
        _notice(notices, notice)
    return dataset


def _notice(notices: list, message: str) -> None:
    """Keep a notice for the notes (shown when every check has passed)."""
    notices.append(message)


def _many_categories(dataset: Dataset) -> list:
    """One notice per categorical column with more distinct values than the one-hot encoding keeps."""
    X = dataset.X
    if not isinstance(X, pd.DataFrame):
        return []
    notices = []
    for i, column in enumerate(X.columns):
        dtype = X.dtypes.iloc[i]
        if not is_categorical(dtype) or pd.api.types.is_bool_dtype(dtype):
            continue
        n_distinct = int(X.iloc[:, i].nunique())
        if n_distinct > MAX_CATEGORIES:
            notices.append(
                f"Column {column!r} of dataset {dataset.name!r} has {n_distinct} distinct values; its one-hot "
                f"encoding is bounded to {MAX_CATEGORIES} columns (OneHotEncoder max_categories={MAX_CATEGORIES}: "
                f"the {MAX_CATEGORIES - 1} most frequent values of each training fold, one column for all the "
                "others). To use it otherwise, encode it yourself (e.g. as counts) or drop it."
            )
    return notices


def _needed_per_class(n_splits: int, test_size: float) -> int:
    """Rows per class so that stratified ``n_splits``-fold CV still has ``n_splits`` rows of
    it after a stratified hold-out of ``test_size``: ``ceil(n_splits / (1 - test_size))``.
    (The hold-out takes at most ``ceil(count * test_size)`` rows of a class.)"""
    return max(2, math.ceil(round(n_splits / (1.0 - test_size), 9)))


def _check_target(dataset: Dataset, n_splits: int, test_size: float) -> None:
    name, y = dataset.name, np.asarray(dataset.y)
    missing = np.flatnonzero(pd.isna(y))
    if missing.size:
        shown = ", ".join(str(i) for i in missing[:5]) + (", ..." if missing.size > 5 else "")
        raise ValueError(
            f"The target of dataset {name!r} is missing in {missing.size} of {len(y)} rows "
            f"(row positions {shown}); expected a value in every row. Drop those rows "
            "(df.dropna(subset=[target])) or fill in their target."
        )
    predefined = dataset.test_index is not None
    rows = np.setdiff1d(np.arange(len(y)), dataset.test_index) if predefined else np.arange(len(y))
    needed = n_splits if predefined else _needed_per_class(n_splits, test_size)
    if dataset.task != "classification":
        check_target_values(y, name)
        if len(rows) < needed:
            raise ValueError(
                f"Dataset {name!r} has {len(rows)} rows; n_splits={n_splits} with "
                f"test_size={test_size} needs at least {needed} (ceil({n_splits} / "
                f"(1 - {test_size}))). Use more data or fewer folds (--cv)."
            )
        return
    counts = pd.Series(y).value_counts(sort=False)
    if len(counts) == 1:
        raise ValueError(
            f"The target of dataset {name!r} has a single class ({label_repr(counts.index[0])}, "
            f"{int(counts.iloc[0])} rows); classification needs at least 2 classes. Check the "
            "target column and the rows that were loaded."
        )
    if not predefined:
        n_test = math.ceil(test_size * len(y))
        if n_test < len(counts):
            raise ValueError(
                f"The hold-out split of dataset {name!r} would have {n_test} rows "
                f"(test_size={test_size} of {len(y)}), fewer than its {len(counts)} classes; "
                "stratified splitting needs at least one row per class. Increase test_size "
                "or use more data."
            )
    train_counts = pd.Series(y[rows]).value_counts().reindex(counts.index, fill_value=0)
    few = [(c, int(k)) for c, k in sorted(train_counts.items(), key=lambda ck: (ck[1], str(ck[0])))
           if k < needed]
    if few:
        listing = ", ".join(f"{label_repr(c)} ({k})" for c, k in few)
        plural = "classes" if len(few) > 1 else "class"
        if predefined:
            raise ValueError(
                f"Too few training rows in {plural} {listing} of dataset {name!r}: stratified "
                f"{n_splits}-fold CV needs at least {n_splits} rows per class outside its "
                "predefined test split. Collect more rows of these classes, merge or drop rare "
                "classes, or use fewer folds (--cv)."
            )
        raise ValueError(
            f"Too few rows in {plural} {listing} of dataset {name!r}: n_splits={n_splits} with "
            f"test_size={test_size} needs at least {needed} rows per class (ceil({n_splits} / "
            f"(1 - {test_size})) = {needed}, so that {n_splits} remain for the stratified folds "
            "after the hold-out split). Collect more rows of these classes, merge or drop rare "
            "classes, or use fewer folds (--cv)."
        )


def check_dataset(dataset: Dataset, *, n_splits: int, test_size: float) -> Dataset:
    """Validate a dataset before any fitting; drop columns that cannot help a model.

    Checks, in this order, each failure one ``ValueError`` saying what was found, what was
    expected and how to fix it:

    0. The dataset's own ``notes`` (from its loader: the detected task and why, a detected
       CSV separator) and those of the checks below are shown, each as a ``UserWarning``, once
       every check has passed (a refused dataset gets its one error, nothing else).
    1. ``X`` is 2-D (a DataFrame, or an ndarray of shape (n_samples, n_features)); ``X`` and
       ``y`` have the same number of rows; there is at least one row.
    2. Images (``image_shape`` set): ``image_shape`` is (h, w, c) with each at least 1; a
       numeric ndarray with ``h*w*c`` columns; no NaN, no inf, no magnitude above
       :data:`~study.data.values.MAX_ABS_VALUE`.
       Tabular data: at least one feature column. Datetime and timedelta columns (Parquet, a
       DataFrame) become text, as a CSV file brings dates, with a ``UserWarning``. A column
       entirely missing is dropped with a ``UserWarning``; all columns missing is an error.
       Columns of lists or records (Parquet list/struct columns: arrays or dicts in each row)
       are dropped with a ``UserWarning`` naming them. ID-like columns
       (:func:`is_id_like`) are dropped with a ``UserWarning`` naming them; an error if
       nothing is left. Numeric columns hold no inf and no magnitude above
       :data:`~study.data.values.MAX_ABS_VALUE` (NaN is allowed: it is imputed). A
       categorical column with more than ``backends.preprocessing.MAX_CATEGORIES`` distinct
       values gets a ``UserWarning`` saying how its one-hot encoding is bounded.
    3. A boolean classification target becomes the labels ``"False"`` and ``"True"``
       (``study.data.targets.bool_labels``, as the loaders give it). The target has no
       missing values; a regression target no inf and no magnitude above
       :data:`~study.data.values.MAX_ABS_VALUE`.
    4. Classification: at least 2 classes; at least one hold-out row per class; every class
       has at least ``ceil(n_splits / (1 - test_size))`` rows, so that ``n_splits`` remain
       for stratified k-fold CV after the stratified hold-out split (with a predefined
       ``test_index``: ``n_splits`` rows outside the test rows). Regression: at least that
       many rows.

    Parameters
    ----------
    dataset : Dataset
    n_splits : int
        Number of CV folds k (>= 2).
    test_size : float
        Fraction of rows in the hold-out test split, in (0, 1); ignored for the class
        counts when the dataset has its own ``test_index``.

    Returns
    -------
    Dataset
        ``dataset`` itself when nothing was dropped or noticed, else a copy without the
        dropped columns (``feature_names`` updated) and with the new notices appended to
        ``notes``.

    Raises
    ------
    ValueError
        On any failed check above, or ``n_splits`` / ``test_size`` out of range.

    Warns
    -----
    UserWarning
        For every note of the dataset, every dropped column (entirely missing, lists or
        records, or ID-like), the date columns used as text, and every categorical column
        whose encoding is bounded.
    """
    if isinstance(n_splits, bool) or not isinstance(n_splits, (int, np.integer)) or n_splits < 2:
        raise ValueError(f"n_splits must be an integer >= 2 (the number of folds); got {n_splits!r}. Use e.g. 5.")
    if not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size must be a fraction in (0, 1); got {test_size!r}. Use e.g. 0.2.")
    name = dataset.name
    if np.ndim(dataset.X) != 2:
        raise ValueError(
            f"X of dataset {name!r} has shape {np.shape(dataset.X)}; expected 2-D (n_samples, n_features), "
            "images flattened row-major with image_shape set. Reshape it, e.g. X.reshape(len(X), -1)."
        )
    n_x, n_y = int(np.shape(dataset.X)[0]), len(dataset.y)
    if n_x != n_y:
        raise ValueError(
            f"X has {n_x} rows but y has {n_y} values in dataset {name!r}; expected one target "
            "value per row. Build X and y from the same rows."
        )
    if n_y == 0:
        raise ValueError(
            f"Dataset {name!r} is empty (0 rows); expected rows of data. Check the file and "
            "any filtering that produced it."
        )
    check_structure(dataset)
    if np.asarray(dataset.y).dtype.kind == "b" and dataset.task == "classification":
        y = bool_labels(dataset.y)  # as the loaders give them (a Dataset built by hand may hold bools)
        dataset = dataclasses.replace(dataset, y=y, target_names=[str(c) for c in sorted_labels(y)])
    notices: list = []
    if dataset.image_shape is not None:
        _check_image(dataset)
    else:
        dataset = _clean_tabular(dataset, notices)
    _check_target(dataset, n_splits, test_size)
    new = tuple(n for n in notices if n not in dataset.notes)
    for note in dataset.notes + new:  # shown once the data is accepted: a refusal is one line alone
        warnings.warn(note, UserWarning, stacklevel=2)
    return dataclasses.replace(dataset, notes=dataset.notes + new) if new else dataset
