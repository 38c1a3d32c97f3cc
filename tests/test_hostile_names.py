"""Hostile names: every place a user string reaches the report (a CSV file name, a dataset name, a
model name, a column name, a class label, a groups column, a user model's error message) x a
``<script>``, an ``<img onerror>``, a Markdown image of a file outside the report, ``..`` and two names
that meet when cleaned (``a b``, ``a_b``). One small in-process study (study.names, study.report).

report.html has no tag from them and embeds nothing from outside ``figures/``; nothing is written
outside ``--out``; every tuned model keeps its own ``models/`` folder and every figure its own file.
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
import warnings
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression, Ridge

from backends.custom import sklearn_model
from study import write_report
from study.text import plain_line
from study.names import FIGURES, MAX_LENGTH, figure_file, file_name
from study.report.format import escape
from study.report.html import markdown_html
from study.report.models import model_folder
from study.orchestrator import run_study
from study.model_store import load_model
from study.spec import DataSource, StudySpec

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
IMAGE = "![x](../../secret.txt)"
TAGS = {"script": SCRIPT, "img": IMG, "image": IMAGE}
SECRET = "TOP-SECRET-7d1f-do-not-embed"
COLLIDING = ("a b", "a_b")


def _hostile(place: str, *kinds: str) -> str:
    """The payloads of ``kinds``, each followed by the place's name (so a test sees which place showed it)."""
    return " ".join(f"{TAGS[kind]} {place}" for kind in kinds)


# Where each payload goes: a CSV file name cannot hold "/", so the script and the image link reach the
# dataset names through DataSource(name=...).
FILE_DATASET = _hostile("file", "img")
NAMED_DATASET = _hostile("dataset", "script", "image")
HOSTILE_MODEL = _hostile("model", "script", "img", "image") + " $\\notmath{$ model"  # "$": not drawn as math
COLUMNS = [_hostile("column", kind) for kind in TAGS]
CLASSES = [_hostile("class", kind) for kind in TAGS]
GROUPS = _hostile("groups", "script", "img", "image")
ERROR = _hostile("error", "script", "img", "image")

PLACES = {  # place -> (study, the strings that reach its report.html from there)
    "csv file name": ("text", [FILE_DATASET]),
    "dataset name": ("text", [NAMED_DATASET]),
    "model name": ("text", [HOSTILE_MODEL]),
    "column name": ("text", COLUMNS),
    "class label": ("text", CLASSES),
    "groups column": ("text", [GROUPS]),
    "error message": ("text", [ERROR]),
    "dataset name (file names)": ("paths", ["..", *COLLIDING]),
    "model name (file names)": ("paths", ["..", *COLLIDING]),
}


class Failing(ClassifierMixin, BaseEstimator):
    """A user model whose fit raises the hostile error message."""

    def fit(self, X, y):
        raise ValueError(ERROR)

    def predict(self, X):
        raise ValueError(ERROR)


def _table(classes, seed: int, columns=(), groups=None) -> pd.DataFrame:
    """15 rows per class, 3 informative features, ``columns`` entirely empty (dropped, with a note
    naming them), and a ``groups`` column (9 groups, each holding every class) when named; ``classes``
    None: a regression target (45 rows)."""
    rng = np.random.default_rng(seed)
    codes = np.repeat(np.arange(3 if classes is None else len(classes)), 15)
    frame = pd.DataFrame({f"f{j}": rng.normal(codes * (j + 1), 1.0) for j in range(3)})
    for column in columns:
        frame[column] = np.nan
    if groups is not None:
        frame[groups] = [f"{IMG} g{i % 9}" for i in range(len(frame))]  # hostile values too
    frame["label"] = frame["f0"] + rng.normal(0, 0.1, len(frame)) if classes is None else np.asarray(
        classes, dtype=object)[codes]
    return frame


