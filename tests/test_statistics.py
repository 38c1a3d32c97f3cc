"""Tests for study/statistics (corrected t-test, Holm, pairwise table, intervals, ranks) and the
report's statistics section (study/report/statistics.py)."""

import math
import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from study.report.statistics import statistics_section
from study.results import BASELINE, CALIBRATION_COLUMNS
from study.scoring import stored_outputs
from study.statistics.threshold_curves import POOLED, multiclass_brier, score_curves
from study.statistics.holdout import _METRICS, bootstrap_interval, nested_summary, test_score_intervals
from study.statistics.paired import (
    corrected_interval,
    corrected_ttest,
    holm_adjust,
    pairwise_comparison,
    posterior_probabilities,
)
from study.statistics.ranks import friedman_test, nemenyi_cd, rank_models, rank_within_datasets
from study.statistics.rows import cv_split, resolve_metric

LR, RF, KD = "logistic_regression", "random_forest", "keras_dense"


# ---------------------------------------------------------------------------------------------
# The published case: scikit-learn example "Statistical comparison of models using grid search"
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def moons_search():
    from sklearn.datasets import make_moons
    from sklearn.model_selection import GridSearchCV, RepeatedStratifiedKFold
    from sklearn.svm import SVC

    X, y = make_moons(noise=0.352, random_state=1, n_samples=100)
    param_grid = [{"kernel": ["linear"]}, {"kernel": ["poly"], "degree": [2, 3]}, {"kernel": ["rbf"]}]
    cv = RepeatedStratifiedKFold(n_splits=10, n_repeats=10, random_state=0)
    search = GridSearchCV(SVC(random_state=0), param_grid=param_grid, scoring="roc_auc", cv=cv)
    search.fit(X, y)
    results_df = pd.DataFrame(search.cv_results_).sort_values(by=["rank_test_score"])
    results_df = results_df.set_index(
        results_df["params"].apply(lambda x: "_".join(str(val) for val in x.values()))
    ).rename_axis("kernel")
    model_scores = results_df.filter(regex=r"split\d*_test_score")
    n_train = len(list(cv.split(X, y))[0][0])
    n_test = len(list(cv.split(X, y))[0][1])
    return model_scores, n_train, n_test


def _example_corrected_std(differences, n_train, n_test):
    # Copied from the scikit-learn example (corrected_std).
    kr = len(differences)
    corrected_var = np.var(differences, ddof=1) * (1 / kr + n_test / n_train)
    corrected_std = np.sqrt(corrected_var)
    return corrected_std


def _example_compute_corrected_ttest(differences, df, n_train, n_test):
    # Copied from the scikit-learn example (compute_corrected_ttest).
    mean = np.mean(differences)
    std = _example_corrected_std(differences, n_train, n_test)
    t_stat = mean / std
    p_val = stats.t.sf(np.abs(t_stat), df)  # right-tailed t-test
    return t_stat, p_val


def test_corrected_ttest_reproduces_scikit_learn_example(moons_search):
    model_scores, n_train, n_test = moons_search
    assert list(model_scores.index[:2]) == ["rbf", "linear"]
    assert (n_train, n_test) == (90, 10)
    differences = model_scores.iloc[0].values - model_scores.iloc[1].values
    n = differences.shape[0]
    df = n - 1
    t_expected, p_expected = _example_compute_corrected_ttest(differences, df, n_train, n_test)

    # The example's p = t.sf(|t|, df) is the right-tailed ("greater") p-value because t > 0
    # here; our two-sided p is twice it.
    assert t_expected > 0
    t_stat, p_val = corrected_ttest(differences, n_train, n_test, alternative="greater")
    assert t_stat == pytest.approx(t_expected, rel=1e-12)
    assert p_val == pytest.approx(p_expected, rel=1e-12)
    assert corrected_ttest(differences, n_train, n_test)[1] == pytest.approx(
        2 * p_expected, rel=1e-12
    )
    # At the example's print precision (f"{t_stat:.3f}"). The stored source has no rendered
    # output to check these two against; the numbers published in the example's text (credible
    # intervals, posterior probabilities) are asserted in the two tests below.
    assert round(t_stat, 3) == 0.750
    assert round(p_val, 3) == 0.227


def test_corrected_interval_matches_published_credible_intervals(moons_search):
    model_scores, n_train, n_test = moons_search
    differences = model_scores.iloc[0].values - model_scores.iloc[1].values
    # Published in the example's text: 50% [0.000977, 0.019023], 75% (the text says "70%", the
    # code uses 0.75) [-0.005422, 0.025422], 95% [-0.016445, 0.036445].
    published = {0.5: (0.000977, 0.019023), 0.75: (-0.005422, 0.025422),
                 0.95: (-0.016445, 0.036445)}
    for confidence, (low, high) in published.items():
        got = corrected_interval(differences, n_train, n_test, confidence)
        assert got == pytest.approx((low, high), abs=5e-7)


def test_pairwise_posterior_matches_published_probabilities(moons_search):
    model_scores, n_train, n_test = moons_search
    rows = [
        {"dataset": "moons", "model": kernel, "split": "validation", "fold": fold,
         "metric": "roc_auc", "score": score, "n_train": n_train, "n_test": n_test,
         "status": "ok"}
        for kernel, scores in model_scores.iterrows()
        for fold, score in enumerate(scores.values)
    ]
    table = pairwise_comparison(pd.DataFrame(rows), rope=0.01).set_index(
        ["model_a", "model_b"]
    )
    # Published: "'rbf' has approximately a 6.8% chance of being worse than 'linear', and a 1.8%
    # chance of being worse than '3_poly'. 'rbf' and 'linear' have a 43% probability of being
    # practically equivalent, while 'rbf' and '3_poly' have a 10% chance of being so."
    assert round(table.loc[("rbf", "linear"), "p_b_better"], 3) == 0.068
    assert round(table.loc[("rbf", "3_poly"), "p_b_better"], 3) == 0.018
    assert round(table.loc[("rbf", "linear"), "p_equivalent"], 2) == 0.43
    assert round(table.loc[("rbf", "3_poly"), "p_equivalent"], 2) == 0.10
    # "all models have a 100% probability of being better than '2_poly'"
    assert table.xs("2_poly", level="model_b")["p_a_better"].round(3).tolist() == [1.0, 1.0, 1.0]
    assert len(table) == 6


# ---------------------------------------------------------------------------------------------
# Hand-computed cases
# ---------------------------------------------------------------------------------------------


