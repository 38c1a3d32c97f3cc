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
  numeric or categorical), the classes, the best parameters, the hold-out scores, the library
  versions and the study's settings.

:func:`load_model` rebuilds a working estimator from such a folder in any process. Loading
unpickles ``estimator.pkl``, which can run code: load only models you trust.
"""

from __future__ import annotations

import io
import json
import pickle
import sys
import tempfile
import traceback
from copy import copy
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from study.lines import plain_line

__all__ = ["SavedModel", "keep", "load_model", "read_info", "MODEL_FILE", "ESTIMATOR_FILE", "FORMAT",
           "is_model_file", "LIBRARIES"]

MODEL_FILE = "model.json"
ESTIMATOR_FILE = "estimator.pkl"
FORMAT = "generalization-study model 1"
"""The ``format`` entry of ``model.json`` this version writes and reads."""
LIBRARIES = ("scikit-learn", "numpy", "pandas", "scipy", "tensorflow", "keras", "scikeras", "cloudpickle")
"""Libraries whose versions ``model.json`` records (load with the same ones where you can)."""
_NETWORK = "network-{}.keras"
_HOW = "a folder OUT/models/<dataset>/<model> written by python -m study.run (or write_report)"


def is_model_file(name: str) -> bool:
    """True for the names of the files a stored model folder holds."""
    return name in (MODEL_FILE, ESTIMATOR_FILE) or (
        name.startswith("network-") and name.endswith(".keras") and name[8:-6].isdigit())


def _plain(value):
    """A JSON value: NumPy scalars and arrays as Python numbers and lists."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    return value


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in LIBRARIES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def _features(dataset) -> list:
    """``[{"name", "kind"}]`` of the columns the estimator takes, in order."""
    from backends.preprocessing import is_categorical

    X = dataset.X
    if isinstance(X, pd.DataFrame):
        return [dict(name=str(name), kind="categorical" if is_categorical(dtype) else "numeric", dtype=str(dtype))
                for name, dtype in X.dtypes.items()]
    names = dataset.feature_names or [f"x{i}" for i in range(X.shape[1])]
    return [dict(name=str(name), kind="numeric") for name in names]


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
        """The fitted estimator, rebuilt from the files (in this process).

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
            return _load(Path(folder), self.files[ESTIMATOR_FILE], "this study's result")

    def description(self, **extra) -> dict:
        """The content of ``model.json``: :attr:`info`, the format, the file names and ``extra``
        (e.g. ``dataset``, ``model``, ``framework``, ``study``: the study's settings)."""
        return {"format": FORMAT, **extra, **self.info, "files": sorted(self.files)}


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
    info = dict(task=dataset.task, features=_features(dataset),
                input="frame" if isinstance(dataset.X, pd.DataFrame) else "array",
                image_shape=list(dataset.image_shape) if dataset.image_shape else None,
                classes=None if classes is None else _plain(np.asarray(classes)),
                target_names=dataset.target_names, best_params=_plain(best_params),
                test_scores={k: float(v) for k, v in scores.items()}, libraries=_versions())
    try:
        files = _Pickler().dumps(_portable(estimator))
    except Exception as exc:  # the unit's scores stand; the report says why the model was not kept
        return SavedModel(info, {}, f"{type(exc).__name__}: {plain_line(exc)[:300]}")
    return SavedModel(info, files)


def read_info(path) -> dict:
    """The ``model.json`` of a stored model folder.

    Parameters
    ----------
    path : path-like
        ``OUT/models/<dataset>/<model>``.

    Returns
    -------
    dict

    Raises
    ------
    ValueError
        A missing folder, or a folder that is not a stored model (no readable ``model.json``
        of this format, or no ``estimator.pkl``), in one line.
    """
    path = Path(path)
    if not path.is_dir():
        what = "is a file" if path.exists() else "does not exist"
        raise ValueError(f"Model folder '{path}' {what}; expected {_HOW}. Check the path.")
    try:
        info = json.loads((path / MODEL_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"'{path}' is not a stored model: it has no {MODEL_FILE}; expected {_HOW}.") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"'{path / MODEL_FILE}' cannot be read ({type(exc).__name__}: "
                         f"{plain_line(exc)}); expected {_HOW}. Write the report again.") from None
    if not isinstance(info, dict) or info.get("format") != FORMAT:
        found = info.get("format") if isinstance(info, dict) else type(info).__name__
        raise ValueError(f"'{path / MODEL_FILE}' has format {found!r}; expected {FORMAT!r} ({_HOW}). "
                         "Write the report again with this version.")
    missing = [name for name in info.get("files", []) if not (path / name).is_file()]
    if missing or not (path / ESTIMATOR_FILE).is_file():
        raise ValueError(f"'{path}' lacks {missing or [ESTIMATOR_FILE]}; expected {_HOW}. Copy the whole folder.")
    return info


def load_model(path):
    """Load a stored model: the fitted estimator, ready to ``predict`` (and ``predict_proba``).

    Parameters
    ----------
    path : path-like
        ``OUT/models/<dataset>/<model>`` (see :func:`read_info`).

    Returns
    -------
    scikit-learn estimator
        The refit best estimator of the study's unit: a Pipeline whose preprocessing was fitted
        on the training part. It takes rows with the columns of ``model.json``'s ``features``.

    Raises
    ------
    ValueError
        As :func:`read_info`, and a network or estimator that cannot be rebuilt here (e.g. a
        custom Keras layer that is not registered in this process).
    """
    path = Path(path)
    read_info(path)
    return _load(path, (path / ESTIMATOR_FILE).read_bytes(), f"'{path}'")


def _load(folder: Path, pickled: bytes, where: str):
    """Unpickle an estimator whose Keras networks are ``.keras`` files in ``folder``."""
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
        return Unpickler(io.BytesIO(pickled)).load()
    except ValueError:
        raise
    except Exception as exc:  # a class or function that is not importable here, a truncated file
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        raise ValueError(f"The estimator of {where} cannot be rebuilt here ({type(exc).__name__}: "
                         f"{plain_line(exc)}, at {Path(frame.filename).name}:{frame.lineno}); the classes "
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
