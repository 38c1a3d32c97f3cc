"""report.html (study.report.html) opened in headless Chromium, and StudyResult._repr_html_, from the
shared quick wine study (tests/conftest.py)."""

import contextlib
import re
import shutil
from html.parser import HTMLParser

import pytest

from study.report.format import anchor
from study.report.html import heading_ids, markdown_html, report_html


def _browser():
    """``(playwright module, chromium executable or None for Playwright's own)``, or a skip."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright is not installed (pip install -e '.[test]'); report.html is not opened in a browser")
    executable = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    return sync_playwright, executable


@contextlib.contextmanager
def _chromium():
    """A headless Chromium (Playwright's ``Browser``), or a skip when there is none."""
    sync_playwright, executable = _browser()
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        except Exception as exc:  # no system Chromium and no browser downloaded by Playwright
            pytest.skip(f"no Chromium to open report.html with ({str(exc).splitlines()[0]}); install Debian's "
                        "chromium package (as .ci/run does) or run `playwright install chromium`")
        try:
            yield browser
        finally:
            browser.close()


def _recording_errors(page) -> list:
    """The console errors and uncaught exceptions of ``page``, as they come."""
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


def test_report_html_opens_in_chromium_without_errors_and_with_every_figure(wine_study):
    out = wine_study["out"]
    figures = re.findall(r"!\[[^\]]*\]\((figures/[^)]+)\)", (out / "report.md").read_text())
    with _chromium() as browser:
        page = browser.new_page()
        errors = _recording_errors(page)
        page.goto((out / "report.html").as_uri(), wait_until="load")
        images = page.eval_on_selector_all("img", "images => images.map(i => [i.complete, i.naturalWidth, "
                                                  "i.src.slice(0, 21)])")
        headers = page.eval_on_selector_all("section#wine table th", "cells => cells.map(c => c.textContent)")
        hrefs = "links => links.map(a => a.getAttribute('href'))"
        contents = page.eval_on_selector_all("nav#contents > ul > li > a", hrefs)  # the sections' entries
        targets = page.eval_on_selector_all("main > section", "sections => sections.map(s => '#' + s.id)")
        unresolved = page.eval_on_selector_all("nav#contents a", hrefs + ".filter(h => !document.getElementById("
                                                                          "h.slice(1)))")
    assert errors == []
    assert len(images) == len(figures) >= 2
    assert all(complete and width > 0 and src == "data:image/png;base64" for complete, width, src in images), images
    assert headers[:6] == ["model", "framework", "best params", "train", "CV mean ± std", "hold-out test"]
    assert contents == targets and "#stored-models" in contents and unresolved == []


def test_report_html_holds_every_section_of_report_md(wine_study):
    out = wine_study["out"]
    html = (out / "report.html").read_text()
    headings = re.findall(r"^## (.+)$", (out / "report.md").read_text(), flags=re.M)
    assert [f'<section id="{anchor(h)}">' in html for h in headings if h != "Contents"] == [True] * (len(headings) - 1)
    assert "figures/" not in html and "http" not in html.split("<body>")[0]
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.S)  # only the contents' highlighter
    assert len(scripts) == 1 and scripts[0][0] == "" and "IntersectionObserver" in scripts[0][1]
    assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|http|fetch", scripts[0][1])


def test_markdown_html_embeds_local_images_only(tmp_path):
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    html = markdown_html("![a](figures/a.png) ![b](figures/missing.png)\n\n| x |\n|---|\n| 1 |\n", tmp_path)
    assert 'src="data:image/png;base64,iVBORw0KGgo="' in html and 'src="figures/missing.png"' in html
    assert "<table>" in html and "<td>1</td>" in html


class _Page(HTMLParser):
    """What a test reads of a report page: the contents' entries ``(depth, href, text)``, every ``id``
    and the ``id`` of every ``<h3>``."""

    def __init__(self, html):
        super().__init__()
        self.contents, self.ids, self.h3_ids, self._in_nav, self._depth, self._link = [], [], [], False, 0, None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.append(attrs["id"])
        self._in_nav |= tag == "nav" and attrs.get("id") == "contents"
        self._depth += tag == "ul" and self._in_nav
        if tag == "a" and self._in_nav:
            self._link = [self._depth, attrs["href"], ""]
        if tag == "h3":
            self.h3_ids.append(attrs.get("id"))

    def handle_endtag(self, tag):
        self._in_nav &= tag != "nav"
        self._depth -= tag == "ul" and self._in_nav
        if tag == "a" and self._link:
            self.contents.append(tuple(self._link))
            self._link = None

    def handle_data(self, data):
        if self._link:
            self._link[2] += data


