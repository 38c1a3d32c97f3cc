"""Fit verdicts from evidence: canaries where the right answer is known, and the exact numbers."""

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from backends.custom import sklearn_model
from study.data import Dataset
from study.results import COLUMNS
from study.runner import run_study
from study.spec import DataSource, StudySpec
from study.statistics.paired import corrected_interval
from study.statistics.verdicts import VERDICT_RULE, curve_evidence, verdict, verdict_table


def _noise() -> Dataset:
    rng = np.random.default_rng(0)
    return pd.DataFrame(rng.normal(size=(1000, 20)), columns=[f"x{i}" for i in range(20)]).assign(
        label=rng.integers(0, 3, 1000))


def test_pure_noise_labels_are_overfitting_for_flexible_models(tmp_path):
    """1,000 rows, 20 features, 3 classes of random labels: train far above CV, CV at chance."""
    spec = StudySpec(datasets=(DataSource(_noise(), target="label", name="noise"),),
                     models=("random_forest", "keras_dense"), nested=False, diagnostics=False,
                     cache_dir=tmp_path / "cache")
    table = run_study(spec, progress=False).tables["verdicts"].set_index("model")
    assert table.loc["random_forest", "verdict"] == "overfitting", table.loc["random_forest", "reason"]
    assert table.loc["keras_dense", "verdict"] == "overfitting", table.loc["keras_dense", "reason"]
    assert (table["validation_mean"] < 0.4).all() and (table["gap_low"] > 0.1).all()


def _cv(model, X, y, folds):
    result = cross_validate(model, X, y, cv=folds, return_train_score=True)
    return result["train_score"], result["test_score"]


@pytest.fixture(scope="module")
def linear():
    """Linear classes with 10% flipped labels: a regularized linear model is as good as it gets."""
    X, y = make_classification(n_samples=1000, n_features=5, n_informative=3, n_redundant=0,
                               n_clusters_per_class=1, flip_y=0.1, class_sep=1.5, random_state=0)
    folds = list(StratifiedKFold(5, shuffle=True, random_state=0).split(X, y))
    return X, y, folds


def test_a_model_far_below_the_best_is_underfitting_and_the_best_with_a_small_gap_a_good_fit(linear):
    X, y, folds = linear
    best_train, best_val = _cv(make_pipeline(StandardScaler(), LogisticRegression()), X, y, folds)
    constant_train, constant_val = _cv(DummyClassifier(strategy="most_frequent"), X, y, folds)
    good = verdict(best_train, best_val, n_train=800, n_test=200)
    assert good["verdict"] == "good fit" and good["reason"].startswith("4: ") and good["remedy"] == "none"
    under = verdict(constant_train, constant_val, n_train=800, n_test=200, best_scores=best_val, best_model="lr")
    assert under["verdict"] == "underfitting" and under["reason"].startswith("3: shortfall to the best (lr)")
    assert under["shortfall_mean"] == pytest.approx(best_val.mean() - constant_val.mean())
    assert under["remedy"] == "a more flexible model or better features"


def test_tiny_data_with_a_huge_spread_is_not_enough_evidence(linear):
    X, y, _ = linear
    X, y = X[:30], y[:30]
    folds = list(StratifiedKFold(5, shuffle=True, random_state=0).split(X, y))
    train, val = _cv(make_pipeline(StandardScaler(), LogisticRegression()), X, y, folds)
    got = verdict(train, val, n_train=24, n_test=6)
    assert got["verdict"] == "not enough evidence" and got["reason"].startswith("5: intervals")
    assert verdict([1, 1], [0.9, 0.9], n_train=8, n_test=2)["verdict"] == "not enough evidence"  # 2 folds


