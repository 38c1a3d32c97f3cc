"""``backends._compat``: each use of a private name works on the installed versions, gives the same
result as the library's public path, and a version outside the checked ones falls back or fails
with one clear message."""

import re
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score, get_scorer, r2_score

from backends import _compat
from backends._compat import IncompatibleVersionError

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def fake_versions(monkeypatch):
    """Pretend some distributions are installed at other versions: ``fake_versions(keras="4.0.0")``."""
    real = _compat.version

    def fake(**versions):
        versions = {name.replace("_", "-"): value for name, value in versions.items()}
        monkeypatch.setattr(_compat, "version", lambda distribution: versions.get(distribution, real(distribution)))

    return fake


def _bounds(requirement: str) -> tuple:
    name = re.match(r"[A-Za-z0-9_.-]+", requirement).group(0)
    lowest = re.search(r">=([^,;\s]+)", requirement)
    below = re.search(r"<([^=,;\s]+)", requirement)
    return name, (lowest.group(1) if lowest else None, below.group(1) if below else None)


def test_supported_versions_are_pyprojects_bounds():
    dependencies = dict(_bounds(r) for r in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"])
    for name, (lowest, below, newest) in _compat.SUPPORTED.items():
        assert dependencies[name][0] is not None and _compat.parse_version(dependencies[name][0]) == _compat.parse_version(lowest), name
        assert dependencies[name][1] == below, name
        assert _compat.parse_version(lowest) <= _compat.parse_version(newest), name


def test_the_installed_versions_are_supported():
    assert all(_compat.supported(name) for name in _compat.SUPPORTED), {n: _compat.version(n) for n in _compat.SUPPORTED}


def test_version_checks(fake_versions):
    fake_versions(keras="3.7.0", scikeras="0.14.0", tensorflow=None)
    assert _compat.supported("keras") and not _compat.supported("keras", since="3.8.0")
    assert not _compat.supported("scikeras") and not _compat.supported("tensorflow")
    fake_versions(keras="3.2.0")  # below the lowest supported (pyproject's keras>=3.7)
    assert not _compat.supported("keras")
    fake_versions(keras="4.0.0rc1")
    assert not _compat.supported("keras")
    assert _compat.parse_version("3.15.1") > _compat.parse_version("3.9.2")


def test_versions_compare_without_packaging(monkeypatch, fake_versions):
    monkeypatch.setitem(sys.modules, "packaging.version", None)  # its import then fails
    assert _compat.parse_version("3.15.1rc0") == (3, 15, 1) and _compat.parse_version("0.13.0") == (0, 13, 0)
    fake_versions(keras="4.0.0rc1", scikeras="0.13.0")
    assert not _compat.supported("keras") and _compat.supported("scikeras")


# --------------------------------------------------------------------------- scikit-learn

def test_scorer_private_attributes_on_the_installed_scikit_learn():
    assert _compat.scorer_function(get_scorer("r2")) is r2_score
    assert _compat.scorer_response_method(get_scorer("accuracy")) == ("predict",)
    assert _compat.scorer_response_method(get_scorer("roc_auc")) == ("decision_function", "predict_proba")
    assert [_compat.metric_kind(f) for f in (r2_score, adjusted_rand_score, _compat.scorer_function(get_scorer("roc_auc")),
                                             np.mean)] == ["regression", "clustering", "classification", None]


def test_a_scorer_without_the_private_attribute_is_a_clear_error():
    installed = _compat.version("scikit-learn")
    with pytest.raises(IncompatibleVersionError) as error:
        _compat.scorer_function(object())
    assert str(error.value) == (
        "The study uses scikit-learn's private scorer attribute _score_func (of object), checked with "
        f"scikit-learn 1.8.0 to 1.9.1; installed: scikit-learn {installed}. "
        "Install a supported version: pip install 'scikit-learn>=1.8.0'.")


def test_study_scoring_goes_through_the_compat_functions(fake_versions):
    from study.scoring import metric_task, response_methods

    assert (metric_task("r2"), metric_task("f1_macro"), response_methods("neg_log_loss")) == \
        ("regression", "classification", ("predict_proba",))
    fake_versions(scikit_learn="1.7.2")
    with pytest.raises(IncompatibleVersionError, match=r"installed: scikit-learn 1\.7\.2\. Install a supported version"):
        metric_task("r2")


# --------------------------------------------------------------------------- scikeras

def test_scikeras_is_checked_once_when_its_wrappers_are_taken(fake_versions):
    from scikeras.wrappers import KerasClassifier, KerasRegressor

    assert _compat.scikeras_wrappers() == (KerasClassifier, KerasRegressor)
    fake_versions(scikeras="0.14.0")
    with pytest.raises(IncompatibleVersionError) as error:
        _compat.scikeras_wrappers()
    assert str(error.value) == (
        "The study uses scikeras's private methods, which backends/keras_wrappers.py overrides (_build_keras_model, "
        "_fit_keras_model, _predict_raw, ...), checked with scikeras 0.13.0 to 0.13.0 (below 0.14); installed: "
        "scikeras 0.14.0. Install a supported version: pip install 'scikeras>=0.13.0,<0.14'.")


# --------------------------------------------------------------------------- keras

def _logs():
    import tensorflow as tf

    return {"loss": tf.constant(0.25), "accuracy": np.float32(0.5), "nested": {"auc": np.array(0.75)}, "note": "text"}


@pytest.mark.parametrize("keras_version", [None, "3.2.0", "4.0.0"])
def test_pythonify_logs_is_keras_own_or_the_same_copy(fake_versions, keras_version):
    if keras_version:
        fake_versions(keras=keras_version)
    assert _compat.pythonify_logs(_logs()) == {"accuracy": 0.5, "auc": 0.75, "loss": 0.25, "note": "text"}
    assert _compat.pythonify_logs(None) == {}


@pytest.mark.parametrize("keras_version", [None, "3.2.0", "4.0.0"])
def test_evaluation_logs_are_what_evaluate_returns(fake_versions, keras_version):
    """Keras' ``_get_metrics_result_or_logs`` (>= 3.3) or the public ``get_metrics_result``
    (Keras 3.2, and any version outside the checked ones): what ``Model.evaluate`` returns."""
    import keras
    import tensorflow as tf

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)).astype("float32"), rng.integers(0, 2, 40)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    expected = model.evaluate(X, y, batch_size=8, verbose=0, return_dict=True)
    if keras_version:
        fake_versions(keras=keras_version)
    model.make_test_function()
    model.reset_metrics()
    batches = iter(tf.data.Dataset.from_tensor_slices((X, y)).batch(8))
    for _ in range(5):
        outputs = model.test_function(batches)
    logs = _compat.evaluation_logs(model, outputs)
    assert set(logs) == set(expected) == {"loss", "accuracy"}
    assert logs == pytest.approx(expected, rel=1e-6)


