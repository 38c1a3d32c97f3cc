"""The user's own modules that a study's models come from, and a worker's copy of them made current.

A user model (``keras = "nets:build"`` in a TOML file, or an estimator or build function imported
by a script) reaches the worker processes by reference: unpickling it there imports its module.
A worker started before the module's folder was on ``sys.path`` could not import it, and one that
imported it for an earlier study would keep that version after the file was edited. So every
work item goes with the modules its study's user models come from (:func:`user_modules`: each
module loaded from their folders, its file and a digest of its source), and a worker, before it
unpickles the item, puts those folders first on its ``sys.path`` and forgets a module it loaded
from another file or another source (:func:`make_current`): the item's unpickling then imports
the version the study resolved. A module it already holds in that version stays (and so do the
Keras models it traced for it, ``backends.keras_pool``).

Functions and classes of a script or a notebook (``__main__``) travel by value and need none of
this; neither do the built-in models and estimators of installed packages.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import inspect
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["UserModule", "user_modules", "make_current", "mark_current", "whose"]

OWN_PACKAGES = ("study", "backends")
"""This tool's packages: their modules are never a user's."""

DIGEST = "__study_source_digest__"
"""The attribute a worker sets on a user module it imported: the digest of the source it was made from."""


@dataclass(frozen=True, order=True)
class UserModule:
    """A module of the user's own code, as the study's process loaded it.

    Attributes
    ----------
    name : str
        Its name in ``sys.modules`` (``"nets"``).
    file : str
        Its source file, resolved (absolute).
    digest : str
        SHA-256 of that file's bytes when the study started (hexadecimal).
    """

    name: str
    file: str
    digest: str

    @property
    def root(self) -> str:
        """The ``sys.path`` folder it is imported from: its file's folder for a top-level module,
        the folder above its package for ``package.module`` (and a package's ``__init__.py``)."""
        file = Path(self.file)
        return str(file.parents[self.name.count(".") + (file.name == "__init__.py")])


@functools.cache
def installed_paths() -> tuple:
    """The folders of the standard library and of installed packages (resolved paths; found once
    per process)."""
    import site
    import sysconfig

    paths = {sysconfig.get_paths().get(key) for key in ("purelib", "platlib", "stdlib", "platstdlib")}
    try:
        paths.update(site.getsitepackages())
    except AttributeError:  # some virtualenvs' site module
        pass
    return tuple(Path(p).resolve() for p in paths if p)


def _file(module) -> Path | None:
    file = getattr(module, "__file__", None)
    return Path(file).resolve() if file else None


def whose(module: str) -> str:
    """Whose code the loaded module ``module`` is: "" for the user's own, else "the standard
    library", "this tool" (:data:`OWN_PACKAGES`) or "an installed package"."""
    top = module.partition(".")[0]
    if top in sys.stdlib_module_names:
        return "the standard library"
    if top in OWN_PACKAGES:
        return "this tool"
    file = _file(sys.modules.get(module))
    if file is not None and any(file.is_relative_to(folder) for folder in installed_paths()):
        return "an installed package"
    return ""


def _objects(model) -> list:
    """The user's objects a model is built from: the estimator or build function its builder
    carries (``backends.custom``), and for an estimator its parameters' values."""
    builder = model.builder
    if isinstance(builder, str):  # a built-in model
        return []
    carried = list(getattr(builder, "args", ())[:1])  # the estimator or the build function
    if carried and hasattr(carried[0], "get_params"):
        carried += list(carried[0].get_params(deep=True).values())
    return carried


def _folder_of(obj) -> Path | None:
    """The folder of the user's module that defines ``obj`` (a function, a class or an instance),
    or None for this tool's, the standard library's and installed packages' code and ``__main__``."""
    owner = obj if inspect.isfunction(obj) or inspect.isclass(obj) else type(obj)
    name = getattr(owner, "__module__", None) or ""
    file = _file(sys.modules.get(name))
    return None if name == "__main__" or file is None or whose(name) else file.parent


def user_modules(models) -> tuple:
    """The user modules a study's models come from: every loaded module whose file is in the
    folder of a module that defines a model's estimator, estimator class, parameter value or
    Keras build function (so a helper module beside it counts too).

    Parameters
    ----------
    models : sequence of backends.ModelSpec

    Returns
    -------
    tuple of UserModule
        Sorted by name; empty when every model is built-in or comes from ``__main__``.
    """
    folders = {folder for model in models for obj in _objects(model) if (folder := _folder_of(obj)) is not None}
    if not folders:
        return ()
    found = []
    for name, module in list(sys.modules.items()):
        file = _file(module)
        if name != "__main__" and file is not None and file.suffix == ".py" and file.parent in folders:
            found.append(UserModule(name, str(file), hashlib.sha256(file.read_bytes()).hexdigest()))
    return tuple(sorted(found))


def make_current(modules: tuple) -> None:
    """In a worker, before a work item is unpickled: the modules' folders first on ``sys.path``,
    and each module loaded from another file or another source forgotten, so that it is imported
    again as the study's process has it."""
    for module in modules:
        if module.root in sys.path:
            sys.path.remove(module.root)
        sys.path.insert(0, module.root)
    for module in modules:
        loaded = sys.modules.get(module.name)
        if loaded is not None and (getattr(loaded, DIGEST, None) != module.digest
                                   or str(_file(loaded)) != module.file):
            del sys.modules[module.name]
    importlib.invalidate_caches()  # a file written since the last import is found


def mark_current(modules: tuple) -> None:
    """In a worker, after a work item was unpickled: record on each module it imported the digest
    of the source the study resolved (:func:`make_current` compares it the next time)."""
    for module in modules:
        loaded = sys.modules.get(module.name)
        if loaded is not None and str(_file(loaded)) == module.file and not hasattr(loaded, DIGEST):
            setattr(loaded, DIGEST, module.digest)
