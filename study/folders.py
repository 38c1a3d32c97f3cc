"""The folder service: every folder a study writes is checked, locked, staged, swapped and recovered here.

The folders: the report folder (``--out``, replaced as a whole by every report) and the cache
(``--cache-dir``). :func:`study_folders` (the command line, before training) checks both, takes
both locks at once (no waiting), repairs a killed run's swap, removes its staging folders and
checks the report folder's contents; it yields the held :class:`ReportFolder`, which the command
line hands to ``write_report``. :func:`report_folder` does the same for the report folder alone,
waiting for its lock (``write_report`` called from Python with a path).

A folder must exist or be creatable and writable (found by creating a probe file: permission
bits say nothing about read-only file systems, access control lists or root); a report folder
must be new, empty or a previous report (``study.folder_contents``). Locks are ``filelock``
locks, one study per folder: ``<parent>/.<name>.lock`` beside the report folder,
``<cache>/study.lock`` inside the cache. The system releases them when their process ends, killed
or not; within one thread a held lock can be taken again. Staging, swap and recovery are
``study.folder_swap``'s; atomic file writes ``study.atomic_files``' (re-exported here). Nothing
heavy is imported (no plotting, no statistics, no TensorFlow).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from pathlib import Path

from filelock import FileLock, Timeout

from study.atomic_files import atomic_write_bytes, atomic_write_text, publish, temporary_path
from study.errors import InputError
from study.folder_contents import FIGURES, MODELS, PROBE_PREFIX, first_foreign, is_complete
from study.folder_swap import recover, replacing

__all__ = ["FolderError", "FolderInUse", "ReportFolder", "study_folders", "report_folder", "check_out_folder",
           "check_cache_dir", "check_contents", "holding", "report_lock_file", "cache_lock_file", "recover",
           "atomic_write_text", "atomic_write_bytes", "temporary_path", "publish", "WHAT", "FIX", "FIGURES", "MODELS"]

WHAT = "The report folder"
FIX = "choose another output folder (--out)"
CACHE = "The cache folder (--cache-dir)"
CACHE_FIX = "choose another --cache-dir, or run with --no-cache"


class FolderError(InputError):
    """A folder that cannot be used: its path, its contents or its lock file.

    The message names the folder and says what to do; the command line prints it and exits
    with status 2.
    """


class FolderInUse(FolderError):
    """Another study (another process) holds a folder this study needs."""


def folder_path(path, what: str, fix: str) -> Path:
    """The absolute, symlink-free path of a folder to write, refused when it cannot be one.

    Parameters
    ----------
    path : str or os.PathLike
        The folder as given (it need not exist).
    what : str
        How messages name it, e.g. ``"The report folder"``.
    fix : str
        How messages say to fix it, e.g. ``"choose another output folder (--out)"``.

    Returns
    -------
    pathlib.Path
        ``os.path.realpath(path)``: the same folder always has the same path, whatever its spelling.

    Raises
    ------
    FolderError
        An empty path (it would silently mean the current folder), a file system root, an
        existing file that is not a folder, or a symbolic link that loops (it would otherwise
        look missing, and be replaced).
    """
    if not str(path).strip():
        raise FolderError(f"{what} is an empty path, which would mean the current folder; {fix}.")
    folder = Path(os.path.realpath(path))
    if folder.parent == folder:
        raise FolderError(f"{what} {folder} is a file system root, which cannot be replaced; {fix}.")
    try:
        is_file = not stat.S_ISDIR(os.stat(folder).st_mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # realpath leaves a loop unresolved: the path is that link
            raise FolderError(f"{what} {path} is, or passes through, a symbolic link that loops ({folder}: "
                              f"{exc.strerror}); {fix}, or remove the link.") from None
        if exc.errno not in (errno.ENOENT, errno.ENOTDIR):  # missing: it will be created (or refused then)
            raise FolderError(f"{what} {folder} cannot be inspected ({exc.strerror}); {fix}.") from None
        is_file = False
    if is_file:
        raise FolderError(f"{what} {folder} is a file; expected a folder; {fix}.")
    return folder


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
    FolderError
        The nearest existing path is a file (so the folder cannot be created), or creating a
        probe file there fails (a read-only folder or file system, no permission).
    """
    existing = folder if within is None else within
    while not os.path.lexists(existing) and existing.parent != existing:
        existing = existing.parent
    if not existing.is_dir():
        raise FolderError(f"{what} {folder} cannot be created: {existing} is a file, not a folder; {fix}.")
    try:
        handle, probe = tempfile.mkstemp(dir=existing, prefix=PROBE_PREFIX)
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        raise FolderError(f"{what} {folder} cannot be written: creating a file in {existing} failed "
                          f"({exc.strerror}); {fix}.") from None


