"""The common estimator interface: scikit-learn's estimator API for every model.

Every model is a :class:`sklearn.pipeline.Pipeline` with two steps, ``preprocess`` (fitted
inside each fold) and ``model``. Its tunable knobs are reachable through ``set_params`` with
double-underscore routing (``model__C``, ``model__dropout``; :mod:`backends.routing`), so a grid
is a flat dict. TensorFlow is imported only when a Keras model is built.

A model is described by a :class:`ModelSpec`: the built-in ones form an immutable table
(:data:`BUILTIN_MODELS`); a user's own models are made by :mod:`backends.custom`. A study
resolves the names it is given to ModelSpec objects once, in its own process, and hands each
unit of work an estimator object: nothing downstream looks a model up by name again.

Examples
--------
>>> from backends import list_models, make_estimator
>>> list_models()
['logistic_regression', 'ridge', 'random_forest', 'hist_gradient_boosting', 'keras_dense', 'keras_cnn', 'dummy']
>>> est = make_estimator("logistic_regression", C=0.5, random_state=0)
>>> est.get_params()["model__C"]
0.5
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable

from backends.routing import route

__all__ = ["ModelSpec", "BUILTIN_MODELS", "BASELINE", "TASKS", "USER_MODELS", "UserModels", "list_models", "get_model",
           "make_estimator"]

TASKS = ("classification", "regression")

BASELINE = "dummy"
"""Name of the chance baseline that every study adds to every dataset (``DummyClassifier(strategy=
"prior")`` / ``DummyRegressor(strategy="mean")``): same folds, same unit of work, never "best"
and never ranked."""
QUICK_TREES = 30
"""Trees of the random forest in a quick study (``--quick``), against 100 in a full one: a quick
study is a smoke test of the whole pipeline, and the forest's fits were a third of its workers'
time (2026-12-08: the quick default study's forest 9.2 of 35 worker-seconds)."""


@dataclass(frozen=True)
class ModelSpec:
    """Everything the study needs to know about one model, resolved before any training.

    Parameters
    ----------
    name : str
        Name in tables and reports, e.g. ``"logistic_regression"``.
    framework : {"scikit-learn", "keras"}
        The library that fits the model.
    builder : str or callable
        Called as ``builder(task=..., random_state=..., image_shape=...)``, returning an
        unfitted Pipeline ``preprocess -> model``. Built-in models give ``"module:function"``
        so that reading this table never imports TensorFlow; a user model gives the builder
        itself, carrying the user's estimator or Keras build function (``backends.custom``).
    grid : dict of str to list
        GridSearchCV grid of the full study, routed keys (``model__C``); the regularization
        knob first.
    quick_grid : dict of str to list
        The smaller grid used with ``--quick``.
    quick_params : dict, default={}
        Parameters set on the estimator with ``--quick`` (fewer epochs, fewer trees).
    tasks : tuple of str, default=("classification", "regression")
        Tasks the model supports.
    needs_image : bool, default=False
        True if the model only runs on image datasets (it needs ``image_shape``).
    class_weight : bool, default=False
        True if the model has a ``class_weight`` parameter (the class-imbalance experiment
        runs it with weighting off and on).
    responses : tuple of str, default=("predict", "predict_proba")
        The prediction methods of its classifier: a metric that needs a method the model lacks
        (``roc_auc_ovr`` needs ``predict_proba``) skips the model (``study.scoring``).
    baseline : bool, default=False
        True for the chance baseline (:data:`BASELINE`): it runs as a unit on the shared folds,
        but no diagnostics and no nested CV, and it is never the best model nor ranked.
    """

    name: str
    framework: str
    builder: object
    grid: dict
    quick_grid: dict
    quick_params: dict = field(default_factory=dict)
    tasks: tuple = TASKS
    needs_image: bool = False
    class_weight: bool = False
    responses: tuple = ("predict", "predict_proba")
    baseline: bool = False

    def supports(self, task: str, image_shape: tuple | None) -> bool:
        """True if the model applies to a dataset of this task and image shape.

        The one applicability rule of the project: a task the model supports, and image data
        for an image-only model.
        """
        return task in self.tasks and (image_shape is not None or not self.needs_image)

    def grid_for(self, quick: bool) -> dict:
        """The GridSearchCV grid (routed keys) of a full (``quick=False``) or quick study."""
        return route(self.quick_grid if quick else self.grid)

    def estimator(self, task: str = "classification", *, random_state: int | None = None,
                  image_shape: tuple | None = None, quick: bool = False, params=None):
        """A fresh, unfitted estimator of this model.

        Parameters
        ----------
        task : {"classification", "regression"}, default="classification"
        random_state : int or None, default=None
            Seed of every random choice of the model (Keras weights and batches included).
        image_shape : tuple of int (h, w, c) or None, default=None
            Required by image models, which take flat ``X`` of shape ``(n_samples, h*w*c)``.
        quick : bool, default=False
            Apply :attr:`quick_params` first.
        params : dict or None, default=None
            Further parameters (``{"C": 0.5}`` or routed ``{"model__C": 0.5}``), applied last.

        Returns
        -------
        sklearn.pipeline.Pipeline
            Steps ``preprocess`` and ``model``.

        Raises
        ------
        ValueError
            A task the model does not support, a missing ``image_shape``, or an unknown
            parameter (scikit-learn's ``set_params`` message lists the valid ones).
        """
        if task not in self.tasks:
            raise ValueError(
                f"Model {self.name!r} does not support task {task!r}; it supports {list(self.tasks)}. "
                "Choose another model or override the task."
            )
        if self.needs_image and image_shape is None:
            raise ValueError(
                f"Model {self.name!r} needs image_shape=(height, width, channels); got None. "
                "Pass image_shape, or use it only on image datasets such as digits."
            )
        estimator = _resolve(self.builder)(task=task, random_state=random_state, image_shape=image_shape)
        return estimator.set_params(**route(self.quick_params if quick else {}), **route(params))


def _resolve(builder) -> Callable[..., Any]:
    if callable(builder):
        return builder
    module, _, function = builder.partition(":")
    return getattr(importlib.import_module(module), function)


BUILTIN_MODELS = MappingProxyType({
    spec.name: spec
    for spec in (
        ModelSpec(
            name="logistic_regression",
            framework="scikit-learn",
            builder="backends.sklearn:logistic_regression",
            grid={"model__C": [0.01, 0.1, 1.0, 10.0, 100.0]},
            quick_grid={"model__C": [0.1, 1.0]},
            tasks=("classification",),
            class_weight=True,
        ),
        ModelSpec(
            name="ridge",
            framework="scikit-learn",
            builder="backends.sklearn:ridge",
            grid={"model__alpha": [0.01, 0.1, 1.0, 10.0, 100.0]},
            quick_grid={"model__alpha": [1.0, 10.0]},
            class_weight=True,
            responses=("predict", "decision_function"),
        ),
        ModelSpec(
            name="random_forest",
            framework="scikit-learn",
            builder="backends.sklearn:random_forest",
            grid={"model__max_depth": [None, 8, 16], "model__min_samples_leaf": [1, 3]},
            quick_grid={"model__max_depth": [None, 8]},
            quick_params={"model__n_estimators": QUICK_TREES},
            class_weight=True,
        ),
        ModelSpec(
            name="hist_gradient_boosting",
            framework="scikit-learn",
            builder="backends.sklearn:hist_gradient_boosting",
            grid={"model__learning_rate": [0.1, 0.3]},
            quick_grid={"model__learning_rate": [0.3]},
            class_weight=True,
        ),
        ModelSpec(
            name="keras_dense",
            framework="keras",
            builder="backends.keras:dense",
            grid={"model__l2": [1e-4, 1e-3], "model__dropout": [0.0, 0.3]},
            quick_grid={"model__l2": [1e-4]},
            quick_params={"model__epochs": 10},
            class_weight=True,
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
        ModelSpec(
            name=BASELINE,
            framework="scikit-learn",
            builder="backends.sklearn:dummy",
            grid={},
            quick_grid={},
            baseline=True,
        ),
    )
})
"""The built-in models by name, in report order (read-only)."""

class UserModels:
    """The user models registered in this process (``backends.custom.register_model``), so that a
    study can name a user model like a built-in one. Only the study's own process reads it (when it
    resolves its model names); workers receive estimator objects.
    """

    def __init__(self):
        self._specs: dict = {}

    def add(self, spec: "ModelSpec") -> None:
        """Register ``spec`` under its name (replacing an earlier one of that name)."""
        self._specs[spec.name] = spec

    def remove(self, name: str) -> None:
        """Forget ``name``.

        Raises
        ------
        ValueError
            If ``name`` is not registered.
        """
        if name not in self._specs:
            raise ValueError(f"{name!r} is not a registered user model; registered: {self.names()}.")
        del self._specs[name]

    def get(self, name) -> "ModelSpec | None":
        return self._specs.get(name)

    def names(self) -> list:
        return list(self._specs)


USER_MODELS = UserModels()
"""This process's registry of user models (the one registry; ``backends.custom`` adds to it)."""


def list_models() -> list[str]:
    """Names of the built-in models, then of the user models registered in this process.

    Returns
    -------
    list of str
    """
    return [*BUILTIN_MODELS, *USER_MODELS.names()]


def get_model(name) -> ModelSpec:
    """The :class:`ModelSpec` of a model name (a ModelSpec is returned as it is).

    Raises
    ------
    ValueError
        If ``name`` is neither built in nor registered; the message lists the known names.
    """
    if isinstance(name, ModelSpec):
        return name
    spec = BUILTIN_MODELS.get(name) or USER_MODELS.get(name)
    if spec is None:
        raise ValueError(
            f"Unknown model {name!r}. Expected one of {list_models()}; "
            "check the spelling, or register your own with backends.custom.register_model."
        )
    return spec


def make_estimator(name, task: str = "classification", *, random_state: int | None = None,
                   image_shape: tuple | None = None, **params: Any):
    """Build an unfitted, clonable estimator for a model.

    Parameters
    ----------
    name : str or ModelSpec
        A name from :func:`list_models`, or a model specification.
    task : {"classification", "regression"}, default="classification"
        Selects e.g. ``RidgeClassifier`` vs ``Ridge``.
    random_state : int or None, default=None
    image_shape : tuple of int (h, w, c) or None, default=None
        Required by image models (``keras_cnn``).
    **params
        Parameters of the model step (``C=0.5``), or routed pipeline parameters
        (``model__C=0.5``, ``preprocess__scale=False``).

    Returns
    -------
    sklearn.pipeline.Pipeline
        Steps ``preprocess`` and ``model``.

    Raises
    ------
    ValueError
        As :func:`get_model` and :meth:`ModelSpec.estimator`.
    """
    return get_model(name).estimator(task, random_state=random_state, image_shape=image_shape, params=params)
