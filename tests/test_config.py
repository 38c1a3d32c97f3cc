"""A study as TOML: every key validated with a precise message; examples load."""

import sys
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


# ---- the file itself, user callables and built-in grids: refused in one line before anything runs ----

def test_a_folder_a_byte_order_mark_and_latin_1(tmp_path):
    with pytest.raises(ValueError) as raised:
        load_config(tmp_path)
    assert str(raised.value) == (f"Config file {tmp_path} is a folder; expected a TOML file (e.g. "
                                 "examples/custom_models.toml). Give the file's path to --config.")
    path = tmp_path / "study.toml"
    path.write_bytes("\ufeffcv = 3\n".encode("utf-8"))
    assert load_config(path).cv == 3
    path.write_bytes("cv = 3\n# café\n".encode("latin-1"))
    with pytest.raises(ValueError) as raised:
        load_config(path)
    assert str(raised.value) == (f"{path}: not UTF-8 text (byte 0xe9 on line 2; the file looks saved as Latin-1 or "
                                 "another legacy encoding); TOML files are UTF-8. Save the file as UTF-8 (your "
                                 "editor's encoding setting, or iconv -f latin1 -t utf-8 study.toml).")


def test_the_command_refuses_a_folder_or_latin_1_config_in_one_line(tmp_path, capsys):
    from study.run import main

    (tmp_path / "study.toml").write_bytes("cv = 3\n# café\n".encode("latin-1"))
    for config, found in ((tmp_path, "is a folder"), (tmp_path / "study.toml", "not UTF-8 text")):
        assert main(["--config", str(config), "--out", str(tmp_path / "out")]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and found in err and "Traceback" not in err, err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("key, reference, found", [
    ("sklearn", "os:system", "sklearn = 'os:system' is a built-in function (posix.system), not a "
                             "scikit-learn estimator, and it is not called to find out; expected an estimator object"),
    ("sklearn", "os:getcwd",
     "sklearn = 'os:getcwd' is a built-in function (posix.getcwd), not a scikit-learn estimator"),
    ("sklearn", "study.run:main", "sklearn = 'study.run:main' is a function of this tool (study.run.main), not a "
                                  "scikit-learn estimator, and it is not called to find out"),
    ("sklearn", "shutil:rmtree", "is a function of the standard library (shutil.rmtree)"),
    ("sklearn", "collections:OrderedDict", "sklearn = 'collections:OrderedDict' is the class OrderedDict, which is "
                                           "not a scikit-learn estimator (no fit/get_params)"),
    ("sklearn", "callables:needs_args",
     "sklearn = 'callables:needs_args' is a function that needs the argument(s) ['kernel']"),
    ("sklearn", "callables:recurse",
     "The function 'callables:recurse' raised RecursionError: maximum recursion depth exceeded"),
    ("sklearn", "callables:not_an_estimator",
     "sklearn = 'callables:not_an_estimator' returned a str, not a scikit-learn estimator (no fit/get_params)"),
    ("sklearn", "callables:NUMBER",
     "sklearn = 'callables:NUMBER' is an object of type int, not a scikit-learn estimator"),
    ("keras", "os:system", "keras = 'os:system' is a built-in function (posix.system), not a Keras build function; "
                           "expected a function of your own module that builds and returns a keras.Model"),
    ("keras", "callables:Net", "keras = 'callables:Net' is a class (callables.Net), not a Keras build function"),
    ("keras", "callables:NUMBER", "keras = 'callables:NUMBER' is an object of type int, not a Keras build function"),
])
def test_a_toml_callable_is_checked_before_anything_is_called(tmp_path, key, reference, found):
    (tmp_path / "callables.py").write_text(
        "from sklearn.svm import SVC\nNUMBER = 3\nCALLS = []\n"
        "def needs_args(kernel):\n    CALLS.append(kernel)\n    return SVC(kernel=kernel)\n"
        "def recurse():\n    return recurse()\n"
        "def not_an_estimator():\n    return 'svc'\n"
        "class Net:\n    def __call__(self):\n        return None\n")
    path = _toml(tmp_path, f"models = [{{ name = 'x', {key} = '{reference}' }}]")
    with pytest.raises(ValueError) as raised:
        load_config(path)
    message = str(raised.value)
    assert message.startswith(f"{path}: models[0] (x): ") and found in message, message
    assert "\n" not in message and len(message) < 600
    assert getattr(sys.modules.get("callables"), "CALLS", []) == []  # nothing was called to find out


def test_user_estimators_given_as_an_object_a_class_or_a_function_of_ones_own_module(tmp_path):
    (tmp_path / "own.py").write_text("from sklearn.svm import SVC\nsvc = SVC()\ndef make():\n    return SVC(C=2.0)\n")
    spec = load_config(_toml(tmp_path, "models = [{ name = 'a', sklearn = 'own:svc' }, { name = 'b', sklearn = "
                                       "'sklearn.svm:SVC' }, { name = 'c', sklearn = 'own:make' }]"))
    assert [m.estimator()[-1].C for m in spec.models] == [1.0, 1.0, 2.0]


@pytest.mark.parametrize("text, found", [
    ("models = [{ name = 'random_forest', grid = { nope = [1] } }]",
     "The grid of model 'random_forest' names ['nope'], which is not a parameter of RandomForestClassifier; "
     "expected some of ["),
    ("models = [{ name = 'ridge', search = 'random', distributions = { alpah = { loguniform = [0.1, 10.0] } } }]",
     "The distributions of model 'ridge' names ['alpah'], which is not a parameter of RidgeClassifier"),
])
def test_an_unknown_parameter_of_a_built_in_model_is_refused_before_training(tmp_path, text, found):
    path = _toml(tmp_path, text)
    with pytest.raises(ValueError) as raised:
        load_config(path)
    assert str(raised.value).startswith(f"{path}: {found}"), str(raised.value)
    assert "'max_depth'" in str(raised.value) or "'alpha'" in str(raised.value)


def test_an_unknown_grid_parameter_from_python_or_the_command_trains_nothing(tmp_path, capsys, monkeypatch):
    from sklearn.ensemble import RandomForestClassifier

    from study.run import main
    from study.spec import StudySpec

    with pytest.raises(ValueError, match=r"^The grid of model 'random_forest' names \['nope'\], which is not a "):
        StudySpec(datasets=("wine",), models=("random_forest",), grids={"random_forest": {"model__nope": [1]}}
                  ).validate()
    fits = []
    monkeypatch.setattr(RandomForestClassifier, "fit", lambda self, *a, **k: fits.append(1))
    path = _toml(tmp_path, "datasets = ['wine']\nmodels = [{ name = 'random_forest', grid = { nope = [1] } }]")
    assert main(["--config", str(path), "--quick", "--out", str(tmp_path / "out"), "--no-cache"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "names ['nope']" in err and "Traceback" not in err, err
    assert fits == [] and not (tmp_path / "out").exists()
