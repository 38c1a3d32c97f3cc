"""A time budget (``--time-budget``, ``study.budget``): durations, the predicted seconds, the order
of the reductions, the diagnostics on a subsample, and what the report says was reduced."""

import json
import math
from dataclasses import dataclass

import numpy as np
import pytest

from study.budget import (DIAGNOSTIC_ROWS, GROWTH, MARGIN, NESTED_FOLDS, STEPS, UNIT_FITS, FitSeconds, Planned,
                          Reductions, choose, duration_text, parse_duration)
from study.data import load_data
from study.experiments.base import FITTED, FROM_UNIT
from study.orchestrator import run_study
from study.report import write_report
from study.spec import StudySpec
from study.splits import make_splits


@pytest.mark.parametrize("text, seconds", [("10m", 600.0), ("90s", 90.0), ("1.5h", 5400.0), (" 2 M ", 120.0),
                                           ("600", 600.0), (600, 600.0), (0.5, 0.5), (".5m", 30.0)])
def test_durations_in_seconds(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "10 minutes", "-5m", "0", "0s", "1e3", "nan", float("inf"), float("nan"), True,
                                  -1, "10d", None, [10]])
def test_a_bad_duration_is_refused_with_the_expected_form(text):
    with pytest.raises(ValueError, match=r"^A time budget must be a positive duration such as 10m, 90s or 1.5h "
                                         r"\(s, m or h; a bare number is seconds\); got "):
        parse_duration(text)


def test_durations_in_words():
    assert [duration_text(s) for s in (4.4, 89, 600, 3599, 3900)] == ["4 s", "89 s", "10 min", "1 h 00 min", "1 h 05 min"]


def test_fit_seconds_are_linear_up_to_the_pilot_and_grow_beyond():
    fit = FitSeconds.from_pilot((500, 2000), (1.5, 3.0))  # 1 s + 1 ms per row
    assert fit.intercept == pytest.approx(1.0) and fit.per_row == pytest.approx(0.001) and fit.rows == 2000
    assert fit(1000) == pytest.approx(2.0)
    assert fit(20_000) == pytest.approx(1.0 + 0.001 * 2000 * 10 ** GROWTH)
    flat = FitSeconds.from_pilot((500, 2000), (2.0, 1.0))  # noise: the larger fit was faster
    assert flat.per_row == 0.0 and flat.intercept == 1.0 and flat(50_000) == 1.0


