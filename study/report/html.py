"""``report.html``: the Markdown report as one self-contained page.

The page is built from the text of ``report.md`` itself, so every section any part of the report
writes appears in it without extra work: the text is split at its ``## `` headings, each section is
rendered with the CommonMark renderer ``markdown-it-py`` (tables enabled, raw HTML off: the report's
user strings are escaped by ``study.report.format.escape``, and a tag that got through anyway shows as
text), each figure the Markdown links (``figures/x.png``) is embedded as a base64 ``data:`` URI (only
``.png`` files of the report's own ``figures/`` folder, :func:`figure_path`), and the Jinja2 template
``templates/report.html.j2`` puts the sections beside a table of contents (a sidebar on wide screens,
so the first screen shows the report's first section). The contents list every ``## `` section and,
nested under it, its ``### `` subsections; every entry links to an id derived from the heading's text
(:func:`heading_ids`; a section's id is its Markdown anchor). A small inline script highlights the
entry of the section in view; without it the page reads the same. The page loads nothing from
anywhere: it reads the same offline, in any browser, sent as one file.
"""

from __future__ import annotations

import base64
import functools
import mimetypes
import os
import re
from pathlib import Path
from urllib.parse import unquote

from jinja2 import Environment, PackageLoader, select_autoescape
from markdown_it import MarkdownIt
from markdown_it.token import Token

from study.report.format import anchor

__all__ = ["markdown_html", "report_html", "render_template", "data_uri", "heading_ids", "figure_path"]

CONTENTS = "Contents"
"""The Markdown report's own table of contents, replaced by the page's."""
_SECTION = re.compile(r"^## (.+)$", flags=re.M)
RESERVED_IDS = frozenset({"contents"})
"""Ids the page itself uses (the contents' ``<nav>``); a heading with the same anchor gets a suffix."""


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


FIGURES = "figures"
"""The only folder (of the report's) whose images are embedded."""


def figure_path(folder: Path, source: str) -> Path | None:
    """The report's own figure an image link points at, or None.

    Parameters
    ----------
    folder : pathlib.Path
        The report's folder.
    source : str
        The link, as the Markdown renderer normalized it (percent-encoded).

    Returns
    -------
    pathlib.Path or None
        The file, when the link is relative and, resolved (symbolic links followed), an existing
        ``.png`` file directly inside ``folder/figures``; None for anything else (another folder,
        ``..``, an absolute path, a URL), which is never read.
    """
    source = unquote(source)
    if not source or ":" in source or source.startswith("/") or "\\" in source or "\x00" in source:
        return None
    root = (Path(folder) / FIGURES).resolve()
    path = (Path(folder) / source).resolve()
    if path.parent != root or path.suffix.lower() != ".png" or not path.is_file():
        return None
    return path


def _markdown(folder: Path | None) -> MarkdownIt:
    """The CommonMark renderer (tables enabled, raw HTML off: a ``<tag>`` in the text shows as text)
    that embeds the report's own figures (:func:`figure_path`) it shows (``markdown_html``)."""
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    default = md.renderer.rules["image"]

    def image(self, tokens, index, options, env):
        token = tokens[index]
        source = token.attrGet("src") or ""
        if folder is not None:
            path = figure_path(folder, source)
            if path is not None:
                token.attrSet("src", data_uri(path))
            elif not _missing_figure(folder, source):  # anything else is not even left as a link
                token.attrs.pop("src", None)
        return default(tokens, index, options, env)

    md.add_render_rule("image", image)
    return md


def _missing_figure(folder: Path, source: str) -> bool:
    """A plain link to a file of ``figures/`` that does not exist (left as a broken image)."""
    parts = unquote(source).split("/")
    return (len(parts) == 2 and parts[0] == FIGURES and parts[1] not in ("", ".", "..") and "\\" not in source
            and ":" not in source and not os.path.lexists(Path(folder, *parts)))


def markdown_html(text: str, folder: Path | None = None) -> str:
    """Render Markdown (CommonMark and tables) to HTML, embedding the local images it shows.

    Parameters
    ----------
    text : str
        Markdown.
    folder : pathlib.Path or None, default=None
        The report folder whose figures are embedded (``figures/x.png`` -> ``folder/figures/x.png``,
        :func:`figure_path`); None leaves links as they are.

    Returns
    -------
    str
        HTML, raw HTML in ``text`` shown as text. A figure whose file is missing keeps its link (a
        broken image, as in the Markdown); an image pointing anywhere else loses its link and is
        never read.
    """
    return _markdown(folder).render(text)


