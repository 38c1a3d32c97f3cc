"""A report folder replaced as a whole: staged beside it, swapped in, recovered after a kill.

A helper of the folder service (``study.folders``), which checks and locks the folder first and
is the only caller. :func:`replacing` builds the complete report in a staging folder beside
``out`` (``.<name>.tmp-<token>``), then swaps it in, so that a reader, a concurrent study or a
killed run only ever sees the complete old report or the complete new one. On Linux the swap is
one ``renameat2(RENAME_EXCHANGE)`` call; elsewhere, or on a file system without it, the old
folder is renamed aside (``.<name>.old-<token>``) and the new one renamed in; a run killed
between those two renames is repaired by the next one (:func:`recover`), which also removes the
staging folders of killed runs. The previous report's figures are hard-linked into the staging
folder first, so that a figure whose content did not change is not drawn again.

Nothing here raises an input error: a failure is the ``OSError`` of the call that failed.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import re
import secrets
import shutil
import sys
from pathlib import Path

from study.folder_contents import FIGURES, is_complete

__all__ = ["recover", "replacing"]

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _leftovers(out: Path) -> dict:
    """``{(kind, token): path}`` of the staging ("tmp") and set-aside ("old") folders of ``out``."""
    pattern = re.compile(rf"\.{re.escape(out.name)}\.(tmp|old)-([0-9a-f]{{8}})")
    found = {}
    with os.scandir(out.parent) as scan:
        for entry in scan:
            match = pattern.fullmatch(entry.name)
            if match and entry.is_dir(follow_symlinks=False):
                found[match.groups()] = Path(entry.path)
    return found


def recover(out: Path) -> None:
    """Repair a swap that a killed run left half done, then remove killed runs' staging folders.

    When ``out`` is missing while a set-aside old report exists (the run was killed between
    its two renames), the complete new report is renamed into place (or, were it
    incomplete, the old one). Every other ``.<name>.tmp-*`` / ``.<name>.old-*`` folder beside
    ``out`` is then removed. Call it holding ``out``'s lock: no live study then uses them.

    Parameters
    ----------
    out : pathlib.Path
        The report folder: absolute and symlink-free (``study.folders.check_out_folder``).

    Raises
    ------
    OSError
        ``out``'s parent cannot be listed, or the rename into place failed.
    """
    if not out.parent.is_dir():
        return
    left = _leftovers(out)
    if not os.path.lexists(out):
        for token in sorted(token for kind, token in left if kind == "old"):
            choice = next((key for key in (("tmp", token), ("old", token)) if key in left and is_complete(left[key])),
                          None)
            if choice is not None:
                os.rename(left.pop(choice), out)
                break
    for path in left.values():
        shutil.rmtree(path, ignore_errors=True)


@functools.cache
def _renameat2():
    """libc's ``renameat2`` (Linux, glibc >= 2.28), or None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None
    function.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint)
    function.restype = ctypes.c_int
    return function


def _exchange(first: Path, second: Path) -> bool:
    """Swap two existing paths in one atomic step; False (nothing changed) where the system or
    the file system cannot."""
    function = _renameat2()
    return function is not None and function(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second),
                                             _RENAME_EXCHANGE) == 0


def _swap_in(staged: Path, out: Path, token: str) -> None:
    """Put the finished ``staged`` folder at ``out`` and delete the folder it replaces."""
    if not os.path.lexists(out):
        os.rename(staged, out)
    elif _exchange(staged, out):
        shutil.rmtree(staged, ignore_errors=True)  # the previous report, now
    else:
        aside = out.parent / f".{out.name}.old-{token}"
        os.rename(out, aside)
        try:
            os.rename(staged, out)
        except OSError:
            os.rename(aside, out)
            raise
        shutil.rmtree(aside, ignore_errors=True)


def _link_figures(previous: Path, staged: Path) -> None:
    """Hard-link (or copy) the previous report's figures: their stored content keys let an
    unchanged figure be kept. A figure drawn again replaces its link, not the old file."""
    if not previous.is_dir():
        return
    staged.mkdir()
    with os.scandir(previous) as scan:
        for entry in scan:
            if entry.name.endswith(".png") and not entry.name.startswith(".") and entry.is_file(follow_symlinks=False):
                try:
                    os.link(entry.path, staged / entry.name)
                except OSError:
                    shutil.copy2(entry.path, staged / entry.name)


@contextlib.contextmanager
def replacing(out: Path):
    """A staging folder for the new report, swapped in for ``out`` when the block ends.

    Parameters
    ----------
    out : pathlib.Path
        The report folder, checked and locked by the folder service.

    Yields
    ------
    pathlib.Path
        The staging folder, holding the previous report's figures; write ``report.md`` last
        (a folder holding it is complete).

    Raises
    ------
    OSError
        The staging folder cannot be made or the swap failed; ``out`` is left as it was and
        the staging folder removed. An exception raised in the block also removes it.
    """
    token = secrets.token_hex(4)
    staged = out.parent / f".{out.name}.tmp-{token}"
    staged.mkdir(parents=True)
    try:
        _link_figures(out / FIGURES, staged / FIGURES)
        yield staged
        _swap_in(staged, out, token)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
