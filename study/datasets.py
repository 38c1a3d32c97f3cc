"""Datasets: a named ``X``, ``y`` with its task and, for images, its shape.

The bundled datasets come with scikit-learn; nothing is downloaded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn import datasets as skdatasets

__all__ = ["Dataset", "BUNDLED", "load_dataset"]


@dataclass(frozen=True, eq=False)
class Dataset:
    """A dataset ready for the study.

    Parameters
    ----------
    name : str
    X : ndarray of shape (n_samples, n_features)
        Flat features; images are flattened row-major to ``h*w*c`` columns.
    y : ndarray of shape (n_samples,)
    task : {"classification", "regression"}
    image_shape : tuple of int (h, w, c) or None
        Set for image data; image models run only where it is set.
    feature_names : list of str or None
    target_names : list of str or None
        Class names, in the order of ``np.unique(y)``.
    """

    name: str
    X: np.ndarray
    y: np.ndarray
    task: str
    image_shape: tuple | None = None
    feature_names: list | None = None
    target_names: list | None = None

    @property
    def n_samples(self) -> int:
        return len(self.y)


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