def _files(root: Path, skip=()) -> dict:
    """Every file under ``root`` (not under ``skip``) -> its size and modification time."""
    found = {}
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if Path(folder, d) not in skip]
        for name in names:
            path = Path(folder, name)
            stat = path.lstat()
            found[path] = (stat.st_size, stat.st_mtime_ns)
    return found


def _studies(data: Path) -> dict:
    """Two studies: "text" (the tags, in every place a string reaches the report's text; classification)
    and "paths" (``..`` and colliding names as datasets and models; regression, fewer figures)."""
    text_frames = {f"{FILE_DATASET}.csv": _table(CLASSES, 0, columns=COLUMNS, groups=GROUPS),
                   "named.csv": _table(["x", "y", "z"], 1)}
    path_frames = {"...csv": _table(None, 2),  # the dataset ".." (the file name's stem)
                   "space.csv": _table(None, 3), "a_b.csv": _table(None, 4)}
    for name, frame in {**text_frames, **path_frames}.items():
        frame.to_csv(data / name, index=False)
    text = StudySpec(datasets=(DataSource(data / f"{FILE_DATASET}.csv", target="label", groups=GROUPS),
                               DataSource(data / "named.csv", target="label", name=NAMED_DATASET)),
                     models=(sklearn_model(HOSTILE_MODEL, LogisticRegression(max_iter=200)),
                             sklearn_model("failing", Failing())),
                     cv=3, quick=True, diagnostics=False, n_jobs=1, cache_dir=None)
    paths = StudySpec(datasets=(DataSource(data / "...csv", target="label"),
                                DataSource(data / "space.csv", target="label", name="a b"),
                                DataSource(data / "a_b.csv", target="label")),
                      models=tuple(sklearn_model(name, Ridge()) for name in ("..", *COLLIDING)),
                      cv=3, quick=True, diagnostics=False, n_jobs=1, cache_dir=None)
    assert [d.label for d in text.datasets] == [FILE_DATASET, NAMED_DATASET]
    assert [d.label for d in paths.datasets] == ["..", *COLLIDING]
    return dict(text=text, paths=paths)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """Both studies, their reports and the files their reports wrote: per study ``{"out", "html", "md",
    "result", "written", "base"}``."""
    base = tmp_path_factory.mktemp("hostile")
    (base / "secret.txt").write_text(SECRET)  # what "../../secret.txt" points at, seen from a report folder
    data = base / "data"
    data.mkdir()
    found = {}
    for name, spec in _studies(data).items():
        run = base / f"run_{name}"
        run.mkdir()
        (run / "secret.txt").write_text(SECRET)  # and from its staging folder's parent
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the notes about the data, the failing model's warnings
            result = run_study(spec, progress=False)
        before = _files(base)
        out = run / "out"
        write_report(result, out)
        after = _files(base)
        found[name] = dict(out=out, base=base, result=result, html=(out / "report.html").read_text(),
                           md=(out / "report.md").read_text(),
                           written={path for path in after if before.get(path) != after[path]})
    return found


class _Tags(HTMLParser):
    """Every start tag of a page with its attributes, and the text inside each ``<script>``."""

    def __init__(self, page: str):
        super().__init__()
        self.tags, self.scripts, self._script = [], [], None
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._script = ""

    def handle_data(self, data):
        if self._script is not None:
            self._script += data

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            self.scripts.append(self._script)
            self._script = None


def test_the_studies_ran_every_hostile_unit(hostile):
    text, paths = hostile["text"]["result"].results, hostile["paths"]["result"].results
    ok = text[text["status"] == "ok"].drop_duplicates(["dataset", "model"])
    assert set(zip(ok["dataset"], ok["model"])) == {(d, m) for d in (FILE_DATASET, NAMED_DATASET)
                                                    for m in (HOSTILE_MODEL, "dummy")}
    failed = text[text["status"] == "failed"]
    assert set(failed["model"]) == {"failing"} and failed["error"].str.contains(re.escape(ERROR)).all()
    assert (paths["status"] == "ok").all() and paths.drop_duplicates(["dataset", "model"]).shape[0] == 3 * 4


