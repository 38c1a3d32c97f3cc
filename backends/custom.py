"""Bring your own model: any scikit-learn estimator, or any function that builds a Keras model.

Registered models join the same folds, the same tables and the same report as the built-in
ones. Their preprocessing (imputation, scaling, one-hot encoding) lives inside their Pipeline,
fitted per fold, like every other model's.

Examples
--------
>>> from sklearn.svm import SVC
>>> from backends.custom import register_model
>>> register_model("svc", SVC(), grid={"C": [0.1, 1.0, 10.0]})          # doctest: +SKIP

>>> def build_mlp():                      # the usual Keras code, compiled or not
...     import keras
...     return keras.Sequential([keras.layers.Dense(128, activation="relu"),
...                              keras.layers.Dense(10, activation="softmax")])
>>> register_model("my_mlp", keras_build_fn=build_mlp, grid={"epochs": [10, 20]})  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
from functools import partial

from sklearn.base import clone, is_classifier, is_regressor
from sklearn.pipeline import Pipeline

from backends import ModelSpec, _REGISTRY, TASKS

__all__ = ["register_model", "unregister_model", "resolve_object"]


def resolve_object(reference: str):
    """Import ``"package.module:attribute"`` and return the attribute.

    Raises
    ------
    ValueError
        If the reference is not of that form, the module cannot be imported, or the attribute
        does not exist.
    """
    module, sep, attribute = reference.partition(":")
    if not sep or not module or not attribute:
        raise ValueError(f"Expected 'module:function' (e.g. 'mymodels:build_mlp'); got {reference!r}.")
    try:
        imported = importlib.import_module(module)
    except ImportError as exc:
        raise ValueError(
            f"Cannot import module {module!r} of {reference!r}: {exc}. "
            "Run from the folder that holds it, or add that folder to PYTHONPATH."
        ) from None
    try:
        return getattr(imported, attribute)
    except AttributeError:
        raise ValueError(f"Module {module!r} has no attribute {attribute!r} (from {reference!r}).") from None


def _preprocessor(scale: bool):
    from backends.preprocessing import TabularPreprocessor

    return TabularPreprocessor(scale=scale)


def _sklearn_builder(estimator, task: str, random_state=None, image_shape=None) -> Pipeline:
    model = clone(estimator)
    if "random_state" in model.get_params(deep=False):
        model.set_params(random_state=random_state)
    return Pipeline([("preprocess", _preprocessor(scale=True)), ("model", model)])


def _keras_builder(build_fn, epochs: int, batch_size: int, task: str, random_state=None, image_shape=None) -> Pipeline:
    from backends.keras import KerasBuildFnClassifier, KerasBuildFnRegressor

    cls = KerasBuildFnClassifier if task == "classification" else KerasBuildFnRegressor
    model = cls(model=build_fn, epochs=epochs, batch_size=batch_size, random_state=random_state)
    return Pipeline([("preprocess", _preprocessor(scale=True)), ("model", model)])


def _fingerprint(obj) -> str:
    """Changes when the model's code or parameters change (part of the cache key)."""
    try:
        text = inspect.getsource(obj if inspect.isfunction(obj) else type(obj))
    except (OSError, TypeError):
        text = ""
    return hashlib.sha256((text + repr(obj)).encode()).hexdigest()[:16]


def register_model(
    name: str,
    estimator=None,
    *,
    keras_build_fn=None,
    grid: dict | None = None,
    tasks: tuple | None = None,
    epochs: int = 20,
    batch_size: int = 32,
) -> ModelSpec:
    """Register a user model under ``name`` so a study can use it like a built-in one.

    Parameters
    ----------
    name : str
        New registry name (must not clash with a registered model).
    estimator : scikit-learn estimator or None
        An unfitted estimator; it is cloned for every fit. Exactly one of ``estimator`` and
        ``keras_build_fn`` is required.
    keras_build_fn : callable or None
        A function returning a ``keras.Model`` (usually ``keras.Sequential([...])``). It may
        take scikeras' ``meta`` argument (``meta["n_features_in_"]``, ``meta["n_classes_"]``)
        or no argument (then leave the input shape out: Keras infers it). An uncompiled model
        is compiled with Adam and sparse categorical cross-entropy (classification) or MSE
        (regression); a model compiled with ``categorical_crossentropy`` is recompiled with
        its sparse equivalent (the same loss on integer labels).
    grid : dict or None, default=None
        GridSearchCV grid over the model's own parameters, without prefix (``{"C": [1, 10]}``;
        for Keras models the wrapper's: ``epochs``, ``batch_size``, or ``model__<argument>``
        of the build function). None: a single candidate.
    tasks : tuple of str or None, default=None
        Tasks the model supports; default from the estimator's type (classifier/regressor),
        and ("classification", "regression") for a Keras build function.
    epochs, batch_size : int, default=20, 32
        Training length of a Keras model.

    Returns
    -------
    ModelSpec

    Raises
    ------
    ValueError
        A clashing name, both or neither of ``estimator`` / ``keras_build_fn``, a non-estimator,
        or a grid that is not a dict of non-empty lists.
    """
    if name in _REGISTRY:
        raise ValueError(f"A model named {name!r} is already registered; choose another name.")
    if (estimator is None) == (keras_build_fn is None):
        raise ValueError(f"Model {name!r}: give exactly one of estimator= (scikit-learn) or keras_build_fn= (Keras).")
    grid = {f"model__{key}": list(values) for key, values in (grid or {}).items()}
    if any(not values for values in grid.values()):
        raise ValueError(f"Model {name!r}: every grid entry must be a non-empty list; got {grid!r}.")
    if estimator is not None:
        if not hasattr(estimator, "fit") or not hasattr(estimator, "get_params"):
            raise ValueError(f"Model {name!r}: {estimator!r} is not a scikit-learn estimator (no fit/get_params).")
        default_tasks = tuple(t for t, ok in zip(TASKS, (is_classifier(estimator), is_regressor(estimator))) if ok)
        builder, framework, code = partial(_sklearn_builder, estimator), "scikit-learn", _fingerprint(estimator)
    else:
        if not callable(keras_build_fn):
            raise ValueError(f"Model {name!r}: keras_build_fn must be callable; got {keras_build_fn!r}.")
        default_tasks = TASKS
        builder = partial(_keras_builder, keras_build_fn, epochs, batch_size)
        framework, code = "keras", _fingerprint(keras_build_fn)
    spec = ModelSpec(
        name=name, framework=framework, builder=builder, grid=grid or {}, quick_grid=grid or {},
        tasks=tuple(tasks or default_tasks or TASKS), code=code,
    )
    _REGISTRY[name] = spec
    return spec


def unregister_model(name: str) -> None:
    """Remove a user model registered with :func:`register_model` (built-ins cannot be removed)."""
    spec = _REGISTRY.get(name)
    if spec is None or isinstance(spec.builder, str):
        raise ValueError(f"{name!r} is not a registered user model.")
    del _REGISTRY[name]
