"""A study as data: ``python -m study.run --config study.toml``.

The TOML file holds the same settings as the command line, plus user data and user models.
Every key and value is checked before anything is loaded or fitted; see ``examples/``.

Example
-------
.. code-block:: toml

    out = "reports/churn"
    cv = 5
    datasets = ["wine", { name = "churn", path = "tests/data/customers.csv", target = "churned" }]
    # grouped rows: { path = "visits.csv", target = "y", groups = "patient" }
    # time-ordered rows: { path = "sales.csv", target = "y", time = "date" }  (time_features = true)
    # search = "random"; n_iter = 10; cv_kind = "auto"; gap = 0
    # time_budget = "10m"                        # diagnostics and nested CV reduced to fit (study.budget)
    # a ;-separated file: { path = "sales.csv", target = "y", sep = ";" }  (default: detected)

    [[models]]
    name = "logistic_regression"
    grid = { C = [0.1, 1.0, 10.0] }

    [[models]]
    name = "ridge"
    search = "random"                            # this model's own search (--search for all)
    n_iter = 5
    distributions = { alpha = { loguniform = [0.001, 100.0] } }

    [[models]]
    name = "random_forest"
    grid = { max_depth = ["None", 8, 16] }      # "None": Python's None (TOML has no null)

    [[models]]
    name = "my_mlp"
    keras = "examples.my_models:build_mlp"
    epochs = 20
    early_stopping = true                        # patience, validation_fraction, class_weight,
                                                 # batch_size; image = true for image-only models
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

from study.spec import SEARCH_KEYS, DataSource, StudySpec
from study.user_code import whose

__all__ = ["load_config", "TOP_KEYS", "DATASET_KEYS", "MODEL_KEYS", "KERAS_KEYS", "NONE"]

TOP_KEYS = {
    "datasets": list, "models": list, "cv": int, "repeats": int, "nested": bool, "test_size": float,
    "seed": int, "quick": bool, "n_jobs": int, "out": str, "metrics": list, "scheduler": str,
    "cache_dir": str, "diagnostics": bool, "cv_kind": str, "gap": int, "search": str, "n_iter": int,
    "time_budget": str,
}
DATASET_KEYS = {"name", "path", "openml", "target", "task", "sep", "groups", "time", "time_features"}
KERAS_KEYS = {"epochs", "batch_size", "early_stopping", "patience", "validation_fraction", "class_weight", "image"}
"""Options of a user's Keras model (``image`` is ``backends.custom.keras_model``'s ``needs_image``)."""
MODEL_KEYS = {"name", "grid", "sklearn", "keras"} | KERAS_KEYS | set(SEARCH_KEYS)
"""A model's keys; ``SEARCH_KEYS`` (``study.spec``) are its own search (``StudySpec.searches``):
``search = "random"``, ``n_iter = 5``, ``distributions = { C = { loguniform = [0.001, 100.0] } }``."""
NONE = "None"
"""TOML has no null: this string in a grid stands for Python's None (``max_depth = ["None", 8, 16]``)."""


def _fail(path: Path, message: str) -> ValueError:
    return ValueError(f"{path}: {message}")


def _check_keys(path: Path, where: str, table: dict, allowed) -> None:
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        raise _fail(path, f"unknown key(s) {unknown} in {where}; allowed keys are {sorted(allowed)}.")


def _typed(path: Path, key: str, value, kind):
    if key == "time_budget":  # a duration such as "10m", or seconds (StudySpec.validate checks both)
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise _fail(path, f"time_budget must be a duration such as '10m' or a number of seconds; got {value!r} "
                              f"({type(value).__name__}).")
        return value
    ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not ok:
        raise _fail(path, f"{key} must be a {kind.__name__}; got {value!r} ({type(value).__name__}).")
    return value


def _dataset(path: Path, entry, index: int):
    if isinstance(entry, str):
        return entry
    if not isinstance(entry, dict):
        raise _fail(path, f"datasets[{index}] must be a bundled name or a table; got {entry!r}.")
    _check_keys(path, f"datasets[{index}]", entry, DATASET_KEYS)
    if ("path" in entry) == ("openml" in entry):
        raise _fail(path, f"datasets[{index}] needs exactly one of 'path' or 'openml'; got {sorted(entry)}.")
    if "sep" in entry and not isinstance(entry["sep"], str):
        raise _fail(path, f"datasets[{index}].sep must be a string such as \";\" or \"\\t\"; got {entry['sep']!r}.")
    source = f"openml:{entry['openml']}" if "openml" in entry else str((path.parent / entry["path"]).resolve())
    for key, kind in (("groups", str), ("time", str), ("time_features", bool)):
        if key in entry and not isinstance(entry[key], kind):
            expected = "column name (a string)" if kind is str else "boolean"
            raise _fail(path, f"datasets[{index}].{key} must be a {expected}; got {entry[key]!r}.")
    return DataSource(source=source, target=entry.get("target"), task=entry.get("task"), name=entry.get("name"),
                      sep=entry.get("sep"), groups=entry.get("groups"), time=entry.get("time"),
                      time_features=entry.get("time_features", False))