@pytest.mark.parametrize("place", list(PLACES))
def test_each_place_reaches_report_html_as_text(hostile, place):
    study, texts = PLACES[place]
    for text in texts:
        assert html.escape(plain_line(text), quote=False) in hostile[study]["html"], (place, text)


@pytest.mark.parametrize("study", ["text", "paths"])
def test_report_html_has_no_tag_attribute_or_script_from_a_name(hostile, study):
    page = hostile[study]["html"]
    parsed = _Tags(page)
    scripts = [attrs for tag, attrs in parsed.tags if tag == "script"]
    assert scripts == [{}] and len(parsed.scripts) == 1 and "IntersectionObserver" in parsed.scripts[0]
    assert "alert" not in parsed.scripts[0]
    handlers = [(tag, name) for tag, attrs in parsed.tags for name in attrs if name.lower().startswith("on")]
    assert handlers == []
    images = [attrs for tag, attrs in parsed.tags if tag == "img"]
    assert images and all(attrs.get("src", "").startswith("data:image/png;base64,") for attrs in images)
    links = [attrs["href"] for tag, attrs in parsed.tags if tag == "a"]
    assert all(href.startswith("#") for href in links), links
    ids = [attrs["id"] for _, attrs in parsed.tags if "id" in attrs]
    assert len(ids) == len(set(ids)) and {href[1:] for href in links} <= set(ids)  # every link lands
    assert {tag for tag, _ in parsed.tags} <= {"html", "head", "meta", "title", "link", "style", "body", "nav",
                                               "strong", "ul", "ol", "li", "a", "main", "h1", "h2", "h3", "p",
                                               "section", "div", "table", "thead", "tbody", "tr", "th", "td", "img",
                                               "em", "code", "pre", "script"}
    for payload in (SCRIPT, IMG, "<script>alert", "<img src=x"):
        assert payload not in page


def test_the_notebook_view_shows_names_as_text(hostile):
    page = hostile["text"]["result"]._repr_html_()
    parsed = _Tags(page)
    assert {tag for tag, _ in parsed.tags} <= {"div", "p", "strong", "code", "h3", "table", "thead", "tbody", "tr",
                                               "th", "td", "img"}
    assert all(name in ("src", "alt", "style", "class") for _, attrs in parsed.tags for name in attrs)
    assert html.escape(plain_line(HOSTILE_MODEL), quote=False) in page and SCRIPT not in page and IMG not in page


def test_report_md_keeps_every_name_as_text(hostile):
    md = hostile["text"]["md"]
    for payload in (SCRIPT, IMG, IMAGE):
        assert payload not in md
    assert not re.search(r"(?<!\\)\]\(\.\./", md)  # no link out of the folder (only escaped ones)
    assert "<script" not in md and "<img" not in md
    assert "!\\[x\\](../../secret.txt)" in md  # the image link escaped, not removed


@pytest.mark.parametrize("study", ["text", "paths"])
def test_report_html_embeds_only_the_reports_own_figures(hostile, study):
    out, page = hostile[study]["out"], hostile[study]["html"]
    assert SECRET not in page and base64.b64encode(SECRET.encode()).decode() not in page
    figures = {path.read_bytes() for path in (out / "figures").glob("*.png")}
    embedded = re.findall(r'src="data:([^;"]+);base64,([^"]*)"', page)
    assert embedded and {kind for kind, _ in embedded} == {"image/png"}
    assert all(base64.b64decode(data) in figures for _, data in embedded)
    assert len(embedded) == len(re.findall(r"\]\(figures/", hostile[study]["md"]))


