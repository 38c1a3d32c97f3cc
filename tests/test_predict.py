"""python -m study.predict: a stored model applied to a new table, from the shared quick wine study."""

import os
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from study.predict import main, predict
from tests.conftest import ROOT
from tests.doc_pages import code_blocks
from tests.test_saved import _test_rows


def test_predict_command_writes_one_prediction_per_row_equal_to_the_study(wine_study, tmp_path, capsys):
    predictions, rows = _test_rows(wine_study["out"], "keras_dense")
    rows.to_csv(tmp_path / "new.csv", index=False)
    model = wine_study["out"] / "models" / "wine" / "keras_dense"
    out = tmp_path / "predictions.csv"
    status = main(["--model", str(model), "--data", str(tmp_path / "new.csv"), "--out", str(out)])
    assert status == 0 and capsys.readouterr().err == (f"loading {model / 'estimator.pkl'} (a pickle: load only "
                                                       f"models you trust)\nwrote 36 predictions to {out}\n")
    written = pd.read_csv(tmp_path / "predictions.csv")
    assert list(written.columns) == ["y_pred", "proba:0", "proba:1", "proba:2"]
    np.testing.assert_array_equal(written["y_pred"], predictions["y_pred"])
    np.testing.assert_allclose(written.iloc[:, 1:], predictions[["proba:0", "proba:1", "proba:2"]], rtol=1e-6)


def test_predict_from_python_takes_a_dataframe_in_any_column_order(wine_study):
    predictions, rows = _test_rows(wine_study["out"], "logistic_regression")
    found = predict(wine_study["out"] / "models" / "wine" / "logistic_regression", rows[rows.columns[::-1]])
    np.testing.assert_array_equal(found["y_pred"], predictions["y_pred"])


@pytest.mark.parametrize("change, message", [
    (lambda rows: rows.drop(columns=["hue"]),
     "error: The table's columns do not match the model's: missing ['hue']. Expected the 13 columns"),
    (lambda rows: rows.assign(target=0),
     "error: The table's columns do not match the model's: extra ['target']. Expected the 13 columns"),
    (lambda rows: rows.assign(hue="pale"),
     "error: Column 'hue' holds 'pale' (row 0), not a number; the model was trained on numbers in it."),
])
def test_a_table_that_does_not_fit_exits_2_in_one_line(wine_study, tmp_path, capsys, change, message):
    _, rows = _test_rows(wine_study["out"], "logistic_regression")
    change(rows).to_csv(tmp_path / "new.csv", index=False)
    status = main(["--model", str(wine_study["out"] / "models" / "wine" / "logistic_regression"),
                   "--data", str(tmp_path / "new.csv"), "--out", str(tmp_path / "predictions.csv")])
    err = capsys.readouterr().err
    assert status == 2 and err.startswith(message) and err.count("\n") == 1, err
    assert not (tmp_path / "predictions.csv").exists()


def test_bad_model_folder_or_csv_exits_2_in_one_line(wine_study, tmp_path, capsys):
    model = wine_study["out"] / "models" / "wine" / "logistic_regression"
    (tmp_path / "bad.csv").write_text('a,b\n1,"2\n')
    cases = [(["--model", str(wine_study["out"] / "models" / "wine"), "--data", str(tmp_path / "bad.csv")],
              "is not a stored model: it has no model.json; expected a folder OUT/models/<dataset>/<model>"),
             (["--model", str(model), "--data", str(tmp_path / "missing.csv")],
              f"error: Data file '{tmp_path / 'missing.csv'}' does not exist; expected a CSV file"),
             (["--model", str(model), "--data", str(tmp_path / "bad.csv")],
              f"error: Could not read '{tmp_path / 'bad.csv'}' as CSV (ParserError")]
    for argv, message in cases:
        status = main(argv)
        err = capsys.readouterr().err
        assert status == 2 and message in err and err.count("\n") == 1, err


