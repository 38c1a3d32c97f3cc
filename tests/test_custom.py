"""User models, from Python and from TOML, on the study's default worker processes (the Python
examples of README.md and docs/ and the files of examples/: tests/test_examples.py).

Every study runs in this process (``study.run.main``, ``run_study``, or an example's own code)
with the default workers, as users run them; only the worker processes are separate."""

import textwrap
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import is_classifier
from sklearn.neighbors import KNeighborsClassifier

from backends import list_models, make_estimator
from backends.custom import keras_model, register_model, resolve_object, sklearn_model, unregister_model
from study.report import write_report
from study.orchestrator import run_study
from study.spec import StudySpec
from tests.helpers import fits

ROOT = Path(__file__).resolve().parents[1]


def test_user_models_run_next_to_built_ins_on_workers(tmp_path, shared_workers):
    """On the test process's shared default workers: the user module (examples/my_models.py) is
    imported once and never edited, so a worker that imported it before holds the same code."""
    import examples.my_models as mine

    knn = sklearn_model("knn", KNeighborsClassifier(), grid={"n_neighbors": [3, 7]})
    mlp = keras_model("my_mlp", mine.build_mlp_for, epochs=20)
    spec = StudySpec(datasets=("wine",), models=("ridge", knn, mlp), cv=3, quick=True, cache_dir=tmp_path / "cache",
                     diagnostics=False)
    result = run_study(spec, progress=False, workers=shared_workers)
    results = result.results
    assert (results["status"] == "ok").all(), results["error"].unique()
    report = write_report(result, tmp_path / "out", shared_workers).read_text()
    wine = report.split("\n## wine\n", 1)[1].split("\n## ", 1)[0]
    assert [line.split(" | ")[0] for line in wine.splitlines() if line.startswith("| ") and " | " in line][1:] == [
        "| ridge", "| knn", "| my_mlp", "| dummy"]
    tested = results[(results["split"] == "test") & (results["metric"] == "accuracy")].set_index("model")
    assert tested.loc["knn", "score"] > 0.8 and tested.loc["my_mlp", "score"] > 0.6
    assert tested.loc["my_mlp", "framework"] == "keras"
    folds = results[results["split"] == "validation"].groupby("model")["n_test"].apply(list)
    assert folds["knn"] == folds["ridge"] == folds["my_mlp"]


def test_editing_one_line_of_a_keras_build_function_refits_exactly_that_model(tmp_path, run_cli, user_imports):
    """Three runs of the same TOML study; before the last one line of the build function changes.
    Each run starts without the user's module imported, as a new ``python -m study.run`` would."""
    log = tmp_path / "fits.log"
    module = textwrap.dedent(f"""
        import keras
        from sklearn.neighbors import KNeighborsClassifier
        from tests.helpers import CountingClassifier

        class Counted(keras.Sequential):  # counts its fits (a built model may serve several)
            def fit(self, *args, **kwargs):
                with open({str(log)!r}, "a") as handle:
                    handle.write("net\\n")
                return super().fit(*args, **kwargs)

        def build(meta):
            return Counted([keras.Input((meta["n_features_in_"],)),
                            keras.layers.Dense(UNITS, activation="relu"),
                            keras.layers.Dense(meta["n_classes_"], activation="softmax")])

        def knn():
            return CountingClassifier(log={str(log)!r}, inner=KNeighborsClassifier(), tag="knn")
    """)
    (tmp_path / "nets.py").write_text(module.replace("UNITS", "32"))
    (tmp_path / "study.toml").write_text(textwrap.dedent(f"""
        out = "{tmp_path / 'out'}"
        cache_dir = "{tmp_path / 'cache'}"
        quick = true
        cv = 3
        datasets = ["wine"]
        models = [{{ name = "net", keras = "nets:build", epochs = 5 }}, {{ name = "knn", sklearn = "nets:knn" }}]
    """))
    user_imports("nets")
    first, _, err = run_cli("--config", tmp_path / "study.toml")
    assert first == 0, err[-3000:]
    assert fits(log) == {"net": 3 + 1, "knn": 3 + 1}
    user_imports("nets")
    unchanged, _, err = run_cli("--config", tmp_path / "study.toml")
    assert unchanged == 0 and fits(log) == {"net": 4, "knn": 4}, err[-3000:]  # nothing refit
    (tmp_path / "nets.py").write_text(module.replace("UNITS", "1"))
    user_imports("nets")
    edited, _, err = run_cli("--config", tmp_path / "study.toml")
    assert edited == 0, err[-3000:]
    assert fits(log) == {"net": 8, "knn": 4}  # only the edited model, on every fold and the refit


def test_registered_names_resolve_at_run_time_in_this_process():
    register_model("knn7", KNeighborsClassifier(n_neighbors=7))
    try:
        assert "knn7" in list_models()
        spec = StudySpec(models=("knn7",)).resolved_models()[0]
        assert spec.name == "knn7" and spec.framework == "scikit-learn" and spec.tasks == ("classification",)
    finally:
        unregister_model("knn7")
    assert "knn7" not in list_models()


