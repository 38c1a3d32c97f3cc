"""Datasets: a named ``X``, ``y`` with its task and, for images, its shape.

Sources, all through :func:`load_data`:

- bundled datasets that come with scikit-learn (:data:`BUNDLED`; nothing is downloaded);
- tables: a pandas DataFrame (:func:`from_dataframe`), ``.csv`` or ``.parquet`` files
  (:func:`load_table`);
- NumPy ``.npz`` files with ``X`` and ``y``, or Keras' ``mnist.npz`` layout (:func:`load_npz`);
- OpenML datasets (:func:`load_openml`), read from scikit-learn's cache when offline.

Loaders only read and split off the target. :func:`check_dataset` validates a dataset
before any fitting (one ``ValueError`` per problem, saying what was found, what was expected
and how to fix it) and drops columns that cannot help a model (entirely missing, ID-like).

Tabular ``X`` is kept as a DataFrame with its dtypes (numbers, strings, categories, bools);
the model's Pipeline imputes, scales and encodes it inside each fold
(:class:`backends.preprocessing.TabularPreprocessor`). Index rows by position: ``X.iloc[rows]``
for a DataFrame, ``X[rows]`` for an array (``study.protocol.take_rows`` does either).
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn import datasets as skdatasets

from backends.preprocessing import is_categorical

__all__ = [
    "Dataset",
    "BUNDLED",
    "MAX_CLASSES",
    "load_dataset",
    "detect_task",
    "from_dataframe",
    "load_table",
    "load_npz",
    "load_openml",
    "load_data",
    "check_dataset",
    "is_id_like",
]

TASKS = ("classification", "regression")

MAX_CLASSES = 20
"""A numeric target with at most this many distinct values, all whole numbers, is detected as
classification (see :func:`detect_task`)."""

TABLE_SUFFIXES = (".csv", ".parquet")
ID_NAME_TOKENS = frozenset({"id", "uuid", "guid", "key", "index", "idx"})


@dataclass(frozen=True, eq=False)
class Dataset:
    """A dataset ready for the study.

    Parameters
    ----------
    name : str
    X : pandas.DataFrame or ndarray of shape (n_samples, n_features)
        A DataFrame for tabular data of mixed column types (numbers, strings, categories,
        bools; NaN for missing), with a ``RangeIndex``; or a float array. Images are flat
        float rows: each image flattened row-major to ``h*w*c`` columns.
    y : ndarray of shape (n_samples,)
        Targets as found: class labels of any type (strings allowed) or numbers.
    task : {"classification", "regression"}
    image_shape : tuple of int (h, w, c) or None, default=None
        Set for image data; image models run only where it is set.
    feature_names : list of str or None, default=None
    target_names : list of str or None, default=None
        Class names, in the order of ``np.unique(y)``.
    test_index : ndarray of int of shape (n_test,) or None, default=None
        Row positions of the dataset's own test split (e.g. MNIST's 10,000 test images).
        When set, the study uses these rows as the hold-out test split instead of drawing one.
    """

    name: str
    X: np.ndarray | pd.DataFrame
    y: np.ndarray
    task: str
    image_shape: tuple | None = None
    feature_names: list | None = None
    target_names: list | None = None
    test_index: np.ndarray | None = None

    def __post_init__(self):
        # Contiguous arrays hash the same in every process (the cache key of a unit computed
        # in a worker, which receives a pickled, hence contiguous, copy).
        for field_name in ("X", "y"):
            value = getattr(self, field_name)
            if isinstance(value, np.ndarray) and not value.flags["C_CONTIGUOUS"]:
                object.__setattr__(self, field_name, np.ascontiguousarray(value))

    @property
    def n_samples(self) -> int:
        """Number of rows (``len(y)``)."""
        return len(self.y)

    @property
    def n_features(self) -> int:
        """Number of feature columns of ``X``."""
        return int(self.X.shape[1])

    @property
    def predefined_test(self) -> bool:
        """True if the dataset brings its own test split (``test_index`` is set)."""
        return self.test_index is not None


# --------------------------------------------------------------------------------------
# Bundled datasets


def _from_bunch(name: str, bunch, task: str, image_shape=None) -> Dataset:
    names = getattr(bunch, "target_names", None)
    features = getattr(bunch, "feature_names", None)
    return Dataset(
        name=name,
        X=np.asarray(bunch.data, dtype=np.float64),
        y=np.asarray(bunch.target),
        task=task,
        image_shape=image_shape,
        feature_names=None if features is None else [str(f) for f in features],
        target_names=[str(t) for t in names] if task == "classification" and names is not None else None,
    )


BUNDLED = {
    "digits": lambda: _from_bunch("digits", skdatasets.load_digits(), "classification", (8, 8, 1)),
    "breast_cancer": lambda: _from_bunch("breast_cancer", skdatasets.load_breast_cancer(), "classification"),
    "wine": lambda: _from_bunch("wine", skdatasets.load_wine(), "classification"),
    "iris": lambda: _from_bunch("iris", skdatasets.load_iris(), "classification"),
    "diabetes": lambda: _from_bunch("diabetes", skdatasets.load_diabetes(), "regression"),
}
"""Bundled datasets by name: digits (1797 8x8 images, 10 classes), breast_cancer (569 x 30,
2 classes), wine (178 x 13, 3 classes), iris (150 x 4, 3 classes), diabetes (442 x 10,
regression)."""


def load_dataset(name: str) -> Dataset:
    """Load a bundled dataset by name.

    Parameters
    ----------
    name : str
        A key of :data:`BUNDLED`.

    Returns
    -------
    Dataset

    Raises
    ------
    ValueError
        If ``name`` is not bundled; the message lists the bundled names.
    """
    try:
        loader = BUNDLED[name]
    except KeyError:
        raise ValueError(
            f"Unknown dataset {name!r}. Expected one of {sorted(BUNDLED)}."
        ) from None
    return loader()


# --------------------------------------------------------------------------------------
# Task detection and targets


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


def _target_array(series: pd.Series) -> np.ndarray:
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


def _sorted_labels(y: np.ndarray) -> list:
    """Distinct non-missing labels in ``np.unique`` order (by ``str`` if types are mixed)."""
    values = pd.Series(y).dropna().unique()
    try:
        return list(np.unique(np.asarray(list(values))))
    except TypeError:
        return sorted(values, key=str)


def _resolve_task(task, y: np.ndarray, target: str, name: str, dtype=None) -> str:
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


def _label(value) -> str:
    """``repr`` of a class label without NumPy's scalar wrapper (``3``, not ``np.int64(3)``)."""
    return repr(value.item() if isinstance(value, np.generic) else value)


