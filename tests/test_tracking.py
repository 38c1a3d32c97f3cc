"""--mlflow (study.tracking): the shared quick wine study logged to a temporary MLflow file store
(tests/conftest.py), read back with MlflowClient."""

import json

import pytest

from study.results import read_results, summarize
from study.run import main

mlflow = pytest.importorskip("mlflow", reason="MLflow is not installed (pip install -e '.[mlflow]')")


def test_mlflow_has_a_parent_run_and_one_child_per_unit_with_the_results(wine_study, monkeypatch):
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    client = mlflow.MlflowClient(wine_study["mlruns"].as_uri())
    experiment = client.get_experiment_by_name("generalization-study")
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = {r.data.tags["model"]: r for r in runs if "mlflow.parentRunId" in r.data.tags}
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    assert f"parent run {parents[0].info.run_id}" in wine_study["stdout"]
    assert {r.data.tags["mlflow.parentRunId"] for r in children.values()} == {parents[0].info.run_id}
    assert {p.path for p in client.list_artifacts(parents[0].info.run_id)} >= {"report.md", "report.html",
                                                                                "results.csv"}
    results = read_results(wine_study["out"] / "results.csv")
    for metric in ("accuracy", "balanced_accuracy"):
        summary = summarize(results, metric).set_index("model")
        for model, run in children.items():
            row = summary.loc[model]
            logged = run.data.metrics
            assert logged[f"test_{metric}"] == row["test_score"]
            assert logged[f"cv_mean_{metric}"] == pytest.approx(row["mean_test_score"], rel=1e-12)
            assert logged[f"train_{metric}"] == pytest.approx(row["mean_train_score"], rel=1e-12)
            assert logged[f"gap_cv_test_{metric}"] == pytest.approx(row["gap_cv_test"], rel=1e-12)
            assert logged["fit_time"] == pytest.approx(row["fit_time"], rel=1e-12)
            assert {k: v for k, v in run.data.params.items() if k.startswith("model__")} == {
                k: str(v) for k, v in json.loads(row["best_params"]).items()}
    assert set(children) == {"logistic_regression", "keras_dense", "dummy"}
    keras = children["keras_dense"].info.run_id
    assert {p.path for p in client.list_artifacts(keras, "model")} == {
        "model/estimator.pkl", "model/model.json", "model/network-0.keras"}
    assert {p.path for p in client.list_artifacts(keras, "figures")} == {  # its dataset's, with its panels
        f"figures/{kind}_wine.png" for kind in ("gaps", "scores", "roc", "pr", "confusion", "calibration")}


@pytest.mark.parametrize("store, message", [
    ("http://127.0.0.1:9", "error: Cannot use the MLflow tracking store 'http://127.0.0.1:9' (MlflowException"),
    ("FILE", "error: Cannot use the MLflow tracking store"),
])
def test_a_bad_tracking_store_exits_2_in_one_line_before_training(tmp_path, capsys, monkeypatch, store, message):
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # what the command sets for a local store
    if store == "FILE":
        store = str(tmp_path / "a_file")
        (tmp_path / "a_file").write_text("")
    status = main(["--quick", "--datasets", "wine", "--models", "ridge", "--out", str(tmp_path / "out"),
                   "--no-cache", "--mlflow", store])
    err = capsys.readouterr().err
    assert status == 2 and err.startswith(message) and err.count("\n") == 1, err
    assert "leave out --mlflow" in err and not (tmp_path / "out").exists()