def _model_search(path: Path, entry: dict, searches: dict) -> None:
    """A model's own search settings (``search``, ``n_iter``, ``distributions``) into ``searches``."""
    from study.search import check_distributions

    own = {key: entry[key] for key in SEARCH_KEYS if key in entry}
    if not own:
        return
    name = entry["name"]
    if "distributions" in own:
        try:
            own["distributions"] = check_distributions(name, own["distributions"])
        except ValueError as exc:
            raise _fail(path, f"{exc} Allowed: {{ loguniform = [low, high] }}, {{ uniform = [low, high] }}, "
                              "{ randint = [low, high] } or a list of values.") from None
    searches[name] = own


_EXPECTED_SKLEARN = ("expected an estimator object (e.g. `svc = SVC()` in your module), an estimator class, or a "
                     "function of your own module that takes no arguments and returns an estimator")
_EXPECTED_KERAS = "expected a function of your own module that builds and returns a keras.Model"
_EXAMPLES = {"sklearn": "make_svc", "keras": "build_mlp"}


def _not_own_function(obj) -> str:
    """"" when ``obj`` is a plain Python function of the user's own code (not of the standard
    library, an installed package or this tool), else what it is instead (for the message)."""
    import inspect

    if isinstance(obj, type):
        return f"a class ({obj.__module__}.{obj.__qualname__})"
    if inspect.isbuiltin(obj):
        return f"a built-in function ({getattr(obj, '__module__', None) or 'builtins'}.{obj.__name__})"
    if not inspect.isfunction(obj):
        return f"an object of type {type(obj).__name__}"
    module = getattr(obj, "__module__", None) or ""
    owner = whose(module)
    return f"a function of {owner} ({module}.{getattr(obj, '__qualname__', '?')})" if owner else ""


def _called(reference: str, factory, what: str):
    """``factory()``, its failures (a user's exception, a recursion) in one line."""
    import traceback

    try:
        return factory()
    except (Exception, SystemExit) as exc:
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        raise ValueError(f"{what} {reference!r} raised {type(exc).__name__}: {' '.join(str(exc).split())[:200]} "
                         f"(at {frame.filename}:{frame.lineno}); fix it so that it returns an estimator.") from None