def test_the_evidence_numbers_are_the_corrected_intervals():
    train, val = np.array([1.0, 1, 1, 1, 1]), np.array([0.8, 0.9, 0.8, 0.9, 0.85])
    got = verdict(train, val, n_train=80, n_test=20, learning_curve=[0.7, 0.845, 0.85])
    low, high = corrected_interval(train - val, 80, 20)
    assert (got["gap_mean"], got["gap_low"], got["gap_high"]) == pytest.approx((0.15, low, high))
    assert got["verdict"] == "overfitting" and got["lc_last_gain"] == pytest.approx(0.005)
    assert got["reason"] == f"2: gap 0.150 (95% CI {low:.3f} to {high:.3f}) above 0.02; at least 0.1"
    assert got["remedy"] == "a simpler or more regularized model"
    with pytest.raises(ValueError, match="must pair fold by fold; got shapes"):
        verdict([1, 1, 1], [1, 1], n_train=1, n_test=1)


def _curve_table(points, stronger="higher"):
    """A validation-curve table of one sweep: points (value, train mean, validation mean, chosen)."""
    rows = []
    for position, (label, train, val, chosen) in enumerate(points):
        for fold in range(3):
            for split, score in (("train", train), ("validation", val)):
                rows.append(dict(dataset="d", model="m", metric="accuracy", sweep="alpha", param_value=position + 1,
                                 param_label=label, stronger=stronger, chosen=chosen, fold=fold, split=split,
                                 score=score))
    return pd.DataFrame(rows)


def test_a_stronger_setting_that_closes_the_gap_names_the_remedy():
    curves = curve_evidence(_curve_table([("0.1", 1.0, 0.80, True), ("1", 0.95, 0.81, False),
                                          ("10", 0.85, 0.80, False)]))
    train, val = np.full(5, 1.0) - [0, 0.01, 0, 0.01, 0], np.array([0.93, 0.95, 0.94, 0.96, 0.95])
    got = verdict(train, val, n_train=80, n_test=20, curves=curves)  # gap 0.056: below 0.1
    assert got["verdict"] == "overfitting" and got["reason"].endswith("a stronger setting closes it")
    assert got["remedy"] == "regularize more: alpha 0.1 -> 10 (gap 0.200 -> 0.050, CV +0.000)"
    lower = curve_evidence(_curve_table([("0.1", 0.85, 0.80, False), ("1", 0.95, 0.81, False),
                                         ("10", 1.0, 0.80, True)], stronger="lower"))
    assert [p[0] for p in lower[0]["points"]] == ["10", "1", "0.1"] and lower[0]["chosen"] == 0


def test_verdict_table_reads_the_results_table(linear):
    X, y, folds = linear
    rows = []
    for model, estimator in (("lr", make_pipeline(StandardScaler(), LogisticRegression())),
                             ("constant", DummyClassifier(strategy="most_frequent"))):
        train, val = _cv(estimator, X, y, folds)
        for k in range(5):
            for split, value in (("train", train[k]), ("validation", val[k])):
                rows.append(dict(dataset="d", model=model, framework="scikit-learn", split=split, fold=k,
                                 metric="accuracy", score=value, n_train=800, n_test=200, status="ok"))
    rows.append(dict(dataset="d", model="broken", split=None, fold=None, metric=None, score=float("nan"),
                     status="failed"))
    table = verdict_table(pd.DataFrame(rows, columns=COLUMNS))
    assert table[["model", "verdict", "best_model"]].values.tolist() == [["lr", "good fit", "lr"],
                                                                         ["constant", "underfitting", "lr"]]
    assert "Nadeau & Bengio 2003" in VERDICT_RULE


def test_a_user_model_far_below_the_best_is_underfitting_in_a_study(tmp_path):
    spec = StudySpec(datasets=("breast_cancer",), models=("logistic_regression", sklearn_model(
        "constant", DummyClassifier(strategy="most_frequent"))), quick=True, cache_dir=tmp_path / "cache")
    table = run_study(spec, progress=False).tables["verdicts"].set_index("model")
    assert table.loc["constant", "verdict"] == "underfitting"
    assert table.loc["logistic_regression", "verdict"] == "good fit"
