"""--mlflow (study.tracking, study.tracking_models): the shared quick wine study logged to a temporary
MLflow file store (tests/conftest.py), read back with MlflowClient; every tracking URI form logged
from a temporary current folder; a random forest logged to SQLite and registered from the CLI."""

import json
import os
import shutil
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from study.data import load_data
from study.predict import predict
from study.results import read_results, summarize
from study.run import main
from tests.test_saved import _test_rows

mlflow = pytest.importorskip("mlflow", reason="MLflow is not installed (pip install -e '.[mlflow]')")

from study.tracking import (ARTIFACTS, log_study, mlflow_key, registered_model_name,  # noqa: E402
                            tracking_uri)

WINE_FEATURES = 13
FORMS = ["file:/x", "file:///x", "file:relative", "relative path", "absolute path", "sqlite relative",
         "sqlite absolute"]


def _children(client, experiment_name="generalization-study"):
    experiment = client.get_experiment_by_name(experiment_name)
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    return parents, {r.data.tags["model"]: r for r in runs if "mlflow.parentRunId" in r.data.tags}


@pytest.fixture(scope="module")
def empty_database(tmp_path_factory):
    """An MLflow SQLite database with its tables and no experiment (creating the tables takes seconds)."""
    path = tmp_path_factory.mktemp("database") / "empty.db"
    mlflow.MlflowClient(f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture
def file_store(wine_study, monkeypatch):
    """The shared study's file store, as the tracking URI of MLflow's own functions."""
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    uri = wine_study["mlruns"].as_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return mlflow.MlflowClient(uri)


def test_mlflow_has_a_parent_run_and_one_child_per_unit_with_the_results(wine_study, file_store):
    client = file_store
    parents, children = _children(client)
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    assert f"parent run {parents[0].info.run_id}" in wine_study["stdout"]
    assert {r.data.tags["mlflow.parentRunId"] for r in children.values()} == {parents[0].info.run_id}
    assert {p.path for p in client.list_artifacts(parents[0].info.run_id)} >= {"report.md", "report.html",
                                                                                "results.csv"}
    results = read_results(wine_study["out"] / "results.csv")
    best = summarize(results, "accuracy").set_index("model").drop(index="dummy")["mean_test_score"].idxmax()
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
        assert parents[0].data.metrics[f"best_cv_{metric}_wine"] == pytest.approx(summary.loc[best, "mean_test_score"])
    assert parents[0].data.tags["best_model_wine"] == best
    assert set(children) == {"logistic_regression", "keras_dense", "dummy"}
    keras = children["keras_dense"].info.run_id
    assert {p.path for p in client.list_artifacts(keras, "stored_model")} == {
        "stored_model/estimator.pkl", "stored_model/model.json", "stored_model/network-0.keras"}
    figures = {p.path for p in client.list_artifacts(keras, "figures")}  # its dataset's and its own, no other
    assert figures == {f"figures/{p.name}" for p in (wine_study["out"] / "figures").iterdir()
                       if p.name.endswith("_wine.png") or p.name.endswith("_wine_keras_dense.png")}
    assert figures >= {f"figures/{kind}_wine.png" for kind in ("gaps", "scores", "roc", "pr", "confusion",
                                                               "calibration")}


def test_per_fold_scores_are_step_metrics_with_the_fold_as_step(wine_study, file_store):
    _, children = _children(file_store)
    results = read_results(wine_study["out"] / "results.csv")
    for split, name in (("train", "cv_train_accuracy"), ("validation", "cv_validation_accuracy")):
        folds = results[(results["model"] == "logistic_regression") & (results["split"] == split)
                        & (results["metric"] == "accuracy")]
        history = file_store.get_metric_history(children["logistic_regression"].info.run_id, name)
        assert sorted((m.step, m.value) for m in history) == sorted(zip(folds["fold"].astype(int), folds["score"]))
        assert len(history) == 5


@pytest.mark.parametrize("model", ["logistic_regression", "keras_dense"])
def test_the_logged_mlflow_model_predicts_what_study_predict_does(wine_study, file_store, model):
    _, children = _children(file_store)
    run_id = children[model].info.run_id
    _, rows = _test_rows(wine_study["out"], model)
    expected = predict(wine_study["out"] / "models" / "wine" / model, rows, say=lambda line: None)["y_pred"]
    loaded = mlflow.pyfunc.load_model(f"runs:/{run_id}/model")
    np.testing.assert_array_equal(loaded.predict(rows[rows.columns[::-1]]), expected.to_numpy())  # by name
    inputs = loaded.metadata.get_input_schema().input_names()
    assert inputs == list(rows.columns) and len(inputs) == WINE_FEATURES
    assert not any(column.required for column in loaded.metadata.get_input_schema().inputs)  # imputed if missing
    example = loaded.metadata.load_input_example(mlflow.artifacts.download_artifacts(f"runs:/{run_id}/model"))
    assert example.shape == (5, WINE_FEATURES)  # a few hold-out rows, no more of the data
    found = file_store.search_logged_models([children[model].info.experiment_id],
                                            filter_string=f"source_run_id = '{run_id}'")
    assert [m.name for m in found] == ["model"]
    if model == "logistic_regression":  # the scikit-learn flavour: the fitted Pipeline itself
        pipeline = mlflow.sklearn.load_model(f"runs:/{run_id}/model")
        np.testing.assert_array_equal(pipeline.predict(rows.to_numpy()), expected.to_numpy())
    else:  # the Keras pipeline: a pyfunc model that carries the stored folder
        assert loaded.metadata.flavors["python_function"]["loader_module"] == "mlflow.pyfunc.model"
        with pytest.raises(Exception, match="sklearn"):
            mlflow.sklearn.load_model(f"runs:/{run_id}/model")


def test_a_missing_column_is_refused_by_name(wine_study, file_store):
    _, children = _children(file_store)
    _, rows = _test_rows(wine_study["out"], "keras_dense")
    loaded = mlflow.pyfunc.load_model(f"runs:/{children['keras_dense'].info.run_id}/model")
    with pytest.raises(Exception, match="proline"):
        loaded.predict(rows.drop(columns="proline"))


def _only(result, models, dataset=None):
    """``result`` restricted to some models (and its dataset renamed), for cheap logging."""
    def keep(table):
        table = table[table["model"].isin(models)].copy()
        if dataset is not None and "dataset" in table:
            table["dataset"] = dataset
        return table

    return replace(result, results=keep(result.results), predictions=keep(result.predictions),
                   tables={name: keep(t) if t is not None and "model" in t else t for name, t in result.tables.items()},
                   models={(dataset or d, m): v for (d, m), v in result.models.items() if m in models})


def _store_forms(tmp_path):
    """(``--mlflow`` value, where the file store or database ends up, whether its artifacts are beside it)."""
    absolute = tmp_path / "elsewhere"
    return {
        "file:/x": (f"file:{absolute}/a", absolute / "a"),
        "file:///x": (f"file://{absolute}/b", absolute / "b"),
        "file:relative": ("file:rel/c", "cwd/rel/c"),
        "relative path": ("rel/d", "cwd/rel/d"),
        "absolute path": (str(absolute / "e"), absolute / "e"),
        "sqlite relative": ("sqlite:///rel/f.db", "cwd/rel/f.db"),
        "sqlite absolute": (f"sqlite:///{absolute}/g.db", absolute / "g.db"),
    }


@pytest.mark.parametrize("form", FORMS)
def test_every_tracking_uri_form_logs_where_mlflow_puts_it_and_nothing_in_the_current_folder(
        wine_study, wine_result, empty_database, tmp_path, monkeypatch, form):
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    cwd = tmp_path / "cwd"
    (cwd / "rel").mkdir(parents=True)
    monkeypatch.chdir(cwd)
    value, where = _store_forms(tmp_path)[form]
    where = tmp_path / where if isinstance(where, str) else where
    if str(where).endswith(".db"):  # the tables made; the experiment is created beside it (the CLI test: a new file)
        where.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(empty_database, where)
    uri = tracking_uri(value)
    parent = log_study(_only(wine_result, ["dummy"]), wine_study["out"], uri)
    if str(where).endswith(".db"):
        assert uri == value and where.is_file()
        store = f"sqlite:///{where}"
        artifacts = where.parent / ARTIFACTS
    else:
        assert uri == where.as_uri() and (where / "0").is_dir()
        store, artifacts = uri, where
    client = mlflow.MlflowClient(store)
    parents, children = _children(client)
    assert [r.info.run_id for r in parents] == [parent] and set(children) == {"dummy"}
    child = children["dummy"].info.run_id
    model = client.search_logged_models([children["dummy"].info.experiment_id])[0]
    assert list(artifacts.rglob("MLmodel")) and list(artifacts.rglob("report.md"))  # the model's, the parent's
    assert model.source_run_id == child and model.artifact_location.startswith(artifacts.as_uri())
    assert sorted(p.name for p in cwd.iterdir()) == ["rel"]  # nothing else written in the current folder
    if not str(where).startswith(str(cwd)):
        assert not any((cwd / "rel").iterdir())


@pytest.fixture
def tracking_server(tmp_path, monkeypatch):
    """MLflow's own tracking server app (``mlflow server``'s Flask app, proxying artifacts) on a free
    local port, in a thread (``mlflow server`` itself needs most of a minute to start here):
    ``(uri, store folder, artifacts folder)``."""
    import threading

    from werkzeug.serving import make_server

    from mlflow.server import app, handlers
    from mlflow.tracking._model_registry import utils as registry_utils
    from mlflow.tracking._tracking_service import utils as tracking_utils

    store, artifacts = tmp_path / "server_store", tmp_path / "server_artifacts"
    for name, value in (("MLFLOW_ALLOW_FILE_STORE", "true"), ("_MLFLOW_SERVER_FILE_STORE", str(store)),
                        ("_MLFLOW_SERVER_SERVE_ARTIFACTS", "true"),
                        ("_MLFLOW_SERVER_ARTIFACT_DESTINATION", str(artifacts)),
                        ("_MLFLOW_SERVER_ARTIFACT_ROOT", "mlflow-artifacts:/")):
        monkeypatch.setenv(name, value)
    for name in ("_tracking_store", "_model_registry_store", "_artifact_repo"):  # the server's cached stores
        monkeypatch.setattr(handlers, name, None)
    # the server sets this process's tracking and registry URIs (and their variables) to its store
    # folder when it makes its stores: the clients of this process, here and after, must not use them
    uris = [(tracking_utils, "_tracking_uri", "MLFLOW_TRACKING_URI"),
            (registry_utils, "_registry_uri", "MLFLOW_REGISTRY_URI")]
    saved = [(module, name, variable, getattr(module, name), os.environ.get(variable))
             for module, name, variable in uris]

    def restore():
        for module, name, variable, value, environ in saved:
            setattr(module, name, value)
            if environ is None:
                os.environ.pop(variable, None)
            else:
                os.environ[variable] = environ

    handlers._get_tracking_store(), handlers._get_model_registry_store()
    restore()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}", store, artifacts
    finally:
        server.shutdown()
        thread.join(timeout=10)
        restore()


