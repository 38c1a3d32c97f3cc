"""``report.html``: the Markdown report as one self-contained page.

The page is built from the text of ``report.md`` itself, so every section any part of the report
writes appears in it without extra work: the text is split at its ``## `` headings, each section is
rendered with the CommonMark renderer ``markdown-it-py`` (tables enabled), each figure the Markdown
links (``figures/x.png``) is embedded as a base64 ``data:`` URI, and the Jinja2 template
``templates/report.html.j2`` puts the sections after a table of contents. The page loads nothing
from anywhere: it reads the same offline, in any browser, sent as one file.
"""

from __future__ import annotations

import base64
import functools
import mimetypes
import re
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from markdown_it import MarkdownIt

from study.report.format import anchor

__all__ = ["markdown_html", "report_html", "render_template", "data_uri"]

CONTENTS = "Contents"
"""The Markdown report's own table of contents, replaced by the page's."""
_SECTION = re.compile(r"^## (.+)$", flags=re.M)


@functools.cache
def _environment() -> Environment:
    return Environment(loader=PackageLoader("study.report", "templates"), autoescape=select_autoescape(["html", "j2"]),
                       trim_blocks=True, lstrip_blocks=True)


def render_template(name: str, **context) -> str:
    """Render one of the package's Jinja2 templates (``study/report/templates/<name>``), autoescaped."""
    return _environment().get_template(name).render(**context)


def data_uri(path: Path) -> str:
    """A file as a ``data:`` URI (base64), e.g. a PNG figure."""
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"data:{kind};base64,{base64.b64encode(Path(path).read_bytes()).decode('ascii')}"


def markdown_html(text: str, folder: Path | None = None) -> str:
    """Render Markdown (CommonMark and tables) to HTML, embedding the local images it shows.

    Parameters
    ----------
    text : str
        Markdown.
    folder : pathlib.Path or None, default=None
        The folder relative image links are read from (``figures/x.png`` -> ``folder/figures/x.png``);
        None leaves links as they are.

    Returns
    -------
    str
        HTML. An image whose file is missing keeps its link (a broken image, as in the Markdown).
    """
    md = MarkdownIt("commonmark", {"html": True}).enable("table")
    default = md.renderer.rules["image"]

    def image(self, tokens, index, options, env):
        source = tokens[index].attrGet("src") or ""
        path = None if folder is None or ":" in source or source.startswith("/") else Path(folder) / source
        if path is not None and path.is_file():
            tokens[index].attrSet("src", data_uri(path))
        return default(tokens, index, options, env)

    md.add_render_rule("image", image)
    return md.render(text)


def _sections(report: str) -> tuple:
    """``(title, intro, [(heading, markdown)])``: the report's ``# `` title, the text before its
    first ``## `` heading, and its sections (the Markdown's own contents left out)."""
    starts = [match.start() for match in _SECTION.finditer(report)]
    head = report[:starts[0]] if starts else report
    title = next((line[2:].strip() for line in head.splitlines() if line.startswith("# ")), "Report")
    intro = "\n".join(line for line in head.splitlines() if not line.startswith("# "))
    parts = [report[a:b] for a, b in zip(starts, starts[1:] + [len(report)])]
    sections = [(part.splitlines()[0][3:].strip(), part) for part in parts]
    return title, intro, [(heading, part) for heading, part in sections if heading != CONTENTS]


def report_html(report: str, folder: Path) -> str:
    """The self-contained HTML page of a Markdown report.

    Parameters
    ----------
    report : str
        The text of ``report.md``.
    folder : pathlib.Path
        The report's folder (its figures are embedded).

    Returns
    -------
    str
        One HTML document: a table of contents linking every ``## `` section (by the anchors
        GitHub gives the Markdown headings, so the Markdown's own links work), then the
        sections, figures embedded as base64 PNG.
    """
    title, intro, sections = _sections(report)
    rendered = [dict(id=anchor(heading), title=heading, html=markdown_html(text, folder))
                for heading, text in sections]
    return render_template("report.html.j2", title=title, intro=markdown_html(intro, folder), sections=rendered)
