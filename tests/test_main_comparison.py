"""The main comparison first (``run_study(on_main_comparison=)``; the command line writes it as the
report while nested CV and the diagnostics run, then replaces it): what it holds, what it says is
still running, and that a Ctrl-C after it leaves it in place."""

import json

import pytest

from study.orchestrator import run_study
from study.report import write_report
from study.spec import StudySpec

SPEC = dict(datasets=("wine",), models=("ridge",), quick=True, nested=True, diagnostics=True, n_jobs=1)
"""A small study with nested CV and diagnostics (a quick study has neither unless asked), in this
process: its order is then fixed (on workers, so small a study may finish its nested CV and
diagnostics before its last unit, and then nothing is left to hand over first; the workers' case
is tests/test_execution.py's)."""


@pytest.fixture(scope="module")
def first_and_final(tmp_path_factory):
    """(the result handed over first, the folder it was written to, the final result)."""
    folder = tmp_path_factory.mktemp("first")
    handed = []

    def first(result):
        handed.append(result)
        write_report(result, folder / "report")

    final = run_study(StudySpec(**SPEC, cache_dir=None), progress=False, on_main_comparison=first)
    assert len(handed) == 1
    return handed[0], folder / "report", final


def test_the_main_comparison_holds_the_units_scores_and_names_what_still_runs(first_and_final):
    first, _, final = first_and_final
    assert first.pending == ("nested CV", "diagnostics") and final.pending == ()
    splits = set(first.results["split"])
    assert "nested" not in splits and "nested" in set(final.results["split"])
    same = final.results[final.results["split"].isin(splits)].reset_index(drop=True)
    assert first.results.equals(same)  # the units' rows as the final table has them
    assert first.tables["learning_curves"].empty and not final.tables["learning_curves"].empty
    assert set(first.models) == set(final.models) and not first.tables["data_checks"].empty


def test_the_first_report_says_it_is_the_main_comparison(first_and_final):
    _, folder, _ = first_and_final
    report = (folder / "report.md").read_text()
    assert "**The main comparison, written first: nested CV and diagnostics still running.**" in report
    assert "## At a glance" in report and "## Learning curves" not in report, report[:3000]
    assert json.loads((folder / "study.json").read_text())["pending"] == ["nested CV", "diagnostics"]
    assert "still running" in (folder / "report.html").read_text()


def test_the_final_report_has_everything_and_no_mark(first_and_final, tmp_path):
    *_, final = first_and_final
    report = write_report(final, tmp_path / "final").read_text()
    assert "written first" not in report and "## Learning curves" in report
    assert "pending" not in json.loads((tmp_path / "final" / "study.json").read_text())


def test_a_ctrl_c_after_the_first_report_leaves_it(run_cli, tmp_path, monkeypatch):
    import study.run

    writer = study.run._first_report

    def then_ctrl_c(out, write):
        first = writer(out, write)

        def write_and_interrupt(result):
            first(result)
            raise KeyboardInterrupt

        return write_and_interrupt

    monkeypatch.setattr(study.run, "_first_report", then_ctrl_c)
    out = tmp_path / "out"
    status, stdout, err = run_cli("--datasets", "wine", "--models", "ridge", "--quick", "--nested", "--no-cache",
                                  "--n-jobs", "1", "--out", out)  # in order (SPEC)
    assert status == 130, err
    assert stdout == f"wrote {out / 'report.md'}: the main comparison (nested CV still running)\n", stdout
    assert json.loads((out / "study.json").read_text())["pending"] == ["nested CV"]
    assert "written first: nested CV still running" in (out / "report.md").read_text()