# --------------------------------------------------------------------------- tensorflow

def test_tensorflow_seed_and_determinism_switches():
    from unittest import mock

    from tensorflow.python.eager import context

    saved, deterministic = _compat.global_seed(), _compat.op_determinism_enabled()
    try:
        _compat.set_global_seed(3)  # the first seed of a process goes through tf.random.set_seed (no _rng yet)
        with mock.patch.object(context.Context, "_set_global_seed", autospec=True) as clearing:
            _compat.set_global_seed(11)
        assert clearing.call_count == 0  # the kernel cache is kept
        assert _compat.global_seed() == 11
        _compat.enable_op_determinism()
        assert _compat.op_determinism_enabled()
        _compat.disable_op_determinism()
        assert not _compat.op_determinism_enabled()
    finally:
        _compat.set_global_seed(saved)
        (_compat.enable_op_determinism if deterministic else _compat.disable_op_determinism)()


def test_outside_the_checked_tensorflow_versions_seeding_falls_back_or_fails_clearly(fake_versions):
    from unittest import mock

    import tensorflow as tf

    saved = _compat.global_seed()
    fake_versions(tensorflow="2.15.1")
    with mock.patch.object(tf.random, "set_seed", wraps=tf.random.set_seed) as public:
        _compat.set_global_seed(saved)
    public.assert_called_once_with(saved)
    with pytest.raises(IncompatibleVersionError, match=r"tensorflow's private tensorflow\.python\.eager\.context\."
                       r"global_seed, checked with tensorflow 2\.16\.1 to 2\.21\.0; installed: tensorflow 2\.15\.1\. "
                       r"Install a supported version: pip install 'tensorflow>=2\.16\.1'\."):
        _compat.global_seed()
    with pytest.raises(IncompatibleVersionError, match="disable_op_determinism"):
        _compat.disable_op_determinism()


# --------------------------------------------------------------------------- tools/check_versions.py

def _check_versions():
    import importlib.util

    spec = importlib.util.spec_from_file_location("check_versions", ROOT / "tools" / "check_versions.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up
    spec.loader.exec_module(module)
    return module


def test_the_low_end_pins_every_dependency_at_its_lower_bound():
    tool = _check_versions()
    assert tool.lowest_pins(["keras>=3.2,<4", "numpy >= 1.24.1", "Jinja2>=3.1  "]) == \
        ["keras==3.2", "numpy==1.24.1", "Jinja2==3.1"]
    pins = tool.lowest_pins(tool.dependencies())
    assert "scikeras==0.13.0" in pins and len(pins) == len(tool.dependencies())
    with pytest.raises(SystemExit, match=r"dependency 'tqdm' of pyproject.toml has no '>=' lower bound"):
        tool.lowest_pins(["tqdm"])
