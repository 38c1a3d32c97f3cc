"""Tuned models kept: each unit's refit best estimator in a portable form, and loaded again.

A unit of work (``study.protocol.fit_and_score``) ends by packing its refit best estimator
with :func:`keep`, in the worker that fitted it: the result is bytes (a :class:`SavedModel`),
which the store caches and the report writes under ``models/<dataset>/<model>/``:

- ``estimator.pkl``: the fitted Pipeline (its preprocessing fitted on the training part, then
  the model), pickled with ``cloudpickle`` (so a build function or class defined in a script
  or a notebook is kept by value; anything importable is kept by reference, as joblib does);
- ``network-<i>.keras``: every Keras network the estimator holds, in Keras' native ``.keras``
  format (architecture, weights, compile settings; the project's layers by their registered
  names, ``backends.keras_layers``). The pickle holds a reference to the file in its place,
  never a TensorFlow object; the fit-time callbacks of a Keras wrapper are left out. The
  network is saved right after the fit, so it holds the fitted weights although it is a pooled
  model (``backends.keras_pool``) that another fit reuses later;
- ``model.json``: what the model expects and was chosen with: the feature columns (name,
  numeric or categorical, and the values a categorical column held in training), the classes,
  the fitted model's class, the best parameters, the hold-out scores, the library versions, the
  study's settings and the SHA-256 digest of every other file.

:func:`load_model` rebuilds a working estimator from such a folder in any process. It checks the
folder first (``model.json`` against its schema, each file against its digest), says in one line
what it unpickles and in one more which library versions differ from the recorded ones, and
checks what it unpickled against ``model.json`` (a fitted model, its features, classes and
class). It returns the estimator frozen, taking a DataFrame's columns by name, in any order
(``study.stored_estimator.StoredEstimator``). Unpickling ``estimator.pkl`` can run code: a stored
model is code, load only models you trust (the digests catch damaged, edited or swapped files,
not a forged folder).
"""

from __future__ import annotations

import hashlib
import io
import pickle
import sys
import tempfile
import traceback
import warnings
from copy import copy
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from study.text import plain_line
from study.model_store_checks import (ESTIMATOR_FILE, FORMAT, LIBRARIES, MODEL_FILE, StoredModelNotice, check_files,
                                check_info, check_loaded, class_name, installed_versions, is_model_file, load_notes,
                                read_info)

__all__ = ["SavedModel", "keep", "load_model", "read_info", "check_info", "check_loaded", "load_notes",
           "StoredModelNotice", "MODEL_FILE", "ESTIMATOR_FILE", "FORMAT", "is_model_file", "LIBRARIES"]

_NETWORK = "network-{}.keras"


