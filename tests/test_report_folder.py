"""The report folder is replaced as a whole (study/folders.py, study/folder_swap.py, write_report): never a mix of
two reports, never a user's file touched, repaired after a killed run."""

import os
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import study.report
from study import folder_swap, folders
from study.folders import FolderInUse, holding, report_lock_file
from study.report import write_report
from study.orchestrator import StudyResult
from study.spec import InputError, StudySpec
from tests.test_statistics import make_predictions, make_results


def _result(datasets=("d1", "d2"), results=None):
    results = make_results() if results is None else results
    results = results[results["dataset"].isin(datasets)].reset_index(drop=True)
    predictions = make_predictions()
    spec = StudySpec(datasets=tuple(datasets), models=tuple(pd.unique(results["model"])), diagnostics=False,
                     nested=True, cache_dir=None)
    return StudyResult(spec, results, predictions[predictions["dataset"].isin(datasets)], {})


def _snapshot(path):
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def _siblings(out):
    """What lies beside ``out`` but its lock file and the reference reports."""
    return sorted(p.name for p in out.parent.iterdir() if p.name not in (out.name, f".{out.name}.lock", "refs"))


@pytest.fixture(scope="module")
def references(tmp_path_factory):
    """Two different reports (both datasets; d1 only), written once for the file: their folders."""
    refs = tmp_path_factory.mktemp("refs")
    write_report(_result(), refs / "both")
    write_report(_result(("d1",)), refs / "d1")
    return refs / "both", refs / "d1"


@pytest.fixture
def two_reports(references):
    """The snapshots of the two :func:`references` reports."""
    return tuple(_snapshot(folder) for folder in references)


def _old_report(references, out, which=0):
    """A copy of a reference report (0: both datasets, 1: d1 only) as the previous report in ``out``."""
    shutil.copytree(references[which], out)


def test_a_new_report_replaces_every_file_of_the_old_one(tmp_path, two_reports):
    both, d1 = two_reports
    out = tmp_path / "parent" / "out"
    assert write_report(_result(), out) == out / "report.md"
    assert _snapshot(out) == both and "figures/scores_d2.png" in both
    write_report(_result(("d1",)), out)
    assert _snapshot(out) == d1  # d2's figures, sections and rows are gone
    assert _siblings(out) == []


@pytest.mark.skipif(folder_swap._renameat2() is None, reason="renameat2 is Linux (glibc >= 2.28) only")
def test_on_linux_the_swap_is_one_atomic_exchange(tmp_path, references, two_reports, monkeypatch):
    first, second = tmp_path / "a", tmp_path / "b"
    (first / "sub").mkdir(parents=True)
    second.mkdir()
    (first / "sub" / "x").write_text("a")
    (second / "y").write_text("b")
    assert folder_swap._exchange(first, second)
    assert _snapshot(first) == {"y": b"b"} and _snapshot(second) == {"sub/x": b"a"}
    out = tmp_path / "out"
    _old_report(references, out)

    def no_rename(*args):
        raise AssertionError("renamed instead of exchanged")

    monkeypatch.setattr(os, "rename", no_rename)
    write_report(_result(("d1",)), out)
    assert _snapshot(out) == two_reports[1] and _siblings(out) == ["a", "b"]


def test_without_the_exchange_the_old_report_is_renamed_aside(tmp_path, references, two_reports, monkeypatch):
    out = tmp_path / "out"
    _old_report(references, out)
    monkeypatch.setattr(folder_swap, "_exchange", lambda first, second: False)
    renames, real_rename = [], os.rename

    def recorded(source, target):
        renames.append((os.path.basename(source), os.path.basename(target)))
        real_rename(source, target)

    monkeypatch.setattr(os, "rename", recorded)
    write_report(_result(("d1",)), out)
    assert _snapshot(out) == two_reports[1] and _siblings(out) == []
    [(_, aside), (staged, _)] = renames
    assert renames == [("out", aside), (staged, "out")]
    assert aside.startswith(".out.old-") and staged == ".out.tmp-" + aside.removeprefix(".out.old-")


def test_a_failed_swap_leaves_the_old_report(tmp_path, references, two_reports, monkeypatch):
    out = tmp_path / "out"
    _old_report(references, out)
    monkeypatch.setattr(folder_swap, "_exchange", lambda first, second: False)
    real_rename, calls = os.rename, []

    def second_fails(source, target):
        calls.append(source)
        if len(calls) == 2:
            raise OSError(5, "Input/output error")
        real_rename(source, target)

    monkeypatch.setattr(os, "rename", second_fails)
    with pytest.raises(OSError, match="Input/output error"):
        write_report(_result(("d1",)), out)
    assert _snapshot(out) == two_reports[0] and _siblings(out) == []


