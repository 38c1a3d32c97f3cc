"""The report folder, replaced as a whole.

:func:`replacing` builds the complete report in a staging folder beside ``out``
(``.<name>.tmp-<token>``), then swaps it in, so that a reader, a concurrent study or a killed
run only ever sees the complete old report or the complete new one. On Linux the swap is one
``renameat2(RENAME_EXCHANGE)`` call; elsewhere, or on a file system without it, the old folder
is renamed aside (``.<name>.old-<token>``) and the new one renamed in; a run killed between
those two renames is repaired by the next one (:func:`recover`), which also removes the staging
folders of killed runs. The previous report's figures are hard-linked into the staging folder
first, so that a figure whose content did not change is not drawn again.

Only a folder this tool wrote is ever replaced (:func:`check_contents`): ``out`` must be new,
empty, or a previous report (``report.md`` and ``study.json`` among the files a report holds).
Callers hold the folder's lock (``study.locks``) around :func:`recover`, :func:`check_contents`
and :func:`replacing`.
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

from study.paths import PROBE_PREFIX, check_writable, folder_path
from study.results import TABLES
from study.saved import is_model_file
from study.spec import InputError

__all__ = ["check_out_folder", "check_contents", "recover", "replacing", "drop_unlinked_figures",
           "REPORT_FILES", "MODELS", "WHAT", "FIX"]

WHAT = "The report folder"
FIX = "choose another output folder (--out)"
FIGURES = "figures"
MODELS = "models"
REPORT_MARKERS = ("report.md", "study.json")
REPORT_FILES = frozenset({*REPORT_MARKERS, "report.html", "results.csv", "predictions.csv",
                          *(f"{name}.csv" for name in TABLES)})
"""The files of a report's top folder; beside them only ``figures/`` (PNG files) and ``models/``
(``models/<dataset>/<model>/`` holding a stored model's files, ``study.saved.is_model_file``)."""
SYSTEM_FILES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})
"""Files a file browser leaves in any folder it shows; a report folder may hold them."""
_WRITE_LEFTOVER = re.compile(r"\.(?P<name>.+)\.[a-z0-9_]{8}\.(?:tmp|png)")  # study.report.files' temporary names
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def check_out_folder(out) -> Path:
    """Check the report folder's path before any training.

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
    InputError
        An empty path, an existing file, a folder holding files this tool does not write
        (:func:`check_contents`; check again holding the folder's lock), or a folder that cannot
        be created or written (the staging folder and the lock file go beside it, so its parent
        must be writable too).
    """
    folder = folder_path(out, WHAT, FIX)
    check_contents(folder)
    check_writable(folder, WHAT, FIX, within=folder.parent)
    if folder.exists():
        check_writable(folder, WHAT, FIX)
    return folder


def _is_clutter(name: str) -> bool:
    """A file browser's file, or a probe file a killed check left (``study.paths``)."""
    return name in SYSTEM_FILES or name.startswith(PROBE_PREFIX)


def _is_report_entry(entry: os.DirEntry, names: frozenset, in_figures: bool = False) -> bool:
    if _is_clutter(entry.name):
        return True
    leftover = _WRITE_LEFTOVER.fullmatch(entry.name)
    name = leftover["name"] if leftover else entry.name
    if entry.is_symlink():
        return False
    if in_figures:
        return entry.is_file() and name.endswith(".png") and not name.startswith(".")
    if entry.name == FIGURES and entry.is_dir():
        with os.scandir(entry.path) as figures:
            return all(_is_report_entry(figure, names, in_figures=True) for figure in figures)
    if entry.name == MODELS and entry.is_dir():
        return _is_models_tree(entry.path)
    return entry.is_file() and name in names


def _is_models_tree(path: str, depth: int = 0) -> bool:
    """``models/<dataset>/<model>/`` holding only a stored model's files (or a temporary one)."""
    with os.scandir(path) as scan:
        for entry in scan:
            if entry.is_symlink():
                return False
            if _is_clutter(entry.name):
                continue
            if depth < 2:
                if not entry.is_dir() or not _is_models_tree(entry.path, depth + 1):
                    return False
                continue
            leftover = _WRITE_LEFTOVER.fullmatch(entry.name)
            if not entry.is_file() or not is_model_file(leftover["name"] if leftover else entry.name):
                return False
    return True


def check_contents(out: Path) -> None:
    """Refuse a folder that is not new, empty or a previous report of this tool.

    Parameters
    ----------
    out : pathlib.Path
        As returned by :func:`check_out_folder`.

    Raises
    ------
    InputError
        ``out`` holds an entry this tool does not write (named in the message), lacks
        ``report.md`` and ``study.json`` (then it is not a report, whatever it holds), or
        cannot be listed.
    """
    try:
        if not out.is_dir():
            return
        with os.scandir(out) as scan:
            entries = sorted((entry for entry in scan if not _is_clutter(entry.name)), key=lambda entry: entry.name)
        if not entries:
            return
        foreign = next((entry.name for entry in entries if not _is_report_entry(entry, REPORT_FILES)), None)
    except OSError as exc:
        raise InputError(f"{WHAT} {out} cannot be read ({exc.strerror}); {FIX}.") from None
    why = ("it is replaced as a whole, so it must be new, empty, or a previous report of this tool; "
           f"{FIX}, e.g. {out / 'report'}, or move those files")
    if foreign is not None:
        raise InputError(f"{WHAT} {out} holds {foreign!r}, which this tool does not write; {why}.")
    if not all((out / marker).is_file() for marker in REPORT_MARKERS):
        raise InputError(f"{WHAT} {out} holds {entries[0].name!r} but not both report.md and study.json, so it "
                         f"is not a complete report; {why}.")


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


def _complete(folder: Path) -> bool:
    """Whether a report folder was finished (``report.md`` is written last)."""
    return all((folder / marker).is_file() for marker in REPORT_MARKERS)


def recover(out: Path) -> None:
    """Repair a swap that a killed run left half done, then remove killed runs' staging folders.

    When ``out`` is missing while a set-aside old report exists (the run was killed between
    its two renames), the complete new report is renamed into place (or, were it
    incomplete, the old one). Every other ``.<name>.tmp-*`` / ``.<name>.old-*`` folder beside
    ``out`` is then removed. Call it holding ``out``'s lock: no live study then uses them.

    Parameters
    ----------
    out : pathlib.Path
        As returned by :func:`check_out_folder`.
    """
    if not out.parent.is_dir():
        return
    left = _leftovers(out)
    if not os.path.lexists(out):
        for token in sorted(token for kind, token in left if kind == "old"):
            choice = next((key for key in (("tmp", token), ("old", token)) if key in left and _complete(left[key])),
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
        As returned by :func:`check_out_folder`, checked by :func:`check_contents`.

    Yields
    ------
    pathlib.Path
        The staging folder, holding the previous report's figures; write ``report.md`` last
        (a folder holding it is complete).

    Raises
    ------
    OSError
        The swap failed; ``out`` is left as it was.
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


def drop_unlinked_figures(folder: Path, report: str) -> None:
    """Remove the figures ``report`` (the text of ``report.md``) does not show: a previous
    report's that this one did not draw again."""
    figures = folder / FIGURES
    if not figures.is_dir():
        return
    shown = set(re.findall(r"\]\(figures/([^)\s]+)\)", report))
    for path in figures.glob("*.png"):
        if path.name not in shown:
            path.unlink()
    if not any(figures.iterdir()):
        figures.rmdir()
