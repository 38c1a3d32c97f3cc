"""Bring your own model: any scikit-learn estimator, or any function that builds a Keras model.

A user model is a :class:`backends.ModelSpec` that carries the user's object itself (the
estimator, or the Keras build function): it joins the same folds, the same tables and the same
report as the built-in models, and its preprocessing (imputation, scaling, one-hot encoding)
lives inside its Pipeline, fitted per fold, like every other model's.

Make one with :func:`sklearn_model` / :func:`keras_model` and put it in a study's ``models``,
or give it a name with :func:`register_model` and use the name. Registering again under the
same name replaces the model; the study's cache key covers the estimator's parameters and the
source of the user's code, so the next run refits exactly the changed model.

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

import importlib
import traceback
from functools import partial

from sklearn.base import clone, is_classifier, is_regressor
from sklearn.pipeline import Pipeline

from backends import BUILTIN_MODELS, TASKS, USER_MODELS, ModelSpec
from backends.preprocessing import pipeline
from backends.quiet import quiet_stderr
from backends.routing import route

__all__ = ["sklearn_model", "keras_model", "register_model", "unregister_model", "resolve_object"]


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
        with quiet_stderr():  # a user module that imports Keras starts TensorFlow
            imported = importlib.import_module(module)
    except ImportError as exc:
        raise ValueError(
            f"Cannot import module {module!r} of {reference!r}: {exc}. "
            "Run from the folder that holds it, or add that folder to PYTHONPATH."
        ) from None
    except SyntaxError as exc:
        raise ValueError(
            f"Module {module!r} of {reference!r} has a syntax error at {exc.filename}:{exc.lineno}: {exc.msg}. "
            "Fix that line; `python -c 'import " + module + "'` shows the same error."
        ) from None
    except Exception as exc:  # the module's own code raised while it was imported
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        raise ValueError(
            f"Importing module {module!r} of {reference!r} raised {type(exc).__name__}: "
            f"{' '.join(str(exc).split())} (at {frame.filename}:{frame.lineno}). Fix the module so that "
            "importing it succeeds; it is imported in every worker."
        ) from None
    try:
        return getattr(imported, attribute)
    except AttributeError:
        raise ValueError(f"Module {module!r} has no attribute {attribute!r} (from {reference!r}).") from None


def _sklearn_builder(estimator, task: str, random_state=None, image_shape=None) -> Pipeline:
    model = clone(estimator)
    if "random_state" in model.get_params(deep=False):
        model.set_params(random_state=random_state)
    return pipeline(model)


def _keras_builder(build_fn, options: dict, needs_image: bool, task: str, random_state=None,
                   image_shape=None) -> Pipeline:
    from backends.keras_wrappers import KerasBuildFnClassifier, KerasBuildFnRegressor
    from backends.preprocessing import ImageScaler

    cls = KerasBuildFnClassifier if task == "classification" else KerasBuildFnRegressor
    options = {k: v for k, v in options.items() if k != "class_weight" or task == "classification"}
    model = cls(model=build_fn, random_state=random_state, image_input=tuple(image_shape) if needs_image else None,
                **options)
    return pipeline(model, ImageScaler() if needs_image else None)


def _name(name) -> str:
    if not isinstance(name, str) or not name or name in BUILTIN_MODELS:
        raise ValueError(f"A user model needs a new, non-empty name (not one of the built-in models "
                         f"{list(BUILTIN_MODELS)}); got {name!r}.")
    return name


def _grid(name: str, grid) -> dict:
    if grid is not None and (not isinstance(grid, dict) or not all(
            isinstance(values, (list, tuple)) and len(values) > 0 for values in grid.values())):
        raise ValueError(f"Model {name!r}: the grid must map parameter names to non-empty lists, e.g. "
                         f'{{"C": [0.1, 1.0]}}; got {grid!r}.')
    return {key: list(values) for key, values in route(grid).items()}


def sklearn_model(name: str, estimator, *, grid: dict | None = None, tasks: tuple | None = None) -> ModelSpec:
    """A scikit-learn estimator as a study model.

    Parameters
    ----------
    name : str
        Name in tables and reports (not a built-in model's name).
    estimator : scikit-learn estimator
        Unfitted; it is cloned for every fit, after the study's preprocessing step.
    grid : dict of str to list or None, default=None
        GridSearchCV grid over the estimator's parameters, with or without the ``model__``
        prefix (``{"C": [1, 10]}``). None: a single candidate.
    tasks : tuple of str or None, default=None
        Tasks the model supports; default from the estimator's type (classifier/regressor).

    Returns
    -------
    ModelSpec

    Raises
    ------
    ValueError
        A built-in or empty name, a non-estimator, a grid that is not a dict of non-empty
        lists, or a grid parameter the estimator does not have (the valid names are listed).
    """
    name = _name(name)
    if not hasattr(estimator, "fit") or not hasattr(estimator, "get_params"):
        raise ValueError(f"Model {name!r}: {estimator!r} is not a scikit-learn estimator (no fit/get_params).")
    grid = _grid(name, grid)
    builder = partial(_sklearn_builder, estimator)
    pipe = builder(task=TASKS[0])
    valid = set(pipe.get_params())
    unknown = sorted(set(grid) - valid)
    if unknown:
        raise ValueError(f"Model {name!r}: grid parameter(s) {unknown} are not parameters of "
                         f"{type(estimator).__name__}; expected some of "
                         f"{sorted(k for k in valid if k.startswith('model__') and k.count('__') == 1)}.")
    default = tuple(t for t, ok in zip(TASKS, (is_classifier(estimator), is_regressor(estimator))) if ok)
    return ModelSpec(name=name, framework="scikit-learn", builder=builder, grid=grid, quick_grid=grid,
                     tasks=tuple(tasks or default or TASKS),
                     class_weight="class_weight" in estimator.get_params(deep=False),
                     responses=tuple(m for m in ("predict", "predict_proba", "decision_function") if hasattr(pipe, m)))


def keras_model(name: str, build_fn, *, grid: dict | None = None, tasks: tuple | None = None,
                epochs: int = 20, batch_size: int = 32, early_stopping: bool = False, patience: int = 10,
                validation_fraction: float | None = None, class_weight=None, needs_image: bool = False) -> ModelSpec:
    """A function that builds a Keras model (the usual ``keras.Sequential([...])`` code) as a
    study model, wrapped as a scikit-learn estimator (scikeras).

    The model is trained as written: a compiled loss and its metrics are kept (a categorical
    loss gets one-hot targets, so ``from_logits`` and ``label_smoothing`` keep their meaning;
    logits are turned into probabilities for probability-based metrics).

    Parameters
    ----------
    name : str
        Name in tables and reports (not a built-in model's name).
    build_fn : callable
        Returns a ``keras.Model``. It may take scikeras' ``meta`` argument
        (``meta["n_features_in_"]``, ``meta["n_classes_"]``) or no argument (then leave the
        input shape out: Keras infers it). An uncompiled model is compiled with Adam and sparse
        categorical cross-entropy (classification) or MSE (regression).
    grid : dict of str to list or None, default=None
        GridSearchCV grid over the wrapper's parameters (``epochs``, ``batch_size``) or
        ``model__<argument>`` of the build function. None: a single candidate.
    tasks : tuple of str or None, default=None
        Tasks the model supports; default both.
    epochs, batch_size : int, default=20, 32
        Training length (passes over the data) and batch size.
    early_stopping : bool, default=False
        Stop when the inner validation loss has not improved for ``patience`` epochs and restore
        the best weights (Keras' ``EarlyStopping(monitor="val_loss", restore_best_weights=True)``).
    patience : int, default=10
    validation_fraction : float in [0, 1) or None, default=None
        Fraction of the data each fit receives that is held out (stratified, seeded) as its
        inner validation data; None: 0.2 with early stopping, else 0 (no validation data).
    class_weight : dict, "balanced" or None, default=None
        Class weights of the training loss (classification only).
    needs_image : bool, default=False
        The model takes images: it runs only on image datasets, whose rows it receives reshaped
        to ``(height, width, channels)`` and scaled to [0, 1] like the built-in CNN's (write
        ``keras.Input((8, 8, 1))`` for digits; no ``Reshape`` layer needed).

    Returns
    -------
    ModelSpec

    Raises
    ------
    ValueError
        A built-in or empty name, a build function that is not callable, a bad grid, or an
        option out of range.
    """
    name = _name(name)
    if not callable(build_fn):
        raise ValueError(f"Model {name!r}: keras_build_fn must be callable; got {build_fn!r}.")
    if validation_fraction is None:
        validation_fraction = 0.2 if early_stopping else 0.0
    for option, value, low in (("epochs", epochs, 1), ("batch_size", batch_size, 1), ("patience", patience, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"Model {name!r}: {option} must be an integer >= {low}; got {value!r}.")
    if isinstance(validation_fraction, bool) or not isinstance(validation_fraction, (int, float)) \
            or not 0 <= validation_fraction < 1:
        raise ValueError(f"Model {name!r}: validation_fraction must be a fraction in [0, 1); "
                         f"got {validation_fraction!r}.")
    if not (class_weight is None or class_weight == "balanced" or isinstance(class_weight, dict)):
        raise ValueError(f'Model {name!r}: class_weight must be None, "balanced" or a dict {{class: weight}}; '
                         f"got {class_weight!r}.")
    if early_stopping and validation_fraction == 0:
        raise ValueError(f"Model {name!r}: early_stopping needs an inner validation split; validation_fraction is 0. "
                         "Give e.g. validation_fraction=0.2.")
    grid = _grid(name, grid)
    options = dict(epochs=epochs, batch_size=batch_size, early_stopping=bool(early_stopping), patience=patience,
                   validation_fraction=float(validation_fraction), class_weight=class_weight)
    return ModelSpec(name=name, framework="keras", builder=partial(_keras_builder, build_fn, options, needs_image),
                     grid=grid, quick_grid=grid, tasks=tuple(tasks or (("classification",) if needs_image else TASKS)),
                     needs_image=needs_image, class_weight=True)


def register_model(name: str, estimator=None, *, keras_build_fn=None, grid: dict | None = None,
                   tasks: tuple | None = None, **keras_options) -> ModelSpec:
    """Name a user model so that a study can use it like a built-in one.

    Registering again under the same name replaces the earlier model. The name is known to
    this process only: a study resolves it before any training and sends the estimator
    itself to its workers.

    Parameters
    ----------
    name : str
        Not a built-in model's name.
    estimator : scikit-learn estimator or None
        See :func:`sklearn_model`. Exactly one of ``estimator`` and ``keras_build_fn``.
    keras_build_fn : callable or None
        See :func:`keras_model`.
    grid, tasks
        See :func:`sklearn_model` and :func:`keras_model`.
    **keras_options
        With ``keras_build_fn``: the options of :func:`keras_model` (``epochs``, ``batch_size``,
        ``early_stopping``, ``patience``, ``validation_fraction``, ``class_weight``,
        ``needs_image``).

    Returns
    -------
    ModelSpec

    Raises
    ------
    ValueError
        Both or neither of ``estimator`` / ``keras_build_fn``, and the errors of
        :func:`sklearn_model` / :func:`keras_model`.
    """
    if (estimator is None) == (keras_build_fn is None):
        raise ValueError(f"Model {name!r}: give exactly one of estimator= (scikit-learn) or keras_build_fn= (Keras).")
    if estimator is not None:
        if keras_options:
            raise ValueError(f"Model {name!r}: {sorted(keras_options)} are options of a Keras build function "
                             "(keras_build_fn=...), not of a scikit-learn estimator.")
        spec = sklearn_model(name, estimator, grid=grid, tasks=tasks)
    else:
        spec = keras_model(name, keras_build_fn, grid=grid, tasks=tasks, **keras_options)
    USER_MODELS.add(spec)
    return spec


def unregister_model(name: str) -> None:
    """Forget a name given by :func:`register_model` (built-in models cannot be removed).

    Raises
    ------
    ValueError
        If ``name`` is not a registered user model.
    """
    USER_MODELS.remove(name)
