"""One study per folder at a time: ``filelock`` locks held while a study uses a folder.

The report folder's lock file lies beside it (``<parent>/.<name>.lock``), since the folder
itself is replaced as a whole; the cache's lies inside it (``<cache>/study.lock``). A lock is
an ``flock`` on an open file: the operating system releases it when its process ends, killed
or not, so a lock file left behind never blocks the next study. Within one thread a held lock
can be taken again (``write_report`` inside the command line's study).
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path

from filelock import FileLock, Timeout

from study.spec import InputError

__all__ = ["FolderInUse", "holding", "report_lock_file", "cache_lock_file"]


class FolderInUse(InputError):
    """Another study (another process) holds a folder this study needs.

    The message names the folder and says what to do; the command line prints it and exits
    with status 2.
    """


def report_lock_file(out: Path) -> Path:
    """The lock file of a report folder: ``<parent>/.<name>.lock``."""
    return out.parent / f".{out.name}.lock"


def cache_lock_file(cache_dir: Path) -> Path:
    """The lock file of a cache folder: ``<cache_dir>/study.lock``."""
    return cache_dir / "study.lock"


def _unusable(lock_file: Path, exc: OSError) -> str:
    """Why a lock file cannot be opened, and what to do."""
    if os.path.islink(lock_file):
        try:
            target = f" (to {os.readlink(lock_file)!r})"
        except OSError:
            target = ""
        return (f"The lock file {lock_file} is a symbolic link{target}, which a lock file of this tool never is: "
                "something else put it there, and it is not followed. Remove it (it holds nothing) and run again, "
                "or choose another folder.")
    if exc.errno == errno.ELOOP:
        return (f"The lock file {lock_file} cannot be opened: a symbolic link on its path loops ({exc.strerror}); "
                "remove that link, or choose another folder.")
    return (f"The lock file {lock_file} cannot be created or opened ({exc.strerror}); check that "
            f"{lock_file.parent} is a folder this user can write, or choose another folder.")


@contextlib.contextmanager
def holding(lock_file: Path, in_use: str, timeout: float = 0.0):
    """Hold ``lock_file`` for the block's duration (its folder is created if missing).

    Parameters
    ----------
    lock_file : pathlib.Path
    in_use : str
        The message of the error raised when another process holds the lock.
    timeout : float, default=0.0
        Seconds to wait for another process to release it; 0: fail at once.

    Raises
    ------
    FolderInUse
        Another process still holds the lock after ``timeout`` seconds.
    InputError
        The lock file cannot be opened: a symbolic link (a lock file never is one; the lock
        opens it without following links), or its folder cannot be created or written.
    """
    lock = FileLock(lock_file, is_singleton=True)  # one object per path: reentrant in this process
    try:
        lock_file.parent.mkdir(parents=True, exist_ok=True)
        lock.acquire(timeout=timeout)
    except Timeout:
        raise FolderInUse(in_use) from None
    except OSError as exc:
        raise InputError(_unusable(lock_file, exc)) from None
    try:
        yield
    finally:
        lock.release()