def check_contents(out: Path) -> None:
    """Refuse a folder that is not new, empty or a previous report of this tool.

    Parameters
    ----------
    out : pathlib.Path
        As returned by :func:`check_out_folder`.

    Raises
    ------
    FolderError
        ``out`` holds an entry this tool does not write (named in the message), lacks
        ``report.md`` and ``study.json`` (then it is not a report, whatever it holds), or
        cannot be listed.
    """
    try:
        if not out.is_dir():
            return
        first, foreign = first_foreign(out)
    except OSError as exc:
        raise FolderError(f"{WHAT} {out} cannot be read ({exc.strerror}); {FIX}.") from None
    if first is None:
        return
    why = ("it is replaced as a whole, so it must be new, empty, or a previous report of this tool; "
           f"{FIX}, e.g. {out / 'report'}, or move those files")
    if foreign is not None:
        raise FolderError(f"{WHAT} {out} holds {foreign!r}, which this tool does not write; {why}.")
    if not is_complete(out):
        raise FolderError(f"{WHAT} {out} holds {first!r} but not both report.md and study.json, so it is not a "
                          f"complete report; {why}.")


def check_out_folder(out) -> Path:
    """Check the report folder's path and contents (before any training, and before its lock).

    Parameters
    ----------
    out : str or os.PathLike
        The report folder (it need not exist).

    Returns
    -------
    pathlib.Path
        Its absolute, symlink-free path.

    Raises
    ------
    FolderError
        An empty path, an existing file, a folder holding files this tool does not write
        (:func:`check_contents`; checked again holding the folder's lock), or a folder that
        cannot be created or written (the staging folder and the lock file go beside it, so its
        parent must be writable too).
    """
    folder = folder_path(out, WHAT, FIX)
    check_contents(folder)
    check_writable(folder, WHAT, FIX, within=folder.parent)
    if folder.exists():
        check_writable(folder, WHAT, FIX)
    return folder


def check_cache_dir(cache_dir, out: Path) -> Path:
    """Check the cache folder's path before any training.

    Parameters
    ----------
    cache_dir : str or os.PathLike
        The cache folder (it need not exist).
    out : pathlib.Path
        The report folder, as returned by :func:`check_out_folder`.

    Returns
    -------
    pathlib.Path
        Its absolute, symlink-free path.

    Raises
    ------
    FolderError
        An empty path, an existing file, a folder that cannot be created or written, or a
        folder inside the report folder (which is replaced as a whole by every run).
    """
    cache = folder_path(cache_dir, CACHE, CACHE_FIX)
    check_writable(cache, CACHE, CACHE_FIX)
    if cache == out or out in cache.parents:
        raise FolderError(f"{CACHE} {cache} is inside the report folder {out}, which every run replaces as a "
                          f"whole; choose a --cache-dir outside it (default: .study_cache).")
    return cache


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
        :func:`report_lock_file` or :func:`cache_lock_file` of a checked folder.
    in_use : str
        The message of the error raised when another process holds the lock.
    timeout : float, default=0.0
        Seconds to wait for another process to release it; 0: fail at once.

    Raises
    ------
    FolderInUse
        Another process still holds the lock after ``timeout`` seconds.
    FolderError
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
        raise FolderError(_unusable(lock_file, exc)) from None
    try:
        yield
    finally:
        lock.release()


