"""The runner: the store decides what is refit, metrics are checked before training, failures recorded.

Fits are counted in a log file written by ``tests.helpers.CountingClassifier`` from whichever
process fits it; every study here runs with the default ``n_jobs`` (all cores) and the cache on,
on the test process's shared default workers (conftest ``shared_workers``).
"""

import os
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier

from backends.custom import register_model, sklearn_model, unregister_model
from study.orchestrator import run_study
from study.spec import DataSource, InputError, StudySpec
from tests.helpers import CountingClassifier, fits


class Broken(ClassifierMixin, BaseEstimator):
    """Fails to fit while ``flag`` names an existing file."""

    def __init__(self, flag=""):
        self.flag = flag

    def fit(self, X, y):
        if os.path.exists(self.flag):
            raise RuntimeError("transient")
        self.model_ = LogisticRegression().fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict(self, X):
        return self.model_.predict(X)


@pytest.fixture
def log(tmp_path):
    return str(tmp_path / "fits.log")


def _counting(log, tag, inner):
    return sklearn_model(tag, CountingClassifier(log=log, inner=inner, tag=tag))


def _spec(tmp_path, models, **changes):
    base = dict(datasets=("wine", "iris"), models=models, cv=3, quick=True, cache_dir=tmp_path / "cache",
                diagnostics=False)
    return StudySpec(**{**base, **changes})


def test_cached_rerun_fits_nothing_and_gives_the_same_table(tmp_path, log, shared_workers):
    models = (_counting(log, "knn", KNeighborsClassifier()), _counting(log, "lr", LogisticRegression()))
    first = run_study(_spec(tmp_path, models), progress=False, workers=shared_workers)
    assert fits(log) == {"knn": 2 * (3 + 1), "lr": 2 * (3 + 1)}  # 2 datasets x (3 folds + refit)
    os.remove(log)
    second = run_study(_spec(tmp_path, models), progress=False, workers=shared_workers)
    assert fits(log) == {}
    assert first.results.equals(second.results) and first.predictions.equals(second.predictions)


def test_changing_one_grid_refits_only_that_model(tmp_path, log, shared_workers):
    models = (_counting(log, "knn", KNeighborsClassifier()), _counting(log, "lr", LogisticRegression()))
    run_study(_spec(tmp_path, models), progress=False, workers=shared_workers)
    os.remove(log)
    run_study(_spec(tmp_path, models, grids={"knn": {"inner__n_neighbors": [3, 7]}}), progress=False,
              workers=shared_workers)
    assert fits(log) == {"knn": 2 * (2 * 3 + 1)}  # 2 datasets x (2 candidates x 3 folds + refit)


def test_reregistering_a_name_refits_exactly_that_model_with_the_new_scores(tmp_path, log, shared_workers):
    register_model("mine", CountingClassifier(log=log, inner=KNeighborsClassifier(), tag="mine"))
    register_model("other", CountingClassifier(log=log, inner=LogisticRegression(), tag="other"))
    try:
        spec = _spec(tmp_path, ("mine", "other"), datasets=("wine",))
        first = run_study(spec, progress=False, workers=shared_workers)
        os.remove(log)
        register_model("mine", CountingClassifier(log=log, inner=DummyClassifier(), tag="mine"))
        second = run_study(spec, progress=False, workers=shared_workers)
    finally:
        unregister_model("mine")
        unregister_model("other")
    assert fits(log) == {"mine": 3 + 1}

    def test_score(result, model):
        r = result.results
        return r[(r["model"] == model) & (r["split"] == "test") & (r["metric"] == "accuracy")]["score"].item()

    assert test_score(first, "mine") > 0.6
    assert test_score(second, "mine") == pytest.approx(0.389, abs=0.001)  # the majority class of wine's test split
    assert test_score(second, "other") == test_score(first, "other")


def test_failed_units_are_recorded_and_not_stored(tmp_path, shared_workers):
    flag = tmp_path / "broken"
    flag.touch()
    model = sklearn_model("flaky", Broken(flag=str(flag)))
    spec = _spec(tmp_path, (model, "ridge"), datasets=("wine",))
    with pytest.warns(RuntimeWarning, match="wine / flaky failed: RuntimeError: transient"):
        failed = run_study(spec, progress=False, workers=shared_workers)
    rows = failed.results[failed.results["model"] == "flaky"]
    assert rows[["status", "error"]].values.tolist() == [["failed", "RuntimeError: transient"]]
    assert failed.tables["failures"].values.tolist() == [["wine", "flaky", "unit", "RuntimeError: transient"]]
    assert (failed.results.loc[failed.results["model"] == "ridge", "status"] == "ok").all()
    flag.unlink()
    ok = run_study(spec, progress=False, workers=shared_workers)
    assert (ok.results["status"] == "ok").all() and ok.tables["failures"].empty