def _sklearn_object(reference: str):
    """The estimator a TOML ``sklearn = "module:object"`` names, checked before anything is called:
    an estimator object as it is, an estimator class instantiated without arguments, or a function
    of the user's own module (not the standard library's, an installed package's or this tool's)
    that takes no arguments, called once."""
    import inspect

    from backends.custom import resolve_object

    obj = resolve_object(reference)
    is_estimator = hasattr(obj, "fit") and hasattr(obj, "get_params")
    if isinstance(obj, type):
        if not is_estimator:
            raise ValueError(f"sklearn = {reference!r} is the class {obj.__qualname__}, which is not a scikit-learn "
                             f"estimator (no fit/get_params); {_EXPECTED_SKLEARN}.")
        return _called(reference, obj, "Making the estimator class")
    if is_estimator:
        return obj
    if not callable(obj):
        raise ValueError(f"sklearn = {reference!r} is an object of type {type(obj).__name__}, not a scikit-learn "
                         f"estimator; {_EXPECTED_SKLEARN}.")
    why = _not_own_function(obj)
    if why:
        raise ValueError(f"sklearn = {reference!r} is {why}, not a scikit-learn estimator, and it is not called to "
                         f"find out; {_EXPECTED_SKLEARN}.")
    required = [p.name for p in inspect.signature(obj).parameters.values()
                if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    if required:
        raise ValueError(f"sklearn = {reference!r} is a function that needs the argument(s) {required}; "
                         f"{_EXPECTED_SKLEARN}.")
    made = _called(reference, obj, "The function")
    if not (hasattr(made, "fit") and hasattr(made, "get_params")):
        raise ValueError(f"sklearn = {reference!r} returned a {type(made).__name__}, not a scikit-learn estimator "
                         f"(no fit/get_params); {_EXPECTED_SKLEARN}.")
    return made


def _keras_function(reference: str):
    """The build function a TOML ``keras = "module:function"`` names: a function of the user's own
    module (not a class, a built-in, or a function of the standard library, an installed package or
    this tool); it is called only when a network is fitted."""
    from backends.custom import resolve_object

    obj = resolve_object(reference)
    why = f"an object of type {type(obj).__name__}" if not callable(obj) else _not_own_function(obj)
    if why:
        raise ValueError(f"keras = {reference!r} is {why}, not a Keras build function; {_EXPECTED_KERAS} "
                         "(e.g. `def build_mlp(meta): return keras.Sequential([...])`).")
    return obj


def _model(path: Path, entry, index: int, grids: dict, searches: dict):
    """A model name, or a user model's ModelSpec (``backends.custom``)."""
    from backends.custom import keras_model, sklearn_model

    if isinstance(entry, str):
        return entry
    if not isinstance(entry, dict) or "name" not in entry:
        raise _fail(path, f"models[{index}] must be a model name or a table with a 'name'; got {entry!r}.")
    _check_keys(path, f"models[{index}] ({entry['name']})", entry, MODEL_KEYS)
    _model_search(path, entry, searches)
    name, grid = entry["name"], entry.get("grid")
    if grid is not None and (not isinstance(grid, dict) or not all(isinstance(v, list) and v for v in grid.values())):
        raise _fail(path, f"the grid of {name!r} must map parameter names to non-empty lists; got {grid!r}.")
    if grid is not None:
        grid = {key: [None if value == NONE else value for value in values] for key, values in grid.items()}
    options = {("needs_image" if key == "image" else key): entry[key] for key in KERAS_KEYS if key in entry}
    if options and "keras" not in entry:
        raise _fail(path, f"model {name!r}: {sorted(set(entry) & KERAS_KEYS)} are options of a Keras model "
                          "(keras = \"module:function\"); this model has none.")
    if "sklearn" in entry and "keras" in entry:
        raise _fail(path, f"model {name!r} has both 'sklearn' and 'keras'; give one.")
    for key in ("sklearn", "keras"):
        if key in entry and not isinstance(entry[key], str):
            raise _fail(path, f"models[{index}] ({name}): {key} must be a string \"module:object\"; got "
                              f"{entry[key]!r}. Write e.g. {key} = \"my_models:{_EXAMPLES[key]}\".")
    try:
        if "sklearn" in entry:
            return sklearn_model(name, _sklearn_object(entry["sklearn"]), grid=grid)
        if "keras" in entry:
            return keras_model(name, _keras_function(entry["keras"]), grid=grid, **options)
    except ValueError as exc:
        raise _fail(path, f"models[{index}] ({name}): {exc}") from None
    if grid is not None:
        grids[name] = grid
    return name


def load_config(path) -> StudySpec:
    """Read a study from a TOML file and return its validated :class:`StudySpec`.

    User models (``sklearn = "module:object"`` / ``keras = "module:function"``) are imported
    and become model specifications of the study (``backends.custom``); the file's folder is
    put on ``sys.path`` so its modules import. What they name is checked before anything of it is
    called: ``sklearn`` an estimator object, an estimator class (made without arguments) or a
    function of the user's own module that takes no arguments (called once, its result checked);
    ``keras`` a function of the user's own module. A built-in, a class that is not an estimator,
    or a function of the standard library, of an installed package or of this tool is refused.
    The file is read as UTF-8 (a byte-order mark is accepted).

    Parameters
    ----------
    path : str or pathlib.Path

    Returns
    -------
    StudySpec

    Raises
    ------
    ValueError
        A missing file, a folder, a file that is not UTF-8 or not TOML, unknown keys, values of
        the wrong type, a user model that is not what it must be, or any
        :meth:`StudySpec.validate` error; the message starts with the file's path.
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"Config file {path} is a folder; expected a TOML file (e.g. examples/custom_models.toml). "
                         "Give the file's path to --config.")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ValueError(f"Config file {path} does not exist; check the path given to --config.") from None
    except OSError as exc:
        raise _fail(path, f"cannot be read ({exc.strerror or exc}); check the path given to --config and its "
                          "permissions.") from None
    try:
        text = data.decode("utf-8-sig")  # a byte-order mark, as some editors write, is accepted
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise _fail(path, f"not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}; the file looks saved as "
                          "Latin-1 or another legacy encoding); TOML files are UTF-8. Save the file as UTF-8 "
                          f"(your editor's encoding setting, or iconv -f latin1 -t utf-8 {path.name}).") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _fail(path, f"not valid TOML: {exc}. See examples/ for the expected layout.") from None
    _check_keys(path, "the top level", data, TOP_KEYS)
    values = {key: _typed(path, key, value, TOP_KEYS[key]) for key, value in data.items()}
    folder = str(path.parent.resolve())
    if folder not in sys.path:
        sys.path.insert(0, folder)
    grids: dict = {}
    searches: dict = {}
    if "datasets" in values:
        values["datasets"] = tuple(_dataset(path, d, i) for i, d in enumerate(values["datasets"]))
    if "models" in values:
        values["models"] = tuple(_model(path, m, i, grids, searches) for i, m in enumerate(values["models"]))
    for key in ("out", "cache_dir"):
        if key in values:
            if not values[key].strip():
                raise _fail(path, f"{key} is empty, which would mean the current folder; give a folder's name.")
            values[key] = Path(values[key])
    if "metrics" in values:
        values["metrics"] = tuple(values["metrics"])
    try:
        return StudySpec(**values, grids=grids, searches=searches).validate()
    except ValueError as exc:
        raise _fail(path, str(exc)) from None
