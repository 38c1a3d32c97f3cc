"""report.html (study.report.html) opened in headless Chromium, and StudyResult._repr_html_, from the
shared quick wine study (tests/conftest.py)."""

import re
import shutil

import pytest

from study.report.format import anchor
from study.report.html import markdown_html


def _browser():
    """``(playwright module, chromium executable or None for Playwright's own)``, or a skip."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright is not installed (pip install -e '.[test]'); report.html is not opened in a browser")
    executable = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    return sync_playwright, executable


def test_report_html_opens_in_chromium_without_errors_and_with_every_figure(wine_study):
    sync_playwright, executable = _browser()
    out = wine_study["out"]
    figures = re.findall(r"!\[[^\]]*\]\((figures/[^)]+)\)", (out / "report.md").read_text())
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        except Exception as exc:  # no system Chromium and no browser downloaded by Playwright
            pytest.skip(f"no Chromium to open report.html with ({str(exc).splitlines()[0]}); install Debian's "
                        "chromium package (as .ci/run does) or run `playwright install chromium`")
        page = browser.new_page()
        errors = []
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto((out / "report.html").as_uri(), wait_until="load")
        images = page.eval_on_selector_all("img", "images => images.map(i => [i.complete, i.naturalWidth, "
                                                  "i.src.slice(0, 21)])")
        headers = page.eval_on_selector_all("section#wine table th", "cells => cells.map(c => c.textContent)")
        contents = page.eval_on_selector_all("nav#contents a", "links => links.map(a => a.getAttribute('href'))")
        targets = page.eval_on_selector_all("main section", "sections => sections.map(s => '#' + s.id)")
        browser.close()
    assert errors == []
    assert len(images) == len(figures) >= 2
    assert all(complete and width > 0 and src == "data:image/png;base64" for complete, width, src in images), images
    assert headers[:6] == ["model", "framework", "best params", "train", "CV mean ± std", "hold-out test"]
    assert contents == targets and "#stored-models" in contents


def test_report_html_holds_every_section_of_report_md(wine_study):
    out = wine_study["out"]
    html = (out / "report.html").read_text()
    headings = re.findall(r"^## (.+)$", (out / "report.md").read_text(), flags=re.M)
    assert [f'<section id="{anchor(h)}">' in html for h in headings if h != "Contents"] == [True] * (len(headings) - 1)
    assert "figures/" not in html and "<script" not in html and "http" not in html.split("<body>")[0]


def test_markdown_html_embeds_local_images_only(tmp_path):
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    html = markdown_html("![a](figures/a.png) ![b](figures/missing.png)\n\n| x |\n|---|\n| 1 |\n", tmp_path)
    assert 'src="data:image/png;base64,iVBORw0KGgo="' in html and 'src="figures/missing.png"' in html
    assert "<table>" in html and "<td>1</td>" in html


def test_study_result_displays_itself_in_a_notebook(wine_result):
    html = wine_result._repr_html_()
    assert html.count("<table>") == 1 and "<h3>wine</h3>" in html
    assert "<td>keras_dense</td>" in html and html.count("data:image/png;base64,") == 1