def test_a_report_that_fails_midway_leaves_the_old_one(tmp_path, references, two_reports, monkeypatch):
    out = tmp_path / "out"
    _old_report(references, out)

    def broken(tables, fig_dir):
        raise RuntimeError("a section failed")

    monkeypatch.setattr(study.report, "failures_section", broken)
    with pytest.raises(RuntimeError, match="a section failed"):
        write_report(_result(("d1",)), out)
    assert _snapshot(out) == two_reports[0] and _siblings(out) == []


@pytest.mark.parametrize("staged_complete", [True, False])
def test_the_next_run_repairs_a_kill_between_the_two_renames(tmp_path, references, two_reports, staged_complete):
    out = tmp_path / "out"
    _old_report(references, out)
    _old_report(references, tmp_path / "refs" / "new", 1)  # the new report, staged
    if not staged_complete:
        (tmp_path / "refs" / "new" / "report.md").unlink()  # written last: that run was killed before its swap
    os.rename(out, tmp_path / ".out.old-0123abcd")  # killed here, after the first rename
    os.rename(tmp_path / "refs" / "new", tmp_path / ".out.tmp-0123abcd")
    folders.recover(out)
    assert _snapshot(out) == two_reports[1 if staged_complete else 0]
    assert _siblings(out) == []


def test_leftovers_of_killed_runs_are_removed_and_nothing_else(tmp_path, references):
    out = tmp_path / "out"
    _old_report(references, out)
    for name in (".out.tmp-deadbeef", ".out.old-0badf00d", ".other.tmp-deadbeef", ".out.tmp-DEADBEEF",
                 "out.tmp-deadbeef", ".out.tmp-deadbeef0"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "report.md").write_text("x")
    (tmp_path / ".out.old-12345678").write_text("a file, not a folder")
    before = _snapshot(out)
    write_report(_result(), out)
    assert _snapshot(out) == before
    assert _siblings(out) == [".other.tmp-deadbeef", ".out.old-12345678", ".out.tmp-DEADBEEF",
                              ".out.tmp-deadbeef0", "out.tmp-deadbeef"]


@pytest.mark.parametrize("entries, named", [
    ({"notes.txt": "mine"}, "'notes.txt', which this tool does not write"),
    ({"report.md": "", "study.json": "", "data.csv": ""}, "'data.csv', which this tool does not write"),
    ({"report.md": "", "study.json": "", "figures/old/a.png": ""}, "'figures', which this tool does not write"),
    ({"report.md": "", "study.json": "", "figures/notes.txt": ""}, "'figures', which this tool does not write"),
    ({"results.csv": "", "figures/a.png": ""}, "'figures' but not both report.md and study.json"),
    ({".bashrc": ""}, "'.bashrc', which this tool does not write"),
])
def test_a_folder_this_tool_did_not_write_is_refused_and_left_alone(tmp_path, entries, named):
    out = tmp_path / "home"
    for name, text in entries.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text(text)
    before = _snapshot(out)
    with pytest.raises(InputError, match=f"The report folder {out} holds {named}.*so it must be new, empty, or a "
                                         "previous report of this tool; choose another output folder"):
        write_report(_result(), out)
    assert _snapshot(out) == before and _siblings(out) == []


def test_a_symlink_or_a_hidden_file_is_not_a_report_file(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / ".DS_Store").write_text("a file browser's")  # allowed: every folder a browser shows has one
    write_report(_result(("d1",)), out)  # a folder holding only that is empty
    (out / ".write-probe-x1y2z3").write_text("")  # a killed check's probe file
    write_report(_result(("d1",)), out)
    assert not (out / ".DS_Store").exists() and not (out / ".write-probe-x1y2z3").exists()
    (tmp_path / "mine.csv").write_text("keep me")
    (out / "results.csv").unlink()
    (out / "results.csv").symlink_to(tmp_path / "mine.csv")
    with pytest.raises(InputError, match="holds 'results.csv', which this tool does not write"):
        write_report(_result(("d1",)), out)
    assert (tmp_path / "mine.csv").read_text() == "keep me"


def test_bad_paths_are_refused(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match=f"The report folder {tmp_path / 'file'} is a file; expected a folder"):
        write_report(_result(), tmp_path / "file")
    with pytest.raises(InputError, match=f"cannot be created: {tmp_path / 'file'} is a file, not a folder"):
        write_report(_result(), tmp_path / "file" / "out")
    with pytest.raises(InputError, match="is an empty path, which would mean the current folder"):
        write_report(_result(), "")
    assert (tmp_path / "file").read_text() == "x"


