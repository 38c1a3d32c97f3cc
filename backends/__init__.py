"""The common estimator interface: scikit-learn's estimator API for every model.

Every model is a :class:`sklearn.pipeline.Pipeline` with two steps, ``preprocess``
(fitted inside each fold) and ``model``. Its tunable knobs are reachable through
``set_params`` with double-underscore routing (``model__C``, ``model__dropout``), so a
grid is a flat dict. TensorFlow is imported only when a Keras model is built.

Examples
--------
>>> from backends import list_models, make_estimator
>>> list_models()
['logistic_regression', 'ridge', 'random_forest', 'keras_dense', 'keras_cnn']
>>> est = make_estimator("logistic_regression", C=0.5, random_state=0)
>>> est.get_params()["model__C"]
0.5
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable

__all__ = ["ModelSpec", "list_models", "get_model", "make_estimator", "param_grid"]

TASKS = ("classification", "regression")


@dataclass(frozen=True)
class ModelSpec:
    """What the study needs to know about one model.

    Parameters
    ----------
    name : str
        Registry name, e.g. ``"logistic_regression"``.
    framework : {"scikit-learn", "keras"}
        The library that fits the model.
    builder : str or callable
        ``"module:function"`` of the builder (built-ins: a string, so that importing the
        registry never imports TensorFlow), or the builder itself (user models); called as
        ``builder(task=..., random_state=..., image_shape=...)`` and returning an unfitted
        Pipeline.
    grid : dict of str to list
        GridSearchCV grid of the full study; the regularization knob comes first.
    quick_grid : dict of str to list
        The smaller grid used with ``--quick``.
    quick_params : dict
        Parameters set on the estimator with ``--quick`` (e.g. fewer epochs).
    tasks : tuple of str
        Tasks the model supports.
    needs_image : bool
        True if the model only runs on image datasets (it needs ``image_shape``).
    code : str
        Fingerprint of a user model's code and parameters (part of the unit cache key).
    """

    name: str
    framework: str
    builder: object
    grid: dict
    quick_grid: dict
    quick_params: dict = field(default_factory=dict)
    tasks: tuple = TASKS
    needs_image: bool = False
    code: str = ""

    def supports(self, task: str, image_shape: tuple | None) -> bool:
        """True if the model applies to a dataset of this task and image shape."""
        return task in self.tasks and (image_shape is not None or not self.needs_image)

    def grid_for(self, quick: bool) -> dict:
        """The GridSearchCV grid for a full (``quick=False``) or quick study."""
        return dict(self.quick_grid if quick else self.grid)


_REGISTRY = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="logistic_regression",
            framework="scikit-learn",
            builder="backends.sklearn:logistic_regression",
            grid={"model__C": [0.01, 0.1, 1.0, 10.0, 100.0]},
            quick_grid={"model__C": [0.1, 1.0]},
            tasks=("classification",),
        ),
        ModelSpec(
            name="ridge",
            framework="scikit-learn",
            builder="backends.sklearn:ridge",
            grid={"model__alpha": [0.01, 0.1, 1.0, 10.0, 100.0]},
            quick_grid={"model__alpha": [1.0, 10.0]},
        ),
        ModelSpec(
            name="random_forest",
            framework="scikit-learn",
            builder="backends.sklearn:random_forest",
            grid={"model__max_depth": [None, 8, 16], "model__min_samples_leaf": [1, 3]},
            quick_grid={"model__max_depth": [None, 8]},
            quick_params={"model__n_estimators": 100},
        ),
        ModelSpec(
            name="keras_dense",
            framework="keras",
            builder="backends.keras:dense",
            grid={"model__l2": [1e-4, 1e-3], "model__dropout": [0.0, 0.3]},
            quick_grid={"model__l2": [1e-4]},
            quick_params={"model__epochs": 10},
        ),
        ModelSpec(
            name="keras_cnn",
            framework="keras",
            builder="backends.keras:cnn",
            grid={"model__dropout": [0.25, 0.5]},
            quick_grid={"model__dropout": [0.25]},
            quick_params={"model__epochs": 8},
            tasks=("classification",),
            needs_image=True,
        ),
    )
}


def list_models() -> list[str]:
    """Names of the registered models, in report order.

    Returns
    -------
    list of str
    """
    return list(_REGISTRY)


def get_model(name: str) -> ModelSpec:
    """The :class:`ModelSpec` registered under ``name``.

    Raises
    ------
    ValueError
        If ``name`` is not registered; the message lists the registered names.
    """
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(
            f"Unknown model {name!r}. Expected one of {list_models()}; "
            "check the spelling or list them with `python -m study.run --help`."
        ) from None


def _resolve(builder) -> Callable[..., Any]:
    if callable(builder):
        return builder
    module, _, function = builder.partition(":")
    return getattr(importlib.import_module(module), function)


def make_estimator(
    name: str,
    task: str = "classification",
    *,
    random_state: int | None = None,
    image_shape: tuple | None = None,
    **params: Any,
):
    """Build an unfitted, clonable estimator for a registered model.

    Parameters
    ----------
    name : str
        A name from :func:`list_models`.
    task : {"classification", "regression"}, default="classification"
        Selects e.g. ``RidgeClassifier`` vs ``Ridge``.
    random_state : int or None, default=None
        Seed of every random choice of the model (Keras weights and batches included).
    image_shape : tuple of int (h, w, c) or None, default=None
        Required by image models (``keras_cnn``), which take flat ``X`` of shape
        ``(n_samples, h*w*c)`` and reshape inside the network.
    **params
        Parameters of the model step (``C=0.5``), or routed pipeline parameters
        (``model__C=0.5``, ``preprocess__with_mean=False``).

    Returns
    -------
    sklearn.pipeline.Pipeline
        Steps ``preprocess`` and ``model``.

    Raises
    ------
    ValueError
        Unknown name, a task the model does not support, a missing ``image_shape``, or an
        unknown parameter (scikit-learn's ``set_params`` message lists the valid ones).
    """
    spec = get_model(name)
    if task not in spec.tasks:
        raise ValueError(
            f"Model {name!r} does not support task {task!r}; it supports {list(spec.tasks)}. "
            "Choose another model or override the task."
        )
    if spec.needs_image and image_shape is None:
        raise ValueError(
            f"Model {name!r} needs image_shape=(height, width, channels); got None. "
            "Pass image_shape, or use it only on image datasets such as digits."
        )
    estimator = _resolve(spec.builder)(task=task, random_state=random_state, image_shape=image_shape)
    routed = {k if "__" in k else f"model__{k}": v for k, v in params.items()}
    return estimator.set_params(**routed)
