"""Loaders: every source of data becomes a :class:`~study.data.dataset.Dataset`.

Sources, all through :func:`load_data`:

- bundled datasets that come with scikit-learn (``study.data.dataset.BUNDLED``; nothing is
  downloaded);
- tables: a pandas DataFrame (:func:`from_dataframe`), ``.csv`` or ``.parquet`` files
  (:func:`load_table`), both in ``study.data.tables``;
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
from study.data.tables import TABLE_SUFFIXES, existing_file, from_dataframe, load_table, unreadable
from study.data.targets import bool_labels, resolve_task, sorted_labels
from study.data_source import DataSource

__all__ = ["from_dataframe", "load_table", "load_npz", "load_openml", "load_data"]

FLOAT32_MAX = float(np.finfo(np.float32).max)
"""Images are stored as float32; larger pixel values stay float64 so the checks can name them."""


def _npz_arrays(path: Path) -> dict:
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except (ValueError, OSError, EOFError) as exc:  # not a zip, truncated, pickled objects
        raise unreadable(path, "NumPy .npz", exc) from exc


def _npz_feature_names(arrays: dict, X: np.ndarray, image_shape, path: Path) -> list | None:
    """The ``feature_names`` array of an npz as ``str``: one name per column of (flattened) ``X``."""
    if "feature_names" not in arrays:
        return None
    names = arrays["feature_names"]
    width = X.shape[1]
    has = (f"the images of shape {image_shape} have {width} pixels; expected one name per pixel" if image_shape
           else f"X has {width} columns; expected one name per column")
    if names.ndim != 1 or len(names) != width:
        found = f"{len(names)} names" if names.ndim == 1 else f"shape {names.shape}"
        raise ValueError(
            f"feature_names in '{path}' has {found}, but {has}. Save exactly one name per column of X "
            "(np.savez(path, X=X, y=y, feature_names=names)), or leave feature_names out."
        )
    return [str(f) for f in names]


def load_npz(path, *, task: str | None = None, name: str | None = None) -> Dataset:
    """A dataset from a NumPy ``.npz`` file.

    Two layouts are accepted:

    - ``X`` and ``y`` (``np.savez(path, X=X, y=y)``), optionally ``feature_names``;
    - Keras' ``mnist.npz``: ``x_train``, ``y_train``, ``x_test``, ``y_test``. All rows are
      returned, training rows first, and ``test_index`` holds the positions of the test
      rows, so the study keeps that split as its hold-out test set.

    ``X`` of shape (n, h, w) or (n, h, w, c) is images: ``image_shape`` is (h, w, 1) or
    (h, w, c) and each image is flattened row-major to a float32 row of ``h*w*c`` values
    (pixel values unchanged; the image model scales them inside each fold). ``X`` of shape
    (n, n_features) is tabular, as float64. (Images with values beyond float32's range stay
    float64, so that :func:`check_dataset` can refuse them by name.)

    Parameters
    ----------
    path : str or os.PathLike
    task : {"classification", "regression"} or None, default=None
        See :func:`detect_task`; when detected, ``notes`` says why.
    name : str or None, default=None
        Dataset name in the results; default the file's stem.

    Returns
    -------
    Dataset

    Raises
    ------
    ValueError
        A missing or unreadable file (object arrays are refused: the file is read with
        ``allow_pickle=False``), other array names, ``X`` that is not 2-D to 4-D or not
        numeric, images with a dimension of size 0, training and test images of different
        shapes, ``y`` that is not 1-D (or (n, 1)), ``feature_names`` that is not one name per
        column of ``X``, and the task errors of
        :func:`from_dataframe`.
    """
    path = existing_file(path)
    arrays = _npz_arrays(path)
    test_index = None
    if {"X", "y"} <= set(arrays):
        X, y = arrays["X"], arrays["y"]
    elif {"x_train", "y_train", "x_test", "y_test"} <= set(arrays):
        shapes = arrays["x_train"].shape[1:], arrays["x_test"].shape[1:]
        if shapes[0] != shapes[1]:
            raise ValueError(
                f"x_train and x_test in '{path}' have rows of shapes {shapes[0]} and {shapes[1]}; "
                "expected the same shape. Save training and test images of the same size."
            )
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
    if X.ndim > 2 and min(X.shape[1:]) < 1:
        raise ValueError(
            f"X in '{path}' has shape {X.shape}: images with a dimension of size 0 hold no pixels; "
            "expected (n_samples, height, width) or (n_samples, height, width, channels) with every "
            "dimension at least 1. Check how the images were built before saving."
        )
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.ravel()
    if y.ndim != 1:
        raise ValueError(
            f"y in '{path}' has shape {y.shape}; expected (n_samples,) labels or values. "
            "For one-hot labels save y.argmax(axis=1)."
        )
    if y.dtype.kind == "b":
        y = bool_labels(y)  # labels "False" and "True", as for a table's boolean target
    image_shape = None
    if X.ndim > 2:
        image_shape = tuple(int(s) for s in X.shape[1:]) + ((1,) if X.ndim == 3 else ())
        X = X.reshape(len(X), -1)
        fits = X.dtype.kind != "f" or not np.any(np.abs(X[np.isfinite(X)]) > FLOAT32_MAX)
        X = X.astype(np.float32 if fits else np.float64)
    else:
        X = X.astype(np.float64)
    feature_names = _npz_feature_names(arrays, X, image_shape, path)
    name = path.stem if name is None else str(name)
    task, notes = resolve_task(task, y, "y", name)
    return Dataset(
        name=name,
        X=X,
        y=y,
        task=task,
        image_shape=image_shape,
        feature_names=feature_names,
        target_names=[str(c) for c in sorted_labels(y)] if task == "classification" else None,
        test_index=test_index,
        notes=notes,
    )


def _openml_cache(data_home) -> str:
    return os.path.join(skdatasets.get_data_home(data_home), "openml")


def load_openml(name_or_id, *, target: str | None = None, data_home=None,
                task: str | None = None, name: str | None = None, **structure) -> Dataset:
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
    name : str or None, default=None
        Dataset name in the results; default the OpenML name.
    **structure
        ``groups``, ``time``, ``time_features``: see :func:`from_dataframe`.

    Returns
    -------
    Dataset
        As :func:`from_dataframe`.

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
    name = str(getattr(bunch, "details", {}).get("name", key)) if name is None else str(name)
    if target is None:
        defaults = list(bunch.target_names or [])
        if len(defaults) != 1:
            raise ValueError(
                f"OpenML dataset {key!r} has {len(defaults)} default target columns "
                f"{defaults}; expected exactly one. Pass target='<column>' (--target); "
                f"columns: {[str(c) for c in frame.columns]}."
            )
        target = defaults[0]
    return from_dataframe(frame, target, name=name, task=task, **structure)


def _refuse_structure(source, structure: dict) -> None:
    """Groups and time name columns of a table: refuse them for a source without named columns."""
    given = {k: v for k, v in structure.items() if v}
    if not given:
        return
    kind = ("the bundled dataset" if isinstance(source, str) and source in BUNDLED else
            "a Dataset" if isinstance(source, Dataset) else "the .npz file")
    shown = source.name if isinstance(source, Dataset) else str(source)
    raise ValueError(
        f"{', '.join(given)} name columns of a table (.csv, .parquet, a DataFrame or OpenML), but {kind} {shown!r} "
        f"has no named columns; got {', '.join(f'{k}={v!r}' for k, v in given.items())}. Remove them; for rows in "
        "time order use --cv-kind timeseries (a Dataset may carry groups= and time= arrays itself)."
    )


def load_data(source, *, target: str | None = None, task: str | None = None,
              name: str | None = None, sep: str | None = None, groups: str | None = None,
              time: str | None = None, time_features: bool = False) -> Dataset:
    """One entry point for every source of data.

    Parameters
    ----------
    source : str, os.PathLike, pandas.DataFrame, Dataset or study.data_source.DataSource
        A bundled name (``"digits"``), a path to a ``.csv``, ``.parquet`` or ``.npz`` file,
        ``"openml:<name or id>"`` (``"openml:credit-g"``, ``"openml:31"``), a DataFrame
        (with ``target``), a :class:`Dataset` (returned as is, renamed if ``name``), or a
        ``DataSource``, which carries its own options (then none of the options below is given).
    target : str or None, default=None
        Target column of a table, DataFrame or OpenML dataset (OpenML: None = its default
        target). Not allowed for bundled datasets and ``.npz`` files, which bring their own.
    task : {"classification", "regression"} or None, default=None
        None detects it (:func:`detect_task`). Not allowed for bundled datasets.
    name : str or None, default=None
        Dataset name in the results; default: the bundled name, the file stem, the OpenML
        name, or ``"dataframe"``.
    sep : str or None, default=None
        Column separator of a ``.csv`` file (see :func:`load_table`); None detects it. Not
        allowed for other sources.
    groups, time : str or None, default=None
        The groups column and the time column of a table (``study.data.columns``); not allowed
        for bundled datasets, ``.npz`` files and Datasets.
    time_features : bool, default=False
        Also expand the time column into features.

    Returns
    -------
    Dataset
        Not yet validated: call :func:`check_dataset` before fitting.

    Raises
    ------
    ValueError
        An unknown source, ``target``/``task``/``sep``/``groups``/``time`` given where they do
        not apply, and the errors of the loader it dispatches to.
    TypeError
        A ``DataSource`` with options given beside it.
    """
    if isinstance(source, DataSource):
        given = {k: v for k, v in dict(target=target, task=task, name=name, sep=sep, groups=groups, time=time,
                                       time_features=time_features).items() if v}
        if given:
            raise TypeError(f"load_data(DataSource(...)) takes its options from the DataSource; got {sorted(given)} "
                            "beside it. Set them in the DataSource.")
        return load_data(source.source, target=source.target, task=source.task, name=source.name, sep=source.sep,
                         groups=source.groups, time=source.time, time_features=source.time_features)
    is_csv = isinstance(source, (str, os.PathLike)) and Path(source).suffix.lower() == ".csv"
    if sep is not None and not is_csv:
        shown = type(source).__name__ if isinstance(source, (pd.DataFrame, Dataset)) else f"'{source}'"
        raise ValueError(
            f"A separator (sep={sep!r}) applies to .csv files only, not to {shown}. Remove --sep "
            "(sep in TOML or DataSource)."
        )
    structure = dict(groups=groups, time=time, time_features=time_features)
    is_npz = isinstance(source, (str, os.PathLike)) and Path(source).suffix.lower() == ".npz"
    if isinstance(source, Dataset) or is_npz or (isinstance(source, str) and source in BUNDLED):
        _refuse_structure(source, structure)
    if isinstance(source, Dataset):
        dataset = source
    elif isinstance(source, pd.DataFrame):
        dataset = from_dataframe(source, target, name=name, task=task, **structure)
    elif isinstance(source, str) and source.startswith("openml:"):
        key = source[len("openml:"):].strip()
        if not key:
            raise ValueError(
                f"Expected 'openml:<name or id>' (e.g. openml:credit-g or openml:31); got {source!r}."
            )
        dataset = load_openml(key, target=target, task=task, name=name, **structure)
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
            dataset = load_npz(source, task=task, name=name)
        else:
            dataset = load_table(source, target, task=task, sep=sep, name=name, **structure)
    else:
        raise ValueError(
            f"Unknown data source {str(source)!r}: not a bundled dataset ({', '.join(BUNDLED)}), "
            "not a path ending in .csv, .parquet or .npz, and not 'openml:<name or id>'. "
            "Pass one of these."
        )
    return dataset if name is None else dataclasses.replace(dataset, name=str(name))
