"""python -m study.predict: a stored model applied to a new table, from the shared quick wine study."""

import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from study.predict import main, predict
from tests.conftest import ROOT
from tests.test_saved import _test_rows


def test_predict_command_writes_one_prediction_per_row_equal_to_the_study(wine_study, tmp_path, capsys):
    predictions, rows = _test_rows(wine_study["out"], "keras_dense")
    rows.to_csv(tmp_path / "new.csv", index=False)
    status = main(["--model", str(wine_study["out"] / "models" / "wine" / "keras_dense"), "--data",
                   str(tmp_path / "new.csv"), "--out", str(tmp_path / "predictions.csv")])
    assert status == 0 and capsys.readouterr().err == f"wrote 36 predictions to {tmp_path / 'predictions.csv'}\n"
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


def test_readme_predict_commands_run_as_written(wine_study, tmp_path):
    """The README's block that runs a study and study.predict, in a fresh folder (its /tmp/ paths there)
    whose default cache (.study_cache) is a copy of the shared study's: the same study, loaded from it."""
    shutil.copytree(wine_study["cache"], tmp_path / ".study_cache")
    block = next(b for b in re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
                 if "study.predict --model" in b)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3",
           "PATH": f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ.get('PATH', '')}"}  # this `python`
    for line in block.replace("/tmp/", f"{tmp_path}/").strip().splitlines():
        proc = subprocess.run(["bash", "-c", line], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=600)
        assert proc.returncode == 0, (line, proc.stderr[-2000:])
    written = pd.read_csv(tmp_path / "predictions.csv")
    assert len(written) == 5 and list(written.columns) == ["y_pred", "proba:0", "proba:1", "proba:2"]
