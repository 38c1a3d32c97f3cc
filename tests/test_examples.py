"""The Python examples of README.md and docs/ and the TOML studies of examples/ run as written (quick
settings for the TOML studies), in this process with the default workers, as users run them. The
Python examples run on this test process's default workers (``conftest.default_workers_lent``:
the same ``Workers()``, whose imports are done); the TOML study of user models makes its own, as a
fresh process does: new workers are given the TOML's folder to import its modules from."""

import os
import re
import sys
import types
from pathlib import Path

import pytest

from backends import list_models
from backends.custom import unregister_model
from study.results import read_results
from tests.doc_pages import code_blocks

ROOT = Path(__file__).resolve().parents[1]


def _run_as_script(code: str, folder: Path, monkeypatch) -> None:
    """Run ``code`` as ``python script.py`` would, from ``folder``: as the ``__main__`` module (so
    that the functions it defines reach the workers by value, as a script's do); the user models it
    registers are unregistered, and MLflow's tracking URI is restored, after."""
    from backends._compat import mlflow_tracking_uri_setting

    script = types.ModuleType("__main__")
    monkeypatch.setitem(sys.modules, "__main__", script)
    monkeypatch.chdir(folder)
    if "MLFLOW_TRACKING_URI" in os.environ:  # mlflow.set_tracking_uri also sets it: restored after
        monkeypatch.setenv("MLFLOW_TRACKING_URI", os.environ["MLFLOW_TRACKING_URI"])
    else:
        monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    registered = set(list_models())
    uri = mlflow_tracking_uri_setting() if "mlflow" in sys.modules else None
    try:
        exec(compile(code, str(folder / "example.py"), "exec"), script.__dict__)
    finally:
        for name in set(list_models()) - registered:
            unregister_model(name)
        if "mlflow" in sys.modules:
            sys.modules["mlflow"].set_tracking_uri(uri)


def readme_examples() -> list:
    """The Python code blocks of README.md and docs/*.md (``tests.doc_pages``), in page order; the
    notebook example (the block after ``<!-- notebook example -->``) is run in a Jupyter kernel by
    tests/test_notebook.py instead."""
    return [code for _, code, is_notebook in code_blocks("python") if not is_notebook]


@pytest.mark.parametrize("index", range(len(readme_examples())))
def test_readme_python_examples_run_as_written(tmp_path, monkeypatch, capsys, index,
                                               default_workers_lent):
    """In a fresh folder (its cache and output stay there) holding the data files the examples read."""
    (tmp_path / "tests" / "data").mkdir(parents=True)
    (tmp_path / "tests" / "data" / "customers.csv").write_bytes((ROOT / "tests" / "data" / "customers.csv").read_bytes())
    code = readme_examples()[index]
    _run_as_script(code, tmp_path, monkeypatch)
    stdout = capsys.readouterr().out
    if "register_model" in code:  # every model ran, the user's ones on the workers
        scores = dict(re.findall(r"^\d+\s+(\S+)\s+([0-9.]+)$", stdout, flags=re.M))
        chance = float(scores.pop("dummy"))  # the chance baseline of every study: 0.1 on digits' ten classes
        assert set(scores) == {"logistic_regression", "svc", "my_mlp"} and min(map(float, scores.values())) > 0.9
        assert chance < 0.2
    if "write_report" in code:
        assert (tmp_path / "out" / "report.md").exists() and (tmp_path / "out" / "verdicts.csv").exists()


def test_examples_custom_models_toml_runs_with_the_default_workers(tmp_path, monkeypatch, run_cli, user_imports):
    user_imports("my_models")
    monkeypatch.chdir(ROOT)  # "Run from the repository root", as the file says
    status, _, err = run_cli("--config", "examples/custom_models.toml", "--quick", "--out", tmp_path / "out",
                             "--cache-dir", tmp_path / "cache")
    assert status == 0, err[-3000:]
    results = read_results(tmp_path / "out" / "results.csv")
    assert results["model"].unique().tolist() == ["logistic_regression", "random_forest", "my_mlp", "my_svc", "dummy"]
    assert (results["status"] == "ok").all()
    report = (tmp_path / "out" / "report.md").read_text()
    assert "| my_mlp | keras |" in report and "| my_svc | scikit-learn | C=" in report


def test_examples_churn_csv_toml_runs(tmp_path, monkeypatch, run_cli):
    monkeypatch.chdir(ROOT)  # "Run from the repository root", as the file says
    monkeypatch.setattr(sys, "path", list(sys.path))  # a TOML study puts its folder there
    status, _, err = run_cli("--config", "examples/churn_csv.toml", "--quick", "--out", tmp_path / "out",
                             "--cache-dir", tmp_path / "cache")
    assert status == 0, err[-3000:]
    results = read_results(tmp_path / "out" / "results.csv")
    assert results["metric"].dropna().unique().tolist() == ["balanced_accuracy", "accuracy"]
    assert set(results.loc[results["status"] == "ok", "model"]) == {"logistic_regression", "random_forest",
                                                                    "keras_dense", "dummy"}