class ReportFolder:
    """A report folder that is checked, recovered and locked by this process.

    Made by :func:`study_folders` and :func:`report_folder` only, and held until their block
    ends. ``write_report`` given one that is held writes into it at once.

    Attributes
    ----------
    path : pathlib.Path
        The folder's absolute, symlink-free path.
    held : bool
        Whether its lock is still held (False once the block that made it has ended).
    """

    def __init__(self, path: Path):
        self.path = path
        self.held = True

    def replacing(self):
        """A staging folder beside :attr:`path`, swapped in as a whole when the block ends.

        Yields
        ------
        pathlib.Path
            The staging folder, holding the previous report's figures (hard links); write
            ``report.md`` last.

        Raises
        ------
        RuntimeError
            The folder's lock is no longer held.
        OSError
            The staging folder cannot be made or the swap failed: the previous report is left
            as it was (``study.folder_swap.replacing``).
        """
        if not self.held:
            raise RuntimeError(f"The report folder {self.path} was released; open it again (report_folder).")
        return replacing(self.path)


@contextlib.contextmanager
def _ready(out: Path):
    """Under ``out``'s lock: a killed run's swap repaired, its leftovers removed, the contents
    checked again; yields the held :class:`ReportFolder`."""
    recover(out)
    check_contents(out)
    folder = ReportFolder(out)
    try:
        yield folder
    finally:
        folder.held = False


@contextlib.contextmanager
def study_folders(out, cache_dir):
    """Check a study's folders and hold them for the block's duration (the study and its report).

    Before the block: both paths are checked, both locks taken at once (no waiting), a swap
    left half done by a killed run on ``out`` is repaired and killed runs' staging folders
    removed (:func:`recover`), and ``out``'s contents checked. The locks are released when the
    block ends, however it ends.

    Parameters
    ----------
    out : str or os.PathLike
        The report folder.
    cache_dir : str, os.PathLike or None
        The cache folder; None: no cache.

    Yields
    ------
    ReportFolder
        The held report folder, for ``write_report``.

    Raises
    ------
    FolderError
        A path that cannot be used (see :func:`check_out_folder`, :func:`check_cache_dir`), a
        report folder holding files this tool does not write, or a lock file that cannot be opened.
    FolderInUse
        Another study is using ``out`` or ``cache_dir``.
    """
    out = check_out_folder(out)
    cache = None if cache_dir is None else check_cache_dir(cache_dir, out)
    with contextlib.ExitStack() as held:
        held.enter_context(holding(report_lock_file(out), f"{WHAT} {out} is in use by another study (it holds "
                                   f"{report_lock_file(out)}); wait until it has finished, or choose another --out."))
        if cache is not None:
            held.enter_context(holding(cache_lock_file(cache), f"{CACHE} {cache} is in use by another study (it "
                                       f"holds {cache_lock_file(cache)}); wait until it has finished, or "
                                       f"{CACHE_FIX}."))
        yield held.enter_context(_ready(out))


@contextlib.contextmanager
def report_folder(out, wait: float):
    """Check the report folder and hold it for the block's duration (``write_report`` from Python).

    Parameters
    ----------
    out : str or os.PathLike
        The report folder: new (created), empty, or a previous report of this tool.
    wait : float
        Seconds to wait for another process to release the folder's lock.

    Yields
    ------
    ReportFolder
        The held report folder, checked and recovered as by :func:`study_folders`.

    Raises
    ------
    FolderError
        See :func:`check_out_folder`; nothing is written then.
    FolderInUse
        Another process held the folder's lock for ``wait`` seconds.
    """
    out = check_out_folder(out)
    in_use = (f"{WHAT} {out} is in use by another study (waited {wait:g} s for {report_lock_file(out)}); "
              f"write the report when it has finished, or {FIX}")
    with holding(report_lock_file(out), in_use, timeout=wait), _ready(out) as folder:
        yield folder
