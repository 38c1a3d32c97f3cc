"""Store keys: what was fitted, user code by its source, the project's modules discovered."""

import importlib
import sys
import textwrap

import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from backends import BUILTIN_MODELS
from backends.custom import keras_model, sklearn_model
from study.data import load_dataset
from study.store import Store, _module_file, fingerprint, project_source, work_key


def test_estimators_are_keyed_by_class_and_parameters():
    assert fingerprint(LogisticRegression(C=1.0)) == fingerprint(LogisticRegression(C=1.0))
    assert fingerprint(LogisticRegression(C=1.0)) != fingerprint(LogisticRegression(C=2.0))
    nested = make_pipeline(StandardScaler(), LogisticRegression())
    assert fingerprint(nested) != fingerprint(make_pipeline(StandardScaler(with_mean=False), LogisticRegression()))
    assert fingerprint(sklearn_model("m", KNeighborsClassifier())) != fingerprint(
        sklearn_model("m", KNeighborsClassifier(n_neighbors=3)))


def test_datasets_are_keyed_by_content_not_memory_layout():
    wine = load_dataset("wine")
    copy = type(wine)(name="wine", X=wine.X.copy(order="F"), y=wine.y.copy(), task="classification",
                      feature_names=wine.feature_names, target_names=wine.target_names)
    assert fingerprint(copy) == fingerprint(wine)
    copy.X[0, 0] += 1e-9
    assert fingerprint(copy) != fingerprint(wine)


def _write_module(folder, name, body):
    (folder / f"{name}.py").write_text(textwrap.dedent(body))
    sys.modules.pop(name, None)
    importlib.invalidate_caches()
    return importlib.import_module(name)


def test_user_code_is_keyed_by_its_source_and_its_module(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    body = """
        def helper():
            return {units}

        def build():
            import keras
            return keras.Sequential([keras.layers.Dense(helper())])
    """
    first = fingerprint(keras_model("net", _write_module(tmp_path, "user_net", body.format(units=16)).build))
    again = fingerprint(keras_model("net", _write_module(tmp_path, "user_net", body.format(units=16)).build))
    edited = fingerprint(keras_model("net", _write_module(tmp_path, "user_net", body.format(units=8)).build))
    assert first == again and edited != first  # a helper the build function calls counts too


def test_functions_without_a_file_are_keyed_by_their_code():
    namespace_a, namespace_b = {}, {}
    exec("def build():\n    return 16\n", namespace_a)
    exec("def build():\n    return 8\n", namespace_b)
    assert fingerprint(namespace_a["build"]) != fingerprint(namespace_b["build"])


def test_project_source_follows_the_imports_of_the_computing_modules():
    def files(*modules):
        seen, todo = set(), list(modules)
        from study.store import _project_imports
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            todo += _project_imports(name, _module_file(name).read_bytes())
        return seen

    unit = files("study.protocol", "backends.keras")
    assert {"study.protocol", "study.data.checks", "study.scoring", "backends", "backends.routing",
            "backends.keras", "backends.preprocessing"} <= unit
    # the unit computes permutation importance (study.statistics.importance and the stacked predictions it
    # uses, with their package's __init__), and nothing else of the statistics, the report or the runner
    assert {"study.statistics.importance", "study.statistics.permuted_predictions"} <= unit
    assert not any(name.startswith(("study.report", "study.orchestrator", "study.statistics")) for name in unit
                   if name not in ("study.statistics", "study.statistics.importance",
                                   "study.statistics.permuted_predictions"))
    assert "study.experiments.base" in files("study.experiments.learning_validation")
    assert len(project_source("study.protocol")) == 64


def test_work_keys_differ_by_kind_and_content():
    ridge = BUILTIN_MODELS["ridge"]
    assert work_key("unit", ("study.protocol",), ridge, {}) == work_key("unit", ("study.protocol",), ridge, {})
    assert work_key("unit", ("study.protocol",), ridge, {}) != work_key("learning_curves", ("study.protocol",),
                                                                         ridge, {})
    assert work_key("unit", ("study.protocol",), ridge, {}) != work_key("unit", ("study.protocol",), ridge,
                                                                         {"model__alpha": [1.0]})


def test_an_unreadable_stored_result_counts_as_missing_with_one_warning(tmp_path):
    store = Store(tmp_path)
    store.call("k", len, ("abc",))
    assert store.load("k")[0] == 3
    (output,) = tmp_path.rglob("output.pkl")
    output.write_bytes(output.read_bytes()[:10])
    with pytest.warns(RuntimeWarning, match="Removed the unreadable stored result .*; it is computed again"):
        assert store.load("k") is None
    assert not output.exists() and store.load("k") is None
    assert store.call("k", len, ("abcd",))[0] == 4 and store.load("k")[0] == 4  # computed and stored again


def test_kept_values_live_beside_the_work_results_under_their_own_keys(tmp_path):
    store = Store(tmp_path)
    assert store.kept("figure k") is None
    store.keep("figure k", b"png")
    store.keep("figure k", b"other")  # a key already kept keeps its value
    assert store.kept("figure k") == b"png" and store.load("figure k") is None  # not a work result
    store.call("k", len, ("abc",))
    assert store.kept("k") is None and store.load("k")[0] == 3
    (kept,) = tmp_path.rglob("_kept/*/output.pkl")
    kept.write_bytes(b"\x00garbage")
    with pytest.warns(RuntimeWarning, match="Removed the unreadable stored result"):
        assert store.kept("figure k") is None
    assert Store(None).kept("figure k") is None and Store(None).keep("figure k", b"png") is None


# A process (one new interpreter, shared: tests.test_cli.fresh_interpreter): what planning imports.
def test_planning_a_keras_study_does_not_start_tensorflow_here():
    """The study's process only plans, hashes and loads: TensorFlow (4 s, and its start-up lines)
    starts in the workers. Hashing a module that names a Keras module must not import it."""
    from tests.test_cli import fresh_interpreter

    planned = fresh_interpreter()["steps"]["plan"]
    assert planned["value"] > 0  # the plan's forecast
    assert sorted(m for m in planned["modules"] if m.split(".")[0] in ("tensorflow", "keras")
                  or m.startswith("backends.keras")) == []
