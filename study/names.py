"""Dataset and model names as file names: the one place a user's name becomes part of a path.

A dataset or model name comes from a file name, a TOML file or the user's code; it can hold
``/``, ``..``, spaces, control characters or anything else. :func:`file_name` turns it into one
path component that stays inside its folder, and keeps distinct names distinct: a name it had to
change gets a short hash of the original (``"a b"`` -> ``"a_b-<8 hex>"`` while ``"a_b"`` stays
``"a_b"``). :func:`figure_file` builds every figure's file name from it. Every writer of the
report (``models/<dataset>/<model>/``, ``figures/``, MLflow's artifacts) goes through them.

Imports nothing heavy: ``study.tracking`` and the report both use it.
"""

from __future__ import annotations

import hashlib
import re

__all__ = ["file_name", "figure_file", "FIGURES", "MAX_LENGTH"]

MAX_LENGTH = 64
"""Characters of a name kept in its file name (a longer name is cut and gets its hash)."""
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
_HASHED = re.compile(r"-[0-9a-f]{8}$")
_DEVICES = re.compile(r"(?i)(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?")  # Windows' reserved file names
_EMPTY = "name"

FIGURES = {"scores": "dataset", "gaps": "dataset", "roc": "dataset", "pr": "dataset", "confusion": "dataset",
           "calibration": "dataset", "learning_curves": "dataset", "ablation": "dataset", "imbalance": "dataset",
           "importance": "dataset",
           "validation_curves": "unit", "history": "unit"}
"""The report's figures drawn per dataset or per dataset x model ("unit"), by their file-name prefix
(:func:`figure_file`); ``study.tracking`` logs a unit's figures from this table."""


def _digest(*parts: str) -> str:
    """8 hex digits of the SHA-256 of ``parts`` (joined by a NUL, which no file name holds)."""
    text = "\x00".join(parts)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]


def file_name(name) -> str:
    """A dataset or model name as one file name, safe in any folder and distinct for distinct names.

    Characters other than ASCII letters, digits, ``_``, ``.`` and ``-`` become ``_`` (a run of
    them one ``_``); dots, dashes and underscores at either end are dropped (no ``.``, ``..``,
    hidden or option-like names); the result is cut to :data:`MAX_LENGTH` characters. When that
    changed the name, or the name has an upper-case letter (``Wine`` and ``wine`` are one file on
    macOS and Windows), is a reserved device name on Windows (``CON``, ``nul.txt``, ...) or already
    ends like a hash (``-`` and 8 hex digits), ``-`` and 8 hex digits of the SHA-256 of the name
    are added, so two names share a file name only if their hashes collide.

    Parameters
    ----------
    name : str
        A dataset or model name (anything else is taken as ``str(name)``).

    Returns
    -------
    str
        A non-empty file name of ASCII letters, digits, ``_``, ``.`` and ``-``, starting and
        ending with a letter or digit, at most ``MAX_LENGTH + 9`` characters; a name that needs
        no change is itself.

    Examples
    --------
    >>> file_name("breast_cancer")
    'breast_cancer'
    >>> file_name("a b"), file_name("a_b")
    ('a_b-c8687a08', 'a_b')
    >>> file_name("..")
    'name-5ec1f7e7'
    >>> file_name("../../etc/passwd")
    'etc_passwd-3754d6cb'
    """
    name = str(name)
    cleaned = _UNSAFE.sub("_", name).strip("._-")[:MAX_LENGTH].rstrip("._-")
    if (cleaned and cleaned == name and name == name.lower() and not _DEVICES.fullmatch(name)
            and not _HASHED.search(name)):
        return name
    return f"{cleaned or _EMPTY}-{_digest(name)}"


def figure_file(kind: str, dataset, model=None) -> str:
    """The file name of one of the report's figures (in ``figures/``).

    Parameters
    ----------
    kind : str
        A key of :data:`FIGURES` (the figure's prefix).
    dataset : str
        The dataset's name.
    model : str or None, default=None
        The model's name: given for, and only for, a figure drawn per unit.

    Returns
    -------
    str
        ``<kind>_<dataset>.png`` or ``<kind>_<dataset>_<model>.png``, the names as
        :func:`file_name` makes them; distinct (kind, dataset, model) give distinct files. When the
        dataset's file name holds ``_`` (``breast_cancer``), a unit's figure also ends with 8 hex
        digits of the hash of both names: ``a_b`` + ``c`` and ``a`` + ``b_c`` would otherwise meet.

    Raises
    ------
    KeyError
        ``kind`` is not in :data:`FIGURES`, or ``model`` is given for a per-dataset figure or
        missing for a per-unit one.
    """
    per = FIGURES[kind]
    if (per == "unit") != (model is not None):
        raise KeyError(f"The {kind!r} figure is drawn per {per}; got dataset {dataset!r} and model {model!r}.")
    stem = f"{kind}_{file_name(dataset)}"
    if model is None:
        return f"{stem}.png"
    stem += f"_{file_name(model)}"
    return f"{stem}-{_digest(str(dataset), str(model))}.png" if "_" in file_name(dataset) else f"{stem}.png"
