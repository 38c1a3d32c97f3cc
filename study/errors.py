"""The error every input check raises: :class:`InputError`, bad input found before any training.

It lives here, below every module that raises it, so that a low-level module (a folder check, a
data loader) can raise it without importing the spec. Errors of one service subclass it beside
that service (``study.folders.FolderError``), so the command line catches them all as one kind.
"""

from __future__ import annotations

__all__ = ["InputError"]


class InputError(ValueError):
    """Bad input found before any training: a spec, a dataset or a metric that cannot run.

    The message says what was found, what was expected and how to fix it; the command line
    prints it and exits with status 2.
    """