@pytest.mark.parametrize("study", ["text", "paths"])
def test_nothing_is_written_outside_out(hostile, study):
    out = hostile[study]["out"]
    outside = sorted(str(path) for path in hostile[study]["written"]
                     if out not in path.parents and path != out.parent / f".{out.name}.lock")
    assert outside == []
    assert (hostile[study]["base"] / "secret.txt").read_text() == SECRET
    assert sorted(p.name for p in out.parent.iterdir()) == [".out.lock", "out", "secret.txt"]


def test_no_tuned_model_is_lost_and_no_figure_is_shared(hostile):
    out, result, md = hostile["paths"]["out"], hostile["paths"]["result"], hostile["paths"]["md"]
    kept = {key: saved for key, saved in result.models.items() if saved.ok}
    folders = {key: model_folder(out, *key) for key in kept}
    assert len(kept) == 3 * 4 and len(set(folders.values())) == len(kept)
    for (dataset, model), folder in folders.items():
        assert folder.parent.parent == out / "models" and folder.is_dir()
        description = json.loads((folder / "model.json").read_text())
        assert (description["dataset"], description["model"]) == (dataset, model)
    assert {path.parent for path in (out / "models").glob("*/*/model.json")} == set(folders.values())
    rows = pd.DataFrame({f"f{j}": [0.0, 1.0] for j in range(3)})
    for model in ("..", *COLLIDING):  # study.model_store finds each by the folder the report names
        assert f"`{folders['a b', model].relative_to(out).as_posix()}/`" in md
        assert load_model(folders["a b", model], say=lambda line: None).predict(rows).shape == (2,)
    shown = re.findall(r"\]\(figures/([^)]+)\)", md)
    assert len(shown) == len(set(shown)) == 3 * 3 + 1  # scores, gaps and importance per dataset, the CD diagram
    for dataset in ("..", *COLLIDING):
        for kind in ("scores", "gaps", "importance"):
            assert (out / "figures" / figure_file(kind, dataset)).is_file() and figure_file(kind, dataset) in shown


# --------------------------------------------------------------------------- the two helpers

HOSTILE_NAMES = ["..", ".", "", "/", "a/b", "../x", "..\\x", "x\x00y", "tab\there", "new\nline", "CON", "nul.txt",
                 "-rf", ".hidden", "a b", "a_b", "a__b", "Wine", "wine", "x" * 300, "x" * 300 + "y", "é", "e",
                 "a_b-c8687a08", SCRIPT, IMG, IMAGE, "logistic_regression", "breast_cancer"]


def test_file_name_stays_in_its_folder_and_keeps_names_apart(tmp_path):
    names = [file_name(name) for name in HOSTILE_NAMES]
    assert len(set(names)) == len(HOSTILE_NAMES)  # distinct names, distinct file names
    assert len({name.lower() for name in names}) == len(names)  # also where case does not count
    for name in names:
        assert re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9])?", name), name
        assert len(name) <= MAX_LENGTH + 9 and (tmp_path / name).resolve().parent == tmp_path.resolve()
    assert [file_name(n) for n in ("wine", "breast_cancer", "logistic_regression", "keras_dense")] == [
        "wine", "breast_cancer", "logistic_regression", "keras_dense"]  # a clean name is itself
    assert re.fullmatch(r"a_b-[0-9a-f]{8}", file_name("a b")) and file_name("a_b") == "a_b"
    assert re.fullmatch(r"name-[0-9a-f]{8}", file_name(".."))


def test_figure_file_names_every_figure_apart():
    pairs = [("a_b", "c"), ("a", "b_c"), ("a", "b"), ("a b", "c"), ("..", ".."), ("breast_cancer", "ridge")]
    names = [figure_file("history", d, m) for d, m in pairs]
    assert len(set(names)) == len(names)
    assert figure_file("validation_curves", "iris", "ridge") == "validation_curves_iris_ridge.png"
    assert figure_file("scores", "wine") == "scores_wine.png"
    every = {figure_file(kind, d, m if per == "unit" else None) for kind, per in FIGURES.items() for d, m in pairs}
    assert len(every) == sum(len({(d, m if per == "unit" else None) for d, m in pairs}) for per in FIGURES.values())
    with pytest.raises(KeyError):
        figure_file("scores", "wine", "ridge")