SUBSECTIONS_REPORT = """# Generalization report

Datasets: wine, digits. Models: ridge.

## At a glance

### wine

| model | CV |
|---|---|
| ridge | 0.9 |

### digits

Ridge generalizes.

## Contents

- [At a glance](#at-a-glance)

## Protocol

```
### not a heading
```

### Contents

## wine

The wine section.

## Learning curves

Two datasets.

### wine

### digits

## Validation curves

### Learning curves

### a &lt;b&gt; \\| *c*
"""


def test_report_html_nests_subsections_with_unique_anchors_under_their_sections(tmp_path):
    html = report_html(SUBSECTIONS_REPORT, tmp_path)
    page = _Page(html)
    assert page.contents == [  # a section keeps its anchor (the Markdown's links); subsections are numbered
        (1, "#at-a-glance", "At a glance"), (2, "#wine-1", "wine"), (2, "#digits", "digits"),
        (1, "#protocol", "Protocol"), (2, "#contents-1", "Contents"), (1, "#wine", "wine"),
        (1, "#learning-curves", "Learning curves"), (2, "#wine-2", "wine"), (2, "#digits-1", "digits"),
        (1, "#validation-curves", "Validation curves"), (2, "#learning-curves-1", "Learning curves"),
        (2, "#a-ltbgt--c", "a <b> | c")]
    assert page.h3_ids == ["wine-1", "digits", "contents-1", "wine-2", "digits-1", "learning-curves-1", "a-ltbgt--c"]
    assert re.findall(r'<section id="([^"]+)">', html) == [anchor(h) for h in re.findall(
        r"^## (.+)$", SUBSECTIONS_REPORT, flags=re.M) if h != "Contents"]
    assert len(page.ids) == len(set(page.ids)) and {href[1:] for _, href, _ in page.contents} <= set(page.ids)
    assert '<h3 id="a-ltbgt--c">a &lt;b&gt; | <em>c</em></h3>' in html
    assert 'a &lt;b&gt; | c</a>' in html and "<b>" not in html  # the contents show the text, escaped
    assert html.count('<div class="subsection">') == 7 and html.count("</div>") == 7
    assert "<pre><code>### not a heading" in html and 'class="active"' not in html


def test_heading_ids_are_anchors_numbered_as_github_numbers_repeats():
    headings = ["At a glance", "wine", "Learning curves", "wine", "Learning curves", "wine-1", "Contents", "?!"]
    assert heading_ids(headings) == ["at-a-glance", "wine", "learning-curves", "wine-1", "learning-curves-1",
                                     "wine-1-1", "contents-1", "section"]
    assert heading_ids(headings) == heading_ids(headings) and heading_ids(["a"], reserved=()) == ["a"]


def _long_report(n_sections: int = 12) -> str:
    """A hand-made report: "At a glance" first (a table per dataset), then long sections of subsections."""
    words = " ".join(["The scores of every fold, one after the other, read as a long paragraph."] * 12)
    glance = "".join(f"### {d}\n\n| model | CV | hold-out | verdict | remedy |\n|---|---|---|---|---|\n"
                     f"| ridge | 0.95 [0.93, 0.97] | 0.94 | good fit | none |\n\nRidge generalizes on {d}.\n\n"
                     for d in ("wine", "digits"))
    sections = "".join(f"## Section {k}\n\n{words}\n\n" + "".join(f"### Learning curves\n\n{words}\n\n{words}\n\n"
                                                                   for _ in range(2))
                       for k in range(n_sections))
    contents = "\n".join(f"- [Section {k}](#section-{k})" for k in range(n_sections))
    return (f"# Generalization report\n\nDatasets: wine, digits. Models: ridge.\n\n## At a glance\n\n{glance}"
            f"## Contents\n\n{contents}\n\n## Protocol\n\n{words}\n\n{sections}")


def _active(page) -> list:
    return page.eval_on_selector_all("nav#contents a.active", "links => links.map(a => a.getAttribute('href'))")


