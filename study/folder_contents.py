"""What a report folder may hold: the names the folder service (``study.folders``) recognizes.

A helper of the folder service, which raises the errors: this module only says whether a folder
holds nothing but a report's files (``report.md``, ``study.json``, the CSV tables, ``figures/``
with PNG files, ``models/<dataset>/<model>/`` with a stored model's files), the files a file
browser leaves, and the leftovers of killed runs (a probe file of a folder check, a temporary
file of ``study.atomic_files``). A symbolic link is never a report file.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from study.results import TABLES
from study.model_store_checks import is_model_file

__all__ = ["first_foreign", "is_complete", "is_clutter", "REPORT_MARKERS", "REPORT_FILES", "FIGURES", "MODELS",
           "PROBE_PREFIX"]

FIGURES = "figures"
MODELS = "models"
REPORT_MARKERS = ("report.md", "study.json")
"""A folder holding both is a report (``report.md`` is written last: it is also complete)."""
REPORT_FILES = frozenset({*REPORT_MARKERS, "report.html", "results.csv", "predictions.csv",
                          *(f"{name}.csv" for name in TABLES)})
"""The files of a report's top folder; beside them only ``figures/`` (PNG files) and ``models/``
(``models/<dataset>/<model>/`` holding a stored model's files, ``study.model_store_checks.is_model_file``)."""
SYSTEM_FILES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})
"""Files a file browser leaves in any folder it shows; a report folder may hold them."""
PROBE_PREFIX = ".write-probe-"
"""Name prefix of the folder checks' probe files (removed at once; one may remain after a kill)."""
_WRITE_LEFTOVER = re.compile(r"\.(?P<name>.+)\.[a-z0-9_]{8}\.(?:tmp|png)")  # study.atomic_files' temporary names


def is_clutter(name: str) -> bool:
    """Whether ``name`` is a file browser's file, or a probe file a killed check left."""
    return name in SYSTEM_FILES or name.startswith(PROBE_PREFIX)


def _written_name(name: str) -> str:
    """The file a temporary name of ``study.atomic_files`` stands for, else ``name`` itself."""
    leftover = _WRITE_LEFTOVER.fullmatch(name)
    return leftover["name"] if leftover else name


def _is_report_entry(entry: os.DirEntry, in_figures: bool = False) -> bool:
    if is_clutter(entry.name):
        return True
    name = _written_name(entry.name)
    if entry.is_symlink():
        return False
    if in_figures:
        return entry.is_file() and name.endswith(".png") and not name.startswith(".")
    if entry.name == FIGURES and entry.is_dir():
        with os.scandir(entry.path) as figures:
            return all(_is_report_entry(figure, in_figures=True) for figure in figures)
    if entry.name == MODELS and entry.is_dir():
        return _is_models_tree(entry.path)
    return entry.is_file() and name in REPORT_FILES


def _is_models_tree(path: str, depth: int = 0) -> bool:
    """``models/<dataset>/<model>/`` holding only a stored model's files (or a temporary one)."""
    with os.scandir(path) as scan:
        for entry in scan:
            if entry.is_symlink():
                return False
            if is_clutter(entry.name):
                continue
            if depth < 2:
                if not entry.is_dir() or not _is_models_tree(entry.path, depth + 1):
                    return False
                continue
            if not entry.is_file() or not is_model_file(_written_name(entry.name)):
                return False
    return True


def first_foreign(folder: Path) -> tuple:
    """The first entry of ``folder`` and the first one a report does not hold, by name.

    Parameters
    ----------
    folder : pathlib.Path
        An existing folder.

    Returns
    -------
    first : str or None
        The first entry's name, clutter left out (:func:`is_clutter`); None: the folder is empty.
    foreign : str or None
        The first entry this tool does not write (named in the folder service's message); None:
        every entry is a report's.

    Raises
    ------
    OSError
        The folder, or one of its subfolders, cannot be listed.
    """
    with os.scandir(folder) as scan:
        entries = sorted((entry for entry in scan if not is_clutter(entry.name)), key=lambda entry: entry.name)
    if not entries:
        return None, None
    foreign = next((entry.name for entry in entries if not _is_report_entry(entry)), None)
    return entries[0].name, foreign


def is_complete(folder: Path) -> bool:
    """Whether ``folder`` is a finished report: it holds ``report.md`` (written last) and ``study.json``."""
    return all((folder / marker).is_file() for marker in REPORT_MARKERS)