@pytest.mark.parametrize("text", [SCRIPT, IMG, IMAGE, "a*b*c", "_x_", "`code`", "# heading", "> quote", "- item",
                                  "+ item", "1. item", "3) item", "a|b", "C:\\data\\x.csv", "ends \\", "&lt;b&gt;",
                                  "&#60;", "~~gone~~", "[x]: http://e.com", "<http://e.com>", "<!-- c -->", "a\\*b",
                                  "x < 3 > 2", "= =", "line\nbreak", "---", "- - -", "***", "___", "###", "-RMSE",
                                  "0.1", "#1"])
@pytest.mark.parametrize("where", ["{}", "## {}", "- {}", "| a |\n|---|\n| {} |", "![{} figure](figures/none.png)"])
def test_escaped_text_renders_as_itself_wherever_it_goes(text, where):
    rendered = markdown_html(where.format(escape(text)))
    parsed = _Tags(rendered)
    expected = {"{}": ["p"], "## {}": ["h2"], "- {}": ["ul", "li"], "| a |\n|---|\n| {} |":
                ["table", "thead", "tr", "th", "tbody", "tr", "td"], "![{} figure](figures/none.png)": ["p", "img"]}
    assert [tag for tag, _ in parsed.tags] == expected[where], rendered
    if where.startswith("!"):
        assert parsed.tags[1][1]["alt"] == f"{plain_line(text)} figure"
    else:
        shown = html.unescape(re.sub(r"<[^>]+>", "", rendered)).strip()
        assert shown.endswith(plain_line(text)), (shown, rendered)


def test_images_outside_the_figures_folder_are_never_read(tmp_path, monkeypatch):
    import study.report.html as report_html

    report = tmp_path / "run" / "out"
    (report / "figures").mkdir(parents=True)
    png = b"\x89PNG\r\n\x1a\nfigure"
    (report / "figures" / "a.png").write_bytes(png)
    (tmp_path / "secret.png").write_bytes(b"\x89PNG\r\n\x1a\n" + SECRET.encode())
    (tmp_path / "run" / "secret.png").write_bytes(b"\x89PNG\r\n\x1a\n" + SECRET.encode())
    (report / "study.png").write_bytes(b"\x89PNG\r\n\x1a\n" + SECRET.encode())  # in the report, not a figure
    (report / "figures" / "link.png").symlink_to(tmp_path / "secret.png")
    (report / "figures" / "sub").mkdir()
    (report / "figures" / "sub" / "b.png").write_bytes(png)
    read = []
    real = report_html.data_uri
    monkeypatch.setattr(report_html, "data_uri", lambda path: read.append(Path(path)) or real(path))
    links = ["../../secret.png", "../secret.png", "figures/../../secret.png", "figures/../study.png", "study.png",
             "figures/link.png", "figures/sub/b.png", str(tmp_path / "secret.png"), "%2e%2e/%2e%2e/secret.png",
             "figures/%2e%2e/%2e%2e/secret.png", "file:///" + str(tmp_path / "secret.png"),
             "figures\\..\\..\\secret.png"]
    page = markdown_html("\n\n".join(f"![{i}]({link})" for i, link in enumerate(links)) + "\n\n![ok](figures/a.png)",
                         report)
    assert read == [report / "figures" / "a.png"]
    assert base64.b64encode(b"\x89PNG\r\n\x1a\n" + SECRET.encode()).decode() not in page
    sources = re.findall(r'<img ([^>]*)>', page)
    assert len(sources) == len(links) and all("src=" not in attrs for attrs in sources[:-1]), sources  # file: is text
    assert 'src="data:image/png;base64,' in sources[-1]