def test_user_keras_model_is_trained_with_its_own_loss_and_metrics():
    import examples.my_models as mine

    est = make_estimator(keras_model("mlp10", mine.build_mlp, epochs=3), random_state=0)
    assert is_classifier(est)
    X = np.random.default_rng(0).normal(size=(60, 5))
    y = np.arange(60) % 10
    est.fit(X, y)
    assert est[-1].model_.loss == "categorical_crossentropy"  # as compiled: fed one-hot targets
    assert "accuracy" in est[-1].history_
    assert est.predict(X).shape == (60,)


def _logits_head(loss):
    import keras

    def build():
        model = keras.Sequential([keras.layers.Dense(64, activation="relu"), keras.layers.Dense(10)])
        model.compile(optimizer="adam", loss=loss, metrics=["accuracy"])
        return model

    return build


def test_a_logits_head_keeps_its_categorical_loss():
    """CategoricalCrossentropy(from_logits=True) on one-hot targets is the sparse loss on labels;
    replacing it with "sparse_categorical_crossentropy" on probabilities would not be."""
    import keras
    from sklearn.datasets import load_digits
    from sklearn.metrics import log_loss

    X, y = load_digits(return_X_y=True)
    scores, probabilities = {}, {}
    for name, loss in (("categorical", keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.0)),
                       ("sparse", keras.losses.SparseCategoricalCrossentropy(from_logits=True))):
        est = make_estimator(keras_model(name, _logits_head(loss), epochs=15), random_state=0).fit(X[:1400], y[:1400])
        scores[name], probabilities[name] = est.score(X[1400:], y[1400:]), est.predict_proba(X[1400:])
    assert scores["categorical"] > 0.85 and abs(scores["categorical"] - scores["sparse"]) <= 0.02
    np.testing.assert_allclose(probabilities["categorical"].sum(axis=1), 1.0, rtol=1e-5)  # logits -> softmax
    assert log_loss(y[1400:], probabilities["categorical"], labels=range(10)) < 1.0


def test_a_user_cnn_declared_image_only_gets_images():
    import keras
    from sklearn.datasets import load_digits

    def cnn(meta):  # written for (8, 8, 1) input: no Reshape line
        return keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(16, 3, activation="relu"),
                                 keras.layers.Flatten(), keras.layers.Dense(meta["n_classes_"], activation="softmax")])

    model = keras_model("my_cnn", cnn, epochs=8, needs_image=True)
    assert model.needs_image and model.tasks == ("classification",)
    X, y = load_digits(return_X_y=True)
    est = make_estimator(model, image_shape=(8, 8, 1), random_state=0).fit(X[:1400], y[:1400])
    assert type(est[0]).__name__ == "ImageScaler" and est.score(X[1400:], y[1400:]) > 0.85


def test_keras_model_options_are_checked():
    def build():
        return None

    with pytest.raises(ValueError, match=r"Model 'm': epochs must be an integer >= 1; got 0\."):
        keras_model("m", build, epochs=0)
    with pytest.raises(ValueError, match=r"validation_fraction must be a fraction in \[0, 1\); got 1\.5"):
        keras_model("m", build, validation_fraction=1.5)
    with pytest.raises(ValueError, match=r"early_stopping needs an inner validation split"):
        keras_model("m", build, early_stopping=True, validation_fraction=0.0)
    with pytest.raises(ValueError, match=r"class_weight must be None, \"balanced\" or a dict"):
        keras_model("m", build, class_weight="heavy")
    stopping = keras_model("m", build, early_stopping=True, patience=3)
    wrapper = stopping.estimator(random_state=0)[-1]
    assert (wrapper.early_stopping, wrapper.patience, wrapper.validation_fraction) == (True, 3, 0.2)
    with pytest.raises(ValueError, match=r"are options of a Keras build function"):
        register_model("x", KNeighborsClassifier(), epochs=3)


def test_registration_errors():
    with pytest.raises(ValueError, match=r"A user model needs a new, non-empty name \(not one of the built-in"):
        register_model("ridge", KNeighborsClassifier())
    with pytest.raises(ValueError, match=r"give exactly one of estimator= \(scikit-learn\) or keras_build_fn= \(Keras\)"):
        register_model("x")
    with pytest.raises(ValueError, match=r"grid parameter\(s\) \['model__k'\] are not parameters of KNeighborsClassifier"):
        register_model("x", KNeighborsClassifier(), grid={"k": [1]})
    with pytest.raises(ValueError, match=r"Expected 'module:function' \(e\.g\. 'mymodels:build_mlp'\); got 'nocolon'\."):
        resolve_object("nocolon")
    with pytest.raises(ValueError, match=r"Module 'examples\.my_models' has no attribute 'nope'"):
        resolve_object("examples.my_models:nope")
    with pytest.raises(ValueError, match=r"'x' is not a registered user model"):
        unregister_model("x")


def test_output_units_must_match_the_classes():
    import examples.my_models as mine

    X = np.random.default_rng(0).normal(size=(30, 4))
    with pytest.raises(ValueError, match=r"The Keras model built by build_mlp has 10 output units, but the data has 3 classes"):
        make_estimator(keras_model("mlp10", mine.build_mlp, epochs=3), random_state=0).fit(X, np.arange(30) % 3)
