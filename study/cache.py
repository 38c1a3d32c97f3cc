"""The store of finished work: ``joblib.Memory`` keyed by the code and library versions.

A call's result is written atomically as soon as it returns; a rerun with the same arguments
loads it instead of computing. Results judged failed are not kept.
"""

from __future__ import annotations

import hashlib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import joblib

__all__ = ["library_versions", "code_version", "open_memory", "cached", "Cached"]

VERSIONED = ("scikit-learn", "numpy", "scipy", "tensorflow", "keras", "scikeras", "generalization-study")
ROOT = Path(__file__).resolve().parents[1]
CODE = ("backends/*.py", "study/protocol.py", "study/datasets.py", "study/diagnostics.py")


def library_versions() -> str:
    """``name-version`` of every library a result depends on, joined by ``_``."""
    def one(name):
        try:
            return f"{name}-{version(name)}"
        except PackageNotFoundError:
            return f"{name}-none"
    return "_".join(one(name) for name in VERSIONED)


def code_version() -> str:
    """Hash of the source that decides a result: ``backends/``, the protocol, data loading and
    the diagnostics. joblib.Memory itself hashes only the cached function's own source, so
    without this, editing a model's code would reuse stale results."""
    digest = hashlib.sha256()
    for pattern in CODE:
        for path in sorted(ROOT.glob(pattern)):
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def open_memory(cache_dir) -> joblib.Memory | None:
    """The store under ``cache_dir/<library versions>/<code version>`` (None: no caching)."""
    if cache_dir is None:
        return None
    return joblib.Memory(Path(cache_dir) / library_versions() / code_version(), verbose=0)


def cached(memory, function, failed, ignore=("n_jobs",)) -> "Cached":
    """``function`` through ``memory``; see :class:`Cached`."""
    return Cached(memory, function, failed, tuple(ignore))


class Cached:
    """``function`` through ``memory`` (None: uncached); a result for which ``failed(result)``
    is true is removed from the store after it is returned, so it is computed again next time.

    Parameters
    ----------
    memory : joblib.Memory or None
    function : callable
    failed : callable
        ``failed(result) -> bool``.
    ignore : tuple of str, default=("n_jobs",)
        Arguments that do not change the result (left out of the key).
    """

    def __init__(self, memory, function, failed, ignore=("n_jobs",)):
        self.function, self.failed = function, failed
        self.store = None if memory is None else memory.cache(function, ignore=list(ignore))

    def __call__(self, *args, **kwargs):
        if self.store is None:
            return self.function(*args, **kwargs)
        shelved = self.store.call_and_shelve(*args, **kwargs)
        result = shelved.get()
        if self.failed(result):
            shelved.clear()
        return result

    def stored(self, *args, **kwargs) -> bool:
        """Whether a call with these arguments would load a stored result (not compute)."""
        return self.store is not None and self.store.check_call_in_cache(*args, **kwargs)