def test_report_html_first_screen_is_the_answer_and_contents_follow_the_reader(tmp_path):
    path = tmp_path / "report.html"
    path.write_text(report_html(_long_report(), tmp_path))
    with _chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        errors = _recording_errors(page)
        page.goto(path.as_uri(), wait_until="load")
        heading = page.locator("#at-a-glance h2")
        box, table = heading.bounding_box(), page.locator("#at-a-glance table").first.bounding_box()
        visible = heading.is_visible()
        nav = page.locator("nav#contents").bounding_box()
        page.wait_for_function("document.querySelector('nav#contents a.active')")
        first = _active(page)
        page.evaluate("document.getElementById('section-7').scrollIntoView()")
        page.wait_for_function("document.querySelector('nav#contents a.active[href=\"#section-7\"]')")
        later = _active(page)
        page.evaluate("document.getElementById('learning-curves-9').scrollIntoView()")  # section 4's second
        page.wait_for_function("document.querySelector('nav#contents a.active[href=\"#learning-curves-9\"]')")
        subsection = _active(page)
        narrow = browser.new_page(viewport={"width": 400, "height": 800})
        narrow.goto(path.as_uri(), wait_until="load")
        narrow_box = narrow.locator("#at-a-glance h2").bounding_box()
        narrow_nav = narrow.locator("nav#contents").bounding_box()
    assert errors == []
    assert visible and 0 <= box["y"] and box["y"] + box["height"] <= 800 and table["y"] < 800, (box, table)
    assert box["x"] >= nav["x"] + nav["width"]  # the contents are a sidebar beside the report, not above it
    assert first[:1] == ["#at-a-glance"]  # the first section also when the band is above it
    assert later == ["#section-7"]
    assert subsection == ["#section-4", "#learning-curves-9"]
    assert narrow_nav["y"] + narrow_nav["height"] <= narrow_box["y"] < 800, (narrow_nav, narrow_box)


def test_study_result_displays_itself_in_a_notebook(wine_result):
    html = wine_result._repr_html_()
    assert html.count("<table>") == 1 and "<h3>wine</h3>" in html
    assert "<td>keras_dense</td>" in html and html.count("data:image/png;base64,") == 1


PWNED = "window.__pwned=1"


def test_a_hostile_report_runs_no_script_in_chromium(tmp_path):
    """A CSV file name, a column, the class labels and a user model's name that are scripts: the page shows
    them as text, and no script of theirs runs (``window.__pwned`` stays undefined, no dialog opens)."""
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    from backends.custom import sklearn_model
    from study import write_report
    from study.orchestrator import run_study
    from study.spec import DataSource, StudySpec

    img, script = f"<img src=x onerror={PWNED};alert(1)>", f"<script>{PWNED};alert(1)</script>"
    classes = [img, f"<svg onload={PWNED}>", "![x](../../secret.txt)"]
    rng = np.random.default_rng(0)
    codes = np.repeat(np.arange(3), 15)
    frame = pd.DataFrame({f"f{j}": rng.normal(codes, 1.0) for j in range(3)})
    frame[script] = np.nan  # dropped, named in a note
    frame["label"] = np.asarray(classes, dtype=object)[codes]
    csv = tmp_path / f"{img}.csv"
    frame.to_csv(csv, index=False)
    spec = StudySpec(datasets=(DataSource(csv, target="label"),),
                     models=(sklearn_model(script, LogisticRegression(max_iter=200)),), cv=3, quick=True,
                     diagnostics=False, n_jobs=1, cache_dir=tmp_path / "cache")
    with pytest.warns(UserWarning):
        result = run_study(spec, progress=False)
    page_path = write_report(result, tmp_path / "out").with_name("report.html")
    with _chromium() as browser:
        control = browser.new_page()  # the check can see a script run: the same payload, raw
        control.on("dialog", lambda dialog: dialog.dismiss())
        control.set_content(f"<p>{img}</p>")
        control.wait_for_function("window.__pwned === 1")
        page = browser.new_page()
        dialogs = []
        page.on("dialog", lambda dialog: dialogs.append(dialog.message) or dialog.dismiss())
        errors = _recording_errors(page)
        page.goto(page_path.as_uri(), wait_until="load")
        page.wait_for_timeout(300)  # an <img onerror> fires after its failed load
        pwned = page.evaluate("typeof window.__pwned")
        shown = page.locator("main").inner_text()
    assert pwned == "undefined" and dialogs == [] and errors == []
    assert img in shown and script in shown and classes[1] in shown