def heading_ids(headings, reserved=RESERVED_IDS) -> list:
    """Distinct ids for headings, in order: each heading's :func:`~study.report.format.anchor`, with
    ``-1``, ``-2``, ... added to a repeated one, as GitHub numbers its heading anchors.

    Parameters
    ----------
    headings : iterable of str
        The headings' Markdown text, in document order.
    reserved : collection of str, default=RESERVED_IDS
        Ids already taken on the page (a heading with that anchor gets a suffix).

    Returns
    -------
    list of str
        One id per heading, all distinct and none in ``reserved``; the same headings always give the
        same ids. A heading with no letters or digits is ``section`` (``section-1``, ...).

    Examples
    --------
    >>> heading_ids(["wine", "Learning curves", "digits", "Learning curves"])
    ['wine', 'learning-curves', 'digits', 'learning-curves-1']
    """
    used, ids = set(reserved), []
    for heading in headings:
        base = anchor(heading) or "section"
        candidate, n = base, 0
        while candidate in used:
            n += 1
            candidate = f"{base}-{n}"
        used.add(candidate)
        ids.append(candidate)
    return ids


def _plain(tokens) -> str:
    """The text a reader sees of inline Markdown tokens (entities and escapes decoded, tags left out)."""
    parts = []
    for token in tokens or ():
        if token.type in ("text", "text_special", "code_inline"):
            parts.append(token.content)
        elif token.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif token.children:
            parts.append(_plain(token.children))
    return "".join(parts).strip()


def _subsections(tokens) -> list:
    """The indices of a section's top-level ``### `` headings (``heading_open`` tokens)."""
    return [i for i, token in enumerate(tokens) if token.type == "heading_open" and token.level == 0
            and token.tag == "h3"]


def _section_html(md: MarkdownIt, tokens: list, ids: dict) -> str:
    """A section's HTML; each ``### `` heading (index in ``tokens`` -> id) gets its id and is wrapped,
    with the text up to the next one, in ``<div class="subsection">`` (what the page's script watches)."""
    def html(content):
        return Token("html_block", "", 0, content=content)

    out, opened = [], False
    for index, token in enumerate(tokens):
        if index in ids:
            out += [html("</div>\n")] if opened else []
            out.append(html('<div class="subsection">\n'))
            token.attrSet("id", ids[index])
            opened = True
        out.append(token)
    out += [html("</div>\n")] if opened else []
    return md.renderer.render(out, md.options, {})


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
        GitHub gives the Markdown headings, so the Markdown's own links work) and, nested under
        it, its ``### `` subsections, then the sections, figures embedded as base64 PNG. Ids come
        from :func:`heading_ids`: the sections' first, so a section keeps its anchor whatever
        subsections come before it (e.g. ``## wine`` is ``#wine`` after an ``### wine`` at a
        glance); then the subsections' (ids on the ``<h3>``), in order, a taken anchor getting
        ``-1``, ``-2``, ... (two ``### Learning curves``: ``learning-curves``, ``learning-curves-1``,
        or ``-1`` and ``-2`` when a section is called so).
    """
    title, intro, sections = _sections(report)
    md = _markdown(folder)
    parsed = [(heading, md.parse(text)) for heading, text in sections]
    found = [_subsections(tokens) for _, tokens in parsed]
    section_ids = heading_ids([heading for heading, _ in parsed])  # first: a section's id never depends on
    ids = iter(heading_ids([tokens[i + 1].content for (_, tokens), at in zip(parsed, found) for i in at],
                           reserved=RESERVED_IDS | set(section_ids)))  # the subsections before it
    rendered = []
    for (heading, tokens), at, section_id in zip(parsed, found, section_ids):
        sub_ids = [next(ids) for _ in at]
        rendered.append(dict(id=section_id, title=_plain(tokens[1].children) or heading,
                             subsections=[dict(id=i, title=_plain(tokens[k + 1].children) or tokens[k + 1].content)
                                          for k, i in zip(at, sub_ids)],
                             html=_section_html(md, tokens, dict(zip(at, sub_ids)))))
    return render_template("report.html.j2", title=title, intro=markdown_html(intro, folder), sections=rendered)
