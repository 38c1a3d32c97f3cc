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
from study.results import BASELINE, COLUMNS
from study.orchestrator import run_study
from study.spec import StudySpec
from study.statistics.paired import corrected_interval
from study.statistics.evidence import learning_curve_gain, still_improving
from study.statistics.verdicts import VERDICT_RULE, curve_evidence, verdict, verdict_table


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
    good = verdict(best_train, best_val, n_train=800, n_test=200, chance_scores=constant_val)
    assert good["verdict"] == "good fit" and good["reason"].startswith("6: ") and good["remedy"] == "none"
    assert good["chance_diff_low"] > 0
    under = verdict(constant_train, constant_val, n_train=800, n_test=200, best_scores=best_val, best_model="lr")
    assert under["verdict"] == "underfitting" and under["reason"].startswith("5: shortfall to the best (lr)")
    assert under["shortfall_mean"] == pytest.approx(best_val.mean() - constant_val.mean())
    assert under["remedy"] == "a more flexible model or better features"
    at_chance = verdict(constant_train, constant_val, n_train=800, n_test=200, best_scores=best_val, best_model="lr",
                        chance_scores=constant_val)  # the chance rule comes first
    assert at_chance["verdict"] == "no better than chance" and at_chance["advice"] == "use lr"
    assert at_chance["reason"].startswith("2: CV ") and "difference +0.000 (95% CI 0.000 to 0.000) includes 0" in (
        at_chance["reason"])


def test_tiny_data_with_a_huge_spread_is_not_enough_evidence(linear):
    X, y, _ = linear
    X, y = X[:30], y[:30]
    folds = list(StratifiedKFold(5, shuffle=True, random_state=0).split(X, y))
    train, val = _cv(make_pipeline(StandardScaler(), LogisticRegression()), X, y, folds)
    got = verdict(train, val, n_train=24, n_test=6)
    assert got["verdict"] == "not enough evidence" and got["reason"].startswith("7: the gap ")
    assert verdict([1, 1], [0.9, 0.9], n_train=8, n_test=2)["verdict"] == "not enough evidence"  # 2 folds


def test_the_evidence_numbers_are_the_corrected_intervals():
    train, val = np.array([1.0, 1, 1, 1, 1]), np.array([0.8, 0.9, 0.8, 0.9, 0.85])
    chance = np.array([0.5, 0.52, 0.49, 0.5, 0.51])
    got = verdict(train, val, n_train=80, n_test=20, chance_scores=chance)
    low, high = corrected_interval(train - val, 80, 20)
    c_low, c_high = corrected_interval(val - chance, 80, 20)
    assert (got["gap_mean"], got["gap_low"], got["gap_high"]) == pytest.approx((0.15, low, high))
    assert (got["chance_diff_mean"], got["chance_diff_low"], got["chance_diff_high"]) == pytest.approx(
        ((val - chance).mean(), c_low, c_high))
    assert got["verdict"] == "overfitting" and np.isnan(got["lc_last_gain"])
    assert got["reason"] == f"3: gap 0.150 (95% CI {low:.3f} to {high:.3f}) above 0.02"
    assert got["remedy"] == "a simpler model, or features with more signal" and got["advice"] == "a simpler model"
    with pytest.raises(ValueError, match="must pair fold by fold; got shapes"):
        verdict([1, 1, 1], [1, 1], n_train=1, n_test=1)


def _learning_curve(gains):
    """A learning curve's validation rows of 5 folds at 80 and 100 rows, gaining ``gains``."""
    rows = [dict(train_size=size, fold=k, score=0.8 + (gain if size == 100 else 0.0))
            for k, gain in enumerate(gains) for size in (80, 100)]
    return learning_curve_gain(pd.DataFrame(rows), 80, 20)


def test_more_data_is_advised_only_when_the_last_gain_is_beyond_its_uncertainty():
    train, val = np.array([1.0, 1, 1, 1, 1]), np.array([0.8, 0.9, 0.8, 0.9, 0.85])
    rising = _learning_curve([0.04, 0.05, 0.06, 0.05, 0.05])
    low, high = corrected_interval(np.array([0.04, 0.05, 0.06, 0.05, 0.05]), 80, 20)
    got = verdict(train, val, n_train=80, n_test=20, learning_curve=rising)
    assert got["advice"] == "more training data" and (got["lc_gain_low"], got["lc_gain_high"]) == pytest.approx(
        (low, high))
    assert got["remedy"] == (f"more training data: the CV score rose +0.050 (95% CI {low:.3f} to {high:.3f}) from 80 "
                             "to 100 training rows (learning curve)")
    noisy = _learning_curve([0.04, -0.03, 0.05, -0.02, 0.015])  # +0.011 on average, within its noise
    assert verdict(train, val, n_train=80, n_test=20, learning_curve=noisy)["advice"] == "a simpler model"