def _plain(value):
    """A JSON value: NumPy scalars and arrays as Python numbers and lists."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    return value


def _features(dataset, estimator=None) -> list:
    """``[{"name", "kind", "dtype", "categories"}]`` of the columns the estimator takes, in order;
    ``categories``: the values a categorical column held in the training part (as text), when its
    encoder keeps every one of them (see :func:`_categories`)."""
    from backends.preprocessing import is_categorical

    X = dataset.X
    if isinstance(X, pd.DataFrame):
        seen = _categories(estimator)
        features = []
        for name, dtype in X.dtypes.items():
            feature = dict(name=str(name), kind="categorical" if is_categorical(dtype) else "numeric", dtype=str(dtype))
            if str(name) in seen:
                feature["categories"] = seen[str(name)]
            features.append(feature)
        return features
    names = dataset.feature_names or [f"x{i}" for i in range(X.shape[1])]
    return [dict(name=str(name), kind="numeric") for name in names]


def _categories(estimator) -> dict:
    """Per categorical column of a fitted ``TabularPreprocessor`` (the Pipeline's first step): the
    categories its one-hot encoder learned, as text, when it groups none as infrequent (a column
    with more categories than ``MAX_CATEGORIES`` is left out: new values there join the group)."""
    steps = getattr(estimator, "steps", None)
    first = steps[0][1] if isinstance(steps, list) and steps else None
    names = list(getattr(first, "categorical_features_", None) or [])
    try:
        encoder = first.column_transformer_.named_transformers_["cat"]["onehot"]
        learned, grouped = encoder.categories_, getattr(encoder, "infrequent_categories_", [None] * len(names))
    except (AttributeError, KeyError, TypeError):
        return {}
    if len(learned) != len(names):  # a column missing in every training row was dropped by the imputer
        return {}
    return {str(name): [str(value) for value in values] for name, values, infrequent in zip(names, learned, grouped)
            if infrequent is None}


def _networks():
    """The Keras model class when Keras is loaded in this process (else no network can exist)."""
    keras = sys.modules.get("keras")
    return getattr(keras, "Model", None)


class _Pickler:
    """cloudpickle, with every Keras network saved apart as a ``.keras`` file."""

    def __init__(self):
        import cloudpickle

        model_class, files = _networks(), {}

        class Pickler(cloudpickle.Pickler):
            def persistent_id(self, obj):
                if model_class is None or not isinstance(obj, model_class):
                    return None
                for name, (network, _) in files.items():
                    if network is obj:
                        return ("keras", name)
                name = _NETWORK.format(len(files))
                files[name] = (obj, _keras_bytes(obj))
                return ("keras", name)

        self.pickler_class, self.files = Pickler, files

    def dumps(self, estimator) -> dict:
        buffer = io.BytesIO()
        self.pickler_class(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(estimator)
        return {ESTIMATOR_FILE: buffer.getvalue(), **{name: data for name, (_, data) in self.files.items()}}


def _keras_bytes(network) -> bytes:
    """A Keras network in Keras' native ``.keras`` format."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "network.keras"
        network.save(path)
        return path.read_bytes()


def _portable(estimator):
    """``estimator`` without fit-time state that only a fit uses: a Pipeline's steps made
    portable, a scikeras wrapper without its training callbacks (they hold the network and
    Keras objects of the fit). Shallow copies: the fitted estimator is left as it is."""
    steps = getattr(estimator, "steps", None)
    if isinstance(steps, list):
        clone = copy(estimator)
        clone.steps = [(name, _portable(step)) for name, step in steps]
        return clone
    if hasattr(estimator, "_fit_callbacks") and hasattr(estimator, "model_"):
        clone = copy(estimator)
        clone._fit_callbacks, clone._early_stopping = [], None
        return clone
    return estimator


@dataclass(frozen=True, eq=False)
class SavedModel:
    """A fitted estimator as files: what a unit's record carries, the cache stores and the
    report writes.

    Attributes
    ----------
    info : dict
        The description written to ``model.json`` (see the module's docstring).
    files : dict of str to bytes
        ``estimator.pkl`` and the ``network-<i>.keras`` files; empty when the estimator could
        not be kept.
    error : str, default=""
        Why the estimator could not be kept (one line), or "".
    """

    info: dict
    files: dict = field(default_factory=dict)
    error: str = ""

    @property
    def ok(self) -> bool:
        """True when the estimator was kept."""
        return not self.error and ESTIMATOR_FILE in self.files

    def estimator(self):
        """The fitted estimator, rebuilt from the files (in this process), taking a DataFrame's
        columns by name (:class:`study.stored_estimator.StoredEstimator`).

        Raises
        ------
        ValueError
            The estimator was not kept (:attr:`error` says why), or a network cannot be loaded.
        """
        if not self.ok:
            raise ValueError(f"This unit's estimator was not kept ({self.error or 'no files'}).")
        with tempfile.TemporaryDirectory() as folder:
            for name, data in self.files.items():
                (Path(folder) / name).write_bytes(data)
            estimator = _load(Path(folder), self.files[ESTIMATOR_FILE], "this study's result")
        from study.stored_estimator import stored_estimator

        return stored_estimator(estimator, self.info)

    def description(self, **extra) -> dict:
        """The content of ``model.json``: :attr:`info`, the format, the file names and ``extra``
        (e.g. ``dataset``, ``model``, ``framework``, ``study``: the study's settings)."""
        return {"format": FORMAT, **extra, **self.info, "files": sorted(self.files),
                "sha256": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(self.files.items())}}


def keep(estimator, dataset, *, best_params: dict, scores: dict) -> SavedModel:
    """Pack a fitted estimator (in the process that fitted it).

    Parameters
    ----------
    estimator : fitted scikit-learn estimator
        The refit best estimator (a Pipeline ``preprocess -> model``).
    dataset : Dataset
        What it was fitted on (its columns, task and classes are described).
    best_params : dict
        GridSearchCV's choice (routed names).
    scores : dict of str to float
        The hold-out test score per metric.

    Returns
    -------
    SavedModel
        With :attr:`SavedModel.error` set (and no files) when the estimator cannot be packed,
        e.g. a Keras network Keras cannot save: the unit's scores do not depend on it.
    """
    classes = getattr(estimator, "classes_", None)
    info = dict(task=dataset.task, features=_features(dataset, estimator), estimator=class_name(estimator),
                input="frame" if isinstance(dataset.X, pd.DataFrame) else "array",
                image_shape=list(dataset.image_shape) if dataset.image_shape else None,
                classes=None if classes is None else _plain(np.asarray(classes)),
                target_names=dataset.target_names, best_params=_plain(best_params),
                test_scores={k: float(v) for k, v in scores.items()}, libraries=installed_versions())
    try:
        files = _Pickler().dumps(_portable(estimator))
    except Exception as exc:  # the unit's scores stand; the report says why the model was not kept
        return SavedModel(info, {}, f"{type(exc).__name__}: {plain_line(exc)[:300]}")
    return SavedModel(info, files)