# A process: the documentation's bash lines run verbatim, as users type them.
def test_readme_predict_commands_run_as_written(wine_study, tmp_path):
    """The documentation's block that runs a study and study.predict (docs/outputs.md), in a fresh folder (its /tmp/ paths there)
    whose default cache (.study_cache) is a copy of the shared study's: the same study, loaded from it."""
    shutil.copytree(wine_study["cache"], tmp_path / ".study_cache")
    block = next(code for _, code, _ in code_blocks("bash") if "study.predict --model" in code)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3",
           "PATH": f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ.get('PATH', '')}"}  # this `python`
    for line in block.replace("/tmp/", f"{tmp_path}/").strip().splitlines():
        proc = subprocess.run(["bash", "-c", line], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=600)
        assert proc.returncode == 0, (line, proc.stderr[-2000:])
    written = pd.read_csv(tmp_path / "predictions.csv")
    assert len(written) == 5 and list(written.columns) == ["y_pred", "proba:0", "proba:1", "proba:2"]


# ---- the value checks of training, on a tiny study of a table with numbers, text and booleans ----

from tests.test_saved import shop_study  # noqa: E402


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    return shop_study(tmp_path_factory.mktemp("shop"))


def _rows(shop, n=6):
    return shop["table"].drop(columns="bought").head(n)


def _run(shop, tmp_path, capsys, csv_text, model="logistic_regression"):
    """``python -m study.predict`` on a CSV written as given; (status, stderr lines, predictions file)."""
    (tmp_path / "new.csv").write_text(csv_text)
    out = tmp_path / "predictions.csv"
    status = main(["--model", str(shop["out"] / "models" / "shop" / model), "--data", str(tmp_path / "new.csv"),
                   "--out", str(out)])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return status, err.splitlines(), out


@pytest.mark.parametrize("column, value, found", [
    ("age", "inf", "error: Column(s) 'age' (1 row) of dataset 'new.csv' hold infinite values (inf or -inf); expected "
                   "finite numbers"),
    ("age", "-inf", "error: Column(s) 'age' (1 row) of dataset 'new.csv' hold infinite values"),
    ("age", "1e300", "error: Column(s) 'age' (1 row, largest 1e+300) of dataset 'new.csv' hold values beyond "
                     "+-1e+30; expected magnitudes up to 1e+30"),
    ("member", "yes", "error: Column 'member' holds 'yes' (row 2), a value the model never saw in it; expected one "
                      "of ['False', 'True']. It would be encoded as an unknown category and change the prediction "
                      "without a word: it was trained on True/False there: write True or False (not yes/no or 1/0), "
                      "or leave the cell empty (imputed)."),
    ("member", "1", "error: Column 'member' holds '1' (row 2), a value the model never saw in it"),
    ("plan", "3", "error: Column 'plan' holds '3' (row 2), a value the model never saw in it; expected one of "
                  "['7.50', 'basic', 'premium']."),
    ("plan", "7.5", "error: Column 'plan' holds '7.5' (row 2), a value the model never saw in it"),
])
def test_values_training_refuses_or_never_saw_are_refused_in_one_line(shop, tmp_path, capsys, column, value, found):
    rows = _rows(shop).astype(object)
    rows.loc[2, column] = value
    status, lines, out = _run(shop, tmp_path, capsys, rows.to_csv(index=False))
    assert status == 2 and len(lines) == 1 and lines[0].startswith(found), lines
    assert not out.exists()


def test_numbers_where_the_model_saw_text_are_read_as_the_text_training_read(shop, tmp_path, capsys):
    """A column of text whose values here all look like numbers ("7.50") is read as text, as in training,
    not as 7.5 (an unseen category); True/False in any case are booleans, as pandas read them in training."""
    rows = _rows(shop).assign(plan="7.50", member=["true", "FALSE", "True", "false", "TRUE", "False"])
    status, lines, out = _run(shop, tmp_path, capsys, rows.to_csv(index=False))
    assert status == 0 and lines[-1] == f"wrote 6 predictions to {out}", lines
    expected = predict(shop["out"] / "models" / "shop" / "logistic_regression",
                       rows.assign(member=[True, False, True, False, True, False]), say=lambda line: None)
    pd.testing.assert_frame_equal(pd.read_csv(out), expected, check_dtype=False)


