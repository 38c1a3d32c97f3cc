"""Figures are drawn again only when their data (or the code drawing them) changed."""

import os
import shutil
from collections import Counter

import pandas as pd
import pytest
from PIL import Image

from study.report import figures, write_report
from study.orchestrator import StudyResult
from study.spec import StudySpec
from tests.test_statistics import make_predictions, make_results


@pytest.fixture
def drawn(monkeypatch):
    """Counts the figures saved, by file name."""
    counts = Counter()
    real_save = figures.save_figure

    def counting_save(fig, path, *args):
        counts[path.name] += 1
        real_save(fig, path, *args)

    monkeypatch.setattr(figures, "save_figure", counting_save)
    return counts


def _write(results, out, cache_dir=None):
    # The report of the constructed tables: protocol, dataset sections and the statistics
    # section (no diagnostics tables, so no other figure).
    spec = StudySpec(datasets=tuple(pd.unique(results["dataset"])), models=tuple(pd.unique(results["model"])),
                     diagnostics=False, nested=True, cache_dir=cache_dir)
    return write_report(StudyResult(spec, results, make_predictions(), {}), out)


@pytest.fixture(scope="module")
def first_report(tmp_path_factory):
    """The report of :func:`make_results`, written once for the file into a new folder (so every
    figure drawn, in this process: fewer than ``figures.together_min``): its folder and the figures saved."""
    out = tmp_path_factory.mktemp("first") / "out"
    counts = Counter()
    real_save = figures.save_figure

    def counting_save(fig, path, *args):
        counts[path.name] += 1
        real_save(fig, path, *args)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(figures, "save_figure", counting_save)
        _write(make_results(), out)
    return out, counts


def _copy_of(first_report, out):
    """A copy of the first report in ``out`` (the previous report of a rerun)."""
    shutil.copytree(first_report[0], out, dirs_exist_ok=True)


def test_unchanged_rerun_draws_no_figure_and_keeps_the_files(tmp_path, first_report, drawn):
    results = make_results()
    _copy_of(first_report, tmp_path)
    pngs = sorted((tmp_path / "figures").glob("*.png"))
    first = {p.name: p.read_bytes() for p in pngs}
    assert set(first_report[1]) == set(first) and "critical_difference.png" in first and len(first) >= 5
    # the same content, built differently (another row order, then restored; a copy): same keys
    _write(results.sample(frac=1, random_state=0).sort_index().copy(), tmp_path)
    assert drawn == Counter()
    assert {p.name: p.read_bytes() for p in pngs} == first


def test_changed_scores_redraw_only_the_figures_that_show_them(tmp_path, first_report, drawn):
    results = make_results()
    _copy_of(first_report, tmp_path)
    datasets = sorted(results["dataset"].unique())
    changed = results.copy()
    mask = (changed["dataset"] == datasets[0]) & (changed["split"] == "train")
    changed.loc[mask, "score"] = changed.loc[mask, "score"] - 0.1  # train scores: not in the ranks
    _write(changed, tmp_path)
    assert set(drawn) == {f"scores_{datasets[0]}.png", f"gaps_{datasets[0]}.png"}


def test_a_figure_without_its_key_is_drawn_again(tmp_path, first_report, drawn):
    results = make_results()
    _copy_of(first_report, tmp_path)
    name = f"scores_{results['dataset'].iloc[0]}.png"
    other = f"gaps_{results['dataset'].iloc[0]}.png"
    (tmp_path / "figures" / name).write_bytes(b"not a png")
    (tmp_path / "figures" / other).unlink()
    _write(results, tmp_path)
    assert set(drawn) == {name, other}
    assert figures._stored_key(tmp_path / "figures" / name) is not None


def test_a_report_in_another_folder_copies_the_figures_kept_in_the_study_store(tmp_path, drawn):
    """The figures of a study with a cache are kept in its store: its report written into a new
    folder (another --out, a deleted report) draws none of them and holds the same files; an
    unreadable kept figure is drawn again (with a warning); without a cache every figure is drawn."""
    results, cache = make_results(), tmp_path / "cache"
    _write(results, tmp_path / "first", cache)
    names = sorted(p.name for p in (tmp_path / "first" / "figures").glob("*.png"))
    assert len(names) >= 5 and sorted(drawn) == names
    drawn.clear()
    _write(results, tmp_path / "second", cache)
    assert drawn == Counter()
    for name in names:
        first, second = (tmp_path / folder / "figures" / name for folder in ("first", "second"))
        assert second.read_bytes() == first.read_bytes()
    kept = sorted(cache.rglob("output.pkl"))
    assert len(kept) == len(names)
    kept[0].write_bytes(b"garbled")
    with pytest.warns(RuntimeWarning, match="unreadable stored result"):
        _write(results, tmp_path / "third", cache)
    assert sum(drawn.values()) == 1
    drawn.clear()
    _write(results, tmp_path / "fourth")  # no cache: nothing kept, nothing looked up
    assert sorted(drawn) == names


