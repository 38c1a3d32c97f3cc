"""The checks of a stored model folder (``models/<dataset>/<model>/``) before and after it is
unpickled: its ``model.json`` against the schema this version writes, every file against the
SHA-256 digest ``model.json`` records, the library versions against the installed ones, and the
unpickled estimator against ``model.json`` (a fitted model of its class, features and classes).

``study.model_store`` packs and loads the models; this module decides whether a folder may be loaded
and what loading it says. Imports nothing heavy (scikit-learn only inside :func:`check_loaded`).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from study.text import plain_line

__all__ = ["MODEL_FILE", "ESTIMATOR_FILE", "FORMAT", "LIBRARIES", "is_model_file", "installed_versions",
           "check_info", "read_info", "load_notes", "StoredModelNotice", "check_files", "check_loaded", "class_name"]

MODEL_FILE = "model.json"
ESTIMATOR_FILE = "estimator.pkl"
FORMAT = "generalization-study model 1"
"""The ``format`` entry of ``model.json`` this version writes and reads."""
LIBRARIES = ("scikit-learn", "numpy", "pandas", "scipy", "tensorflow", "keras", "scikeras", "cloudpickle")
"""Libraries whose versions ``model.json`` records (load with the same ones where you can)."""
_KERAS_LIBRARIES = ("tensorflow", "keras", "scikeras")
"""Libraries a model without a Keras network does not use (their versions are not compared)."""
_KINDS = ("numeric", "categorical")
_HOW = "a folder OUT/models/<dataset>/<model> written by python -m study.run (or write_report)"


def is_model_file(name: str) -> bool:
    """True for the names of the files a stored model folder holds."""
    return name in (MODEL_FILE, ESTIMATOR_FILE) or (
        name.startswith("network-") and name.endswith(".keras") and name[8:-6].isdigit())


def installed_versions() -> dict:
    """The installed versions of :data:`LIBRARIES` (those that are installed), by name."""
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in LIBRARIES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def _short(value) -> str:
    """A JSON value for a message: its repr, one line, at most 60 characters."""
    text = plain_line(repr(value))
    return text if len(text) <= 60 else text[:57] + "..."


def _is_text(value) -> bool:
    return isinstance(value, str)


def _is_label(value) -> bool:
    return isinstance(value, (str, int, float, bool))


def _is_feature(feature) -> bool:
    return (isinstance(feature, dict) and isinstance(feature.get("name"), str) and feature.get("kind") in _KINDS
            and isinstance(feature.get("dtype", ""), str)
            and (feature.get("categories") is None or (isinstance(feature["categories"], list)
                                                       and all(map(_is_text, feature["categories"])))))


_SCHEMA = (
    # key, required, check, what is expected
    ("features", True, lambda v: isinstance(v, list) and len(v) > 0 and all(map(_is_feature, v))
     and len({f["name"] for f in v}) == len(v),
     "a non-empty list of {\"name\": <column>, \"kind\": \"numeric\" or \"categorical\"} with distinct names"),
    ("input", True, lambda v: v in ("frame", "array"), '"frame" or "array"'),
    ("task", True, lambda v: v in ("classification", "regression"), '"classification" or "regression"'),
    ("classes", True, lambda v: v is None or (isinstance(v, list) and len(v) > 0 and all(map(_is_label, v))),
     "null or a non-empty list of class labels"),
    ("files", True, lambda v: isinstance(v, list) and ESTIMATOR_FILE in v
     and all(isinstance(n, str) and is_model_file(n) for n in v),
     f"a list of the folder's files ({ESTIMATOR_FILE}, network-<i>.keras)"),
    ("libraries", True, lambda v: isinstance(v, dict) and all(map(_is_text, v.values())),
     "a table of library names to versions"),
    ("image_shape", False, lambda v: v is None or (isinstance(v, list) and len(v) == 3 and all(
        isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in v)), "null or [height, width, channels]"),
    ("sha256", False, lambda v: isinstance(v, dict) and all(
        isinstance(h, str) and len(h) == 64 for h in v.values()), "a table of file names to SHA-256 digests"),
    ("estimator", False, _is_text, "the class of the fitted model"),
)
"""What :func:`read_info` requires of ``model.json`` (the keys loading and predicting use)."""


def check_info(info, path) -> dict:
    """Check a ``model.json`` against the schema this version writes (:data:`_SCHEMA`).

    Parameters
    ----------
    info : object
        The parsed JSON.
    path : path-like
        The model folder (for the message).

    Returns
    -------
    dict
        ``info`` itself.

    Raises
    ------
    ValueError
        A wrong format, a missing key or a value of the wrong type, in one line naming the key.
    """
    path = Path(path)
    where = path / MODEL_FILE
    if not isinstance(info, dict) or info.get("format") != FORMAT:
        found = info.get("format") if isinstance(info, dict) else type(info).__name__
        raise ValueError(f"'{where}' has format {found!r}; expected {FORMAT!r} ({_HOW}). "
                         "Write the report again with this version.")
    for key, required, ok, expected in _SCHEMA:
        if key not in info and not required:
            continue
        found = "missing" if key not in info else f"{_short(info[key])}"
        if key not in info or not ok(info[key]):
            raise ValueError(f"'{where}' is not a valid stored-model description: {key!r} is {found}; expected "
                             f"{expected}. The file was edited or damaged: copy the model folder again from its "
                             "report, or run the study again.")
    return info


def read_info(path) -> dict:
    """The ``model.json`` of a stored model folder, checked (:func:`check_info`).

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
        of this format and schema, or a file it lists missing), in one line.
    """
    path = Path(path)
    if not path.is_dir():
        what = "is a file" if path.exists() else "does not exist"
        raise ValueError(f"Model folder '{path}' {what}; expected {_HOW}. Check the path.")
    try:
        info = json.loads((path / MODEL_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"'{path}' is not a stored model: it has no {MODEL_FILE}; expected {_HOW}.") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ValueError(f"'{path / MODEL_FILE}' cannot be read ({type(exc).__name__}: "
                         f"{plain_line(exc)}); expected {_HOW}. Write the report again.") from None
    check_info(info, path)
    missing = [name for name in info["files"] if not (path / name).is_file()]
    if missing:
        raise ValueError(f"'{path}' lacks {missing}; expected {_HOW}. Copy the whole folder.")
    return info


def load_notes(path, info: dict) -> list:
    """The lines :func:`load_model` says before unpickling: what it unpickles, and the libraries
    whose installed versions differ from those the model was saved with (one line for all).

    Parameters
    ----------
    path : path-like
        The model folder.
    info : dict
        Its ``model.json`` (:func:`read_info`).

    Returns
    -------
    list of str
    """
    path = Path(path)
    notes = [f"loading {path / ESTIMATOR_FILE} (a pickle: load only models you trust)"]
    recorded, installed = info.get("libraries") or {}, installed_versions()
    keras = info.get("framework") == "keras" or any(name.endswith(".keras") for name in info["files"])
    names = [name for name in LIBRARIES if keras or name not in _KERAS_LIBRARIES]
    differ = [f"{name} {recorded[name]} (installed: {installed[name]})" for name in names
              if name in recorded and name in installed and recorded[name] != installed[name]]
    if differ:
        notes.append(f"'{path}' was saved with {', '.join(differ)}; it may fail to load or predict differently "
                     "here. Install the versions recorded in its model.json (libraries) to be sure, or run the "
                     "study again with these.")
    return notes


class StoredModelNotice(UserWarning):
    """What :func:`load_model` unpickles, and library versions that differ from the saved ones."""


def check_files(path: Path, info: dict) -> None:
    """Each file's SHA-256 against ``model.json``'s (when recorded), before anything is unpickled."""
    for name, digest in (info.get("sha256") or {}).items():
        if name in info["files"] and hashlib.sha256((path / name).read_bytes()).hexdigest() != digest:
            raise ValueError(f"'{path / name}' is not the file its {MODEL_FILE} describes (its SHA-256 differs): "
                             "it was edited, truncated or swapped. Copy the whole model folder again from its "
                             "report, or run the study again.")


def check_loaded(estimator, info: dict, path) -> None:
    """Refuse an unpickled object that is not a fitted model, or not the one ``info`` describes.

    Raises
    ------
    ValueError
        In one line, naming what differs: not a model (no ``predict``), not fitted, another
        class, another number or other names of features, other classes.
    """
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    where = f"'{Path(path) / ESTIMATOR_FILE}'"
    fix = "Copy the whole model folder again from its report, or run the study again."
    if not callable(getattr(estimator, "predict", None)):
        raise ValueError(f"{where} holds a {type(estimator).__name__}, not a fitted model (no predict method); "
                         f"expected the estimator {_HOW} stored. {fix}")
    try:
        check_is_fitted(estimator)
    except (NotFittedError, TypeError, AttributeError, ValueError) as exc:
        raise ValueError(f"{where} holds a {type(estimator).__name__} that is not fitted ({plain_line(exc)[:200]}); "
                         f"expected the fitted estimator {_HOW} stored. {fix}") from None
    names = [feature["name"] for feature in info["features"]]
    differences = []
    recorded = info.get("estimator")
    if recorded and recorded != class_name(estimator):
        differences.append(f"it is a {class_name(estimator)}, model.json says {recorded}")
    n_in = getattr(estimator, "n_features_in_", None)
    if isinstance(n_in, (int, np.integer)) and n_in != len(names):
        differences.append(f"it takes {int(n_in)} features, model.json lists {len(names)}")
    seen = getattr(estimator, "feature_names_in_", None)
    if seen is not None and info["input"] == "frame" and [str(n) for n in seen] != names:
        differences.append(f"its features are {_short([str(n) for n in seen])}, model.json lists {_short(names)}")
    classes = getattr(estimator, "classes_", None)
    if info["task"] == "classification" and info["classes"] is not None:
        found = None if classes is None else [str(c) for c in np.asarray(classes).tolist()]
        if found != [str(c) for c in info["classes"]]:
            differences.append(f"its classes are {_short(found)}, model.json lists {_short(info['classes'])}")
    if differences:
        raise ValueError(f"{where} does not belong to its {MODEL_FILE}: {'; '.join(differences)}. The folder's "
                         f"files were edited or mixed. {fix}")


def class_name(estimator) -> str:
    """``module.Class`` of the fitted model (the last step of a Pipeline)."""
    steps = getattr(estimator, "steps", None)
    final = steps[-1][1] if isinstance(steps, list) and steps else estimator
    return f"{type(final).__module__}.{type(final).__qualname__}"
