"""User models: any scikit-learn estimator or Keras build function joins the same folds and table."""

import numpy as np
import pytest
from sklearn.base import is_classifier
from sklearn.neighbors import KNeighborsClassifier

from backends import list_models, make_estimator
from backends.custom import register_model, resolve_object, unregister_model
from study.report import write_report
from study.runner import run_study
from study.spec import StudySpec


@pytest.fixture
def user_models():
    import examples.my_models as mine

    register_model("knn", KNeighborsClassifier(), grid={"n_neighbors": [3, 7]})
    register_model("my_mlp", keras_build_fn=mine.build_mlp_for, epochs=20)
    register_model("mlp10", keras_build_fn=mine.build_mlp, epochs=3)
    yield
    unregister_model("knn")
    unregister_model("my_mlp")
    unregister_model("mlp10")


def test_user_models_run_next_to_built_ins(user_models, tmp_path):
    assert {"knn", "my_mlp"} <= set(list_models())
    spec = StudySpec(datasets=("wine",), models=("ridge", "knn", "my_mlp"), cv=3, quick=True, n_jobs=1,
                     cache_dir=None, diagnostics=False)
    result = run_study(spec, progress=False)
    results = result.results
    assert (results["status"] == "ok").all(), results["error"].unique()
    report = write_report(results, result.predictions, tmp_path).read_text()
    wine = report.split("\n## wine\n", 1)[1].split("\n## ", 1)[0]
    assert [line.split(" | ")[0] for line in wine.splitlines() if line.startswith("| ") and " | " in line][1:] == [
        "| ridge", "| knn", "| my_mlp"]
    tested = results[(results["split"] == "test") & (results["metric"] == "accuracy")].set_index("model")
    assert tested.loc["knn", "score"] > 0.8 and tested.loc["my_mlp", "score"] > 0.6
    assert tested.loc["my_mlp", "framework"] == "keras"
    folds = results[results["split"] == "validation"].groupby("model")["n_test"].apply(list)
    assert folds["knn"] == folds["ridge"] == folds["my_mlp"]


def test_user_keras_model_is_a_classifier_and_compiled_loss_is_made_sparse(user_models):
    est = make_estimator("mlp10", random_state=0)
    assert is_classifier(est)
    X = np.random.default_rng(0).normal(size=(60, 5))
    y = np.arange(60) % 10
    est.fit(X, y)
    assert est[-1].model_.loss == "sparse_categorical_crossentropy"
    assert est.predict(X).shape == (60,)


def test_registration_errors():
    with pytest.raises(ValueError, match=r"A model named 'ridge' is already registered; choose another name\."):
        register_model("ridge", KNeighborsClassifier())
    with pytest.raises(ValueError, match=r"give exactly one of estimator= \(scikit-learn\) or keras_build_fn= \(Keras\)"):
        register_model("x")
    with pytest.raises(ValueError, match=r"Expected 'module:function' \(e\.g\. 'mymodels:build_mlp'\); got 'nocolon'\."):
        resolve_object("nocolon")
    with pytest.raises(ValueError, match=r"Module 'examples\.my_models' has no attribute 'nope'"):
        resolve_object("examples.my_models:nope")


def test_output_units_must_match_the_classes(user_models):
    X = np.random.default_rng(0).normal(size=(30, 4))
    with pytest.raises(ValueError, match=r"The Keras model built by build_mlp has 10 output units, but the data has 3 classes"):
        make_estimator("mlp10", random_state=0).fit(X, np.arange(30) % 3)
