"""The folders a study writes, checked before any training and held while it runs.

The command line calls :func:`study_folders` before training: the report folder (``--out``)
and the cache (``--cache-dir``) must be usable folders (``study.paths``), the report folder new,
empty or a previous report (``study.report.folder``), and no other study may be using either
(``study.locks``). The locks are held until the report is in place.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from study.locks import cache_lock_file, holding, report_lock_file
from study.paths import check_writable, folder_path
from study.report.folder import WHAT, check_contents, check_out_folder, recover
from study.spec import InputError

__all__ = ["study_folders", "check_cache_dir"]

CACHE = "The cache folder (--cache-dir)"
CACHE_FIX = "choose another --cache-dir, or run with --no-cache"


def check_cache_dir(cache_dir, out: Path) -> Path:
    """Check the cache folder's path before any training.

    Parameters
    ----------
    cache_dir : str or os.PathLike
        The cache folder (it need not exist).
    out : pathlib.Path
        The report folder, as returned by ``study.report.folder.check_out_folder``.

    Returns
    -------
    pathlib.Path
        Its absolute, symlink-free path.

    Raises
    ------
    InputError
        An empty path, an existing file, a folder that cannot be created or written, or a
        folder inside the report folder (which is replaced as a whole by every run).
    """
    cache = folder_path(cache_dir, CACHE, CACHE_FIX)
    check_writable(cache, CACHE, CACHE_FIX)
    if cache == out or out in cache.parents:
        raise InputError(f"{CACHE} {cache} is inside the report folder {out}, which every run replaces as a "
                         f"whole; choose a --cache-dir outside it (default: .study_cache).")
    return cache


@contextlib.contextmanager
def study_folders(out, cache_dir):
    """Check a study's folders and hold them for the block's duration (the study and its report).

    Before the block: both paths are checked, both locks taken at once (no waiting), a swap
    left half done by a killed run on ``out`` is repaired and killed runs' staging folders
    removed (``study.report.folder.recover``), and ``out``'s contents checked. The locks are
    released when the block ends, however it ends.

    Parameters
    ----------
    out : str or os.PathLike
        The report folder.
    cache_dir : str, os.PathLike or None
        The cache folder; None: no cache.

    Raises
    ------
    InputError
        A path that cannot be used (see ``check_out_folder``, :func:`check_cache_dir`) or a
        report folder holding files this tool does not write.
    study.locks.FolderInUse
        Another study is using ``out`` or ``cache_dir``.
    """
    out = check_out_folder(out)
    cache = None if cache_dir is None else check_cache_dir(cache_dir, out)
    out_in_use = (f"{WHAT} {out} is in use by another study (it holds {report_lock_file(out)}); wait until it "
                  "has finished, or choose another --out.")
    with contextlib.ExitStack() as held:
        held.enter_context(holding(report_lock_file(out), out_in_use))
        if cache is not None:
            held.enter_context(holding(cache_lock_file(cache), f"{CACHE} {cache} is in use by another study (it "
                                       f"holds {cache_lock_file(cache)}); wait until it has finished, or "
                                       f"{CACHE_FIX}."))
        recover(out)
        check_contents(out)
        yield
