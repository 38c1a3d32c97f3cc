"""Searches beyond the grid (study.search): random and halving on the shared folds, their settings' checks."""

import numpy as np
import pytest

from backends import get_model
from study.data import load_data
from study.protocol import Job, fit_and_score, inner_search, nested_rows
from study.records import split_key
from study.search import Search, check_distributions
from study.spec import StudySpec
from study.splits import make_splits

METRICS = ("accuracy", "neg_log_loss")
pytestmark = pytest.mark.usefixtures("one_thread_per_fit")  # fit on one BLAS thread, as a study does


@pytest.fixture(scope="module")
def iris():
    data = load_data("iris")
    return data, make_splits(data, cv=3, seed=0)


def _estimator(data):
    return get_model("logistic_regression").estimator(data.task, random_state=0, quick=True)


def test_random_search_fits_exactly_n_iter_candidates_per_fold(iris):
    data, splits = iris
    search = Search(kind="random", grid={"model__C": [1.0]}, n_iter=5,
                    distributions={"model__C": {"loguniform": [1e-3, 1e2]}})
    out = fit_and_score(_estimator(data), data, splits, grid=search, metrics=METRICS)
    assert out.summary.search == "RandomizedSearchCV"
    assert out.summary.rounds == [(5, None)] and out.summary.n_fits == 5 * 3
    Cs = [p["model__C"] for p in out.search.params]
    assert len(Cs) == 5 and len(set(Cs)) == 5 and all(1e-3 <= c <= 1e2 for c in Cs)
    assert len(out.search.scores[split_key(0, "train", "accuracy")]) == 5  # train scores of every candidate
    again = fit_and_score(_estimator(data), data, splits, grid=search, metrics=METRICS)
    assert [p["model__C"] for p in again.search.params] == Cs  # seeded


def test_halving_runs_rounds_and_rescores_its_choice_on_the_whole_folds(iris):
    data, splits = iris
    search = Search(kind="halving", grid={"model__C": [0.001, 0.01, 0.1, 1.0, 10.0, 100.0, 1000.0, 0.3, 3.0]})
    out = fit_and_score(_estimator(data), data, splits, grid=search, metrics=METRICS)
    summary = out.summary
    # 80 rows per fold: min_resources 18 (2 x 3 classes x 3 folds), then x3, until the rows run out
    assert summary.search == "HalvingGridSearchCV" and summary.rounds == [(9, 18), (3, 54)]
    assert summary.n_fits == (9 + 3) * 3
    assert out.search.params == [out.best_params]
    folds = {r["fold"] for r in out.rows if r["split"] == "validation"}
    assert folds == {0, 1, 2} and {r["metric"] for r in out.rows} == set(METRICS)
    # nested CV with halving scores the inner choice itself on the outer fold
    job = Job(data, splits, get_model("logistic_regression"), METRICS, 0, True)
    choice = inner_search(job, search, 0)
    rows = nested_rows(out.search, {0: choice}, splits, METRICS)
    assert [r["metric"] for r in rows] == list(METRICS) and np.isfinite([r["score"] for r in rows]).all()


@pytest.mark.parametrize("distributions, message", [
    ({"C": {"loguniform": [0.0, 1.0]}}, "log-uniform, whose low bound must be > 0"),
    ({"C": {"gauss": [0, 1]}}, "must be a list of values or one of ['loguniform', 'randint', 'uniform']"),
    ({"C": {"uniform": [2.0, 1.0]}}, "needs two numbers [low, high] with low < high"),
    ({"max_depth": {"randint": [2.5, 9]}}, "is randint, whose bounds must be integers"),
    ({"C": []}, "is an empty list"),
])
def test_bad_distributions_are_refused(distributions, message):
    with pytest.raises(ValueError) as error:
        check_distributions("ridge", distributions)
    assert message in str(error.value)


@pytest.mark.parametrize("settings, message", [
    (dict(search="bayes"), "search must be one of ['grid', 'random', 'halving']; got 'bayes'. Fix --search."),
    (dict(n_iter=0), "n_iter must be an integer >= 1; got 0."),
    (dict(gap=-1), "gap must be an integer >= 0; got -1."),
    (dict(cv_kind="blocked"), "cv_kind must be one of ['auto', 'shuffled', 'group', 'timeseries']; got 'blocked'."),
    (dict(searches={"svm": {"n_iter": 3}}), "A search is given for model 'svm', which is not in the study's models"),
    (dict(searches={"ridge": {"iters": 3}}), "The search settings of 'ridge' must be a table with some of"),
])
def test_bad_search_settings_are_refused(settings, message):
    with pytest.raises(ValueError) as error:
        StudySpec(models=("ridge",), **settings).validate()
    assert message in str(error.value)


def test_a_models_own_search_overrides_the_studys():
    spec = StudySpec(models=("ridge", "random_forest"), search="halving", quick=True,
                     searches={"ridge": {"search": "random", "n_iter": 4, "distributions": {"alpha": {"loguniform": [
                         0.01, 10.0]}}}}).validate()
    models = dict(zip(spec.model_names, spec.resolved_models()))
    ridge, forest = spec.search_for(models["ridge"]), spec.search_for(models["random_forest"])
    assert (ridge.kind, ridge.n_iter, ridge.name) == ("random", 4, "RandomizedSearchCV")
    assert ridge.distributions == {"model__alpha": {"loguniform": [0.01, 10.0]}}
    assert (forest.kind, forest.name) == ("halving", "HalvingGridSearchCV")
