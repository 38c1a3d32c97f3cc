"""Canary datasets whose right verdicts are known, each made here and seeded: the study must give
exactly these verdicts (``study.statistics.verdicts``), with default settings (all cores, cache on),
on the test process's shared default workers (conftest ``shared_workers``)."""

import numpy as np
import pandas as pd
from sklearn.datasets import make_blobs, make_circles, make_moons
from sklearn.neighbors import KNeighborsClassifier

from backends.custom import sklearn_model
from study.orchestrator import run_study
from study.spec import DataSource, StudySpec


def _frame(X, y) -> pd.DataFrame:
    return pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])]).assign(label=y)


def _verdicts(tmp_path, workers, frame, models, **settings) -> pd.DataFrame:
    spec = StudySpec(datasets=(DataSource(frame, target="label", name="canary"),), models=models,
                     cache_dir=tmp_path / "cache", **settings)
    return run_study(spec, progress=False, workers=workers).tables["verdicts"].set_index("model")


def _noise() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return _frame(rng.normal(size=(1000, 20)), rng.integers(0, 3, 1000))


def test_pure_noise_every_model_is_no_better_than_chance(tmp_path, shared_workers):
    """1,000 x 20 of noise, 3 random classes: no model is above chance, whatever its gap (the chance
    rule comes before the overfitting rule), and no remedy advises more data or a setting."""
    models = ("logistic_regression", "ridge", "random_forest", "hist_gradient_boosting", "keras_dense")
    table = _verdicts(tmp_path, shared_workers, _noise(), models, quick=True, diagnostics=True)
    assert table["verdict"].to_dict() == dict.fromkeys(table.index, "no better than chance"), table["reason"]
    assert table.loc["random_forest", "gap_low"] > 0.1  # a confirmed gap, yet chance wins
    assert "is fitted noise" in table.loc["random_forest", "reason"]
    assert (table["chance_diff_low"] <= 0).all()
    for remedy in table["remedy"]:
        assert remedy.startswith("no model beats chance") and "more training data" not in remedy
        assert "regularize" not in remedy


def test_an_easy_separable_problem_is_a_good_fit(tmp_path, shared_workers):
    X, y = make_blobs(n_samples=400, centers=[[-3, -3], [3, 3]], cluster_std=1.0, random_state=0)
    table = _verdicts(tmp_path, shared_workers, _frame(X, y), ("logistic_regression", "random_forest"), quick=True,
                      diagnostics=True)
    assert table["verdict"].to_dict() == {"logistic_regression": "good fit", "random_forest": "good fit"}
    assert (table["advice"] == "none").all()


def test_a_nonlinear_problem_leaves_a_linear_model_underfitting(tmp_path, shared_workers):
    X, y = make_moons(n_samples=1000, noise=0.15, random_state=0)
    table = _verdicts(tmp_path, shared_workers, _frame(X, y), ("logistic_regression", "random_forest"), quick=True,
                      diagnostics=True)
    assert table.loc["logistic_regression", "verdict"] == "underfitting", table.loc["logistic_regression", "reason"]
    assert table.loc["logistic_regression", "advice"] == "a more flexible model"
    assert table.loc["random_forest", "verdict"] == "good fit", table.loc["random_forest", "reason"]


def test_a_lookup_problem_short_of_rows_names_more_data_with_its_interval(tmp_path, shared_workers):
    """The label is a fixed random function of a code (600 codes, 1,500 rows): 1-nearest neighbour
    memorizes (train 1.0), has no validation curve to regularize with, and every extra row shows it
    codes it had not seen: its learning curve's last gain is confirmed, so the remedy is more data."""
    rng = np.random.default_rng(0)
    codes, labels = rng.integers(0, 600, 1500), rng.integers(0, 2, 600)
    frame = pd.DataFrame({"code": codes.astype(float), "label": labels[codes]})
    knn = sklearn_model("one_nn", KNeighborsClassifier(n_neighbors=1))
    row = _verdicts(tmp_path, shared_workers, frame, (knn,), nested=False, diagnostics=True).loc["one_nn"]
    assert row["verdict"] == "overfitting" and row["advice"] == "more training data", row["remedy"]
    assert row["lc_gain_low"] > 0
    assert "more training data: the CV score rose +0.042 (95% CI 0.013 to 0.071)" in row["remedy"]


def test_an_under_trained_network_is_not_converged(tmp_path, shared_workers):
    """keras_dense with the quick epochs on circles: its training history still falls at the end."""
    X, y = make_circles(n_samples=600, noise=0.08, factor=0.5, random_state=0)
    table = _verdicts(tmp_path, shared_workers, _frame(X, y), ("random_forest", "keras_dense"), quick=True,
                      diagnostics=True)
    row = table.loc["keras_dense"]
    assert row["verdict"] == "not converged", row["reason"]
    assert row["advice"] == "train longer" and "training history" in row["remedy"]
