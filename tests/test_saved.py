"""Stored models: every successful unit's tuned model under models/<dataset>/<model>/, loaded again
(study.saved, study.report.models), from the shared quick wine study (tests/conftest.py)."""

import json
import zipfile

import numpy as np
import pandas as pd
import pytest

from study.data import load_data
from study.report.folder import check_contents
from study.results import read_results
from study.saved import load_model, read_info
from study.spec import InputError

MODELS = ("logistic_regression", "keras_dense")


def _test_rows(out, model):
    """The study's hold-out predictions of ``model`` and the wine rows they were made for."""
    predictions = pd.read_csv(out / "predictions.csv")
    predictions = predictions[predictions["model"] == model].reset_index(drop=True)
    wine = load_data("wine")
    return predictions, pd.DataFrame(wine.X[predictions["index"]], columns=wine.feature_names)


def test_every_successful_unit_keeps_its_model_with_its_description(wine_study):
    out = wine_study["out"]
    results = read_results(out / "results.csv")
    assert sorted(p.name for p in (out / "models" / "wine").iterdir()) == sorted([*MODELS, "dummy"])
    for model in MODELS:
        info = read_info(out / "models" / "wine" / model)
        best = results.loc[results["model"] == model, "best_params"].iloc[0]
        test = results[(results["model"] == model) & (results["split"] == "test")].set_index("metric")["score"]
        assert info["best_params"] == json.loads(best)
        assert info["test_scores"] == pytest.approx(test.to_dict())
        assert [f["name"] for f in info["features"]] == load_data("wine").feature_names
        assert info["classes"] == [0, 1, 2] and info["study"]["datasets"] == ["wine"] and info["study"]["quick"]
    keras = out / "models" / "wine" / "keras_dense"
    assert sorted(p.name for p in keras.iterdir()) == ["estimator.pkl", "model.json", "network-0.keras"]
    assert "config.json" in zipfile.ZipFile(keras / "network-0.keras").namelist()  # Keras' native format
    assert "Stored models" in (out / "report.md").read_text()


@pytest.mark.parametrize("model", MODELS)
def test_a_loaded_model_predicts_what_the_study_predicted(wine_study, model):
    predictions, rows = _test_rows(wine_study["out"], model)
    estimator = load_model(wine_study["out"] / "models" / "wine" / model)
    np.testing.assert_array_equal(estimator.predict(rows.to_numpy()), predictions["y_pred"])
    proba = predictions[[f"proba:{c}" for c in (0, 1, 2)]].to_numpy()
    np.testing.assert_allclose(estimator.predict_proba(rows.to_numpy()), proba, rtol=1e-6, atol=1e-7)
    if model == "keras_dense":  # the layers' own L2 factor is saved and loaded with the network
        chosen = read_info(wine_study["out"] / "models" / "wine" / model)["best_params"]["model__l2"]
        factors = [float(layer.l2.numpy()) for layer in estimator[-1].model_.layers if hasattr(layer, "l2")]
        assert factors and factors == pytest.approx([chosen] * len(factors))


def test_best_estimator_from_python_is_the_stored_one(wine_study, wine_result):
    predictions, rows = _test_rows(wine_study["out"], "keras_dense")
    estimator = wine_result.best_estimator("wine", "keras_dense")
    np.testing.assert_array_equal(estimator.predict(rows.to_numpy()), predictions["y_pred"])
    with pytest.raises(KeyError, match=r"No kept model for dataset 'wine' and model 'ridge'; the study kept: "
                                       r"\('wine', 'logistic_regression'\), \('wine', 'keras_dense'\)"):
        wine_result.best_estimator("wine", "ridge")


def test_not_a_model_folder_is_refused_in_one_line(tmp_path):
    with pytest.raises(ValueError, match=r"Model folder '.*nothing' does not exist; expected a folder "
                                         r"OUT/models/<dataset>/<model>"):
        read_info(tmp_path / "nothing")
    with pytest.raises(ValueError, match=r"is not a stored model: it has no model.json"):
        load_model(tmp_path)


def test_a_report_folder_is_refused_when_its_models_hold_other_files(wine_study, tmp_path):
    check_contents(wine_study["out"])  # a report with its models is a report
    report = tmp_path / "report"
    (report / "models" / "wine" / "ridge").mkdir(parents=True)
    for name in ("report.md", "study.json"):
        (report / name).write_text("x")
    (report / "models" / "wine" / "ridge" / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="holds 'models', which this tool does not write"):
        check_contents(report)


def test_an_estimator_that_cannot_be_packed_is_recorded_and_listed_not_raised(tmp_path):
    import threading

    from sklearn.dummy import DummyClassifier

    from study.report.models import models_section
    from study.saved import keep

    iris = load_data("iris")
    estimator = DummyClassifier().fit(iris.X, iris.y)
    estimator.lock_ = threading.Lock()  # nothing can pickle it
    saved = keep(estimator, iris, best_params={}, scores={"accuracy": 0.3})
    assert not saved.ok and saved.files == {} and saved.error == "TypeError: cannot pickle '_thread.lock' object"
    assert saved.info["classes"] == [0, 1, 2] and saved.info["test_scores"] == {"accuracy": 0.3}
    with pytest.raises(ValueError, match=r"^This unit's estimator was not kept \(TypeError: cannot pickle"):
        saved.estimator()
    section = models_section({("iris", "dummy"): saved.error}, tmp_path)
    assert "| iris | dummy | not kept: TypeError: cannot pickle '_thread.lock' object |" in section