def load_model(path, *, say=None):
    """Load a stored model: the fitted estimator, ready to ``predict`` (and ``predict_proba``).

    The folder is checked first: ``model.json`` against its schema (:func:`check_info`), every
    file against the SHA-256 digest ``model.json`` records for it. Then one line says what is
    unpickled (``estimator.pkl`` can run code: load only models you trust), and one more names
    the libraries whose installed versions differ from the recorded ones (scikit-learn's own
    ``InconsistentVersionWarning`` is not repeated). The unpickled object must be a fitted model
    with the features, the classes and the class ``model.json`` records.

    Parameters
    ----------
    path : path-like
        ``OUT/models/<dataset>/<model>`` (see :func:`read_info`).
    say : callable or None, default=None
        Receives each of those lines (:func:`load_notes`); None: each is a
        :class:`StoredModelNotice` warning.

    Returns
    -------
    study.stored_estimator.StoredEstimator
        The refit best estimator of the study's unit (a Pipeline whose preprocessing was fitted
        on the training part), frozen (scikit-learn's ``FrozenEstimator``: ``fit`` does nothing;
        ``est[-1]`` is the fitted model). It takes the columns of ``model.json``'s ``features``: a
        DataFrame's by name, in any order (a missing or an extra column is refused in one line,
        ``ValueError``), a NumPy array's by position.

    Raises
    ------
    ValueError
        As :func:`read_info`; a file that is not the one ``model.json`` describes; an
        ``estimator.pkl`` that is not a fitted model or not the one ``model.json`` describes; a
        network or estimator that cannot be rebuilt here (e.g. a custom Keras layer that is not
        registered in this process). Each in one line.
    """
    path = Path(path)
    info = read_info(path)
    check_files(path, info)
    for line in load_notes(path, info):
        if say is None:
            warnings.warn(line, StoredModelNotice, stacklevel=2)
        else:
            say(line)
    from study.stored_estimator import stored_estimator  # scikit-learn: not imported by study.model_store's importers

    estimator = _load(path, (path / ESTIMATOR_FILE).read_bytes(), f"'{path}'")
    check_loaded(estimator, info, path)
    return stored_estimator(estimator, info)


def _load(folder: Path, pickled: bytes, where: str):
    """Unpickle an estimator whose Keras networks are ``.keras`` files in ``folder``
    (scikit-learn's ``InconsistentVersionWarning`` silenced: :func:`load_notes` says it once)."""
    from sklearn.exceptions import InconsistentVersionWarning

    networks = {}

    class Unpickler(pickle.Unpickler):
        def persistent_load(self, pid):
            kind, name = pid
            if kind != "keras" or not is_model_file(name):
                raise pickle.UnpicklingError(f"unknown reference {pid!r}")
            if name not in networks:
                networks[name] = _load_network(folder / name, where)
            return networks[name]

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", InconsistentVersionWarning)
            return Unpickler(io.BytesIO(pickled)).load()
    except ValueError:
        raise
    except Exception as exc:  # a class or function that is not importable here, a truncated file
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        raise ValueError(f"The estimator of {where} cannot be rebuilt here ({type(exc).__name__}: "
                         f"{plain_line(exc)[:300]}, at {Path(frame.filename).name}:{frame.lineno}); the classes "
                         "and functions it was made with must be importable (run from the project's folder, or add "
                         "the folder of your model code to PYTHONPATH).") from None


def _load_network(path: Path, where: str):
    from backends.quiet import start_tensorflow

    keras, _ = start_tensorflow()
    import backends.keras_layers  # noqa: F401  (registers the project's layers by name)

    try:
        return keras.saving.load_model(path, compile=True)
    except Exception as exc:
        raise ValueError(f"The Keras network {path.name} of {where} cannot be loaded ({type(exc).__name__}: "
                         f"{plain_line(exc)[:300]}). A network with your own layers needs them registered "
                         "(keras.saving.register_keras_serializable) in a module imported before loading.") from None
