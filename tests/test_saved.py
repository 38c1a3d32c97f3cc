"""Stored models: every successful unit's tuned model under models/<dataset>/<model>/, loaded again
(study.model_store, study.report.models), from the shared quick wine study (tests/conftest.py)."""

import json
import pickle
import re
import warnings
import zipfile

import numpy as np
import pandas as pd
import pytest

from study.data import load_data
from study.folders import check_contents
from study.results import read_results
from study.model_store import load_model, read_info
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
    with warnings.catch_warnings():  # trained on an array: the columns are taken by name, passed as an array
        warnings.simplefilter("error", UserWarning)  # (not "X has feature names, but ... fitted without")
        np.testing.assert_array_equal(estimator.predict(rows[rows.columns[::-1]]), predictions["y_pred"])
    assert estimator.feature_names_in_.tolist() == load_data("wine").feature_names
    assert re.search(r"^StoredEstimator\(array_input=True,\s+estimator=CountedPipeline\(.*feature_names=\('alcohol', "
                     r"'malic_acid', 'ash', 'alcalinity_of_ash', 'magnesium', 'total_phenols', \.\.\. 13 names\)\)$",
                     repr(estimator), re.S), repr(estimator)
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
    np.testing.assert_array_equal(estimator.predict(rows[rows.columns[::-1]]), predictions["y_pred"])  # by name
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
    from study.model_store import keep

    iris = load_data("iris")
    estimator = DummyClassifier().fit(iris.X, iris.y)
    estimator.lock_ = threading.Lock()  # nothing can pickle it
    saved = keep(estimator, iris, best_params={}, scores={"accuracy": 0.3})
    assert not saved.ok and saved.files == {} and saved.error == "TypeError: cannot pickle '_thread.lock' object"
    assert saved.info["classes"] == [0, 1, 2] and saved.info["test_scores"] == {"accuracy": 0.3}
    with pytest.raises(ValueError, match=r"^This unit's estimator was not kept \(TypeError: cannot pickle"):
        saved.estimator()
    section = models_section({("iris", "dummy"): saved.error}, tmp_path)
    escaped = r"'\_thread.lock'"  # Markdown-escaped
    assert f"| iris | dummy | not kept: TypeError: cannot pickle {escaped} object |" in section


# ---- checks before and after unpickling, on a tiny study of a table with numbers, text and booleans ----

SHOP_MODELS = ("logistic_regression", "random_forest")


def shop_table(n: int = 60) -> pd.DataFrame:
    """A table with a numeric, a text (one value looks like a number), and a boolean feature."""
    rng = np.random.default_rng(0)
    age = rng.uniform(20, 60, n).round(1)
    plan = np.array(["basic", "premium", "7.50"])[np.arange(n) % 3]
    member = (np.arange(n) % 2 == 0)
    y = (age + 15 * member > 47).astype(int)
    return pd.DataFrame({"age": age, "plan": plan, "member": member, "bought": y})


def shop_study(base):
    """A quick study of :func:`shop_table` (logistic regression and random forest) and its report:
    ``base / "out"``; returns ``{"out", "table"}``."""
    from study.report import write_report
    from study.orchestrator import run_study
    from study.spec import DataSource, StudySpec

    table = shop_table()
    source = DataSource(source=table, target="bought", name="shop", task="classification")
    spec = StudySpec(datasets=(source,), models=SHOP_MODELS, quick=True, cv=3, n_jobs=1, cache_dir=None,
                     diagnostics=False)
    write_report(run_study(spec, progress=False), base / "out")
    return dict(out=base / "out", table=table)


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    return shop_study(tmp_path_factory.mktemp("shop"))


def _copy(shop, tmp_path, model="logistic_regression"):
    import shutil

    folder = tmp_path / model
    shutil.copytree(shop["out"] / "models" / "shop" / model, folder)
    return folder


def _edit(folder, change):
    info = json.loads((folder / "model.json").read_text())
    change(info)
    (folder / "model.json").write_text(json.dumps(info))