def _work(rows=40_000, subsample=4_000):
    """One dataset, a model with a unit, 5 nested folds and three diagnostics; 1 s per 1,000 rows."""
    return [Planned("d", "m", "unit", 10, rows, subsample)] + [
        Planned("d", "m", "nested", 6, rows * 4 // 5) for _ in range(5)] + [
        Planned("d", "m", name, 5, rows, subsample) for name in ("learning_curves", "validation_curves", "ablation")]


SECONDS = {("d", "m"): FitSeconds(0.0, 0.001, 100_000)}  # linear: no growth within 100,000 rows


def _choose(budget, elapsed=0.0, work=None):
    return choose(work or _work(), SECONDS, budget=budget, elapsed=elapsed, workers=2, n_folds={"d": 5})


def test_nothing_is_reduced_when_the_study_fits():
    # unit 400 s, nested 5 x 192 s, diagnostics 3 x 200 s: 1,960 s on 2 workers = 980 s
    chosen = _choose(budget=980 / MARGIN + 1)
    assert chosen.unreduced == pytest.approx(980) and chosen.steps == () and not chosen.over
    assert chosen.lines() == ["the whole study was predicted to take 16 min (from each model's fits timed on a "
                              "subsample, scaled to each work item's rows; 0 s of loading and timing included), "
                              "within the budget: nothing was reduced."]


@pytest.mark.parametrize("budget, steps, predicted", [
    (900, STEPS[:1], (400 + 960 + 3 * 20) / 2),                     # the diagnostics on 4,000 rows
    (620, STEPS[:2], (400 + 3 * 192 + 3 * 20) / 2),                 # nested CV on 3 outer folds
    (600, STEPS[:3], (400 + 3 * 192 + 2 * 20) / 2),                 # the ablation left out
    (500, STEPS[:4], 400.0),                                        # nested CV left out: the unit is the longest
])
def test_the_reductions_are_taken_in_order_until_the_prediction_fits(budget, steps, predicted):
    chosen = _choose(budget)
    assert chosen.steps == steps and chosen.predicted == pytest.approx(predicted) and not chosen.over
    assert chosen.predicted <= MARGIN * budget and chosen.unreduced == pytest.approx(980)
    assert chosen.diagnostic_rows == DIAGNOSTIC_ROWS
    assert chosen.nested_folds == (0 if STEPS[3] in steps else NESTED_FOLDS if STEPS[1] in steps else None)


def test_a_budget_below_the_main_comparison_leaves_out_everything_else_and_says_so():
    chosen = _choose(budget=100, elapsed=30)
    assert chosen.steps == STEPS and chosen.over and chosen.nested_folds == 0 and chosen.diagnostic_rows is None
    assert set(chosen.skipped) == {"learning_curves", "validation_curves", "ablation"}
    line, = chosen.lines()
    assert line.endswith("so nested CV was left out; every diagnostic was left out (still predicted at 7 min, "
                         "over the budget: the main comparison itself is not reduced)."), line
    assert "subsample of" not in line and "first 3 outer folds" not in line  # covered by the later steps


def test_a_study_of_units_alone_over_the_budget_says_it_is_over():
    chosen = _choose(budget=100, work=[Planned("d", "m", "unit", 10, 40_000)])
    assert chosen.steps == () and chosen.over
    assert chosen.lines()[0].endswith("(from each model's fits timed on a subsample, scaled to each work item's rows; "
                                      "0 s of loading and timing included), over the budget: only the main comparison "
                                      "runs, and it is not reduced."), chosen.lines()


def test_without_a_subsample_or_nested_cv_those_steps_are_not_taken():
    small = [Planned("d", "m", "unit", 10, 40_000)] + [Planned("d", "m", name, 5, 40_000)
                                                        for name in ("learning_curves", "ablation")]
    chosen = _choose(budget=300, work=small)  # unit 400 s, two diagnostics 200 s each: 400 s on 2 workers
    assert chosen.steps == (STEPS[2], STEPS[4]) and chosen.skipped == ("learning_curves", "ablation")


def test_a_subsample_keeps_each_folds_rows_on_their_side_stratified():
    data = load_data("breast_cancer")
    splits = make_splits(data, 5, 0.2, 0)
    y = data.y[splits.train]
    part = splits.subsample(150, y)
    assert part.whole is splits and len(part.train) == 150 and set(part.train) <= set(splits.train)
    assert np.array_equal(part.test, splits.test) and len(part.folds) == len(splits.folds)
    for (fit, val), (whole_fit, whole_val) in zip(part.folds, splits.folds):
        assert set(part.train[fit]) == set(part.train) & set(splits.train[whole_fit])
        assert set(part.train[val]) == set(part.train) & set(splits.train[whole_val])
    assert abs(np.mean(data.y[part.train]) - np.mean(y)) < 0.01  # stratified
    assert np.array_equal(splits.subsample(150, y).train, part.train)  # seeded
    grouped = make_splits(data, 5, 0.2, 0, kind="timeseries")
    for bad, rows in ((grouped, 150), (splits, len(splits.train)), (splits, 0)):
        with pytest.raises(ValueError, match="needs shuffled splits with more training rows"):
            bad.subsample(rows, y)


SMALL = dict(datasets=("breast_cancer",), models=("logistic_regression", "ridge"), quick=True, nested=True,
             diagnostics=True, cache_dir=None)
"""A study with nested CV and diagnostics, on the default workers."""


@pytest.fixture(scope="module")
def budgeted(tmp_path_factory, shared_workers):
    """A study whose budget put its diagnostics on 150 of breast cancer's 455 training rows and its
    nested CV on 3 outer folds (the choice fixed here: a pilot's seconds vary), and its report."""
    chosen = Reductions(budget=600.0, diagnostic_rows=150, nested_folds=NESTED_FOLDS, steps=STEPS[:2],
                        predicted=500.0, unreduced=900.0, elapsed=5.0)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("study.orchestrator._reductions", lambda plan, workers, started: chosen)
        result = run_study(StudySpec(**SMALL, time_budget="10m"), progress=False, workers=shared_workers)
    folder = tmp_path_factory.mktemp("budget") / "report"
    write_report(result, folder, workers=shared_workers)
    return result, folder


def test_the_diagnostics_fit_on_the_subsample_and_the_learning_curve_ends_with_the_units_fits(budgeted):
    result, _ = budgeted
    curves = result.tables["learning_curves"]
    whole = 455 * 4 // 5  # a fold's fitting rows of the training part (the subsample has 150 rows in all)
    assert set(curves["model"]) == {"logistic_regression", "ridge"}
    from_unit = curves[curves["source"] == FROM_UNIT]
    assert set(from_unit["train_size"]) == {whole} and set(from_unit["train_fraction"]) == {1.0}
    fitted = curves[curves["source"] == FITTED]
    assert fitted["train_size"].max() < 150 and math.isclose(fitted["train_fraction"].max(),
                                                                   fitted["train_size"].max() / whole)
    validation = result.tables["validation_curves"]
    assert not validation.empty and set(validation["source"]) == {FITTED}  # the unit's fits are on other rows


def test_nested_cv_runs_on_the_first_outer_folds_and_the_units_on_all(budgeted):
    result, _ = budgeted
    rows = result.results
    assert set(rows.loc[rows["split"] == "nested", "fold"]) == set(range(NESTED_FOLDS))
    assert set(rows.loc[rows["split"] == "validation", "fold"]) == set(range(5))


def test_the_report_and_study_json_say_what_the_budget_reduced(budgeted):
    result, folder = budgeted
    expected = ("the whole study was predicted to take 15 min (from each model's fits timed on a subsample, "
                "scaled to each work item's rows; 5 s of loading and timing included); so the diagnostics "
                "were fitted on a stratified subsample of 150 training rows (datasets with more; the learning "
                "curve's last point is the unit's own fits on the whole folds); nested CV ran on the first 3 outer "
                "folds only (predicted then at 8 min).")
    assert result.budget["lines"] == [expected]
    assert f"- **time budget 10 min**: {expected}" in (folder / "report.md").read_text()
    saved = json.loads((folder / "study.json").read_text())
    assert saved["time_budget"] == "10m" and saved["budget"]["steps"] == list(STEPS[:2])
    assert saved["budget"]["nested_folds"] == 3 and saved["budget"]["diagnostic_rows"] == 150


def test_a_budget_below_what_anything_takes_keeps_the_main_comparison_and_says_it_is_over(default_workers_lent):
    result = run_study(StudySpec(datasets=("wine",), models=("ridge",), quick=True, nested=True, diagnostics=True,
                                 cache_dir=None, time_budget="0.01s"), progress=False)
    assert result.budget["steps"][-2:] == list(STEPS[3:]) and "over the budget" in result.budget["lines"][0]
    assert set(result.budget["fit_seconds"]) == {"wine / ridge", "wine / dummy"}
    assert "nested" not in set(result.results["split"]) and result.tables["learning_curves"].empty
    assert set(result.results.loc[result.results["split"] == "test", "model"]) == {"ridge", "dummy"}


def test_a_budget_that_fits_changes_nothing(tmp_path, default_workers_lent):
    spec = StudySpec(datasets=("wine",), models=("ridge",), quick=True, nested=True, diagnostics=True,
                     cache_dir=tmp_path / "cache")
    plain = run_study(spec, progress=False)
    roomy = run_study(StudySpec(**{**spec.__dict__, "time_budget": "10h"}), progress=False)
    assert roomy.budget["steps"] == [] and plain.budget == {}
    assert plain.results.drop(columns="fit_time").equals(roomy.results.drop(columns="fit_time"))
    for name in ("learning_curves", "validation_curves"):
        assert plain.tables[name].equals(roomy.tables[name])


@pytest.mark.parametrize("value, joined", [("10x", True), ("0", True), ("-5m", True), ("", True), ("-5m", False),
                                           ("-90", False)])
def test_the_command_refuses_a_bad_budget_before_training(tmp_path, capsys, value, joined):
    """``--time-budget=VALUE`` and ``--time-budget VALUE`` alike, a negative value too (which argparse
    would take for an option)."""
    from study.run import main

    budget = [f"--time-budget={value}"] if joined else ["--time-budget", value]
    assert main(["--datasets", "wine", "--models", "ridge", *budget, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "A time budget must be a positive duration such as 10m" in err, err
    assert f"got {value!r}" in err and not (tmp_path / "o").exists()


@pytest.mark.parametrize("line, found", [("time_budget = true", "time_budget must be a duration such as '10m' or a number of "
                                                               "seconds; got True (bool)"),
                                         ("time_budget = -1", "got -1"), ("time_budget = '5 days'", "got '5 days'")])
def test_a_bad_toml_budget_is_refused(tmp_path, capsys, line, found):
    from study.run import main

    path = tmp_path / "study.toml"
    path.write_text(f"datasets = ['wine']\nmodels = ['ridge']\n{line}\n")
    assert main(["--config", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and found in err, err


def test_a_toml_budget_reaches_the_spec(tmp_path):
    from study.config import load_config

    for text, seconds in (("'10m'", 600.0), ("90", 90.0), ("1.5", 1.5)):
        path = tmp_path / "study.toml"
        path.write_text(f"time_budget = {text}\n")
        assert load_config(path).budget_seconds == seconds



class Clock:
    """A clock the test moves."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_a_deadline_refuses_what_would_end_after_it_and_keeps_its_label():
    from study.budget import REPORT_SECONDS, Deadline

    clock = Clock()
    deadline = Deadline(started=0.0, budget=100.0 + REPORT_SECONDS, clock=clock)
    item = type("Item", (), {"label": "d / m / learning_curves"})()
    assert deadline.allows(item, None) and deadline.allows(item, 100.0)
    clock.now = 60.0
    assert deadline.allows(item, 40.0) and not deadline.allows(item, 41.0)
    assert deadline.left_out == ["d / m / learning_curves"]


def _sleep(seconds):
    import time

    time.sleep(seconds)
    return seconds


@dataclass(frozen=True)
class Seconds:
    """The arguments of ``_sleep``."""

    seconds: float


def test_work_predicted_to_end_after_the_deadline_is_not_started_and_nothing_follows_it():
    """In this process (n_jobs=1: a fixed order): the unit is computed first and measured (0.2 s for
    cost 1); the experiment after it, 50 times its cost, would end past the deadline; the data
    checks (the main comparison's) start whatever the time."""
    import time

    from study.budget import REPORT_SECONDS, Deadline
    from study.execution import WorkItem, execute
    from study.records import WorkKind
    from study.store import Store

    unit = WorkItem("d / m", WorkKind.UNIT, "d", "m", 1.0, 1, _sleep, Seconds(0.2))
    checks = WorkItem("d / data checks", WorkKind.DATA_CHECKS, "d", "", 0.5, 0, _sleep, Seconds(0.0))
    later = WorkItem("d / m / learning_curves", WorkKind.EXPERIMENT, "d", "m", 50.0, 5, _sleep, Seconds(0.0),
                     experiment="learning_curves")
    small = WorkItem("d / m / histories", WorkKind.EXPERIMENT, "d", "m", 0.01, 1, _sleep, Seconds(0.0),
                     experiment="histories")
    followed = []

    def follow_up(outcome):
        followed.append(outcome.item.label)
        return [later, small] if outcome.item is unit else []

    deadline = Deadline(time.monotonic(), REPORT_SECONDS + 3.0)  # 3 s: the experiment needs about 10
    outcomes = execute([unit, checks], store=Store(None), n_jobs=1, follow_up=follow_up, progress=False,
                       deadline=deadline)
    assert [o.item.label for o in outcomes] == ["d / m", "d / data checks", "d / m / histories"]
    assert deadline.left_out == ["d / m / learning_curves"] and "d / m / learning_curves" not in followed


def test_the_report_line_names_the_work_left_out_when_the_time_ran_out():
    line, = Reductions(budget=600.0, unreduced=100.0, left_out=("d / m / ablation", "d / m / histories")).lines()
    assert line.endswith("nothing was reduced. When the time ran out, 2 work item(s) were not started: "
                         "d / m / ablation, d / m / histories."), line


def test_a_remedy_from_validation_curves_on_the_subsample_says_so(budgeted):
    from study.statistics.verdicts import _on_subsample

    note = "(validation curves on a 5,000-row subsample of the training part: the time budget's)"
    cited = "regularize more: C 1 -> 0.1 (gap 0.20 -> 0.01, CV -0.001) closes the gap (validation curve)"
    assert _on_subsample(cited, 5000) == f"{cited} {note}"
    assert _on_subsample("no setting of alpha closes it; a simpler model", 5000).endswith(note)
    assert _on_subsample("a more flexible model or better features", 5000) == "a more flexible model or better features"
    assert _on_subsample(cited, None) == cited
    result, _ = budgeted
    for remedy in result.tables["verdicts"]["remedy"]:
        cites = "validation curve" in remedy.replace("validation curves on a", "") or "no setting of" in remedy
        assert remedy.endswith("subsample of the training part: the time budget's)") == cites, remedy


def test_a_hostile_name_in_the_budget_line_is_escaped_where_the_report_writes_it():
    from study.report.format import escape
    from study.report.overview import _budget_notes

    label = "<img src=x onerror=alert(1)> / **m** / ablation"
    line, = Reductions(budget=60.0, left_out=(label,)).lines()
    written = _budget_notes({"budget_seconds": 60.0, "lines": [line]})
    assert "<img" not in written and escape(label) in written and written.startswith("\n- **time budget 60 s**: ")


def test_a_learning_curve_from_the_subsample_to_the_units_rows_is_drawn_on_a_log_axis(budgeted):
    from study.report.learning_validation import _learning_curves_figure

    result, _ = budgeted
    curves = result.tables["learning_curves"]  # quick sizes of a 150-row subsample, then 364 rows: < 20 times

    def scales(block):
        return {ax.get_xscale() for ax in _learning_curves_figure.__wrapped__(block, "d").axes if ax.get_title()}

    assert scales(curves) == {"linear"}
    larger = curves.assign(train_size=np.where(curves["source"] == FROM_UNIT, 40_000, curves["train_size"]))
    assert scales(larger) == {"log"}  # as on a 50,000-row table: 400 to 4,000 rows, then 40,000


def test_each_units_rate_for_the_time_left_is_its_pilots_prediction_over_its_cost():
    """Plan.unit_rates: a unit's predicted seconds (its fits, UNIT_FITS each, times one fit's
    pilot-predicted seconds) per cost unit, so the progress bar's time left starts from the pilot
    (study.remaining); nothing without a budget."""
    from study.orchestrator import prepare
    from study.plan import Plan

    spec, models, datasets = prepare(StudySpec(datasets=("wine",), models=("ridge", "random_forest"), quick=True,
                                               cache_dir=None, time_budget="10m"), None)
    plan = Plan(spec, models, datasets, search_n_jobs=1)
    assert plan.unit_rates(plan.initial()) == {}
    per_fit = {"wine / ridge": 0.01, "wine / random_forest": 0.2, "wine / dummy": 0.001}
    plan.reduce(Reductions(budget=600.0, fit_seconds=per_fit))
    units = [item for item in plan.initial() if item.work == "unit"]
    rates = plan.unit_rates(plan.initial())
    assert set(rates) == {("wine", "ridge"), ("wine", "random_forest"), ("wine", "dummy")}
    for item in units:
        predicted = item.fits * UNIT_FITS * per_fit[f"wine / {item.model}"]
        assert rates[item.dataset, item.model] * item.cost == pytest.approx(predicted)
