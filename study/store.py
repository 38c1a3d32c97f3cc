"""The store of finished work, keyed by what was fitted.

A work item's key (:func:`work_key`) is a content hash of everything its result depends on:
the model's specification (a user estimator's ``get_params(deep=True)``, the source of any
user-supplied class or build function and of the module it lives in), the data, the split
indices, the parameters, the seed, the library versions, and the source of the project's own
modules that compute it (:func:`project_source`, discovered from their imports, not a
hand-written list). Changing any of them refits exactly the affected work; an unchanged rerun
fits nothing.

The store itself is ``joblib.Memory``: a result is written atomically when its work returns (in
the worker that computed it); a work item that raises stores nothing, so a failure is computed
again next time. A stored entry that cannot be read back (a truncated or garbled file) counts as
missing: it is removed with a one-line warning, and computed and stored again.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import hashlib
import importlib.util
import inspect
import marshal
import time
import warnings
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import joblib
import numpy as np
import pandas as pd

from study.text import plain_line

__all__ = ["fingerprint", "library_versions", "project_source", "work_key", "Store"]

VERSIONED = ("scikit-learn", "numpy", "scipy", "pandas", "tensorflow", "keras", "scikeras")
"""Libraries whose versions are part of every key (their code is covered by the version)."""
_LIBRARY_MODULES = frozenset({"sklearn", "numpy", "scipy", "pandas", "tensorflow", "keras", "scikeras",
                              "builtins", "functools"})
PACKAGES = ("study", "backends")
"""The project's own packages."""


def library_versions() -> tuple:
    """``(name, version)`` of every library in :data:`VERSIONED` (``"none"`` when missing)."""
    def one(name):
        try:
            return name, version(name)
        except PackageNotFoundError:
            return name, "none"
    return tuple(one(name) for name in VERSIONED)


def _module_file(name: str) -> Path | None:
    """The source file of a project module, found without importing it or its parent packages
    (``importlib.util.find_spec`` of ``a.b.c`` imports ``a.b``, and a project module may start
    TensorFlow when imported); None when there is no such module."""
    top, *rest = name.split(".")
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return Path(spec.origin) if not rest and spec and spec.origin and spec.origin.endswith(".py") else None
    base = Path(list(spec.submodule_search_locations)[0], *rest)
    for candidate in ([base.with_name(base.name + ".py")] if rest else []) + [base / "__init__.py"]:
        if candidate.is_file():
            return candidate
    return None


