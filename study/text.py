"""Text made one line, for the tables, the report, the warnings and the error messages: terminal
escape sequences removed, control characters and runs of whitespace replaced by one space."""

from __future__ import annotations

import re

__all__ = ["plain_line", "one_line", "ANSI_ESCAPE"]

ANSI_ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
"""Terminal escape sequences (ECMA-48): colours and cursor moves (CSI), titles and links (OSC),
and the two-character ones."""
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def plain_line(text: str) -> str:
    """``text`` on one line: terminal escape sequences removed, control characters and runs of
    whitespace (newlines included) replaced by one space, no space at either end."""
    return " ".join(_CONTROL.sub(" ", ANSI_ESCAPE.sub("", str(text))).split())


def one_line(exc: BaseException) -> str:
    """``"Type: message"`` of an exception, as :func:`plain_line` (one line, no terminal colours),
    for the tables, the report and the warnings."""
    return plain_line(f"{type(exc).__name__}: {exc}")