def test_corrected_ttest_hand_case():
    # d = [0.01, 0.02, 0.03, 0.04], n_train = 90, n_test = 10, kr = 4
    # mean = 0.025
    # sample variance = (0.015^2 + 0.005^2 + 0.005^2 + 0.015^2) / 3 = 5e-4 / 3
    # corrected variance = 5e-4 / 3 * (1/4 + 10/90) = 5e-4 / 3 * 13/36 = 6.5e-3 / 108
    # t = 0.025 / sqrt(6.5e-3 / 108), t^2 = 6.25e-4 * 108 / 6.5e-3 = 135/13 -> t = 3.2225...
    # With 3 df the t CDF is closed-form: two-sided p = 1 - (2/pi)(theta + sin(theta)cos(theta)),
    # theta = arctan(t / sqrt(3)).
    d = [0.01, 0.02, 0.03, 0.04]
    t_hand = math.sqrt(135 / 13)
    theta = math.atan(t_hand / math.sqrt(3))
    p_hand = 1 - 2 / math.pi * (theta + math.sin(theta) * math.cos(theta))

    t_stat, p_two = corrected_ttest(d, 90, 10)
    assert t_stat == pytest.approx(t_hand, rel=1e-12)
    assert t_stat == pytest.approx(3.2225, abs=5e-5)
    assert p_two == pytest.approx(p_hand, rel=1e-10)
    assert p_two == pytest.approx(0.048491, abs=5e-7)
    assert corrected_ttest(d, 90, 10, "greater")[1] == pytest.approx(p_hand / 2, rel=1e-10)
    assert corrected_ttest(d, 90, 10, "less")[1] == pytest.approx(1 - p_hand / 2, rel=1e-10)

    # 95% interval: 0.025 +/- t_{0.975, 3} * sqrt(6.5e-3 / 108), t_{0.975, 3} = 3.182446
    half = 3.182446305284263 * math.sqrt(6.5e-3 / 108)
    assert corrected_interval(d, 90, 10) == pytest.approx(
        (0.025 - half, 0.025 + half), rel=1e-12
    )
    assert corrected_interval(d, 90, 10) == pytest.approx((0.000311, 0.049689), abs=5e-7)


def test_corrected_ttest_zero_variance_gives_limits():
    assert corrected_ttest([0.0, 0.0, 0.0], 90, 10) == (0.0, 1.0)
    assert corrected_ttest([0.0, 0.0, 0.0], 90, 10, "greater") == (0.0, 0.5)
    assert corrected_ttest([0.1, 0.1, 0.1], 90, 10) == (math.inf, 0.0)
    assert corrected_ttest([0.1, 0.1, 0.1], 90, 10, "less") == (math.inf, 1.0)
    assert corrected_ttest([-0.1, -0.1], 90, 10, "less") == (-math.inf, 0.0)
    assert corrected_interval([0.1, 0.1, 0.1], 90, 10) == (
        pytest.approx(0.1), pytest.approx(0.1)
    )
    assert posterior_probabilities([0.02, 0.02], 90, 10, 0.01) == (1.0, 0.0, 0.0)


def test_corrected_ttest_rejects_bad_input():
    with pytest.raises(ValueError, match=re.escape(
        "Got 1 score difference(s); the corrected t-test needs at least 2 paired folds."
    )):
        corrected_ttest([0.1], 90, 10)
    with pytest.raises(ValueError, match=re.escape("Got n_train=0 and n_test=10; expected both > 0")):
        corrected_ttest([0.1, 0.2], 0, 10)
    with pytest.raises(ValueError, match=re.escape("The score differences contain NaN")):
        corrected_ttest([0.1, np.nan], 90, 10)
    with pytest.raises(ValueError, match=re.escape(
        "Got alternative='bigger'; expected one of ('two-sided', 'greater', 'less')."
    )):
        corrected_ttest([0.1, 0.2], 90, 10, alternative="bigger")
    with pytest.raises(ValueError, match=re.escape("Got confidence=95; expected a fraction in (0, 1).")):
        corrected_interval([0.1, 0.2], 90, 10, confidence=95)


def test_posterior_probabilities_hand_case():
    # Posterior: t with 3 df, loc 0.025, scale sqrt(6.5e-3 / 108); rope (-0.01, 0.01)
    d = [0.01, 0.02, 0.03, 0.04]
    post = stats.t(3, loc=0.025, scale=math.sqrt(6.5e-3 / 108))
    better, equivalent, worse = posterior_probabilities(d, 90, 10, 0.01)
    assert better == pytest.approx(post.sf(0.01), rel=1e-12)
    assert equivalent == pytest.approx(post.cdf(0.01) - post.cdf(-0.01), rel=1e-12)
    assert worse == pytest.approx(post.cdf(-0.01), rel=1e-12)
    assert better + equivalent + worse == pytest.approx(1.0, rel=1e-12)
    assert posterior_probabilities(d, 90, 10, (-0.01, 0.01)) == (better, equivalent, worse)
    with pytest.raises(ValueError, match=re.escape(
        "Got rope=(0.01, -0.01); expected a number or a pair (low, high), low <= high."
    )):
        posterior_probabilities(d, 90, 10, (0.01, -0.01))