def _one_line_error(call):
    with pytest.raises(ValueError) as raised:
        call()
    message = str(raised.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def test_model_json_records_categories_class_and_digests(shop):
    folder = shop["out"] / "models" / "shop" / "logistic_regression"
    info = read_info(folder)
    features = {f["name"]: f for f in info["features"]}
    assert features["plan"]["categories"] == ["7.50", "basic", "premium"]
    assert features["member"]["categories"] == ["False", "True"] and "categories" not in features["age"]
    assert info["estimator"] == "sklearn.linear_model._logistic.LogisticRegression"
    import hashlib
    assert info["sha256"] == {"estimator.pkl": hashlib.sha256((folder / "estimator.pkl").read_bytes()).hexdigest()}


def test_load_model_says_what_it_unpickles(shop):
    folder = shop["out"] / "models" / "shop" / "logistic_regression"
    said = []
    estimator = load_model(folder, say=said.append)
    assert said == [f"loading {folder / 'estimator.pkl'} (a pickle: load only models you trust)"]
    assert set(estimator.predict(shop["table"].drop(columns="bought"))) == {0, 1}
    from study.model_store import StoredModelNotice
    with pytest.warns(StoredModelNotice, match=r"^loading .*estimator\.pkl \(a pickle: load only models you trust\)$"):
        load_model(folder)


@pytest.mark.parametrize("change, found", [
    (lambda info: info.pop("features"), "'features' is missing; expected a non-empty list of"),
    (lambda info: info.update(features="age"), "'features' is 'age'; expected a non-empty list of"),
    (lambda info: info.update(features=[{"name": 3, "kind": "numeric"}]), "'features' is [{'name': 3,"),
    (lambda info: info.update(classes=5), "'classes' is 5; expected null or a non-empty list of class labels"),
    (lambda info: info.update(input="table"), "'input' is 'table'; expected \"frame\" or \"array\""),
    (lambda info: info.update(files=["../estimator.pkl"]), "'files' is ['../estimator.pkl']; expected a list"),
    (lambda info: info.update(libraries=None), "'libraries' is None; expected a table of library names"),
])
def test_an_edited_model_json_is_refused_in_one_line(shop, tmp_path, change, found):
    folder = _copy(shop, tmp_path)
    _edit(folder, change)
    message = _one_line_error(lambda: load_model(folder, say=print))
    assert message.startswith(f"'{folder / 'model.json'}' is not a valid stored-model description: {found}"), message
    assert message.endswith("copy the model folder again from its report, or run the study again.")


@pytest.mark.parametrize("damage", [lambda text: text[:len(text) // 2], lambda text: "\x00{garbled" + text])
def test_a_truncated_or_garbled_model_json_is_refused_in_one_line(shop, tmp_path, damage):
    folder = _copy(shop, tmp_path)
    (folder / "model.json").write_text(damage((folder / "model.json").read_text()))
    message = _one_line_error(lambda: read_info(folder))
    assert message.startswith(f"'{folder / 'model.json'}' cannot be read (JSONDecodeError: "), message


def test_a_swapped_or_truncated_estimator_is_refused_before_it_is_unpickled(shop, tmp_path, monkeypatch):
    import study.model_store

    folder = _copy(shop, tmp_path)
    forest = shop["out"] / "models" / "shop" / "random_forest" / "estimator.pkl"
    unpickled = []
    monkeypatch.setattr(study.model_store, "_load", lambda *args: unpickled.append(args))
    for data in (forest.read_bytes(), (folder / "estimator.pkl").read_bytes()[:100]):
        (folder / "estimator.pkl").write_bytes(data)
        message = _one_line_error(lambda: load_model(folder, say=print))
        assert message == (f"'{folder / 'estimator.pkl'}' is not the file its model.json describes (its SHA-256 "
                           "differs): it was edited, truncated or swapped. Copy the whole model folder again from its "
                           "report, or run the study again.")
    assert unpickled == []


def _replace_estimator(folder, estimator, **dump):
    """Write ``estimator`` as the folder's estimator.pkl and its digest into model.json (a forged folder,
    or one written before digests were recorded)."""
    import hashlib
    import pickle

    data = pickle.dumps(estimator, **dump)
    (folder / "estimator.pkl").write_bytes(data)
    _edit(folder, lambda info: info["sha256"].update({"estimator.pkl": hashlib.sha256(data).hexdigest()}))


def test_an_estimator_that_is_not_the_fitted_model_described_is_refused(shop, tmp_path):
    from sklearn.linear_model import LogisticRegression

    folder = _copy(shop, tmp_path)
    forest = load_model(shop["out"] / "models" / "shop" / "random_forest", say=lambda line: None).estimator
    where = f"'{folder / 'estimator.pkl'}'"
    cases = [({"not": "a model"}, f"{where} holds a dict, not a fitted model (no predict method)"),
             (LogisticRegression(), f"{where} holds a LogisticRegression that is not fitted"),
             (forest, f"{where} does not belong to its model.json: it is a "
                      "sklearn.ensemble._forest.RandomForestClassifier, model.json says "
                      "sklearn.linear_model._logistic.LogisticRegression. The folder's files were edited or mixed.")]
    for estimator, found in cases:
        _replace_estimator(folder, estimator)
        message = _one_line_error(lambda: load_model(folder, say=lambda line: None))
        assert message.startswith(found), message
    _replace_estimator(folder, forest)
    def older_and_relabelled(info):  # written before the class was recorded, its classes edited
        info.pop("estimator")
        info["classes"] = ["no", "yes"]

    _edit(folder, older_and_relabelled)
    message = _one_line_error(lambda: load_model(folder, say=lambda line: None))
    assert "its classes are ['0', '1'], model.json lists ['no', 'yes']" in message, message


def test_other_library_versions_are_named_in_one_line_not_in_scikit_learns_warnings(shop, tmp_path, monkeypatch):
    import pickle
    import warnings

    import sklearn
    import sklearn.base

    folder = _copy(shop, tmp_path)
    estimator = load_model(folder, say=lambda line: None).estimator
    monkeypatch.setattr(sklearn.base, "__version__", "0.0.1")  # what an older scikit-learn writes into the pickle
    _replace_estimator(folder, estimator)
    monkeypatch.undo()
    _edit(folder, lambda info: info["libraries"].update({"scikit-learn": "0.0.1", "tensorflow": "0.0.2"}))
    with warnings.catch_warnings(record=True) as caught:  # what a plain unpickling shows
        warnings.simplefilter("always")
        pickle.loads((folder / "estimator.pkl").read_bytes())
    assert {type(w.message).__name__ for w in caught} == {"InconsistentVersionWarning"}
    said = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_model(folder, say=said.append)
    assert [str(w.message) for w in caught] == []
    assert said[1:] == [f"'{folder}' was saved with scikit-learn 0.0.1 (installed: {sklearn.__version__}); it may "
                        "fail to load or predict differently here. Install the versions recorded in its model.json "
                        "(libraries) to be sure, or run the study again with these."]


# ---- a loaded model takes a table's columns by name (study.stored_estimator) ----

@pytest.mark.parametrize("model", SHOP_MODELS)
def test_a_loaded_model_takes_a_tables_columns_by_name(shop, model):
    from sklearn.base import is_classifier

    estimator = load_model(shop["out"] / "models" / "shop" / model, say=lambda line: None)
    table, y = shop["table"].drop(columns="bought"), shop["table"]["bought"]
    backwards = table[table.columns[::-1]]
    with pytest.raises(ValueError, match="The feature names should match those that were passed during fit"):
        estimator.estimator.predict(backwards)  # scikit-learn's own Pipeline
    expected = estimator.estimator.predict(table)
    np.testing.assert_array_equal(estimator.predict(backwards), expected)
    np.testing.assert_array_equal(estimator.predict_proba(backwards), estimator.estimator.predict_proba(table))
    assert estimator.score(backwards, y) == estimator.estimator.score(table, y)
    assert estimator.feature_names_in_.tolist() == ["age", "plan", "member"] and estimator.n_features_in_ == 3
    assert estimator.classes_.tolist() == [0, 1] and is_classifier(estimator)
    with warnings.catch_warnings():  # an array is taken by position, as the Pipeline takes it
        warnings.simplefilter("ignore", UserWarning)  # "X does not have valid feature names"
        np.testing.assert_array_equal(estimator.predict(table.to_numpy(dtype=object)), expected)


def test_a_table_without_a_training_column_or_with_another_is_refused_in_one_line(shop):
    estimator = load_model(shop["out"] / "models" / "shop" / "logistic_regression", say=lambda line: None)
    table = shop["table"]
    expected = ("Expected the 3 training columns ['age', 'plan', 'member'] in any order: give a DataFrame with "
                "exactly those columns (drop the target and any other), or a NumPy array of them in that order.")
    message = _one_line_error(lambda: estimator.predict(table.drop(columns=["plan", "bought"])))
    assert message == f"X's columns do not match the model's: missing ['plan']. {expected}"
    message = _one_line_error(lambda: estimator.predict_proba(table.rename(columns={"age": "Age\nyears"})))
    found = "missing ['age']; extra ['Age\\nyears', 'bought']"  # a newline in a name shown as \n: one line
    assert message == f"X's columns do not match the model's: {found}. {expected}"


def test_a_loaded_model_is_a_frozen_picklable_scikit_learn_estimator(shop):
    from sklearn.base import clone

    estimator = load_model(shop["out"] / "models" / "shop" / "logistic_regression", say=lambda line: None)
    table = shop["table"].drop(columns="bought")
    shown = " ".join(repr(estimator).split())
    assert shown == f"StoredEstimator(estimator={' '.join(repr(estimator.estimator).split())})"
    assert shown.startswith("StoredEstimator(estimator=CountedPipeline(steps=[('preprocess', TabularPreprocessor()), "
                            "('model', LogisticRegression(")
    copy = pickle.loads(pickle.dumps(estimator))
    backwards = table[table.columns[::-1]]
    np.testing.assert_array_equal(copy.decision_function(backwards), estimator.decision_function(table))
    assert estimator.fit(table, shop["table"]["bought"]) is estimator and clone(estimator) is estimator
    assert type(estimator[-1]).__name__ == "LogisticRegression"  # the Pipeline's own API
    assert list(estimator.named_steps) == ["preprocess", "model"]
    with pytest.raises(ValueError, match=r"^Cannot set \['C'\] on a stored model: its estimator is fitted and frozen"):
        estimator.set_params(C=1.0)
