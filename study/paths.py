"""Folder paths checked before any training: a folder that exists or can be created, and that
this process can write to.

Writability is found by creating (and removing) a probe file, not from permission bits: those
say nothing about read-only file systems, access control lists or a process running as root.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path

from study.spec import InputError

__all__ = ["folder_path", "nearest_existing", "check_writable", "PROBE_PREFIX"]

PROBE_PREFIX = ".write-probe-"
"""Name prefix of the probe files (removed at once; one may remain after a kill)."""


def folder_path(path, what: str, fix: str) -> Path:
    """The absolute, symlink-free path of a folder to write, refused when it cannot be one.

    Parameters
    ----------
    path : str or os.PathLike
        The folder as given (it need not exist).
    what : str
        How messages name it, e.g. ``"The report folder (--out)"``.
    fix : str
        How messages say to fix it, e.g. ``"choose another --out"``.

    Returns
    -------
    pathlib.Path
        ``os.path.realpath(path)``: the same folder always has the same path, whatever its spelling.

    Raises
    ------
    InputError
        An empty path (it would silently mean the current folder), a file system root, an
        existing file that is not a folder, or a symbolic link that loops (it would otherwise
        look missing, and be replaced).
    """
    if not str(path).strip():
        raise InputError(f"{what} is an empty path, which would mean the current folder; {fix}.")
    folder = Path(os.path.realpath(path))
    if folder.parent == folder:
        raise InputError(f"{what} {folder} is a file system root, which cannot be replaced; {fix}.")
    try:
        is_file = not stat.S_ISDIR(os.stat(folder).st_mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # realpath leaves a loop unresolved: the path is that link
            raise InputError(f"{what} {path} is, or passes through, a symbolic link that loops ({folder}: "
                             f"{exc.strerror}); {fix}, or remove the link.") from None
        if exc.errno not in (errno.ENOENT, errno.ENOTDIR):  # missing: it will be created (or refused then)
            raise InputError(f"{what} {folder} cannot be inspected ({exc.strerror}); {fix}.") from None
        is_file = False
    if is_file:
        raise InputError(f"{what} {folder} is a file; expected a folder; {fix}.")
    return folder


def nearest_existing(path: Path) -> Path:
    """``path`` if it exists, else its nearest existing parent."""
    while not os.path.lexists(path) and path.parent != path:
        path = path.parent
    return path


def check_writable(folder: Path, what: str, fix: str, within: Path | None = None) -> None:
    """Check that a file can be created in ``within`` (default: ``folder``), or in its nearest
    existing parent when it does not exist yet (where it would be created).

    Parameters
    ----------
    folder : pathlib.Path
        The folder the messages name (absolute).
    what, fix : str
        As in :func:`folder_path`.
    within : pathlib.Path or None, default=None
        Where to create the probe file, e.g. the parent of a folder that is replaced as a
        whole; None: ``folder``.

    Raises
    ------
    InputError
        The nearest existing path is a file (so the folder cannot be created), or creating a
        probe file there fails (a read-only folder or file system, no permission).
    """
    existing = nearest_existing(folder if within is None else within)
    if not existing.is_dir():
        raise InputError(f"{what} {folder} cannot be created: {existing} is a file, not a folder; {fix}.")
    try:
        handle, probe = tempfile.mkstemp(dir=existing, prefix=PROBE_PREFIX)
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        raise InputError(f"{what} {folder} cannot be written: creating a file in {existing} failed "
                         f"({exc.strerror}); {fix}.") from None
