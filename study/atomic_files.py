"""Files written atomically: to a temporary name in the same folder, then renamed, so a reader
never sees a half-written file.

A helper of the folder service (``study.folders``, which re-exports these functions): the report's
files, its figures and ``python -m study.predict``'s table are written this way. A temporary
file is named ``.<name>.<8 characters><suffix>``; the folder service knows that pattern, so a
killed run's leftover does not make a report folder look foreign.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["atomic_write_text", "atomic_write_bytes", "temporary_path", "publish"]


def temporary_path(path: Path, suffix: str) -> str:
    """A new, empty temporary file beside ``path`` (its folder is created if missing).

    Parameters
    ----------
    path : pathlib.Path
        The file it will replace (:func:`publish`).
    suffix : str
        The temporary name's ending, e.g. ``".tmp"`` or ``".png"``.

    Returns
    -------
    str
        The temporary file's path, ``<folder>/.<name>.<8 characters><suffix>``.

    Raises
    ------
    OSError
        The folder cannot be created or written.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(fd)
    return tmp


def publish(tmp: str, path: Path) -> None:
    """Rename a finished temporary file onto ``path``, readable by all as an ordinary file
    (``mkstemp`` creates it readable by its owner only).

    Parameters
    ----------
    tmp : str
        A path returned by :func:`temporary_path` for ``path``.
    path : pathlib.Path
        The file replaced in one step.

    Raises
    ------
    OSError
        The rename failed; ``path`` is left as it was.
    """
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file in the same folder and a rename.

    Parameters
    ----------
    path : str or pathlib.Path
        The file to write (its folder is created if missing).
    text : str
        Its whole content.

    Raises
    ------
    OSError
        The file could not be written (e.g. ``ENOSPC``, disk full): ``path`` is left as it was
        and the temporary file is removed.
    """
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: Path, data: bytes, suffix: str = ".tmp") -> None:
    """Write ``data`` to ``path`` as :func:`atomic_write_text` writes text (``suffix``: the
    temporary file's ending, :func:`temporary_path`); raises ``OSError`` as it does."""
    path = Path(path)
    tmp = temporary_path(path, suffix)
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
        publish(tmp, path)
    except BaseException:  # a full disk, an interruption: no temporary file is left behind
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