@pytest.mark.parametrize("changes, message", [
    (dict(datasets=("iris",), metrics=("r2",)),
     "Metric 'r2' is a regression metric, but dataset 'iris' is a classification task; use classification "
     "metrics such as accuracy, balanced_accuracy."),
    (dict(datasets=("diabetes",), metrics=("accuracy",)),
     "Metric 'accuracy' is a classification metric, but dataset 'diabetes' is a regression task; use regression "
     "metrics such as r2, neg_root_mean_squared_error."),
    (dict(datasets=("iris",), metrics=("roc_auc",)), "Metric 'roc_auc' cannot score dataset 'iris' ("),
    (dict(datasets=("wine",), metrics=("accuracy", "accuracy")),
     "Metric(s) ['accuracy'] are named more than once in ['accuracy', 'accuracy']; name each metric once."),
    (dict(datasets=("wine",), metrics=("adjusted_rand_score",)),
     "Metric 'adjusted_rand_score' is a clustering metric, but dataset 'wine' is a classification task"),
])
def test_metrics_that_cannot_score_the_data_are_refused_before_training(tmp_path, log, changes, message):
    model = _counting(log, "knn", KNeighborsClassifier())
    with pytest.raises(InputError) as info:
        run_study(_spec(tmp_path, (model,), **changes), progress=False)
    assert message in str(info.value) and "\n" not in str(info.value)
    assert fits(log) == {}


def test_binary_only_metric_on_string_labels_says_what_to_use(tmp_path):
    frame = pd.DataFrame({"x": np.arange(40.0), "label": ["yes", "no"] * 20})
    spec = _spec(tmp_path, ("ridge",), datasets=(DataSource(frame, target="label", name="yn"),), metrics=("f1",))
    with pytest.raises(InputError, match=r"Metric 'f1' cannot score dataset 'yn' \(.*\); use e\.g\. f1_macro"):
        run_study(spec, progress=False)


def test_any_scorer_works_everywhere(tmp_path, shared_workers):
    spec = _spec(tmp_path, ("logistic_regression", "ridge", "random_forest"), metrics=("f1_macro", "balanced_accuracy"),
                 nested=True)
    result = run_study(spec, progress=False, workers=shared_workers)
    assert (result.results["status"] == "ok").all()
    assert set(result.results["metric"]) == {"f1_macro", "balanced_accuracy"}
    assert set(result.results["split"]) == {"train", "validation", "test", "nested"}
    assert set(result.tables["verdicts"]["metric"]) == {"f1_macro"}


def test_a_metric_a_model_cannot_compute_skips_that_model(tmp_path, shared_workers):
    spec = _spec(tmp_path, ("logistic_regression", "ridge"), datasets=("iris",), metrics=("roc_auc_ovr",))
    results = run_study(spec, progress=False, workers=shared_workers).results
    ridge = results[results["model"] == "ridge"]
    assert ridge[["status", "error"]].values.tolist() == [
        ["skipped", "ridge has no predict_proba, which the metric roc_auc_ovr needs"]]
    test = results[(results["model"] == "logistic_regression") & (results["split"] == "test")]
    assert test["score"].item() > 0.9


def test_unknown_grid_model_is_refused():
    with pytest.raises(InputError, match=r"A grid is given for model 'svm', which is not in the study's models"):
        run_study(StudySpec(models=("ridge",), grids={"svm": {"C": [1]}}), progress=False)


@pytest.mark.parametrize("quick", [True, False])
def test_the_progress_forecast_counts_the_fits_and_the_cost_of_the_work_the_study_does(quick, shared_workers):
    """The progress bar's fits and the predicted cost behind its time left are known at the start
    (follow-ups included), so its estimate is the study's: for these models both are exact (the
    full Keras ablation takes some variants from the validation curves, so there the fits are an
    upper bound)."""
    from study.execution import execute
    from study.plan import Plan
    from study.orchestrator import prepare
    from study.store import Store

    models = ("logistic_regression", "random_forest", "keras_dense") if quick else ("logistic_regression", "ridge")
    spec, resolved, datasets = prepare(StudySpec(datasets=("wine",), models=models, quick=quick, cache_dir=None))
    plan = Plan(spec, resolved, datasets)
    outcomes = execute(plan.initial(), store=Store(None), workers=shared_workers, follow_up=plan.follow_up,
                       progress=False)
    fits, cost = plan.forecast(plan.initial())
    assert fits == sum(o.fits for o in outcomes)
    assert cost == pytest.approx(sum(o.item.cost for o in outcomes), rel=1e-12) and cost > 0
    if not quick:  # the follow-ups are in it
        assert {"nested", "learning_curves", "validation_curves"} <= {o.item.work for o in outcomes}


