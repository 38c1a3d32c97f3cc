"""Tests for the report's statistics section (study/report/statistics.py) and the Brier score of the
hold-out scores section (study/report/scores.py): one row per pair, unadjusted intervals said so,
names escaped, the baseline left out, the two rankings named, the multiclass Brier score shown."""

import numpy as np
import pandas as pd
import pytest

from study.report.format import cell
from study.report.scores import _calibration_label, score_curves_section
from study.report.statistics import statistics_section
from study.results import BASELINE
from study.statistics.threshold_curves import POOLED, score_curves
from study.statistics.paired import pairwise_comparison
from tests.test_statistics import (
    A,
    B,
    C,
    _brier_formula,
    _three_class_case,
    make_results,
    make_sourced_results,
)

PAIR_HEADER = ("| pair (a vs b) | mean difference (a − b) | unadjusted 95% CI | p (unadjusted) | Holm-adjusted p "
               "| decision (Holm) |")


def _section(results, tmp_path):
    return statistics_section(results, None, tmp_path)


def _pair_rows(text):
    """The pairs' table rows of a section (not their header)."""
    return [line for line in text.splitlines() if line.startswith("| ") and " vs " in line
            and not line.startswith("| pair (a vs b)")]


def _part(text, start, end):
    """The lines of ``text`` from the heading ``start`` to the next heading ``end`` (excluded)."""
    return text[text.index(start):text.index(end, text.index(start) + len(start))]


def test_one_table_row_per_pair_with_unadjusted_intervals(tmp_path):
    text = _section(make_results(), tmp_path)
    assert text.count(PAIR_HEADER) == 2  # one table per dataset
    pairs = pairwise_comparison(make_results())
    rows = _pair_rows(text)
    assert len(rows) == len(pairs) == 6
    assert all(line.count(" | ") == 5 and len(line) < 160 for line in rows)  # six cells, one short line each
    # d2 LR vs RF: the unadjusted interval excludes 0 (p = 0.034) while Holm's decision over the dataset's two
    # tested pairs is "not significant" (0.068): the interval is labelled unadjusted, so they do not contradict
    assert ("| logistic_regression vs random_forest | -0.030 | -0.056 to -0.004 | 0.034 | 0.068 | not significant |"
            in text)
    assert ("| logistic_regression vs keras_dense | +0.120 | +0.091 to +0.149 | < 0.001 | 0.001 | significant |"
            in text)
    pairs_part = _part(text, "### d1", "### Hold-out test scores")
    assert pairs_part.count("95% CI") == pairs_part.count("unadjusted 95% CI") == 2
    assert "Holm-corrected p =" not in text  # the old run-on sentences are gone


def test_names_go_through_the_cell_helper(tmp_path):
    odd_model, odd_dataset = "lin|ear <b>", "set|one"
    results = make_results().replace({"model": {"logistic_regression": odd_model}, "dataset": {"d1": odd_dataset}})
    text = _section(results, tmp_path)
    assert cell(odd_model) == "lin\\|ear &lt;b>" and cell(odd_dataset) == "set\\|one"
    assert odd_model not in text and odd_dataset not in text
    assert f"### {cell(odd_dataset)}" in text
    assert f"| {cell(odd_model)} vs random_forest | +0.020 |" in text  # a pair row
    assert f"| {cell(odd_dataset)} | {cell(odd_model)} | 0.850 |" in text  # the hold-out table
    assert f"| {cell(odd_model)} | 1.750 |" in text  # a mean-rank table


def test_the_baseline_is_shown_but_neither_paired_nor_ranked(tmp_path):
    text = _section(make_sourced_results(), tmp_path)
    assert (f"The chance baseline ({BASELINE}) is a reference, not a contender: it is in no pairwise test and no "
            "ranking (its scores are in the tables).") in text
    assert f"| e1 | {BASELINE} | 0.990 |" in text  # the hold-out table keeps it
    pair_rows = _pair_rows(text)
    assert len(pair_rows) == 9 and not any(BASELINE in line for line in pair_rows)
    ranks = text[text.index("### Ranks over datasets: cross-validated score"):]
    assert f"| {BASELINE} |" not in ranks
    assert "Friedman test over 3 datasets and 3 models" in ranks