# A process: it holds the report folder's lock while this one waits for it (locks between processes).
def test_write_report_waits_for_another_process_then_names_the_folder(tmp_path, references, two_reports, monkeypatch):
    out = tmp_path / "out"
    _old_report(references, out)
    lock = report_lock_file(out.resolve())
    code = (f"import sys; from filelock import FileLock\nlock = FileLock({str(lock)!r})\nlock.acquire()\n"
            "print('held', flush=True)\nsys.stdin.read()")  # held until this test kills it
    holder = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        monkeypatch.setattr(study.report, "LOCK_WAIT", 0.3)
        with pytest.raises(FolderInUse, match=rf"The report folder {out} is in use by another study \(waited "
                                              rf"0\.3 s for {lock}\); write the report when it has finished"):
            write_report(_result(("d1",)), out)
    finally:
        holder.kill()
        holder.wait()
    assert _snapshot(out) == two_reports[0]
    write_report(_result(("d1",)), out)  # released when its process ended
    assert _snapshot(out) == two_reports[1]


def test_the_lock_held_by_this_process_is_taken_again(tmp_path, references, two_reports):
    """The command line holds the report folder's lock while write_report takes it too."""
    out = tmp_path / "out"
    _old_report(references, out)
    with holding(report_lock_file(out), "in use"), holding(report_lock_file(out), "in use"):
        write_report(_result(("d1",)), out)
    assert _snapshot(out) == two_reports[1]


@pytest.mark.parametrize("status", ["failed", "ok"])
def test_a_study_where_nothing_scored_still_has_a_report(tmp_path, status):
    """Every unit failed, or every score is missing: the protocol, the table of the units and the
    failures, without the sections that need scores."""
    results = make_results()
    results["score"] = np.nan
    results["status"] = status
    results["error"] = "RuntimeError: cannot fit\n\x1b[31mcolour | pipe\x1b[0m" if status == "failed" else ""
    failures = pd.DataFrame({"dataset": ["d1"], "model": ["logistic_regression"], "work": ["unit"],
                             "error": ["RuntimeError: cannot fit\n\x1b[31mcolour | pipe\x1b[0m"]})
    result = StudyResult(_result().spec, results, make_predictions().iloc[:0], {"failures": failures})
    report = write_report(result, tmp_path / "out").read_text()
    assert "## Protocol" in report and "## d1" in report and "## Failures" in report
    assert "## Statistical comparison" not in report
    assert "- unit of logistic_regression on d1: RuntimeError: cannot fit colour \\| pipe\n" in report
    if status == "failed":
        assert "| logistic_regression | scikit-learn | FAILED: RuntimeError: cannot fit colour \\| pipe |" in report
    assert "\x1b" not in report


def test_a_file_that_cannot_be_written_leaves_no_temporary_file_and_the_old_one(tmp_path, monkeypatch):
    import errno

    from study import atomic_files as files

    path = tmp_path / "report.md"
    files.atomic_write_text(path, "old")

    def full_disk(source, target):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(files.os, "replace", full_disk)
    with pytest.raises(OSError, match="No space left on device"):
        files.atomic_write_text(path, "new")
    assert path.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["report.md"]


def test_write_report_writes_into_a_held_folder_without_opening_it_again(tmp_path, references, two_reports,
                                                                          monkeypatch):
    """The command line hands write_report the folder it checked and locked; a released one is opened again."""
    out = tmp_path / "out"
    _old_report(references, out, 1)

    def opened_again(*args, **kwargs):
        raise AssertionError("the held folder was checked and locked again")

    with folders.study_folders(out, None) as held:
        monkeypatch.setattr(study.report, "report_folder", opened_again)
        assert write_report(_result(("d1",)), held) == out / "report.md"
    assert _snapshot(out) == two_reports[1] and not held.held
    with pytest.raises(RuntimeError, match=f"The report folder {out} was released"):
        with held.replacing():
            pass
    monkeypatch.undo()
    assert write_report(_result(), held) == out / "report.md"  # released: opened again, by its path
    assert _snapshot(out) == two_reports[0] and _siblings(out) == []


# A process (one new interpreter, shared: tests.test_cli.fresh_interpreter): a clean sys.modules.
def test_the_folder_service_imports_nothing_heavy():
    """Its refusals cost no plotting, statistics or TensorFlow import (a process: a clean sys.modules)."""
    from tests.test_cli import fresh_interpreter

    heavy = {"seaborn", "matplotlib", "scipy", "tensorflow", "study.report"}
    modules = fresh_interpreter()["steps"]["folders"]["modules"]
    assert sorted(name for name in modules if name in heavy or name.split(".")[0] in heavy) == []