def test_figure_key_follows_content_and_code(tmp_path, monkeypatch):
    calls = []

    @figures.figure
    def draw(frame, label):
        calls.append(label)
        fig = figures.plt.figure()
        fig.gca().plot(frame["x"], frame["y"])
        return fig

    frame = pd.DataFrame({"x": [1, 2, 3], "y": [0.5, 0.25, 0.125]})
    path = tmp_path / "f.png"
    assert draw(frame, "a", path=path) == path and calls == ["a"]
    draw(frame[["x", "y"]].copy(), "a", path=path)  # equal content
    assert calls == ["a"]
    draw(frame, "b", path=path)  # another argument
    draw(frame.assign(y=frame["y"] * 2), "b", path=path)  # other data
    draw(frame.astype({"x": float}), "b", path=path)  # other dtype
    assert calls == ["a", "b", "b", "b"]
    monkeypatch.setattr(figures, "_drawing_code_version", lambda: "edited code")
    draw(frame.astype({"x": float}), "b", path=path)
    assert calls == ["a", "b", "b", "b", "b"]


@figures.figure
def _tiny_figure(label):
    fig = figures.plt.figure(figsize=(1, 1))
    fig.gca().set_title(label)
    return fig


@pytest.mark.parametrize("fewer", [True, False])
def test_figures_are_drawn_in_new_workers_only_from_together_min(tmp_path, fewer):
    """Starting workers to draw pays only from ``together_min`` figures: fewer are drawn here."""
    from study.workers import Workers

    count = figures.together_min(2) - fewer
    with Workers(2) as workers:
        with figures.drawing_together(workers):
            paths = [_tiny_figure(str(i), path=tmp_path / f"{i}.png") for i in range(count)]
        started = workers._pool is not None
    assert started is not fewer and all(path.exists() for path in paths)
    assert figures.together_min(1) > 10 ** 9 and figures.together_min(2) > figures.together_min(8) > 1


def test_figures_drawn_together_in_workers_are_the_figures_drawn_here(tmp_path, first_report, monkeypatch):
    results = make_results()
    _copy_of(first_report, tmp_path / "here")  # n_jobs=-1, but fewer figures than together_min: drawn here
    here = sorted((tmp_path / "here" / "figures").glob("*.png"))
    assert 1 < len(here) < figures.together_min(os.cpu_count())
    monkeypatch.setattr(figures, "WORKER_START_SECONDS", 0.0)  # now worth drawing in the workers
    _write(results, tmp_path / "workers")
    assert here and [p.name for p in here] == [p.name for p in sorted((tmp_path / "workers" / "figures").glob("*.png"))]
    for path in here:  # the same figure of the same inputs (pixels may differ by antialiasing)
        there = tmp_path / "workers" / "figures" / path.name
        assert figures._stored_key(there) == figures._stored_key(path) is not None
        with Image.open(path) as a, Image.open(there) as b:
            assert a.size == b.size
    assert (tmp_path / "workers" / "report.md").read_text() == (tmp_path / "here" / "report.md").read_text()


@pytest.mark.parametrize("text, expected", [
    ("RuntimeError: a | b", "RuntimeError: a \\| b"),
    ("a\\|b", "a\\\\\\|b"),  # an escaped pipe stays a pipe inside the cell
    ("line\n\x1b[31mred\x1b[0m\ttab", "line red tab"),
    ("C:\\data\\x.csv", "C:\\data\\x.csv"),  # a backslash before a letter is not an escape
    ("ends with \\", "ends with \\\\"),  # nor a line break
    ("TypeError: expected <class 'int'>, x < 3", "TypeError: expected &lt;class 'int'>, x < 3"),
])
def test_a_table_cell_is_one_line_and_cannot_break_the_table(text, expected):
    from study.report.format import cell, markdown_table

    assert cell(text) == expected
    table = markdown_table(["a", "b"], [[cell(text), "x"]]).splitlines()
    assert len(table) == 3 and _cell_borders(table[2]) == 3  # as GitHub splits a row: a backslash escapes


def _cell_borders(row: str) -> int:
    """Pipes that end a cell: those not escaped by a backslash (itself not escaped)."""
    borders, escaped = 0, False
    for char in row:
        borders += char == "|" and not escaped
        escaped = char == "\\" and not escaped
    return borders