def test_a_repeated_header_is_refused_naming_the_column_as_in_the_file(shop, tmp_path, capsys):
    text = _rows(shop).to_csv(index=False).replace("age,plan,member", "age,plan,age", 1)
    status, lines, out = _run(shop, tmp_path, capsys, text)
    assert status == 2 and lines == [f"error: '{tmp_path / 'new.csv'}' has duplicate column names ['age'] (pandas "
                                     "would read the copies as ['age.1']); expected unique names. Rename or remove the "
                                     "repeated columns in the file."], lines


def test_an_edited_model_folder_exits_2_in_one_line_before_anything_is_unpickled(shop, tmp_path, capsys, monkeypatch):
    import json

    import study.model_store

    model = tmp_path / "model"
    shutil.copytree(shop["out"] / "models" / "shop" / "logistic_regression", model)
    _rows(shop).to_csv(tmp_path / "new.csv", index=False)
    unpickled = []
    monkeypatch.setattr(study.model_store, "_load", lambda *args: unpickled.append(args))
    info = json.loads((model / "model.json").read_text())
    (model / "model.json").write_text(json.dumps({k: v for k, v in info.items() if k != "features"}))
    assert main(["--model", str(model), "--data", str(tmp_path / "new.csv")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: '{model / 'model.json'}' is not a valid stored-model description: 'features' is "
                          "missing;") and err.count("\n") == 1, err
    (model / "model.json").write_text(json.dumps(info))
    (model / "estimator.pkl").write_bytes((shop["out"] / "models" / "shop" / "random_forest" / "estimator.pkl")
                                          .read_bytes())
    assert main(["--model", str(model), "--data", str(tmp_path / "new.csv")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: '{model / 'estimator.pkl'}' is not the file its model.json describes (its "
                          "SHA-256 differs)") and err.count("\n") == 1, err
    assert unpickled == []


def test_a_reader_that_stops_reading_stdout_ends_the_command_quietly(shop, tmp_path, capsys, monkeypatch):
    class ClosedPipe:
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self):
            raise BrokenPipeError(32, "Broken pipe")

    _rows(shop).to_csv(tmp_path / "new.csv", index=False)
    model = shop["out"] / "models" / "shop" / "logistic_regression"
    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    status = main(["--model", str(model), "--data", str(tmp_path / "new.csv")])
    monkeypatch.undo()
    err = capsys.readouterr().err
    assert status == 141 and err == f"loading {model / 'estimator.pkl'} (a pickle: load only models you trust)\n"


# A process: only a process shows what Python prints at exit when its stdout is closed (| head).
def test_predict_piped_into_head_prints_nothing_but_its_line(shop, tmp_path):
    """Only a process shows what Python prints at exit for a closed stdout."""
    pd.concat([_rows(shop, 60)] * 200).to_csv(tmp_path / "new.csv", index=False)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(["bash", "-c", f"{sys.executable} -m study.predict --model "
                           f"'{shop['out'] / 'models' / 'shop' / 'logistic_regression'}' --data "
                           f"'{tmp_path / 'new.csv'}' | head -1"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.stdout == "y_pred,proba:0,proba:1\n"
    assert proc.stderr.splitlines() == [f"loading {shop['out'] / 'models' / 'shop' / 'logistic_regression'}"
                                        "/estimator.pkl (a pickle: load only models you trust)"], proc.stderr


def test_a_model_saved_with_other_library_versions_is_named_in_one_line(shop, tmp_path, capsys):
    import json

    import sklearn

    model = tmp_path / "model"
    shutil.copytree(shop["out"] / "models" / "shop" / "logistic_regression", model)
    info = json.loads((model / "model.json").read_text())
    info["libraries"]["scikit-learn"] = "0.0.1"
    (model / "model.json").write_text(json.dumps(info))
    _rows(shop).to_csv(tmp_path / "new.csv", index=False)
    assert main(["--model", str(model), "--data", str(tmp_path / "new.csv"), "--out", str(tmp_path / "p.csv")]) == 0
    assert capsys.readouterr().err.splitlines() == [
        f"loading {model / 'estimator.pkl'} (a pickle: load only models you trust)",
        f"warning: '{model}' was saved with scikit-learn 0.0.1 (installed: {sklearn.__version__}); it may fail to "
        "load or predict differently here. Install the versions recorded in its model.json (libraries) to be sure, "
        "or run the study again with these.",
        f"wrote 6 predictions to {tmp_path / 'p.csv'}"]
