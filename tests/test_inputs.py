"""User data end to end: a messy CSV with every model, an image .npz through the CNN, regression."""

import numpy as np
from sklearn.datasets import load_digits

from study.results import read_results, summarize
from study.runner import run_study
from study.spec import DataSource, StudySpec
from tests.test_cli import _run


def test_real_world_csv_with_every_model(tmp_path):
    proc = _run("--data", "tests/data/customers.csv", "--target", "churned", "--quick", "--cv", "3",
                "--out", str(tmp_path), "--no-cache", "--no-diagnostics", timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Dropping ID-like column(s) ['customer_id']" in proc.stderr
    table = summarize(read_results(tmp_path / "results.csv")).set_index("model")
    ran = ["logistic_regression", "ridge", "random_forest", "keras_dense"]
    assert (table.loc[ran, "status"] == "ok").all()
    assert (table.loc[ran, "test_score"] > 0.63).all()  # beats always predicting the majority class (63%)
    assert table.loc["keras_cnn", "error"] == "keras_cnn needs image data; customers is tabular"


def test_npz_of_images_runs_the_cnn(tmp_path):
    digits = load_digits()
    path = tmp_path / "digits_images.npz"
    np.savez(path, X=digits.images[:600].astype("float32"), y=digits.target[:600])
    spec = StudySpec(datasets=(DataSource(str(path)),), models=("keras_cnn",), cv=3, quick=True, cache_dir=None, diagnostics=False)
    results = run_study(spec, progress=False).results
    test = results[(results["split"] == "test") & (results["metric"] == "accuracy")]
    assert test["model"].tolist() == ["keras_cnn"] and test["score"].iloc[0] > 0.85


def test_regression_end_to_end():
    spec = StudySpec(datasets=("diabetes",), models=("logistic_regression", "ridge", "random_forest", "keras_dense"),
                     cv=3, quick=True, cache_dir=None, diagnostics=False)
    results = run_study(spec, progress=False).results
    assert set(results["metric"].dropna()) == {"r2", "neg_root_mean_squared_error"}
    table = summarize(results).set_index("model")
    assert table.loc["logistic_regression", "status"] == "skipped"
    assert (table.loc[["ridge", "random_forest", "keras_dense"], "test_score"] > 0.2).all()  # R^2
