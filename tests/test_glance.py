"""The "At a glance" section (study/report/glance.py): the answer per dataset from the verdicts."""

import pandas as pd

from study.report.glance import answer, glance_section
from study.results import COLUMNS, VERDICT_COLUMNS


def _verdicts(rows) -> pd.DataFrame:
    """Verdict rows from (model, verdict, advice, train, CV, best model)."""
    return pd.DataFrame([dict(dataset="wide", model=m, metric="accuracy", verdict=v, advice=a, train_mean=t,
                              validation_mean=cv, best_model=b) for m, v, a, t, cv, b in rows],
                        columns=VERDICT_COLUMNS)


def test_the_answer_names_the_best_the_overfitting_models_and_the_setting_that_closes_a_gap():
    verdicts = _verdicts([("logistic_regression", "overfitting", "regularize more: C, L1 penalty 0.1", 1.0, 0.65, "rf"),
                          ("ridge", "overfitting", "a simpler model", 0.99, 0.63, "rf"),
                          ("rf", "overfitting", "more training data", 1.0, 0.75, "rf")])
    text = answer("wide", verdicts, 0.5, {("wide", "rf"): 0.8})
    assert text == ("best **rf** (CV 0.75, hold-out 0.80, chance 0.50); overfitting: every model (train 0.99-1.00 "
                    "vs CV 0.63-0.75); logistic_regression: regularize more: C, L1 penalty 0.1.")


def test_the_answer_when_no_model_beats_chance_and_names_are_escaped():
    verdicts = _verdicts([("<b>m|x</b>", "no better than chance", "no signal found", 0.6, 0.33, "<b>m|x</b>")])
    assert answer("noise", verdicts, 0.34, {}) == (
        "no model beats chance (CV 0.33, chance 0.34): these features carry no signal the models can find; check "
        "the target and the features before tuning.")
    mixed = _verdicts([("a|b", "good fit", "none", 1.0, 0.9, "a|b"), ("<i>c", "underfitting", "x", 0.8, 0.8, "a|b")])
    text = answer("d", mixed, None, {})
    assert "a\\|b" in text and "&lt;i>c" in text and "<i>" not in text and "chance" not in text


def _results() -> pd.DataFrame:
    rows = []
    for model, scores in (("lr", [0.9, 0.92, 0.88]), ("dummy", [0.5, 0.5, 0.5])):
        for fold, score in enumerate(scores):
            for split, value in (("train", score + 0.05), ("validation", score)):
                rows.append(dict(dataset="d", model=model, framework="scikit-learn", split=split, fold=fold,
                                 metric="accuracy", score=value, n_train=80, n_test=20, status="ok"))
        rows.append(dict(dataset="d", model=model, split="test", metric="accuracy", score=scores[0], status="ok"))
    return pd.DataFrame(rows, columns=COLUMNS)


def test_the_glance_has_one_row_per_model_the_chance_line_and_links():
    verdicts = _verdicts([("lr", "good fit", "none", 0.95, 0.9, "lr")]).assign(dataset="d")
    text = glance_section(_results(), {"verdicts": verdicts}, "accuracy")
    assert text.startswith("## At a glance\n") and "[Fit verdicts](#fit-verdicts)" in text
    assert "**[d](#d)**: best **lr** (CV 0.90, hold-out 0.90, chance 0.50); good fit: every model." in text
    assert "| **lr** (best) | 0.900 (" in text and "| dummy" not in text
    assert "chance line (dummy, CV): 0.500." in text
    assert glance_section(_results(), {}, None).startswith("## At a glance\n\nNo model was scored")