def _project_imports(name: str, source: bytes) -> set:
    """Project modules named by the import statements of a module (at any depth of its code)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for full in names:
            parts = full.split(".")
            if parts[0] in PACKAGES:
                found.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return {m for m in found if _module_file(m) is not None and m != name}


@functools.cache
def project_source(*modules: str) -> str:
    """Hash of the source of ``modules`` and of every project module they import, transitively.

    Parameters
    ----------
    *modules : str
        Dotted module names, e.g. ``"study.protocol"``.

    Returns
    -------
    str
        A hex digest; it changes when any of those files changes.
    """
    digest, seen, todo = hashlib.sha256(), set(), list(modules)
    while todo:
        name = todo.pop()
        path = _module_file(name)
        if name in seen or path is None:
            continue
        seen.add(name)
        source = path.read_bytes()
        todo += _project_imports(name, source)
    for name in sorted(seen):
        digest.update(name.encode() + b"\0" + _module_file(name).read_bytes())
    return digest.hexdigest()


def _code(obj) -> tuple:
    """Identity of a function or class, plus a hash of its code unless a versioned library owns it."""
    module = getattr(obj, "__module__", None) or ""
    identity = (module, getattr(obj, "__qualname__", repr(obj)))
    if module.split(".")[0] in _LIBRARY_MODULES:
        return identity
    try:
        path = inspect.getsourcefile(obj)
    except TypeError:
        path = None
    if path and Path(path).is_file():  # the whole module: helpers the function calls count too
        return identity + (hashlib.sha256(Path(path).read_bytes()).hexdigest(),)
    if inspect.isfunction(obj):  # no file (python -c, a notebook cell): the compiled code
        return identity + (hashlib.sha256(marshal.dumps(obj.__code__)).hexdigest(),)
    if inspect.isclass(obj):
        codes = sorted((k, marshal.dumps(v.__code__)) for k, v in vars(obj).items() if inspect.isfunction(v))
        return identity + (hashlib.sha256(repr(codes).encode()).hexdigest(),)
    return identity


def _canonical(obj):
    """A hashable description of ``obj`` by content (see :func:`fingerprint`)."""
    if obj is None or isinstance(obj, (str, bytes, bool, int, float)):
        return obj
    if isinstance(obj, (list, tuple)):
        return (type(obj).__name__, [_canonical(v) for v in obj])
    if isinstance(obj, dict):
        return ("dict", sorted(((repr(k), _canonical(v)) for k, v in obj.items()), key=lambda kv: kv[0]))
    if isinstance(obj, functools.partial):
        return ("partial", _canonical(obj.func), _canonical(obj.args), _canonical(obj.keywords))
    if isinstance(obj, (pd.DataFrame, pd.Series)):
        frame = obj.to_frame() if isinstance(obj, pd.Series) else obj
        return ("frame", list(map(str, frame.columns)), list(map(str, frame.dtypes)),
                pd.util.hash_pandas_object(frame, index=True).to_numpy())
    if isinstance(obj, np.ndarray):
        return ("array", np.ascontiguousarray(obj))
    if inspect.isfunction(obj) or inspect.isclass(obj) or inspect.ismethod(obj) or inspect.isbuiltin(obj):
        return ("code", _code(obj))
    if dataclasses.is_dataclass(obj):
        fields = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
        return ("dataclass", _code(type(obj)), _canonical(fields))
    if hasattr(obj, "get_params"):  # an estimator: its class and its parameters, nested ones included
        return ("estimator", _code(type(obj)), _canonical(obj.get_params(deep=False)))
    return ("object", _code(type(obj)), joblib.hash(obj))


def fingerprint(obj) -> str:
    """Content hash of any value: estimators by class and ``get_params`` (recursively), user
    functions and classes by their source and their module's, DataFrames by content.

    Returns
    -------
    str
        A hex digest, equal in every process for equal content.
    """
    return joblib.hash(_canonical(obj))


def work_key(kind: str, modules: tuple, *content) -> str:
    """The store key of a work item.

    Parameters
    ----------
    kind : str
        What the work is ("unit", or an experiment's name).
    modules : tuple of str
        The project modules that compute it (their source and what they import count).
    *content
        Everything else its result depends on (the job, the grid, ...).
    """
    return fingerprint((kind, project_source(*modules), library_versions(), content))


def _compute(key: str, function, args: tuple) -> tuple:
    """The stored call, ``(function(*args), seconds it took, fits it made)``: joblib.Memory hashes
    ``key`` only. The fits are those of ``backends.preprocessing.counting_fits`` around the call."""
    from backends.preprocessing import counting_fits

    start = time.perf_counter()
    with counting_fits() as count:
        value = function(*args)
    return value, time.perf_counter() - start, count.fits


def _kept(key: str, value):
    """A value kept as it is (:meth:`Store.keep`): joblib.Memory hashes ``key`` only."""
    return value


def _describe(exc: Exception) -> str:
    text = plain_line(exc)
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


class Store:
    """Finished work under ``cache_dir`` (None: nothing is stored or reused): the results of work
    items (:meth:`call`, :meth:`load`), and values kept as they are, such as the report's
    figures (:meth:`keep`, :meth:`kept`), each under its own key.

    Parameters
    ----------
    cache_dir : path-like or None
    """

    def __init__(self, cache_dir):
        memory = None if cache_dir is None else joblib.Memory(Path(cache_dir), verbose=0)
        self.cached = None if memory is None else memory.cache(_compute, ignore=["function", "args"])
        self.keeping = None if memory is None else memory.cache(_kept, ignore=["value"])

    def load(self, key: str | None):
        """The stored ``(value, seconds, fits)`` under ``key``, or None when nothing readable is
        stored. An entry that cannot be read (a truncated or garbled file, metadata without its
        result) is removed, with a one-line ``RuntimeWarning`` naming it: the work is then
        computed and stored again."""
        return self._load(self.cached, key, None, ())

    def keep(self, key: str | None, value) -> None:
        """Keep ``value`` under ``key`` (nothing without a cache or a key; a key already kept keeps
        its value)."""
        if self.keeping is not None and key is not None:
            self.keeping(key, value)

    def kept(self, key: str | None):
        """The value kept under ``key`` (:meth:`keep`), or None: as :meth:`load`, an unreadable
        one is removed with a warning."""
        return self._load(self.keeping, key, None)

    @staticmethod
    def _load(cached, key: str | None, *ignored):
        if cached is None or key is None:
            return None
        try:
            if not cached.check_call_in_cache(key, *ignored):
                return None
            entry = cached.call_and_shelve(key, *ignored)
        except Exception as exc:  # metadata or code record unreadable: joblib recomputes over it
            warnings.warn(f"Ignoring an unreadable stored result ({_describe(exc)}); it is computed again.",
                          RuntimeWarning, stacklevel=3)
            return None
        try:
            return entry.get()
        except Exception as exc:
            path = Path(entry.store_backend.location, *entry.func_id.split("/"), entry.args_id)
            entry.clear()
            warnings.warn(f"Removed the unreadable stored result {path} ({_describe(exc)}); it is computed again.",
                          RuntimeWarning, stacklevel=3)
            return None

    def call(self, key: str | None, function, args: tuple) -> tuple:
        """``(function(*args), seconds, fits)``: loaded from the store when present (with the
        seconds and the number of fits the computation took), else computed and stored (an
        exception propagates and stores nothing)."""
        if self.cached is None or key is None:
            return _compute(key, function, args)
        return self.cached(key, function, args)