def test_the_two_rankings_say_which_score_they_use(tmp_path):
    text = _section(make_sourced_results(), tmp_path)
    cv = _part(text, "### Ranks over datasets: cross-validated score", "### Ranks over datasets: hold-out test score")
    test = text[text.index("### Ranks over datasets: hold-out test score"):]
    assert ("Ranks of accuracy on the cross-validated score (nested CV's outer folds): per dataset and model, the "
            "mean over the shared folds of the scores of the candidate that an inner search chose on each outer "
            "fold's training part.") in cv
    # nested means: e1 C > B > A; e2 A = C > B; e3 A = B > C -> C 11/6, A 2, B 13/6
    assert f"| {C} | 1.833 |\n| {A} | 2.000 |\n| {B} | 2.167 |" in cv
    assert "![Critical difference diagram](figures/critical_difference.png)" in cv
    assert (tmp_path / "critical_difference.png").exists()
    assert "Ranks of accuracy on the hold-out test score: per dataset and model, the one score of the refit " \
           "model on the untouched hold-out test split" in test
    # test scores: e1 three-way tie (2, 2, 2); e2 A = C > B (1.5, 3, 1.5); e3 B > A > C (2, 1, 3)
    assert f"| {A} | 1.833 |\n| {B} | 2.000 |\n| {C} | 2.167 |" in test
    assert "Friedman test over" not in test and "![Critical difference diagram]" not in test  # shown, not tested


def test_without_nested_cv_the_ranks_say_validation_folds(tmp_path):
    text = _section(make_sourced_results(nested=False), tmp_path)
    assert "Ranks of accuracy on the cross-validated score (GridSearchCV's validation folds)" in text
    assert "(optimistic; nested CV did not run)" in text
    # validation means: e1 A > B > C; e2 A = B > C; e3 B > A > C -> A 1.5, B 1.5, C 3
    assert f"| {A} | 1.500 |\n| {B} | 1.500 |\n| {C} | 3.000 |" in text


def _three_class_tables():
    y_true, proba, classes = _three_class_case()
    predictions = pd.DataFrame({"dataset": "d", "model": "m", "index": np.arange(len(y_true)), "y_true": y_true,
                                "y_pred": classes[proba.argmax(axis=1)],
                                **{f"proba:{c}": proba[:, j] for j, c in enumerate(classes)}})
    return score_curves(predictions), _brier_formula(y_true, proba, classes)


def test_scores_section_shows_the_multiclass_brier_score(tmp_path):
    tables, expected = _three_class_tables()
    assert f"{expected:.3f}" == "0.339"  # the mean of the one-vs-rest scores would be 0.113
    text = score_curves_section(tables, tmp_path)
    assert "| model | ROC AUC | average precision | Brier score, all classes (lower is better) |" in text
    assert "| m |" in text and text.split("| m |")[1].splitlines()[0].endswith("| 0.339 |")
    assert "`brier_ovr`" in text and "one-vs-rest" in text
    pooled = tables["calibration"][tables["calibration"]["class"] == POOLED]
    assert _calibration_label(POOLED, pooled) == "all classes pooled (multiclass Brier 0.339)"


def test_binary_calibration_label_is_the_usual_brier_score():
    y = np.array([0, 1, 1, 0, 1] * 4)
    p = np.array([0.3, 0.6, 0.9, 0.2, 0.4] * 4)
    predictions = pd.DataFrame({"dataset": "d", "model": "m", "index": np.arange(len(y)), "y_true": y,
                                "y_pred": (p > 0.5).astype(int), "proba:0": 1 - p, "proba:1": p})
    calibration = score_curves(predictions)["calibration"]
    assert set(calibration["class"]) == {"1"}
    assert calibration["brier"].iloc[0] == pytest.approx(np.mean((p - y) ** 2), rel=1e-12)  # 0.132
    assert _calibration_label("1", calibration) == "class 1 (Brier 0.132)"