def test_an_http_tracking_uri_logs_to_the_server_and_nothing_in_the_current_folder(
        wine_study, wine_result, tracking_server, tmp_path, monkeypatch):
    uri, store, artifacts = tracking_server
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    assert tracking_uri(uri) == uri
    parent = log_study(_only(wine_result, ["dummy"]), wine_study["out"], uri)
    parents, children = _children(mlflow.MlflowClient(uri))
    assert [r.info.run_id for r in parents] == [parent] and set(children) == {"dummy"}
    assert list(store.rglob(parent)) and list(artifacts.rglob("MLmodel")) and list(artifacts.rglob("report.md"))
    assert list(cwd.iterdir()) == []
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    _, rows = _test_rows(wine_study["out"], "dummy")
    assert (mlflow.pyfunc.load_model(f"runs:/{children['dummy'].info.run_id}/model").predict(rows)
            == predict(wine_study["out"] / "models" / "wine" / "dummy", rows, say=lambda line: None)["y_pred"]).all()


def test_history_metrics_take_the_curves_of_the_run_the_report_draws(wine_study, wine_result, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    epochs = range(1, 5)
    rows = [dict(dataset="wine", model="keras_dense", fold=0, variant=variant, epoch=epoch, curve=curve,
                 value=epoch / 10 + (curve == "val_loss") + (variant != "no early stopping") * 100,
                 stopped_epoch=4 if variant == "no early stopping" else 3,
                 best_epoch=np.nan if variant == "no early stopping" else 2, patience=1, source="")
            for variant in ("no early stopping", "early stopping") for curve in ("loss", "val_loss")
            for epoch in epochs]
    result = _only(wine_result, ["keras_dense"])
    result = replace(result, tables={**result.tables, "histories": pd.DataFrame(rows)})
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    uri = tracking_uri("mlruns")
    log_study(result, wine_study["out"], uri)
    client = mlflow.MlflowClient(uri)
    _, children = _children(client)
    run = children["keras_dense"].info.run_id
    assert [(m.step, m.value) for m in client.get_metric_history(run, "val_loss")] == [
        (e, pytest.approx(e / 10 + 1)) for e in epochs]
    assert len(client.get_metric_history(run, "loss")) == 4
    metrics = client.get_run(run).data.metrics
    assert metrics["early_stopping_epoch"] == 3 and metrics["early_stopping_best_epoch"] == 2


def test_a_hostile_dataset_name_gets_safe_distinct_metric_names(wine_study, wine_result, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    hostile = "../wine: a/b\nc"
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    uri = tracking_uri("mlruns")
    log_study(_only(wine_result, ["logistic_regression", "dummy"], dataset=hostile), wine_study["out"], uri)
    client = mlflow.MlflowClient(uri)
    parents, children = _children(client)
    key = mlflow_key("best_cv", "accuracy", hostile)
    assert key.startswith("best_cv_accuracy_wine_a_b_c-") and mlflow_key("x", "a b") != mlflow_key("x", "a_b")
    assert key in parents[0].data.metrics and parents[0].data.tags[mlflow_key("best_model", hostile)] == \
        "logistic_regression"
    assert children["logistic_regression"].data.tags["dataset"] == hostile
    assert registered_model_name("study", hostile, "m") == f"study-{key.removeprefix('best_cv_accuracy_')}-m"


def test_a_model_mlflow_cannot_log_is_a_tag_and_a_warning_not_a_failure(wine_study, wine_result, tmp_path,
                                                                        monkeypatch):
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    folder = tmp_path / "out" / "models" / "wine" / "dummy"
    shutil.copytree(wine_study["out"] / "models" / "wine" / "dummy", folder)
    (folder / "estimator.pkl").write_bytes(b"edited")
    uri = tracking_uri(str(tmp_path / "mlruns"))
    with pytest.warns(UserWarning, match=r"MLflow: the model of wine / dummy was not logged \(ValueError: "):
        log_study(_only(wine_result, ["dummy"]), tmp_path / "out", uri)
    client = mlflow.MlflowClient(uri)
    parents, children = _children(client)
    assert parents[0].info.status == children["dummy"].info.status == "FINISHED"
    assert children["dummy"].data.tags["model_error"].startswith("not logged: ValueError: ")
    assert "test_accuracy" in children["dummy"].data.metrics
    assert not client.search_logged_models([children["dummy"].info.experiment_id])


def test_cli_logs_to_sqlite_beside_the_database_and_registers_each_model(empty_database, tmp_path, monkeypatch,
                                                                         capsys, default_workers_lent):
    cwd = tmp_path / "cwd"
    (cwd / "store").mkdir(parents=True)
    shutil.copy(empty_database, cwd / "store" / "m.db")
    monkeypatch.chdir(cwd)
    out = tmp_path / "out"
    status = main(["--quick", "--cv", "2", "--datasets", "wine", "--models", "random_forest", "--out", str(out),
                   "--cache-dir", str(tmp_path / "cache"), "--mlflow", "sqlite:///store/m.db",
                   "--mlflow-register", "study"])
    assert status == 0, capsys.readouterr().err
    assert sorted(p.name for p in cwd.iterdir()) == ["store"]
    assert sorted(p.name for p in (cwd / "store").iterdir()) == ["m.db", ARTIFACTS]
    uri = f"sqlite:///{cwd / 'store' / 'm.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    client = mlflow.MlflowClient(uri)
    _, children = _children(client)
    assert set(children) == {"random_forest", "dummy"}
    versions = client.search_model_versions("name = 'study-wine-random_forest'")
    assert [int(v.version) for v in versions] == [1] and versions[0].run_id == children["random_forest"].info.run_id
    assert not client.search_model_versions("name = 'study-wine-dummy'")  # the baseline is not registered
    predictions = pd.read_csv(out / "predictions.csv")
    wine = load_data("wine")
    rows = pd.DataFrame(wine.X[predictions.loc[predictions["model"] == "random_forest", "index"]],
                        columns=wine.feature_names)
    expected = predict(out / "models" / "wine" / "random_forest", rows, say=lambda line: None)["y_pred"]
    for uri_form in (f"runs:/{children['random_forest'].info.run_id}/model", "models:/study-wine-random_forest/1"):
        np.testing.assert_array_equal(mlflow.pyfunc.load_model(uri_form).predict(rows), expected.to_numpy())


@pytest.mark.parametrize("argv, message", [
    (["--mlflow-register", "study"], "error: --mlflow-register study given without --mlflow; expected it with"),
    (["--mlflow", "STORE", "--mlflow-register", "a/b"], "error: --mlflow-register got 'a/b'; expected the name"),
    (["--mlflow", "sqlite://", "--mlflow-register", "x"], "error: --mlflow sqlite:// is an in-memory database"),
])
def test_bad_mlflow_options_exit_2_in_one_line_before_training(tmp_path, capsys, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    argv = [str(tmp_path / "mlruns") if value == "STORE" else value for value in argv]
    status = main(["--quick", "--datasets", "wine", "--models", "ridge", "--out", str(tmp_path / "out"),
                   "--no-cache", *argv])
    err = capsys.readouterr().err
    assert status == 2 and err.startswith(message) and err.count("\n") == 1, err
    assert list(tmp_path.iterdir()) == []  # no report, no store


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
