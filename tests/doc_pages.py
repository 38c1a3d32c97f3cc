"""The documentation's pages and their fenced code blocks, for the tests that run or check them.

The pages are README.md (the front door) and every ``docs/*.md``. A test that runs an example
finds it here wherever its text lives, so moving a section between pages keeps it tested.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_MARKER = "<!-- notebook example -->"
"""The line before the one code block that tests/test_notebook.py runs in a Jupyter kernel."""

_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", flags=re.S | re.M)


def doc_pages() -> list:
    """The documentation's pages: README.md first, then ``docs/*.md`` sorted by name.

    Returns
    -------
    list of pathlib.Path
        Absolute paths, README.md first.
    """
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def code_blocks(language: str) -> list:
    """Every fenced code block of one language in the pages, in page order, then text order.

    Parameters
    ----------
    language : str
        The fence's info string, e.g. ``"python"`` or ``"bash"``.

    Returns
    -------
    list of tuple (pathlib.Path, str, bool)
        Per block: its page, its code (ending with a newline), and whether the line just before
        its opening fence is :data:`NOTEBOOK_MARKER`.
    """
    found = []
    for page in doc_pages():
        text = page.read_text(encoding="utf-8")
        for match in _FENCE.finditer(text):
            if match.group(1) == language:
                before = text[:match.start()].rstrip("\n").rsplit("\n", 1)[-1]
                found.append((page, match.group(2), before == NOTEBOOK_MARKER))
    return found


def notebook_block() -> str:
    """The code of the notebook example: the one ```python block after :data:`NOTEBOOK_MARKER`.

    Raises
    ------
    AssertionError
        When no page, or more than one block, follows the marker.
    """
    marked = [code for _, code, is_notebook in code_blocks("python") if is_notebook]
    assert len(marked) == 1, f"expected one ```python block after {NOTEBOOK_MARKER!r} in README.md or docs/, " \
                             f"found {len(marked)}"
    return marked[0]
