"""User data end to end: a messy CSV with every model, an image .npz through the CNN, regression.

Every study runs in this process (``study.run.main`` or ``run_study``) with one worker: none of
these tests is about processes or parallelism."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits

from study.results import read_results, summarize
from study.orchestrator import run_study
from study.spec import DataSource, StudySpec

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.usefixtures("one_thread_per_fit")  # the studies fit in this process


def test_real_world_csv_with_every_model(tmp_path, run_cli):
    status, _, err = run_cli("--data", ROOT / "tests/data/customers.csv", "--target", "churned", "--quick",
                             "--cv", "3", "--out", tmp_path, "--no-cache", "--no-diagnostics", "--n-jobs", "1")
    assert status == 0, err[-3000:]
    assert "Dropping ID-like column(s) ['customer_id']" in err
    table = summarize(read_results(tmp_path / "results.csv")).set_index("model")
    ran = ["logistic_regression", "ridge", "random_forest", "keras_dense"]
    assert (table.loc[ran, "status"] == "ok").all()
    assert (table.loc[ran, "test_score"] > 0.63).all()  # beats always predicting the majority class (63%)
    assert table.loc["keras_cnn", "error"] == "keras_cnn needs image data; customers is tabular"


def test_npz_of_images_runs_the_cnn(tmp_path):
    digits = load_digits()
    path = tmp_path / "digits_images.npz"
    np.savez(path, X=digits.images[:600].astype("float32"), y=digits.target[:600])
    spec = StudySpec(datasets=(DataSource(str(path)),), models=("keras_cnn",), cv=3, quick=True, cache_dir=None,
                     diagnostics=False, n_jobs=1)
    results = run_study(spec, progress=False).results
    test = results[(results["split"] == "test") & (results["metric"] == "accuracy")]
    assert test["model"].tolist() == ["keras_cnn", "dummy"] and test["score"].iloc[0] > 0.85


def test_regression_end_to_end():
    spec = StudySpec(datasets=("diabetes",), models=("logistic_regression", "ridge", "random_forest", "keras_dense"),
                     cv=3, quick=True, cache_dir=None, diagnostics=False, n_jobs=1)
    results = run_study(spec, progress=False).results
    assert set(results["metric"].dropna()) == {"r2", "neg_root_mean_squared_error"}
    table = summarize(results).set_index("model")
    assert table.loc["logistic_regression", "status"] == "skipped"
    assert (table.loc[["ridge", "random_forest", "keras_dense"], "test_score"] > 0.2).all()  # R^2


# --------------------------------------------------------------------------------------
# Bad input from the command line: exit status 2 and one line, before any training


def _table(n=40, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"x1": rng.normal(size=n).round(3), "x2": rng.normal(size=n).round(3), "y": np.arange(n) % 2})


def _csv(path, df, **kwargs):
    df.to_csv(path, index=False, **kwargs)


def _npz(path, X):
    np.savez(path, X=X, y=np.arange(len(X)) % 2)


def _with(df, column, rows, value):
    df = df.astype({column: float})
    df.loc[rows, column] = value
    return df


BAD_INPUTS = {  # file name -> (how to write it, extra options, the error after "error: ")
    "dup.csv": (lambda p: p.write_text("x1,y,y\n" + "".join(f"{i},{i % 2},{i % 2}\n" for i in range(40))), [],
                "'{path}' has duplicate column names ['y'] (pandas would read the copies as ['y.1']; a copy of the "
                "target 'y' would become a feature); expected unique names. Rename or remove the repeated columns "
                "in the file."),
    "inf.csv": (lambda p: _csv(p, _with(_table(), "x1", [3, 7], np.inf)), [],
                "Column(s) 'x1' (2 rows) of dataset 'inf' hold infinite values (inf or -inf); expected finite numbers "
                "(missing values may be NaN or empty: they are imputed). Replace them with NaN "
                "(df.replace([np.inf, -np.inf], np.nan)) or drop those rows."),
    "huge.csv": (lambda p: _csv(p, _with(_table(), "x2", [5], -1e200)), [],
                 "Column(s) 'x2' (1 row, largest 1e+200) of dataset 'huge' hold values beyond +-1e+30; expected "
                 "magnitudes up to 1e+30, which the models' float32 arithmetic can hold. Rescale the column(s) (other "
                 "units, or a log) or drop those rows."),
    "infy.csv": (lambda p: _csv(p, _with(_table(), "y", [5], -np.inf)), ["--task", "regression"],
                 "The target of dataset 'infy' is infinite (inf or -inf) in 1 of 40 rows (row positions 5); expected "
                 "finite numbers. Drop those rows or fill in a finite target."),
    "nany.csv": (lambda p: _csv(p, _with(_table(), "y", [1, 2], np.nan)), [],
                 "The target of dataset 'nany' is missing in 2 of 40 rows (row positions 1, 2); expected a value in "
                 "every row. Drop those rows (df.dropna(subset=[target])) or fill in their target."),
    "semi.csv": (lambda p: _csv(p, _table(), sep=";"), ["--sep", ","],
                 "'{path}' was read as a single column 'x1;x2;y' with the separator ',', but its header contains ';': "
                 "the file looks ';'-separated. Pass --sep ';' (sep in TOML or DataSource)."),
    "ragged.csv": (lambda p: p.write_text('x1;note;y\n1;"two\nlines";0\n' + "".join(f'{i};"x";{i % 2}\n'
                                                                                 for i in range(40))), [],
                   "'{path}' was read as a single column 'x1;note;y' with the separator ',', but its header contains "
                   "';': the file looks ';'-separated. Pass --sep ';' (sep in TOML or DataSource)."),
    "tab.csv": (lambda p: _csv(p, _table(), sep="\t"), ["--sep", ";;"],
                "Separator ';;' is not usable: expected one character that separates the columns of a CSV, such as "
                "',', ';', '|', or a tab (written tab or \\t). Fix --sep (sep in TOML or DataSource)."),
    "empty.npz": (lambda p: _npz(p, np.zeros((30, 8, 0))), [],
                  "X in '{path}' has shape (30, 8, 0): images with a dimension of size 0 hold no pixels; expected "
                  "(n_samples, height, width) or (n_samples, height, width, channels) with every dimension at least "
                  "1. Check how the images were built before saving."),
    "flat.npz": (lambda p: _npz(p, np.zeros(30)), [],
                 "X in '{path}' has shape (30,); expected (n_samples, n_features) for tabular data, or (n_samples, "
                 "height, width) or (n_samples, height, width, channels) for images. Reshape it before saving."),
    "infimg.npz": (lambda p: _npz(p, np.where(np.eye(4)[None] > 0, np.inf, 0.5).repeat(30, axis=0)), [],
                   "Image data of dataset 'infimg' has 120 infinite (inf or -inf) pixel values; expected finite "
                   "numbers. Replace them (e.g. with 0 or the largest valid intensity) before loading."),
}


@pytest.mark.parametrize("name", list(BAD_INPUTS))
def test_bad_data_exits_2_with_one_line(tmp_path, run_cli, name):
    write, options, message = BAD_INPUTS[name]
    path = tmp_path / name
    write(path)
    target = ["--target", "y"] if name.endswith(".csv") else []
    status, out, err = run_cli("--data", path, *target, *options, "--models", "ridge", "--no-cache", "--out",
                               tmp_path / "out")
    assert status == 2, err[-2000:]
    assert err.splitlines() == [f"error: {message.format(path=path)}"], err[-2000:]
    assert "Traceback" not in err and "fits:" not in err and out == ""  # refused before any work
    assert not (tmp_path / "out").exists()


def test_sep_needs_data(run_cli):
    status, _, err = run_cli("--sep", ";", "--no-cache")
    assert status == 2
    assert "error: --target, --task and --sep describe --data; give --data FILE as well." in err


def test_notices_are_printed_and_kept_in_the_report(tmp_path, run_cli):
    """A ;-separated table, an integer target with 25 values, a string column with 60: three notices."""
    rng = np.random.default_rng(0)
    n = 300
    shops = [f"s{k}" for k in rng.permutation(np.arange(n) % 60)]
    df = pd.DataFrame({"x1": rng.normal(size=n).round(3), "shop": shops})
    df["y"] = df["x1"].rank(method="first").astype(int).sub(1).mul(25) // n  # 0..24, rising with x1
    path = tmp_path / "sales.csv"
    df.to_csv(path, sep=";", index=False)
    assert df["y"].nunique() == 25
    out = tmp_path / "out"
    status, _, err = run_cli("--data", path, "--target", "y", "--models", "ridge", "random_forest", "--quick",
                             "--cv", "3", "--no-diagnostics", "--no-cache", "--n-jobs", "1", "--out", out)
    assert status == 0, err[-3000:]
    notes = [
        "dataset 'sales': 'sales.csv' read as ';'-separated (detected from its first lines); pass --sep to choose "
        "another separator.",
        "dataset 'sales': target 'y' has 25 distinct integer values (more than 20): treated as regression; to treat "
        "them as classes, pass --task classification (task = 'classification' in TOML or Python).",
        "Column 'shop' of dataset 'sales' has 60 distinct values; its one-hot encoding is bounded to 50 columns "
        "(OneHotEncoder max_categories=50: the 49 most frequent values of each training fold, one column for all "
        "the others). To use it otherwise, encode it yourself (e.g. as counts) or drop it.",
    ]
    for note in notes:
        assert f"warning: {note}\n" in err
    assert json.loads((out / "study.json").read_text())["data_notes"] == {"sales": notes}
    protocol = (out / "report.md").read_text().split("## Protocol", 1)[1].split("\n## ", 1)[0]
    assert "Notes on the data (also printed before training):\n\n" + "".join(f"- {n}\n" for n in notes) in protocol
    table = summarize(read_results(out / "results.csv")).set_index("model")
    assert (table.loc[["ridge", "random_forest"], "status"] == "ok").all()
    assert (table.loc[["ridge", "random_forest"], "test_score"] > 0.5).all()  # R^2: y follows x1