def test_a_keras_models_curves_and_ablation_are_parts_and_the_ablation_waits_for_every_curve_part():
    """A built-in Keras model's validation curves are one work item per sweep and its ablation one
    per variant (both cores busy on a single-dataset study); the ablation is queued once every
    curve part has ended, with the rows of those that succeeded in part order; the parts' fits add
    up to what the forecast counts."""
    from types import SimpleNamespace

    from study.execution import Outcome
    from study.experiments import Ablation, ValidationCurves
    from study.orchestrator import prepare
    from study.plan import Plan
    from study.records import WorkKind

    spec, resolved, datasets = prepare(StudySpec(datasets=("wine",), models=("keras_dense",), cache_dir=None))
    plan = Plan(spec, resolved, datasets)
    unit = next(item for item in plan.initial() if item.kind is WorkKind.UNIT and item.model == "keras_dense")

    def ended(item, value, error=""):
        return Outcome(item, value, error, 1.0, item.fits, False)

    chosen = SimpleNamespace(best_params={"model__l2": 1e-4, "model__dropout": 0.0}, search=None)
    after_unit = plan.follow_up(ended(unit, chosen))
    curves = [item for item in after_unit if item.work == "validation_curves"]
    assert [item.label for item in curves] == ["wine / keras_dense / validation_curves (L2 weight penalty)",
                                               "wine / keras_dense / validation_curves (dropout)"]
    assert [item.part for item in curves] == [0, 1] and len({item.key for item in curves}) == 2
    assert "ablation" not in {item.work for item in after_unit}
    assert plan.follow_up(ended(curves[1], [{"part": 1}])) == []  # the other part still runs
    ablation = plan.follow_up(ended(curves[0], None, error="RuntimeError: broke"))
    assert [item.arguments.job.options["variant"] for item in ablation] == [
        "baseline", "L2", "dropout", "early stopping", "all combined"]
    assert [item.part for item in ablation] == [0, 1, 2, 3, 4]
    assert all(item.arguments.job.options["earlier"] == [{"part": 1}] for item in ablation)
    whole = {e.name: e.n_fits(replace(unit.arguments.job, options=e.options(unit.arguments.job.model)))
             for e in (ValidationCurves(), Ablation())}
    assert sum(item.fits for item in curves) == whole["validation_curves"]
    assert sum(item.fits for item in ablation) == whole["ablation"]


def test_the_parts_of_an_experiment_that_fail_alike_are_one_failure():
    from study.execution import Outcome
    from study.experiments import Ablation
    from study.orchestrator import _tables, prepare
    from study.plan import Plan

    spec, resolved, datasets = prepare(StudySpec(datasets=("wine",), models=("keras_dense",), cache_dir=None))
    plan = Plan(spec, resolved, datasets)
    job = plan.job(datasets[0], resolved[0])
    parts = plan.experiment(Ablation(), job)
    errors = ["ValueError: no rows"] * (len(parts) - 1) + ["RuntimeError: other"]
    units = [plan.unit(dataset, model) for dataset, model, reason in plan.pairs() if reason is None]
    outcomes = [Outcome(item, None, error, 0.0, 0, False)
                for item, error in [*zip(units, ["RuntimeError: unit"] * len(units)), *zip(parts, errors)]]
    failures = _tables(plan, outcomes)[2]["failures"]
    assert len(parts) == 5 and failures[failures["work"] == "ablation"].values.tolist() == [
        ["wine", "keras_dense", "ablation", "ValueError: no rows"], ["wine", "keras_dense", "ablation", "RuntimeError: other"]]


def test_nested_folds_start_beside_their_unit_and_a_failed_unit_reports_once(tmp_path, shared_workers):
    """Nested CV's inner searches need nothing from the unit, so they are queued with it (the
    second core is not idle while one long unit runs); when the unit fails, the failures table
    says so once, not once more per nested fold."""
    from study.plan import Plan
    from study.orchestrator import prepare

    spec, resolved, datasets = prepare(StudySpec(datasets=("wine",), models=("ridge",), cache_dir=None))
    initial = Plan(spec, resolved, datasets).initial()
    # the baseline: no nested CV; then the dataset's data checks
    assert [item.work for item in initial] == ["unit"] + ["nested"] * spec.cv + ["unit", "data_checks"]
    assert [item.model for item in initial][-2:] == ["dummy", ""]

    class Broken(DummyClassifier):
        def fit(self, X, y):
            raise RuntimeError("this model cannot be fitted")

    broken = StudySpec(datasets=("wine",), models=(sklearn_model("broken", Broken()),), nested=True,
                       cache_dir=str(tmp_path / "cache"), diagnostics=False)
    result = run_study(broken, progress=False, workers=shared_workers)
    assert result.tables["failures"][["model", "work"]].values.tolist() == [["broken", "unit"]]
    assert result.results.drop_duplicates("model")["status"].tolist() == ["failed", "ok"]  # broken, the baseline


def test_a_study_result_prints_as_a_short_summary_not_its_models(tmp_path, shared_workers):
    result = run_study(StudySpec(datasets=("wine",), models=("ridge",), quick=True, cache_dir=tmp_path / "cache"),
                       progress=False, workers=shared_workers)
    text = repr(result)
    best = result.tables["verdicts"].set_index("model").loc["ridge", "validation_mean"]
    assert text.startswith("StudyResult(datasets=['wine'], models=['ridge'], best: wine: ridge (CV ")
    assert f"(CV {best:.3f}); failed units: 0;" in text and len(text) < 2000 and str(result) == text