def test_a_network_still_improving_with_a_shortfall_is_not_converged():
    history = pd.DataFrame([dict(variant=variant, epoch=e, curve="val_loss", value=1.0 / e, stopped_epoch=10)
                            for variant in ("no early stopping", "early stopping") for e in range(1, 11)])
    state = still_improving(history)
    assert state.improving and state.relative_fall == pytest.approx((1 / 8 - 1 / 10) / (1 / 8))
    train, val = np.array([0.8, 0.82, 0.81, 0.8, 0.8]), np.array([0.78, 0.8, 0.79, 0.8, 0.77])
    best = np.array([0.95, 0.96, 0.97, 0.95, 0.96])
    got = verdict(train, val, n_train=80, n_test=20, best_scores=best, best_model="rf", history=state, keras=True)
    assert got["verdict"] == "not converged" and got["advice"] == "train longer"
    assert "still fell 20.0% over the last 2 of 10 epochs" in got["remedy"]
    assert verdict(train, val, n_train=80, n_test=20, best_scores=best, best_model="rf", history=state)[
        "verdict"] == "underfitting"  # not a network
    stopped = still_improving(history.assign(stopped_epoch=6))
    assert not stopped.improving and verdict(train, val, n_train=80, n_test=20, best_scores=best, best_model="rf",
                                             history=stopped, keras=True)["verdict"] == "underfitting"


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
    got = verdict(train, val, n_train=80, n_test=20, curves=curves)  # gap 0.056, confirmed
    assert got["verdict"] == "overfitting" and got["reason"].startswith("3: gap 0.050")
    assert got["remedy"] == ("regularize more: alpha 0.1 -> 10 (gap 0.200 -> 0.050, CV +0.000) closes the gap "
                             "(validation curve)") and got["advice"] == "regularize more: alpha 10"
    lower = curve_evidence(_curve_table([("0.1", 0.85, 0.80, False), ("1", 0.95, 0.81, False),
                                         ("10", 1.0, 0.80, True)], stronger="lower"))
    assert [p[0] for p in lower[0]["points"]] == ["10", "1", "0.1"] and lower[0]["chosen"] == 0


def test_a_setting_that_only_narrows_the_gap_is_reported_as_not_closing_it():
    """The wide / keras_dense case: train stays near 1.0 along the whole path."""
    curves = curve_evidence(_curve_table([("0.001", 1.0, 0.62, True), ("0.01", 1.0, 0.63, False),
                                          ("0.1", 0.99, 0.636, False)]))
    train, val = np.full(5, 1.0), np.array([0.60, 0.65, 0.58, 0.66, 0.61])
    got = verdict(train, val, n_train=80, n_test=20, curves=curves)
    assert got["verdict"] == "overfitting" and got["advice"] == "a simpler model"
    assert got["remedy"] == ("no setting of alpha closes it (the best, alpha 0.001 -> 0.1 (gap 0.380 -> 0.354, "
                             "CV +0.016), narrows it); a simpler model, or features with more signal")


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
    as_baseline = pd.DataFrame(rows, columns=COLUMNS).replace({"model": {"constant": BASELINE}})
    table = verdict_table(as_baseline)  # the baseline: the chance reference, no verdict of its own
    assert table[["model", "verdict"]].values.tolist() == [["lr", "good fit"]]
    assert table["chance_mean"].iloc[0] == pytest.approx(as_baseline.query(
        "model == @BASELINE and split == 'validation'")["score"].mean())
    assert "Nadeau & Bengio 2003" in VERDICT_RULE


def test_a_user_model_at_chance_is_no_better_than_chance_in_a_study(tmp_path, shared_workers):
    spec = StudySpec(datasets=("breast_cancer",), models=("logistic_regression", sklearn_model(
        "constant", DummyClassifier(strategy="most_frequent"))), quick=True, cache_dir=tmp_path / "cache")
    table = run_study(spec, progress=False, workers=shared_workers).tables["verdicts"].set_index("model")
    assert table.loc["constant", "verdict"] == "no better than chance"
    assert table.loc["constant", "advice"] == "use logistic_regression"
    assert table.loc["logistic_regression", "verdict"] == "good fit"
    assert BASELINE not in table.index


def test_at_chance_with_a_signal_elsewhere_the_gap_gets_the_curves_evidence():
    """wide / logistic_regression: not above chance as tuned, but another model beats chance and
    its own validation curve shows a setting that closes its gap: the remedy says so."""
    curves = curve_evidence(_curve_table([("0.1", 0.82, 0.725, False), ("10", 1.0, 0.65, True)], stronger="lower"))
    train, val = np.full(5, 1.0), np.array([0.45, 0.8, 0.55, 0.75, 0.7])
    chance = np.full(5, 0.5)
    got = verdict(train, val, n_train=80, n_test=20, chance_scores=chance, best_scores=val + 0.1, best_model="hgb",
                  curves=curves)
    assert got["verdict"] == "no better than chance" and got["advice"] == "regularize more: alpha 0.1"
    assert got["remedy"] == ("hgb beats chance on these features: this model does not find the signal it finds; its "
                             "gap: regularize more: alpha 10 -> 0.1 (gap 0.350 -> 0.095, CV +0.075) closes it "
                             "(validation curve)")
    assert "is fitted noise" not in got["reason"]
    alone = verdict(train, val, n_train=80, n_test=20, chance_scores=chance, best_model="m", curves=curves,
                    best_beats_chance=False)  # no signal anywhere: no setting is advised
    assert alone["advice"] == "no signal found" and "regularize" not in alone["remedy"]
    assert alone["reason"].endswith("is fitted noise")
