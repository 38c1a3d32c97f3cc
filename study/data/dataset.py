"""The Dataset: a named ``X``, ``y`` with its task and, for images, its shape; the bundled datasets.

Tabular ``X`` is kept as a DataFrame with its dtypes (numbers, strings, categories, bools);
the model's Pipeline imputes, scales and encodes it inside each fold
(:class:`backends.preprocessing.TabularPreprocessor`). Index rows by position with
:func:`take_rows` (``X.iloc[rows]`` for a DataFrame, ``X[rows]`` for an array).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["Dataset", "BUNDLED", "load_dataset", "take_rows"]


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
    notes : tuple of str, default=()
        Notices about the data, one sentence each: from the loader (the detected task and
        why, a detected CSV separator) and from :func:`~study.data.checks.check_dataset`
        (dropped columns, bounded encodings). The check shows them as warnings before
        training; the report lists them in its protocol section.
    groups : ndarray of shape (n_samples,) or None, default=None
        The group of each row (a patient, a customer, an image source): the splits keep each
        group on one side (``study.splits``). Not a feature.
    groups_name : str or None, default=None
        The column the groups came from (for the report).
    time : ndarray of shape (n_samples,) or None, default=None
        The time of each row (numbers, or ``datetime64``): the splits are time-ordered (the
        hold-out test split is the latest rows, every validation fold after its training
        rows). Not a feature unless expanded (``study.data.columns``).
    time_name : str or None, default=None
        The column the times came from (for the report).
    signal_features : tuple of str or None, default=None
        The feature names known to carry signal, when the data were generated so that this is
        known (``wide``: the informative columns of ``make_classification`` and the redundant ones,
        their linear combinations); None when unknown (any real dataset). The permutation
        importance of the report (``study.statistics.importance``) counts how many of each
        model's top features are among them.
    """

    name: str
    X: np.ndarray | pd.DataFrame
    y: np.ndarray
    task: str
    image_shape: tuple | None = None
    feature_names: list | None = None
    target_names: list | None = None
    test_index: np.ndarray | None = None
    notes: tuple = ()
    groups: np.ndarray | None = None
    groups_name: str | None = None
    time: np.ndarray | None = None
    time_name: str | None = None
    signal_features: tuple | None = None

    def __post_init__(self):
        # Contiguous arrays hash the same in every process (the cache key of a unit computed
        # in a worker, which receives a pickled, hence contiguous, copy).
        for field_name in ("X", "y", "groups", "time"):
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


def take_rows(X, rows: np.ndarray):
    """Rows of ``X`` by position: ndarray indexing or ``DataFrame.iloc``."""
    return X.iloc[rows] if hasattr(X, "iloc") else X[rows]


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


WIDE = dict(n_samples=300, n_features=200, n_informative=10, n_redundant=10, flip_y=0.05, class_sep=1.0,
            random_state=0)
"""Parameters of the bundled ``wide`` dataset (``sklearn.datasets.make_classification``): few
rows, many features, of which only 10 carry signal (and 10 are their combinations): flexible
models fit the training data perfectly and generalize far worse, unless regularized."""


def _wide() -> Dataset:
    """``make_classification(**WIDE)``; its columns are shuffled (``shuffle=True``, the default), so
    the signal columns are read from the generator's ``feature_info`` (scikit-learn >= 1.7), not
    assumed to come first."""
    from sklearn.datasets import make_classification

    data = make_classification(**WIDE, return_X_y=False)
    names = [f"x{i}" for i in range(data.X.shape[1])]
    signal = tuple(name for name, info in zip(names, data.feature_info) if info in ("informative", "redundant"))
    return Dataset(name="wide", X=data.X, y=data.y, task="classification", feature_names=names,
                   target_names=["0", "1"], signal_features=signal)


def _scikit_learn(loader: str, name: str, task: str, image_shape=None):
    """A loader of one of scikit-learn's bundled datasets (``sklearn.datasets.<loader>``), imported
    when it is called: checking a dataset's name imports nothing heavy."""
    def load() -> Dataset:
        from sklearn import datasets

        return _from_bunch(name, getattr(datasets, loader)(), task, image_shape)
    return load


BUNDLED = {
    "digits": _scikit_learn("load_digits", "digits", "classification", (8, 8, 1)),
    "breast_cancer": _scikit_learn("load_breast_cancer", "breast_cancer", "classification"),
    "wine": _scikit_learn("load_wine", "wine", "classification"),
    "iris": _scikit_learn("load_iris", "iris", "classification"),
    "diabetes": _scikit_learn("load_diabetes", "diabetes", "regression"),
    "wide": _wide,
}
"""Bundled datasets by name: digits (1797 8x8 images, 10 classes), breast_cancer (569 x 30,
2 classes), wine (178 x 13, 3 classes), iris (150 x 4, 3 classes), diabetes (442 x 10,
regression), wide (300 x 200 generated, 2 classes: :data:`WIDE`), where capacity and
regularization visibly matter."""


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
