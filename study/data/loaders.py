"""Loaders: every source of data becomes a :class:`~study.data.dataset.Dataset`.

Sources, all through :func:`load_data`:

- bundled datasets that come with scikit-learn (``study.data.dataset.BUNDLED``; nothing is
  downloaded);
- tables: a pandas DataFrame (:func:`from_dataframe`), ``.csv`` or ``.parquet`` files
  (:func:`load_table`);
- NumPy ``.npz`` files with ``X`` and ``y``, or Keras' ``mnist.npz`` layout (:func:`load_npz`);
- OpenML datasets (:func:`load_openml`), read from scikit-learn's cache when offline.

Loaders only read and split off the target; ``study.data.checks.check_dataset`` validates a
dataset before any fitting.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn import datasets as skdatasets

from study.data.dataset import BUNDLED, Dataset, load_dataset
from study.data.targets import resolve_task, sorted_labels, target_array

__all__ = ["from_dataframe", "load_table", "load_npz", "load_openml", "load_data"]

TABLE_SUFFIXES = (".csv", ".parquet")


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
    y = target_array(df[target])
    task = resolve_task(task, y, target, name, df[target].dtype)
    X = df.drop(columns=[target, *[c for c in drop if c != target]]).reset_index(drop=True)
    return Dataset(
        name=name,
        X=X,
        y=y,
        task=task,
        feature_names=list(X.columns),
        target_names=[str(c) for c in sorted_labels(y)] if task == "classification" else None,
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
    task = resolve_task(task, y, "y", path.stem)
    return Dataset(
        name=path.stem,
        X=X,
        y=y,
        task=task,
        image_shape=image_shape,
        feature_names=feature_names,
        target_names=[str(c) for c in sorted_labels(y)] if task == "classification" else None,
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