def test_holm_hand_case():
    # sorted: 0.01 * 3 = 0.03; 0.03 * 2 = 0.06; 0.04 * 1 = 0.04 -> max(0.06, 0.04) = 0.06
    assert holm_adjust([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06], rel=1e-12)
    assert holm_adjust([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    assert holm_adjust([]).shape == (0,)


def test_holm_leaves_the_objects_alive_before_it_out_of_statsmodels_garbage_collection(monkeypatch):
    """statsmodels ends each Holm call with a full gc.collect(): it runs with the heap frozen
    (nothing of it walked), which is thawed after; a heap frozen by someone else stays frozen."""
    import gc

    from study.statistics.multiple_testing import holm

    frozen_while_collecting = []
    collect = gc.collect  # statsmodels imports gc inside multipletests: the module's own function is spied
    monkeypatch.setattr(gc, "collect", lambda *a: frozen_while_collecting.append(gc.get_freeze_count()) or collect(*a))
    alive = [[] for _ in range(1000)]  # tracked by the collector (a bare object() is not)
    assert gc.get_freeze_count() == 0
    reject, adjusted = holm([0.01, 0.04, 0.03], alpha=0.05)
    assert adjusted.tolist() == pytest.approx([0.03, 0.06, 0.06], rel=1e-12) and reject.tolist() == [True, False, False]
    assert frozen_while_collecting and frozen_while_collecting[0] >= len(alive)
    assert gc.get_freeze_count() == 0  # thawed
    assert any(o is alive for o in gc.get_objects())  # back in the collector's generations
    gc.freeze()
    try:
        assert holm([0.5])[1].tolist() == [0.5]
        # the caller's frozen heap left as it was: still frozen (the count itself may drop, as
        # frozen objects are freed), so outside the generations gc.get_objects() lists
        assert gc.get_freeze_count() > 0 and not any(o is alive for o in gc.get_objects())
    finally:
        gc.unfreeze()


# ---------------------------------------------------------------------------------------------
# The constructed tidy table: 2 datasets x 3 models x 5 folds (+ test, train and nested rows)
# ---------------------------------------------------------------------------------------------

VALIDATION = {
    ("d1", LR): [0.80, 0.82, 0.84, 0.86, 0.88],
    ("d1", RF): [0.78, 0.79, 0.83, 0.84, None],  # fold 4 missing: pairs with RF use 4 folds
    ("d1", KD): [0.70, 0.71, 0.72, 0.73, 0.74],
    ("d2", LR): [0.90, 0.91, 0.89, 0.92, 0.88],
    ("d2", RF): [0.93, 0.92, 0.94, 0.95, 0.91],
    ("d2", KD): [0.90, 0.91, 0.89, 0.92, 0.88],  # identical to LR: zero-variance pair
}
TEST = {("d1", LR): 0.85, ("d1", RF): 0.83, ("d1", KD): 0.72,
        ("d2", LR): 0.90, ("d2", RF): 0.92, ("d2", KD): 0.90}  # d2: LR and KD tie
NESTED = {("d1", LR): [0.80, 0.78, 0.82, 0.76, 0.84]}


def _row(dataset, model, split, fold, score, n_train, n_test, status="ok", error=""):
    return {"dataset": dataset, "model": model, "framework": "keras" if "keras" in model
            else "scikit-learn", "split": split, "fold": fold, "metric": "accuracy",
            "score": score, "n_train": n_train, "n_test": n_test, "best_params": "{}",
            "fit_time": 0.1, "status": status, "error": error}


def make_results():
    rows = []
    for (dataset, model), scores in VALIDATION.items():
        for fold, score in enumerate(scores):
            if score is not None:
                rows.append(_row(dataset, model, "validation", fold, score, 80, 20))
                rows.append(_row(dataset, model, "train", fold, 0.99, 80, 80))
    for (dataset, model), score in TEST.items():
        rows.append(_row(dataset, model, "test", pd.NA, score, 100, 25))
    for (dataset, model), scores in NESTED.items():
        for fold, score in enumerate(scores):
            rows.append(_row(dataset, model, "nested", fold, score, 80, 20))
    table = pd.DataFrame(rows)
    table["fold"] = table["fold"].astype("Int64")
    return table


def make_predictions():
    y_true = np.array([0, 1] * 10)
    rows = []
    for (dataset, model), score in TEST.items():
        y_pred = y_true.copy()
        n_wrong = round((1 - score) * 20)
        y_pred[:n_wrong] = 1 - y_pred[:n_wrong]
        rows += [{"dataset": dataset, "model": model, "index": i, "y_true": t, "y_pred": p}
                 for i, (t, p) in enumerate(zip(y_true, y_pred))]
    return pd.DataFrame(rows)


def make_messy_results():
    """The constructed table plus a failed unit, a CNN on d1 only and a single-model dataset."""
    extra = [_row("d2", "keras_cnn", pd.NA, pd.NA, np.nan, 0, 0, "failed",
                  "ValueError: keras_cnn needs image data")]
    extra += [_row("d1", "keras_cnn", "validation", f, 0.75, 80, 20) for f in range(5)]
    extra += [_row("d1", "keras_cnn", "test", pd.NA, 0.76, 100, 25)]
    extra += [_row("d3", LR, "validation", f, 0.6 + f / 100, 40, 10) for f in range(5)]
    extra += [_row("d3", LR, "test", pd.NA, 0.61, 50, 12)]
    table = pd.concat([make_results(), pd.DataFrame(extra)], ignore_index=True)
    table["fold"] = table["fold"].astype("Int64")
    return table


def test_pairwise_comparison_on_constructed_table():
    table = pairwise_comparison(make_results(), split="validation")
    assert len(table) == 6 and set(table["split"]) == {"validation"}
    assert list(zip(table["dataset"], table["model_a"], table["model_b"])) == [
        ("d1", LR, RF), ("d1", LR, KD), ("d1", RF, KD),
        ("d2", LR, RF), ("d2", LR, KD), ("d2", RF, KD),
    ]
    assert table["n_folds"].tolist() == [4, 5, 4, 5, 5, 5]
    assert table["n_train"].tolist() == [80, 80, 80, 80, 80, 80]
    assert table["n_test"].tolist() == [20, 20, 20, 20, 20, 20]
    # d1 LR - RF on the 4 paired folds: [0.02, 0.03, 0.01, 0.02] -> +0.02
    # d1 RF - KD on folds 0-3: [0.08, 0.08, 0.11, 0.11] -> +0.095
    # d2 LR - RF: [-0.03, -0.01, -0.05, -0.03, -0.03] -> -0.03; d2 LR - KD: all 0
    assert table["mean_difference"].tolist() == pytest.approx([0.02, 0.12, 0.095, -0.03, 0.0, 0.03])
    assert table.loc[0, "mean_b"] == pytest.approx(0.81)  # RF over folds 0-3 only
    # d1 LR - KD: d = [0.10 .. 0.14], var = 2.5e-4, corrected var = 2.5e-4 * (1/5 + 20/80)
    # = 1.125e-4, t = 0.12 / sqrt(1.125e-4) = 8 * sqrt(2)
    assert table.loc[1, "t_statistic"] == pytest.approx(8 * math.sqrt(2), rel=1e-9)
    assert table.loc[1, "p_value"] == pytest.approx(2 * stats.t.sf(8 * math.sqrt(2), 4), rel=1e-9)
    # d2 LR - KD: the same difference (0) on every fold: reported as such, not tested (no infinite t)
    assert table["zero_variance"].tolist() == [False, False, False, False, True, False]
    assert np.isnan(table.loc[4, "t_statistic"]) and np.isnan(table.loc[4, "p_value"])
    assert (table.loc[4, "ci_low"], table.loc[4, "ci_high"]) == (0.0, 0.0)
    # Holm within each dataset, over the tested pairs
    for dataset in ("d1", "d2"):
        part = table[(table["dataset"] == dataset) & ~table["zero_variance"]]
        assert part["p_holm"].tolist() == pytest.approx(holm_adjust(part["p_value"]).tolist())
    assert table["significant"].tolist() == (table["p_holm"] < 0.05).tolist()
    assert table.loc[1, "significant"] and not table.loc[4, "significant"]
    assert set(pairwise_comparison(make_results())["split"]) == {"validation"}  # nested rows of one unit only
    everywhere = pd.concat([make_results().query("split != 'nested'"),
                            make_results().query("split == 'validation'").assign(split="nested")])
    assert set(pairwise_comparison(everywhere)["split"]) == {"nested"}  # the study ran nested CV: its scores
    assert (table["ci_low"] <= table["mean_difference"]).all()
    assert (table["mean_difference"] <= table["ci_high"]).all()
    assert "p_equivalent" not in table.columns


def test_pairwise_comparison_rejects_unknown_metric_and_duplicates():
    results = make_results()
    with pytest.raises(ValueError, match=re.escape(
        "Got metric='r2', which has no successful rows; the table has ['accuracy']."
    )):
        pairwise_comparison(results, metric="r2")
    doubled = pd.concat([results, results.iloc[:1]], ignore_index=True)
    with pytest.raises(ValueError, match="Found more than one score for the same dataset"):
        pairwise_comparison(doubled)
    with pytest.raises(ValueError, match=re.escape("The results table has no column(s) ['n_test']")):
        pairwise_comparison(results.drop(columns="n_test"))


def test_primary_metric_choice():
    results = make_results()
    other = results.assign(metric="balanced_accuracy", score=results["score"] - 0.1)
    # the study's first metric (first in row order) is primary
    both = pd.concat([other, results], ignore_index=True)
    assert pairwise_comparison(both)["metric"].unique().tolist() == ["balanced_accuracy"]
    both = pd.concat([results, other], ignore_index=True)
    assert pairwise_comparison(both)["metric"].unique().tolist() == ["accuracy"]
    assert pairwise_comparison(other)["metric"].unique().tolist() == ["balanced_accuracy"]
    assert resolve_metric(both) == "accuracy" and resolve_metric(other) == "balanced_accuracy"
    assert resolve_metric(both, "balanced_accuracy") == "balanced_accuracy"


def test_bootstrap_interval_contains_estimate_and_is_deterministic():
    y_true = np.array([0, 1] * 20)
    y_pred = y_true.copy()
    y_pred[:6] = 1 - y_pred[:6]  # accuracy 34/40 = 0.85
    first = bootstrap_interval(y_true, y_pred)
    assert first == bootstrap_interval(y_true, y_pred, random_state=0)
    assert first[0] <= 0.85 <= first[1]
    assert first == pytest.approx((0.725, 0.95))  # percentile bounds at seed 0
    assert bootstrap_interval(y_true, y_pred, "balanced_accuracy")[0] <= 0.85
    assert bootstrap_interval(y_true, y_true) == (1.0, 1.0)

    labels = np.where(y_true == 1, "cat", "dog")  # any label type
    assert bootstrap_interval(labels, np.where(y_pred == 1, "cat", "dog")) == first

    rng = np.random.default_rng(0)
    y = rng.normal(size=60)
    noisy = y + rng.normal(scale=0.5, size=60)
    for metric in ("r2", "neg_root_mean_squared_error"):
        point = _METRICS[metric](y, noisy)
        low, high = bootstrap_interval(y, noisy, metric, n_resamples=500)
        assert low < point < high

    with pytest.raises(ValueError, match=re.escape("Got y_true of shape (40,) and y_pred of shape (3,)")):
        bootstrap_interval(y_true, y_pred[:3])


def test_bootstrap_interval_fast_metrics_ignore_stored_outputs():
    # A metric with a vectorized fast path gives the same interval with or without the stored
    # outputs (they are only for scorers that need more than the predictions).
    y_true = np.array([0, 1] * 20)
    y_pred = y_true.copy()
    y_pred[:6] = 1 - y_pred[:6]
    block = pd.DataFrame({"y_true": y_true, "y_pred": y_pred,
                          "proba:0": np.where(y_pred == 0, 0.8, 0.2),
                          "proba:1": np.where(y_pred == 1, 0.8, 0.2)})
    outputs = stored_outputs(block)
    assert "proba" in outputs
    for metric in ("accuracy", "balanced_accuracy"):
        assert bootstrap_interval(y_true, y_pred, metric, outputs=outputs) == \
            bootstrap_interval(y_true, y_pred, metric)
    assert bootstrap_interval(y_true, y_pred, outputs=outputs) == pytest.approx((0.725, 0.95))


@pytest.mark.parametrize("metric", ["f1_macro", "matthews_corrcoef"])
def test_bootstrap_interval_any_label_scorer(metric):
    # f1_macro through its vectorized equivalent; matthews_corrcoef through the scorer itself,
    # called on every resample
    from sklearn.metrics import f1_score, matthews_corrcoef

    rng = np.random.default_rng(3)
    y_true = rng.integers(0, 3, size=90)
    y_pred = np.where(rng.random(90) < 0.75, y_true, rng.integers(0, 3, size=90))
    point = f1_score(y_true, y_pred, average="macro") if metric == "f1_macro" else matthews_corrcoef(y_true, y_pred)
    assert (metric in _METRICS) == (metric == "f1_macro")
    first = bootstrap_interval(y_true, y_pred, metric, n_resamples=500)
    assert all(math.isfinite(bound) for bound in first)
    assert first[0] < point < first[1]
    assert first[1] - first[0] < 0.5  # a real interval, not the whole range
    # deterministic for a fixed random_state; another seed resamples differently
    assert bootstrap_interval(y_true, y_pred, metric, n_resamples=500, random_state=0) == first
    other = bootstrap_interval(y_true, y_pred, metric, n_resamples=500, random_state=1)
    assert other != first and other[0] < point < other[1]
    # any label type, through the same scorer
    names = np.array(["ant", "bee", "cat"])
    assert bootstrap_interval(names[y_true], names[y_pred], metric, n_resamples=500) == \
        pytest.approx(first, rel=1e-12)
    # a perfect prediction: every resample scores 1
    assert bootstrap_interval(y_true, y_true, metric, n_resamples=50) == (1.0, 1.0)


def test_bootstrap_interval_roc_auc_ovr_from_stored_probabilities():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(4)
    n = 120
    y_true = np.arange(n) % 3
    logits = rng.normal(size=(n, 3)) + 1.5 * np.eye(3)[y_true]
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y_pred = proba.argmax(axis=1)
    block = pd.DataFrame({"dataset": "d", "model": "m", "index": np.arange(n), "y_true": y_true,
                          "y_pred": y_pred, **{f"proba:{c}": proba[:, c] for c in range(3)}})
    outputs = stored_outputs(block)
    assert outputs["proba"].shape == (n, 3) and outputs["classes"].tolist() == [0, 1, 2]
    point = roc_auc_score(y_true, proba, multi_class="ovr")
    low, high = bootstrap_interval(y_true, y_pred, "roc_auc_ovr", n_resamples=300, outputs=outputs)
    assert math.isfinite(low) and math.isfinite(high)
    assert low < point < high
    assert bootstrap_interval(y_true, y_pred, "roc_auc_ovr", n_resamples=300, outputs=outputs) == (low, high)


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
@pytest.mark.parametrize("metric", ["accuracy", "balanced_accuracy", "r2",
                                    "neg_root_mean_squared_error"])
def test_vectorized_metrics_equal_sklearn(metric):
    import sklearn.metrics

    name = {"accuracy": "accuracy_score", "balanced_accuracy": "balanced_accuracy_score",
            "r2": "r2_score", "neg_root_mean_squared_error": "root_mean_squared_error"}[metric]
    reference = getattr(sklearn.metrics, name)
    sign = -1 if metric.startswith("neg_") else 1
    assert sklearn.metrics.get_scorer(metric)  # the name is a scikit-learn scorer name
    rng = np.random.default_rng(1)
    if metric in ("accuracy", "balanced_accuracy"):
        y_true, y_pred = rng.integers(0, 4, size=(5, 30)), rng.integers(0, 5, size=(5, 30))
    else:
        y_true, y_pred = rng.normal(size=(5, 30)), rng.normal(size=(5, 30))
    got = _METRICS[metric](y_true, y_pred, axis=-1)
    expected = [sign * reference(t, p) for t, p in zip(y_true, y_pred)]
    assert got == pytest.approx(expected, rel=1e-12)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.UndefinedMetricWarning")
@pytest.mark.parametrize("kind", ["f1", "precision", "recall", "jaccard"])
@pytest.mark.parametrize("average", ["macro", "micro", "weighted"])
def test_vectorized_set_wise_metrics_equal_sklearn(kind, average):
    # resamples that miss a class, predict a class absent from the truth, or hold one class only
    import sklearn.metrics

    metric = f"{kind}_{average}"
    assert sklearn.metrics.get_scorer(metric)  # the name is a scikit-learn scorer name
    reference = getattr(sklearn.metrics, f"{kind}_score")
    rng = np.random.default_rng(2)
    y_true, y_pred = rng.integers(0, 4, size=(40, 12)), rng.integers(0, 5, size=(40, 12))
    y_true[0], y_pred[1], y_true[2], y_pred[2] = 3, 0, 1, 1
    y_true[3, :6] = y_pred[3, :6] = 2
    got = _METRICS[metric](y_true, y_pred, axis=-1)
    expected = [reference(t, p, average=average) for t, p in zip(y_true, y_pred)]
    assert got == pytest.approx(expected, rel=1e-12)
    assert _METRICS[metric](y_true[4], y_pred[4]) == pytest.approx(expected[4], rel=1e-12)  # one 1-D sample


def test_test_score_intervals():
    table = test_score_intervals(make_results(), make_predictions(), n_resamples=200)
    assert len(table) == 6
    assert table["score"].tolist() == [0.85, 0.83, 0.72, 0.90, 0.92, 0.90]
    assert ((table["low"] <= table["score"]) & (table["score"] <= table["high"])).all()
    no_predictions = test_score_intervals(make_results(), None)
    assert no_predictions["low"].isna().all() and no_predictions["high"].isna().all()


def test_test_score_intervals_neg_log_loss_from_stored_probabilities():
    from sklearn.metrics import log_loss

    rng = np.random.default_rng(5)
    rows, results = [], []
    for dataset, model in [("d1", LR), ("d1", RF), ("d2", LR)]:
        y_true = np.arange(40) % 3
        logits = rng.normal(size=(40, 3)) + 2.0 * np.eye(3)[y_true]
        proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        rows.append(pd.DataFrame({"dataset": dataset, "model": model, "index": np.arange(40),
                                  "y_true": y_true, "y_pred": proba.argmax(axis=1),
                                  **{f"proba:{c}": proba[:, c] for c in range(3)}}))
        results.append({**_row(dataset, model, "test", pd.NA, -log_loss(y_true, proba), 120, 40),
                        "metric": "neg_log_loss"})
    predictions = pd.concat(rows, ignore_index=True)
    table = test_score_intervals(pd.DataFrame(results), predictions, n_resamples=200)
    assert table["metric"].unique().tolist() == ["neg_log_loss"]
    assert len(table) == 3
    assert np.isfinite(table[["low", "high"]].to_numpy()).all()
    assert (table["low"] < table["high"]).all()
    assert ((table["low"] <= table["score"]) & (table["score"] <= table["high"])).all()
    assert (table["high"] < 0).all()  # neg_log_loss: higher is better, always negative here


def test_nested_summary():
    table = nested_summary(make_results())
    assert len(table) == 1
    row = table.iloc[0]
    assert (row["dataset"], row["model"], row["n_outer_folds"]) == ("d1", LR, 5)
    # non-nested = mean(0.80, 0.82, 0.84, 0.86, 0.88) = 0.84; nested mean = 0.80
    # nested std (ddof=0) = sqrt((0 + 4 + 4 + 16 + 16) e-4 / 5) = sqrt(8e-4)
    assert row["non_nested"] == pytest.approx(0.84)
    assert row["nested_mean"] == pytest.approx(0.80)
    assert row["nested_std"] == pytest.approx(math.sqrt(8e-4))
    assert row["optimism"] == pytest.approx(0.04)
    results = make_results()
    empty = nested_summary(results[results["split"] != "nested"])
    assert empty.empty and "optimism" in empty.columns


def test_rank_models_with_tie_and_exclusion():
    ranking = rank_models(make_results(), "test")
    # d1: LR 0.85 > RF 0.83 > KD 0.72 -> 1, 2, 3; d2: RF 0.92 > LR = KD 0.90 -> 1, 2.5, 2.5
    assert ranking.ranks.loc["d1"].tolist() == [1.0, 2.0, 3.0]
    assert ranking.ranks.loc["d2"].tolist() == [2.5, 1.0, 2.5]
    assert ranking.mean_ranks.to_dict() == {RF: 1.5, LR: 1.75, KD: 2.75}
    assert ranking.excluded == []

    messy = rank_models(make_messy_results(), "test")
    assert messy.excluded == [RF, KD, "keras_cnn"]
    assert messy.mean_ranks.to_dict() == {LR: 1.0}
    assert (messy.metric, messy.split) == ("accuracy", "test")
    assert not hasattr(messy, "note")  # the sentence is composed by the report's section


def test_statistics_section_ranks_sentence_names_excluded_models(tmp_path):
    text = statistics_section(make_messy_results(), None, tmp_path)
    ties = "1 = highest score, tied models share the average of their ranks (scipy.stats.rankdata, method \"average\")."
    assert (
        "Ranks of accuracy on the cross-validated score (GridSearchCV's validation folds): per dataset and model, "
        "the mean over the shared folds of the scores of the candidate GridSearchCV chose on those same folds "
        "(optimistic; nested CV did not run). Over 3 dataset(s) and 1 model(s) present on every dataset; " + ties
        + " Left out because they have no cross-validated score (GridSearchCV's validation folds) on some "
        "dataset: random_forest, keras_dense, keras_cnn."
    ) in text
    assert (
        "Ranks of accuracy on the hold-out test score: per dataset and model, the one score of the refit model on "
        "the untouched hold-out test split (a small test split gives equal scores, hence ties, often). Over 3 "
        "dataset(s) and 1 model(s) present on every dataset; " + ties + " Left out because they have no hold-out "
        "test score on some dataset: random_forest, keras_dense, keras_cnn. Shown beside the cross-validated "
        "ranks; the Friedman test and the diagram use those."
    ) in text
    text = statistics_section(make_results(), None, tmp_path)
    assert "Over 2 dataset(s) and 3 model(s) present on every dataset; " + ties in text
    assert "Left out because" not in text


def test_friedman_test():
    result = friedman_test(make_results())  # on the CV means (validation rows: nested CV ran for one unit only)
    # d1: LR 0.84 > RF 0.81 (4 folds) > KD 0.72; d2: RF 0.93 > LR = KD 0.90
    # Rank sums (1 = highest): LR 3.5, RF 3, KD 5.5; n = 2, k = 3
    # chi2 = 12 / (n k (k+1)) * sum R^2 - 3 n (k+1) = 0.5 * 51.5 - 24 = 1.75
    # tie correction 1 - sum(t^3 - t) / (n k (k^2 - 1)) = 1 - 6 / 48 = 0.875 -> chi2 = 2.0
    # p = chi2.sf(2, df=2) = exp(-1)
    scipy_value = stats.friedmanchisquare([0.84, 0.90], [0.81, 0.93], [0.72, 0.90])
    assert result.statistic == pytest.approx(scipy_value.statistic, rel=1e-12)
    assert result.statistic == pytest.approx(2.0, rel=1e-12)
    assert result.p_value == pytest.approx(math.exp(-1), rel=1e-12)
    assert (result.n_datasets, result.n_models) == (2, 3)
    assert result.reason == ""

    not_enough = friedman_test(make_messy_results())
    assert math.isnan(not_enough.statistic) and math.isnan(not_enough.p_value)
    assert (not_enough.n_datasets, not_enough.n_models) == (3, 1)
    assert not_enough.reason == (
        "not enough datasets/models (3 dataset(s), 1 model(s) on every "
        "dataset; it needs >= 2 datasets and >= 3 models)"
    )


def test_nemenyi_critical_difference_uses_demsar_table_5():
    # Demsar (2006) Table 5(a), alpha = 0.05: q = 1.960 (k=2), 2.343 (k=3), 2.569 (k=4)
    for k, q in [(2, 1.960), (3, 2.343), (4, 2.569)]:
        cd = nemenyi_cd(k, 10, 0.05)
        assert cd / math.sqrt(k * (k + 1) / 60) == pytest.approx(q, abs=1e-3)


def test_statistics_section_writes_critical_difference_png(tmp_path):
    figs = tmp_path / "figs"  # created by the section when missing
    text = statistics_section(make_results(), None, figs)
    path = figs / "critical_difference.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "![Critical difference diagram](figures/critical_difference.png)" in text
    none = tmp_path / "none"
    text = statistics_section(make_messy_results(), None, none)
    assert not (none / "critical_difference.png").exists()
    assert "No critical-difference diagram: it needs >= 2 models on >= 2 datasets." in text
    assert "![Critical difference diagram]" not in text


def test_statistics_section(tmp_path):
    text = statistics_section(make_results(), make_predictions(), tmp_path)
    assert (tmp_path / "critical_difference.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "![Critical difference diagram](figures/critical_difference.png)" in text
    assert ("| pair (a vs b) | mean difference (a − b) | unadjusted 95% CI | p (unadjusted) | Holm-adjusted p "
            "| decision (Holm) |") in text
    # d1 LR - KD: +0.120, interval 0.12 +/- t_{0.975,4} sqrt(1.125e-4) = +0.091 to +0.149
    table = pairwise_comparison(make_results())
    p, holm = table.loc[1, "p_value"], table.loc[1, "p_holm"]
    assert p < 0.001 and round(holm, 3) == 0.001
    assert ("| logistic_regression vs keras_dense | +0.120 | +0.091 to +0.149 | < 0.001 | 0.001 | significant |"
            in text)
    assert ("| logistic_regression vs keras_dense | +0.000 | +0.000 to +0.000 | n/a | n/a | not tested: the same "
            "difference on every fold |") in text
    assert "GridSearchCV's per-fold validation scores of its chosen candidate" in text
    assert "### Hold-out test scores" in text
    assert "| d1 | logistic_regression | 0.850 |" in text
    assert "### Nested versus non-nested cross-validation" in text
    assert "| d1 | logistic_regression | 0.840 | 0.800 ± 0.028 | +0.040 |" in text
    assert "| random_forest | 1.500 |" in text
    assert ("Friedman test over 2 datasets and 3 models: chi-square = 2.000, p = 0.368; Iman-Davenport F = 1.000 "
            "(df 2, 2), p = 0.500. With 2 datasets these tests have little power") in text


def test_statistics_section_handles_failures_single_model_and_no_nested(tmp_path):
    results = make_messy_results()
    results = results[results["split"] != "nested"]
    text = statistics_section(results, None, tmp_path)
    assert "Left out of every statistic (failed or skipped units):\n" \
           "- d2 / keras_cnn: ValueError: keras_cnn needs image data" in text
    assert "Fewer than two models have validation scores on this dataset (logistic_regression); " \
           "no pairwise comparison." in text
    assert "Nested versus non-nested" not in text
    assert (
        "Friedman test not run: not enough datasets/models (3 dataset(s), 1 model(s) on every "
        "dataset; it needs >= 2 datasets and >= 3 models)."
    ) in text
    assert "No critical-difference diagram: it needs >= 2 models on >= 2 datasets." in text
    assert not (tmp_path / "critical_difference.png").exists()
    assert "| d1 | keras_cnn | 0.760 | n/a |" in text


# ---------------------------------------------------------------------------------------------
# Ranks on the cross-validated score, the chance baseline left out, the multiclass Brier score
# ---------------------------------------------------------------------------------------------

A, B, C = "model_a", "model_b", "model_c"
# Per dataset x model: (validation folds, nested outer folds, hold-out test). The three scores order
# the models differently, so a ranking shows which one it used. The baseline scores highest on
# every split and has no nested rows (nothing to tune): ranked or paired, it would show. Tied means
# come from the same fold scores (a mean of the same values in another order may differ in the last bit).
SOURCES = {
    ("e1", A): ([0.90, 0.92, 0.94], [0.70, 0.72, 0.74], 0.80),
    ("e1", B): ([0.80, 0.82, 0.84], [0.80, 0.81, 0.85], 0.80),
    ("e1", C): ([0.70, 0.71, 0.75], [0.90, 0.91, 0.92], 0.80),
    ("e2", A): ([0.60, 0.62, 0.61], [0.60, 0.61, 0.65], 0.70),
    ("e2", B): ([0.60, 0.62, 0.61], [0.50, 0.52, 0.51], 0.60),
    ("e2", C): ([0.50, 0.55, 0.57], [0.60, 0.61, 0.65], 0.70),
    ("e3", A): ([0.31, 0.35, 0.33], [0.40, 0.45, 0.41], 0.30),
    ("e3", B): ([0.40, 0.45, 0.41], [0.40, 0.45, 0.41], 0.40),
    ("e3", C): ([0.20, 0.30, 0.25], [0.21, 0.23, 0.22], 0.20),
}
BASELINE_SCORES = ([0.99, 0.99, 0.99], None, 0.99)


def make_sourced_results(nested=True):
    """Three datasets x three models (+ the baseline): validation, nested and test rows of SOURCES."""
    units = dict(SOURCES)
    units.update({(dataset, BASELINE): BASELINE_SCORES for dataset in ("e1", "e2", "e3")})
    rows = []
    for (dataset, model), (validation, outer, test) in units.items():
        rows += [_row(dataset, model, "validation", k, v, 80, 20) for k, v in enumerate(validation)]
        rows += [_row(dataset, model, "nested", k, v, 80, 20) for k, v in enumerate(outer or []) if nested]
        rows.append(_row(dataset, model, "test", pd.NA, test, 100, 25))
    table = pd.DataFrame(rows)
    table["fold"] = table["fold"].astype("Int64")
    return table


def _expected_scores(position):
    """SOURCES' score at ``position`` (0 validation, 1 nested, 2 test) as datasets x models, fold means."""
    return pd.DataFrame({model: [float(np.mean(SOURCES[(d, model)][position])) for d in ("e1", "e2", "e3")]
                         for model in (A, B, C)}, index=["e1", "e2", "e3"])


def test_rank_within_datasets_ranks_ties_as_scipy_rankdata():
    scores = pd.DataFrame([[0.9, 0.9, 0.9, 0.8], [0.5, 0.7, 0.7, 0.6], [0.3, 0.2, 0.1, 0.3]],
                          index=["x", "y", "z"], columns=["p", "q", "r", "s"])
    ranks = rank_within_datasets(scores)
    # average ranks: a three-way tie for first shares (1 + 2 + 3) / 3 = 2 (not 1 as "min", not 1 and 2 as "dense")
    assert ranks.to_numpy().tolist() == [[2.0, 2.0, 2.0, 4.0], [4.0, 1.5, 1.5, 3.0], [1.5, 3.0, 4.0, 1.5]]
    for name, row in scores.iterrows():
        assert ranks.loc[name].tolist() == stats.rankdata(-row.to_numpy(), method="average").tolist()
    assert list(ranks.index) == ["x", "y", "z"] and list(ranks.columns) == ["p", "q", "r", "s"]


def test_ranks_use_nested_scores_when_the_study_ran_nested_cv():
    results = make_sourced_results()
    assert cv_split(results, "accuracy") == "nested"  # the baseline, without nested rows, does not count
    ranking = rank_models(results)
    expected = _expected_scores(1)
    assert ranking.split == "nested" and ranking.excluded == []
    pd.testing.assert_frame_equal(ranking.scores, expected, check_names=False, rtol=1e-12)
    ranks = np.vstack([stats.rankdata(-row, method="average") for row in expected.to_numpy()])
    assert ranking.ranks.to_numpy().tolist() == ranks.tolist()
    # e1: C 0.91 > B 0.82 > A 0.72; e2: A = C 0.62 > B 0.51; e3: A = B 0.42 > C 0.22
    assert ranks.tolist() == [[3.0, 2.0, 1.0], [1.5, 3.0, 1.5], [1.5, 1.5, 3.0]]
    assert ranking.mean_ranks.to_dict() == pytest.approx({A: 2.0, C: 11 / 6, B: 13 / 6}, rel=1e-12)
    assert list(ranking.mean_ranks.index) == [C, A, B]
    friedman = friedman_test(results)
    reference = stats.friedmanchisquare(*(expected[m].to_numpy() for m in (A, B, C)))
    assert friedman.statistic == pytest.approx(reference.statistic, rel=1e-12)
    assert friedman.p_value == pytest.approx(reference.pvalue, rel=1e-12)


def test_ranks_use_validation_scores_without_nested_cv_and_test_scores_when_asked():
    results = make_sourced_results(nested=False)
    assert cv_split(results, "accuracy") == "validation"
    ranking = rank_models(results)
    expected = _expected_scores(0)
    assert ranking.split == "validation"
    pd.testing.assert_frame_equal(ranking.scores, expected, check_names=False, rtol=1e-12)
    # e1: A 0.92 > B 0.82 > C 0.72; e2: A = B 0.61 > C 0.54; e3: B 0.42 > A 0.33 > C 0.25
    assert ranking.ranks.to_numpy().tolist() == [[1.0, 2.0, 3.0], [1.5, 1.5, 3.0], [2.0, 1.0, 3.0]]
    # nested rows for some units only: nested CV did not run for the study, the CV score is the validation one
    partial = make_sourced_results()
    partial = partial[~((partial["split"] == "nested") & (partial["model"] == C) & (partial["dataset"] == "e2"))]
    assert rank_models(partial).split == "validation"
    test = rank_models(results, "test")
    # e1: a three-way tie at 0.80 -> 2, 2, 2 (the hold-out ties the cross-validated score separates)
    assert test.split == "test" and test.ranks.to_numpy().tolist() == [[2.0, 2.0, 2.0], [1.5, 3.0, 1.5],
                                                                         [2.0, 1.0, 3.0]]


def test_the_baseline_is_in_no_pair_and_no_ranking():
    results = make_sourced_results()
    assert (results["model"] == BASELINE).sum() == 12  # it is in the table, with the highest scores
    for ranking in (rank_models(results), rank_models(results, "validation"), rank_models(results, "test")):
        assert list(ranking.scores.columns) == [A, B, C] and BASELINE not in ranking.excluded
    pairs = pairwise_comparison(results)
    assert set(pairs["split"]) == {"nested"}  # the baseline's missing nested rows do not demote the study
    assert BASELINE not in set(pairs["model_a"]) | set(pairs["model_b"])
    assert list(zip(pairs["dataset"], pairs["model_a"], pairs["model_b"])) == [
        (d, a, b) for d in ("e1", "e2", "e3") for a, b in ((A, B), (A, C), (B, C))]
    # the Holm family of a dataset is its three pairs of contenders: the same as without the baseline's rows
    alone = pairwise_comparison(results[results["model"] != BASELINE])
    pd.testing.assert_frame_equal(pairs.reset_index(drop=True), alone.reset_index(drop=True))
    e1 = pairs[pairs["dataset"] == "e1"]
    assert e1["p_holm"].tolist() == pytest.approx(holm_adjust(e1["p_value"]).tolist(), rel=1e-12)
    assert friedman_test(results).n_models == 3


def _three_class_case():
    """Probabilities of three classes stored in the model's (unsorted) class order b, c, a."""
    classes = np.array(["b", "c", "a"], dtype=object)
    y_true = np.array(["a", "b", "c", "a", "b", "c", "c"], dtype=object)
    proba = np.array([[0.2, 0.1, 0.7], [0.6, 0.3, 0.1], [0.1, 0.8, 0.1], [0.5, 0.2, 0.3],
                      [0.3, 0.3, 0.4], [0.2, 0.5, 0.3], [0.05, 0.9, 0.05]])
    return y_true, proba, classes


def _brier_formula(y_true, proba, classes):
    """Brier (1950): mean over rows of the squared errors summed over the classes."""
    onehot = (np.asarray(y_true)[:, None] == np.asarray(classes)[None, :]).astype(float)
    return float(np.mean(np.sum((proba - onehot) ** 2, axis=1)))


def test_multiclass_brier_is_the_standard_score_over_all_classes():
    from sklearn.metrics import brier_score_loss

    y_true, proba, classes = _three_class_case()
    expected = _brier_formula(y_true, proba, classes)
    # by hand: rows 0.14, 0.26, 0.06, 0.78, 0.74, 0.38, 0.015 -> 2.375 / 7
    assert expected == pytest.approx(2.375 / 7, rel=1e-12)
    assert multiclass_brier(y_true, proba, classes) == pytest.approx(expected, rel=1e-12)
    order = np.argsort(classes)  # scikit-learn's columns are the sorted labels
    assert multiclass_brier(y_true, proba, classes) == pytest.approx(
        brier_score_loss(y_true, proba[:, order], labels=classes[order]), rel=1e-12)
    # the mean of the per-class one-vs-rest scores (what the report showed) is 1/3 of it
    ovr = [brier_score_loss(y_true == c, proba[:, j]) for j, c in enumerate(classes)]
    assert np.mean(ovr) == pytest.approx(expected / 3, rel=1e-12)
    # two classes: halved, as is customary = the Brier score of the second class's probability
    y2 = np.array([0, 1, 1, 0, 1])
    p2 = np.array([0.3, 0.6, 0.9, 0.2, 0.4])
    binary = multiclass_brier(y2, np.column_stack([1 - p2, p2]), np.array([0, 1]))
    assert binary == pytest.approx(np.mean((p2 - y2) ** 2), rel=1e-12)
    assert binary == pytest.approx(0.132, rel=1e-12)


def test_calibration_table_has_the_multiclass_brier_and_the_one_vs_rest_ones():
    from sklearn.metrics import brier_score_loss

    y_true, proba, classes = _three_class_case()
    predictions = pd.DataFrame({"dataset": "d", "model": "m", "index": np.arange(len(y_true)), "y_true": y_true,
                                "y_pred": classes[proba.argmax(axis=1)],
                                **{f"proba:{c}": proba[:, j] for j, c in enumerate(classes)}})
    calibration = score_curves(predictions)["calibration"]
    assert list(calibration.columns) == CALIBRATION_COLUMNS
    assert CALIBRATION_COLUMNS[-2:] == ["brier_ovr", "brier"]
    expected = _brier_formula(y_true, proba, classes)
    assert calibration["brier"].to_numpy() == pytest.approx(np.full(len(calibration), expected), rel=1e-12)
    per_class = calibration[calibration["class"] != POOLED].drop_duplicates("class").set_index("class")["brier_ovr"]
    assert per_class.to_dict() == pytest.approx(
        {c: brier_score_loss(y_true == c, proba[:, j]) for j, c in enumerate(classes)}, rel=1e-12)
    assert per_class.sum() == pytest.approx(expected, rel=1e-12)
    pooled = calibration.loc[calibration["class"] == POOLED, "brier_ovr"].unique()
    assert pooled == pytest.approx([expected / 3], rel=1e-12)


@pytest.mark.parametrize("metric", ["roc_auc_ovr", "roc_auc_ovr_weighted"])
def test_vectorized_ovr_auc_equals_the_scorer_on_every_resample(metric):
    # tied probabilities, and resamples that miss a class (which the scorer refuses: NaN here)
    from study.scoring import score_stored
    from study.statistics.holdout import _VECTORIZED_SCORERS

    rng = np.random.default_rng(6)
    n = 25
    y_true = np.array(["ant", "bee", "cat", "dog"])[np.arange(n) % 4]
    proba = np.round(rng.dirichlet(np.ones(4), size=n), 1)
    proba[:, 3] = 1 - proba[:, :3].sum(1)
    outputs = {"y_true": y_true, "y_pred": y_true, "proba": proba, "classes": np.array(["ant", "bee", "cat", "dog"])}
    resamples = rng.integers(0, n, (300, n))
    resamples[0] = np.where(resamples[0] % 4 == 3, 0, resamples[0])  # no "dog"
    got = _VECTORIZED_SCORERS[metric](outputs, resamples)
    expected = []
    for rows in resamples:
        try:
            expected.append(score_stored(metric, outputs, rows))
        except ValueError:
            expected.append(np.nan)
    assert np.isnan(got[0]) and np.isnan(expected[0])
    assert got == pytest.approx(np.array(expected), rel=1e-12, nan_ok=True)
    # the interval is the one of the scorer called on each resample (the same resamples)
    low, high = bootstrap_interval(y_true, y_true, metric, n_resamples=300, outputs=outputs)
    scores = []
    for rows in np.random.default_rng(0).integers(0, n, (300, n)):
        try:
            scores.append(score_stored(metric, outputs, rows))
        except ValueError:
            continue
    assert (low, high) == pytest.approx(tuple(np.percentile(scores, [2.5, 97.5])), rel=1e-12)
    # probabilities that do not sum to one: left to the scorer (which refuses them)
    assert _VECTORIZED_SCORERS[metric]({**outputs, "proba": proba * 2}, resamples) is None