# --------------------------------------------------------------------------------------
# Loaders


def from_dataframe(df: pd.DataFrame, target: str | None, *, name: str | None = None,
                   task: str | None = None, drop=()) -> Dataset:
    """A dataset from a DataFrame: the ``target`` column is split off as ``y``.

    The features keep their dtypes (numbers, strings, categories, bools, with missing
    values); column names become ``str`` and the index a ``RangeIndex`` (row positions).
    Validate the result with :func:`check_dataset` before fitting.

    Parameters
    ----------
    df : pandas.DataFrame of shape (n_samples, n_columns)
    target : str
        Name of the target column.
    name : str or None, default=None
        Dataset name in the results; ``"dataframe"`` if None.
    task : {"classification", "regression"} or None, default=None
        None detects it with :func:`detect_task`; a value overrides the detection.
        Classification keeps the labels as they are (strings allowed).
    drop : sequence of str, default=()
        Columns to leave out of the features (e.g. leaky or free-text columns).

    Returns
    -------
    Dataset
        ``X`` a DataFrame of shape (n_samples, n_columns - 1 - len(drop)), ``y`` an ndarray,
        ``target_names`` the sorted distinct labels (classification) or None.

    Raises
    ------
    TypeError
        If ``df`` is not a DataFrame.
    ValueError
        No or an unknown target column (the message lists the columns), unknown ``drop``
        columns, duplicate column names, an unknown ``task``, or ``task="regression"`` with
        a non-numeric target.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame; got {type(df).__name__}.")
    name = "dataframe" if name is None else str(name)
    df = df.copy()
    df.columns = [str(c) for c in df.columns]
    columns = list(df.columns)
    duplicated = sorted({c for c in columns if columns.count(c) > 1})
    if duplicated:
        raise ValueError(
            f"Dataset {name!r} has duplicate column names {duplicated}; expected unique names. "
            "Rename the columns before loading."
        )
    if target is None:
        raise ValueError(
            f"No target column given for dataset {name!r}; expected one of its columns: "
            f"{columns}. Pass target='<column>' (--target on the command line)."
        )
    if str(target) not in columns:
        raise ValueError(
            f"Target column {target!r} not found in dataset {name!r}; available columns: "
            f"{columns}. Pass one of them as target (--target); names are case-sensitive."
        )
    target = str(target)
    drop = [str(c) for c in ([drop] if isinstance(drop, str) else drop)]
    unknown = [c for c in drop if c not in columns]
    if unknown:
        raise ValueError(
            f"Cannot drop column(s) {unknown} of dataset {name!r}: not found; available "
            f"columns: {columns}. Check the spelling of drop."
        )
    y = _target_array(df[target])
    task = _resolve_task(task, y, target, name, df[target].dtype)
    X = df.drop(columns=[target, *[c for c in drop if c != target]]).reset_index(drop=True)
    return Dataset(
        name=name,
        X=X,
        y=y,
        task=task,
        feature_names=list(X.columns),
        target_names=[str(c) for c in _sorted_labels(y)] if task == "classification" else None,
    )


def _existing_file(path) -> Path:
    path = Path(path)
    if not path.exists():
        raise ValueError(
            f"Data file '{path}' does not exist; expected a path to an existing .csv, "
            ".parquet or .npz file. Check the path and the working directory."
        )
    return path


def _unreadable(path: Path, kind: str, exc: Exception) -> ValueError:
    return ValueError(
        f"Could not read '{path}' as {kind} ({type(exc).__name__}: {exc}). Expected a valid "
        f"{kind} file; check that the file is complete and really is {kind}, or re-export it."
    )


def load_table(path, target: str | None, *, task: str | None = None, drop=()) -> Dataset:
    """A dataset from a ``.csv`` (``pandas.read_csv``) or ``.parquet`` (``pandas.read_parquet``)
    file, named after the file (its stem).

    Parameters
    ----------
    path : str or os.PathLike
        The file; its suffix selects the reader. CSV: comma-separated with a header row;
        pandas' default missing markers (empty, ``NA``, ``NaN``, ``null``, ...).
        Parquet needs ``pyarrow`` (or ``fastparquet``).
    target : str
        Name of the target column.
    task : {"classification", "regression"} or None, default=None
        See :func:`from_dataframe`.
    drop : sequence of str, default=()
        Columns to leave out of the features.

    Returns
    -------
    Dataset
        As :func:`from_dataframe`.

    Raises
    ------
    ValueError
        A missing file, an unsupported suffix, an unreadable file (the parser's error is
        included), a missing Parquet engine, and the errors of :func:`from_dataframe`.
    """
    path = _existing_file(path)
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise ValueError(
            f"Cannot read '{path}' as a table: unsupported file type {suffix!r}; expected "
            ".csv or .parquet. Convert the table to one of these (e.g. DataFrame.to_csv)."
        )
    kind = "CSV" if suffix == ".csv" else "Parquet"
    try:
        df = pd.read_csv(path) if suffix == ".csv" else pd.read_parquet(path)
    except ImportError as exc:
        raise ValueError(
            f"Reading the Parquet file '{path}' needs pyarrow (or fastparquet), which is not "
            "installed. Install it with `pip install pyarrow`, or save the table as .csv."
        ) from exc
    except (ValueError, OSError) as exc:  # parser errors, bad encodings, corrupt files
        raise _unreadable(path, kind, exc) from exc
    return from_dataframe(df, target, name=path.stem, task=task, drop=drop)


def _npz_arrays(path: Path) -> dict:
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except (ValueError, OSError, EOFError) as exc:  # not a zip, truncated, pickled objects
        raise _unreadable(path, "NumPy .npz", exc) from exc


def load_npz(path, *, task: str | None = None) -> Dataset:
    """A dataset from a NumPy ``.npz`` file, named after the file (its stem).

    Two layouts are accepted:

    - ``X`` and ``y`` (``np.savez(path, X=X, y=y)``), optionally ``feature_names``;
    - Keras' ``mnist.npz``: ``x_train``, ``y_train``, ``x_test``, ``y_test``. All rows are
      returned, training rows first, and ``test_index`` holds the positions of the test
      rows, so the study keeps that split as its hold-out test set.

    ``X`` of shape (n, h, w) or (n, h, w, c) is images: ``image_shape`` is (h, w, 1) or
    (h, w, c) and each image is flattened row-major to a float32 row of ``h*w*c`` values
    (pixel values unchanged; the image model scales them inside each fold). ``X`` of shape
    (n, n_features) is tabular, as float64.

    Parameters
    ----------
    path : str or os.PathLike
    task : {"classification", "regression"} or None, default=None
        See :func:`detect_task`.

    Returns
    -------
    Dataset

    Raises
    ------
    ValueError
        A missing or unreadable file (object arrays are refused: the file is read with
        ``allow_pickle=False``), other array names, ``X`` that is not 2-D to 4-D or not
        numeric, ``y`` that is not 1-D (or (n, 1)), and the task errors of
        :func:`from_dataframe`.
    """
    path = _existing_file(path)
    arrays = _npz_arrays(path)
    test_index = None
    if {"X", "y"} <= set(arrays):
        X, y = arrays["X"], arrays["y"]
    elif {"x_train", "y_train", "x_test", "y_test"} <= set(arrays):
        X = np.concatenate([arrays["x_train"], arrays["x_test"]])
        y = np.concatenate([np.ravel(arrays["y_train"]), np.ravel(arrays["y_test"])])
        n_train = len(arrays["x_train"])
        test_index = np.arange(n_train, n_train + len(arrays["x_test"]))
    else:
        raise ValueError(
            f"'{path}' has arrays {sorted(arrays)}; expected 'X' and 'y' "
            "(np.savez(path, X=X, y=y)) or Keras' mnist.npz layout 'x_train', 'y_train', "
            "'x_test', 'y_test'."
        )
    if X.dtype.kind not in "biuf":
        raise ValueError(
            f"X in '{path}' has dtype {X.dtype}; expected numbers (pixel intensities or "
            "numeric features). Save it as numbers, e.g. X.astype('float32')."
        )
    if X.ndim not in (2, 3, 4):
        raise ValueError(
            f"X in '{path}' has shape {X.shape}; expected (n_samples, n_features) for tabular "
            "data, or (n_samples, height, width) or (n_samples, height, width, channels) for "
            "images. Reshape it before saving."
        )
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.ravel()
    if y.ndim != 1:
        raise ValueError(
            f"y in '{path}' has shape {y.shape}; expected (n_samples,) labels or values. "
            "For one-hot labels save y.argmax(axis=1)."
        )
    image_shape = None
    if X.ndim > 2:
        image_shape = tuple(int(s) for s in X.shape[1:]) + ((1,) if X.ndim == 3 else ())
        X = X.reshape(len(X), -1).astype(np.float32)
    else:
        X = X.astype(np.float64)
    feature_names = [str(f) for f in arrays["feature_names"]] if "feature_names" in arrays else None
    task = _resolve_task(task, y, "y", path.stem)
    return Dataset(
        name=path.stem,
        X=X,
        y=y,
        task=task,
        image_shape=image_shape,
        feature_names=feature_names,
        target_names=[str(c) for c in _sorted_labels(y)] if task == "classification" else None,
        test_index=test_index,
    )


def _openml_cache(data_home) -> str:
    return os.path.join(skdatasets.get_data_home(data_home), "openml")


def load_openml(name_or_id, *, target: str | None = None, data_home=None,
                task: str | None = None) -> Dataset:
    """A dataset from OpenML via :func:`sklearn.datasets.fetch_openml` (``as_frame=True``).

    scikit-learn caches every download under ``data_home``; once cached, the dataset loads
    offline. Nominal features arrive as ``category`` columns.

    Parameters
    ----------
    name_or_id : str or int
        An OpenML name (``"credit-g"``; its oldest active version) or data id (``31`` or
        ``"31"``).
    target : str or None, default=None
        Target column; None uses the dataset's default target.
    data_home : str or os.PathLike or None, default=None
        scikit-learn's data directory (default ``~/scikit_learn_data``); the OpenML cache is
        its ``openml`` folder.
    task : {"classification", "regression"} or None, default=None
        See :func:`from_dataframe`.

    Returns
    -------
    Dataset
        Named after the OpenML name, as :func:`from_dataframe`.

    Raises
    ------
    ValueError
        If the download fails for lack of network and the dataset is not cached, if OpenML
        does not know the dataset, if no single default target exists and ``target`` is
        None, and the errors of :func:`from_dataframe`.
    """
    key = str(name_or_id).strip()
    by_id = dict(data_id=int(key)) if key.isdigit() else dict(name=key)
    try:
        bunch = skdatasets.fetch_openml(**by_id, as_frame=True, data_home=data_home)
    except OSError as exc:  # URLError, HTTPError, timeouts: no network and no cached copy
        raise ValueError(
            f"Could not download OpenML dataset {key!r} and it is not in the cache at "
            f"{_openml_cache(data_home)}; connect to the internet once to cache it, or pass a "
            f"local file with --data (.csv, .parquet or .npz). ({type(exc).__name__}: {exc})"
        ) from exc
    except ValueError as exc:  # OpenMLError (unknown name or id), corrupt cache
        raise ValueError(
            f"OpenML could not provide dataset {key!r} ({exc}). Check the name or id on "
            "https://www.openml.org/search?type=data, e.g. openml:credit-g or openml:31."
        ) from exc
    frame = bunch.frame
    name = str(getattr(bunch, "details", {}).get("name", key))
    if target is None:
        defaults = list(bunch.target_names or [])
        if len(defaults) != 1:
            raise ValueError(
                f"OpenML dataset {key!r} has {len(defaults)} default target columns "
                f"{defaults}; expected exactly one. Pass target='<column>' (--target); "
                f"columns: {[str(c) for c in frame.columns]}."
            )
        target = defaults[0]
    return from_dataframe(frame, target, name=name, task=task)


def load_data(source, *, target: str | None = None, task: str | None = None,
              name: str | None = None) -> Dataset:
    """One entry point for every source of data.

    Parameters
    ----------
    source : str, os.PathLike, pandas.DataFrame or Dataset
        A bundled name (``"digits"``), a path to a ``.csv``, ``.parquet`` or ``.npz`` file,
        ``"openml:<name or id>"`` (``"openml:credit-g"``, ``"openml:31"``), a DataFrame
        (with ``target``), or a :class:`Dataset` (returned as is, renamed if ``name``).
    target : str or None, default=None
        Target column of a table, DataFrame or OpenML dataset (OpenML: None = its default
        target). Not allowed for bundled datasets and ``.npz`` files, which bring their own.
    task : {"classification", "regression"} or None, default=None
        None detects it (:func:`detect_task`). Not allowed for bundled datasets.
    name : str or None, default=None
        Dataset name in the results; default: the bundled name, the file stem, the OpenML
        name, or ``"dataframe"``.

    Returns
    -------
    Dataset
        Not yet validated: call :func:`check_dataset` before fitting.

    Raises
    ------
    ValueError
        An unknown source, ``target``/``task`` given where they do not apply, and the errors
        of the loader it dispatches to.
    """
    if isinstance(source, Dataset):
        dataset = source
    elif isinstance(source, pd.DataFrame):
        dataset = from_dataframe(source, target, name=name, task=task)
    elif isinstance(source, str) and source.startswith("openml:"):
        key = source[len("openml:"):].strip()
        if not key:
            raise ValueError(
                f"Expected 'openml:<name or id>' (e.g. openml:credit-g or openml:31); got {source!r}."
            )
        dataset = load_openml(key, target=target, task=task)
    elif isinstance(source, str) and source in BUNDLED:
        if target is not None or task is not None:
            raise ValueError(
                f"target and task do not apply to the bundled dataset {source!r}, which has "
                f"its own target and task; got target={target!r}, task={task!r}. Remove them."
            )
        dataset = load_dataset(source)
    elif isinstance(source, (str, os.PathLike)) and Path(source).suffix.lower() in (*TABLE_SUFFIXES, ".npz"):
        if Path(source).suffix.lower() == ".npz":
            if target is not None:
                raise ValueError(
                    f"target does not apply to the .npz file '{source}', which holds its target "
                    f"as the array 'y' (or 'y_train'/'y_test'); got target={target!r}. Remove it."
                )
            dataset = load_npz(source, task=task)
        else:
            dataset = load_table(source, target, task=task)
    else:
        raise ValueError(
            f"Unknown data source {str(source)!r}: not a bundled dataset ({', '.join(BUNDLED)}), "
            "not a path ending in .csv, .parquet or .npz, and not 'openml:<name or id>'. "
            "Pass one of these."
        )
    return dataset if name is None else dataclasses.replace(dataset, name=str(name))


# --------------------------------------------------------------------------------------
# Validation


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
    X, name = dataset.X, dataset.name
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
    n_missing = int(np.isnan(X).sum()) if X.dtype.kind == "f" else 0
    if n_missing:
        raise ValueError(
            f"Image data of dataset {name!r} has {n_missing} missing (NaN) pixel values; "
            "expected none. Fill them (e.g. with 0) before loading."
        )


def _clean_tabular(dataset: Dataset) -> Dataset:
    name = dataset.name
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
        warnings.warn(
            f"Dropping column(s) {empty} of dataset {name!r}: entirely missing (NaN in every "
            "row), so they carry no information.",
            UserWarning,
            stacklevel=3,
        )
    ids = [c for c, values in columns if c not in empty and is_id_like(values, c)]
    if ids:
        warnings.warn(
            f"Dropping ID-like column(s) {ids} of dataset {name!r}: a distinct integer or string "
            "in every row identifies the row, it is not a feature. To keep such a column, "
            "convert it to float.",
            UserWarning,
            stacklevel=3,
        )
    if len(empty) + len(ids) == len(columns):
        raise ValueError(
            f"Dataset {name!r} has no feature columns left after dropping the ID-like "
            f"column(s) {ids}; expected at least one real feature. Add feature columns to the data."
        )
    keep = [i for i, (c, _) in enumerate(columns) if c not in empty and c not in ids]
    return dataset if len(keep) == len(columns) else _keep_columns(dataset, keep)


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
            f"The target of dataset {name!r} has a single class ({_label(counts.index[0])}, "
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
        listing = ", ".join(f"{_label(c)} ({k})" for c, k in few)
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

    1. ``X`` and ``y`` have the same number of rows; there is at least one row.
    2. Images (``image_shape`` set): a numeric ndarray with ``h*w*c`` columns, no NaN.
       Tabular data: at least one feature column. A column entirely missing is dropped with
       a ``UserWarning``; all columns missing is an error. ID-like columns
       (:func:`is_id_like`) are dropped with a ``UserWarning`` naming them; an error if
       nothing is left.
    3. The target has no missing values.
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
        ``dataset`` itself, or a copy without the dropped columns (``feature_names``
        updated).

    Raises
    ------
    ValueError
        On any failed check above, or ``n_splits`` / ``test_size`` out of range.

    Warns
    -----
    UserWarning
        For every dropped column (entirely missing, or ID-like).
    """
    if isinstance(n_splits, bool) or not isinstance(n_splits, (int, np.integer)) or n_splits < 2:
        raise ValueError(f"n_splits must be an integer >= 2 (the number of folds); got {n_splits!r}. Use e.g. 5.")
    if not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size must be a fraction in (0, 1); got {test_size!r}. Use e.g. 0.2.")
    name = dataset.name
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
    if dataset.image_shape is not None:
        _check_image(dataset)
    else:
        dataset = _clean_tabular(dataset)
    _check_target(dataset, n_splits, test_size)
    return dataset
