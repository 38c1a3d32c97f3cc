"""A study as TOML: every key validated with a precise message; examples load."""

from pathlib import Path

import pytest

from backends import ModelSpec
from study.config import load_config
from study.spec import DataSource

ROOT = Path(__file__).resolve().parents[1]


def _toml(tmp_path, text):
    path = tmp_path / "study.toml"
    path.write_text(text)
    return path


def test_full_config(tmp_path):
    spec = load_config(_toml(tmp_path, '''
out = "out/x"
cv = 3
repeats = 2
nested = true
seed = 7
test_size = 0.25
metrics = ["balanced_accuracy", "accuracy"]
datasets = ["wine", { name = "churn", path = "data.csv", target = "churned" }]
models = ["ridge", { name = "random_forest", grid = { max_depth = [2, 4] } }]
'''))
    assert spec.cv == 3 and spec.repeats == 2 and spec.nested and spec.seed == 7 and spec.test_size == 0.25
    assert spec.metrics == ("balanced_accuracy", "accuracy") and spec.out == Path("out/x")
    assert spec.datasets[0] == "wine"
    assert spec.datasets[1] == DataSource(source=str((tmp_path / "data.csv").resolve()), target="churned", name="churn")
    assert spec.grids == {"random_forest": {"max_depth": [2, 4]}}
    assert spec.resolved_models()[1].grid == {"model__max_depth": [2, 4]}


@pytest.mark.parametrize("text, message", [
    ("cvv = 3", "unknown key(s) ['cvv'] in the top level; allowed keys are"),
    ("cv = -3", "cv must be an integer >= 2 (the number of folds); got -3. Use e.g. --cv 5."),
    ("cv = 'five'", "cv must be a int; got 'five' (str)."),
    ("repeats = 0", "repeats must be an integer >= 1; got 0. Use e.g. --repeats 2."),
    ("test_size = 1.5", "test_size must be a fraction in (0, 1); got 1.5. Use e.g. 0.2."),
    ("models = ['svm']", "Unknown model name(s) ['svm']; expected some of"),
    ("datasets = ['mnist']", "Unknown dataset name(s) ['mnist']; expected some of"),
    ("metrics = ['accurcy']", "Unknown metric(s) ['accurcy']; expected scikit-learn scorer names"),
    ("datasets = [{ name = 'x', target = 'y' }]", "datasets[0] needs exactly one of 'path' or 'openml'"),
    ("datasets = [{ path = 'a.csv', targt = 'y' }]", "unknown key(s) ['targt'] in datasets[0]"),
    ("models = [{ name = 'ridge', grid = { alpha = [] } }]", "the grid of 'ridge' must map parameter names to non-empty lists"),
    ("models = [{ name = 'm', sklearn = 'a:b', keras = 'c:d' }]", "model 'm' has both 'sklearn' and 'keras'; give one."),
    ("cv = ", "not valid TOML:"),
    ("datasets = [{ path = 'a.csv', sep = 1 }]", 'datasets[0].sep must be a string such as ";" or "\\t"; got 1.'),
    ("datasets = [{ path = 'a.csv', sep = ';;' }]", "Separator ';;' is not usable: expected one character"),
])
def test_bad_config_messages(tmp_path, text, message):
    path = _toml(tmp_path, text)
    with pytest.raises(ValueError) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}: ") and message in str(info.value)


def test_dataset_separators(tmp_path):
    spec = load_config(_toml(tmp_path, 'datasets = [{ path = "a.csv", target = "y", sep = ";" }, '
                                       '{ path = "b.csv", target = "y", sep = "\\t" }, '
                                       '{ path = "c.csv", sep = "tab" }, { path = "d.csv" }]'))
    assert [d.sep for d in spec.datasets] == [";", "\t", "tab", None]


def test_missing_config_file(tmp_path):
    with pytest.raises(ValueError, match=r"Config file .*nope\.toml does not exist; check the path given to --config\."):
        load_config(tmp_path / "nope.toml")


def test_examples_load():
    churn = load_config(ROOT / "examples" / "churn_csv.toml")
    assert churn.datasets[0].target == "churned" and churn.metrics[0] == "balanced_accuracy"
    custom = load_config(ROOT / "examples" / "custom_models.toml")
    assert custom.model_names == ["logistic_regression", "random_forest", "my_mlp", "my_svc"]
    assert custom.grids == {"random_forest": {"max_depth": [8, 16]}}
    mlp, svc = custom.models[2:]
    assert isinstance(mlp, ModelSpec) and mlp.framework == "keras" and mlp.grid == {"model__epochs": [10, 20]}
    assert isinstance(svc, ModelSpec) and svc.framework == "scikit-learn" and svc.grid == {"model__C": [1.0, 10.0]}


def test_user_model_errors_name_the_file_and_the_model(tmp_path):
    (tmp_path / "mods.py").write_text("from sklearn.svm import SVC\nsvc = SVC()\n")
    path = _toml(tmp_path, "models = [{ name = 'ridge', sklearn = 'mods:svc' }]")
    with pytest.raises(ValueError, match=r"study\.toml: models\[0\] \(ridge\): A user model needs a new, non-empty name"):
        load_config(path)
    path = _toml(tmp_path, "models = [{ name = 'svc', sklearn = 'mods:svc', grid = { alphaa = [1] } }]")
    with pytest.raises(ValueError, match=r"models\[0\] \(svc\): Model 'svc': grid parameter\(s\) \['model__alphaa'\] "
                                         r"are not parameters of SVC"):
        load_config(path)
    path = _toml(tmp_path, "models = [{ name = 'x', sklearn = 'nomodule:thing' }]")
    with pytest.raises(ValueError, match=r"models\[0\] \(x\): Cannot import module 'nomodule'"):
        load_config(path)


def test_user_keras_options_and_none_in_grids(tmp_path):
    (tmp_path / "nets.py").write_text("def build():\n    return None\n")
    spec = load_config(_toml(tmp_path, """
[[models]]
name = "random_forest"
grid = { max_depth = ["None", 4] }

[[models]]
name = "net"
keras = "nets:build"
epochs = 7
early_stopping = true
patience = 2
class_weight = "balanced"
image = true
"""))
    forest, net, baseline = spec.resolved_models()
    assert forest.grid == {"model__max_depth": [None, 4]}
    wrapper = net.estimator(image_shape=(8, 8, 1), random_state=0)[-1]
    assert net.needs_image and (wrapper.epochs, wrapper.early_stopping, wrapper.patience) == (7, True, 2)
    assert (wrapper.validation_fraction, wrapper.class_weight, wrapper.image_input) == (0.2, "balanced", (8, 8, 1))
    with pytest.raises(ValueError, match=r"model 'ridge': \['epochs'\] are options of a Keras model"):
        load_config(_toml(tmp_path, "models = [{ name = 'ridge', epochs = 3 }]"))
    with pytest.raises(ValueError, match=r"models\[0\] \(net\): Model 'net': patience must be an integer >= 0"):
        load_config(_toml(tmp_path, "models = [{ name = 'net', keras = 'nets:build', patience = -1 }]"))
