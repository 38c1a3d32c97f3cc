"""The CLI end to end: `python -m study.run` on real bundled data. The import budget of a refusal
and what a fresh interpreter imports (--help, the folder service, planning a Keras study) need a
new process; everything else calls ``study.run.main`` in the test process (``run_cli``)."""

import contextlib
import functools
import io
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from study.results import read_results, summarize
from study.run import main

ROOT = Path(__file__).resolve().parents[1]
MODELS = ["logistic_regression", "ridge", "random_forest", "hist_gradient_boosting", "keras_dense", "keras_cnn", "dummy"]

FRESH_INTERPRETER = """\
import contextlib, io, json, runpy, sys, time
steps = {}

def step(name, run, stderr=None):
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(stderr or sys.stderr):
        value = run()
    steps[name] = dict(stdout=out.getvalue(), value=value, modules=sorted(sys.modules), ended=time.time())

def run_cli(*argv):
    sys.argv = ['study.run', *argv]
    try:
        runpy.run_module('study.run', run_name='__main__')
    except SystemExit as exc:
        return exc.code

def folders():
    import study.folders

def plan():
    from study.plan import Plan
    from study.orchestrator import prepare
    from study.spec import StudySpec
    spec, models, datasets = prepare(StudySpec(datasets=("digits",), models=("keras_dense", "keras_cnn")))
    plan = Plan(spec, models, datasets)
    return float(plan.forecast(plan.initial())[0])

step("refusal", lambda: run_cli("--datasets", "nope"))  # its error line: this process's only stderr
step("help", lambda: run_cli("--help"), io.StringIO())
step("folders", folders, io.StringIO())
step("plan", plan, io.StringIO())
print(json.dumps(steps))
"""
"""One new interpreter, four steps in this order (each imports no more than the next allows):
``python -m study.run --datasets nope`` (a refusal), ``--help``, ``import study.folders``,
planning a Keras study (digits; keras_dense, keras_cnn); after each, its stdout, its value (the
exit status of a command), every module then in ``sys.modules`` (so a step's check also covers
the steps before it: never looser than a process per step), and the time it ended (``time.time``)."""


@functools.cache
def fresh_interpreter() -> dict:
    """What :data:`FRESH_INTERPRETER` shows, run once per test process (shared by the tests of a
    refusal's import budget, of the help, of the folder service and of the planning of a Keras
    study, in three test files).

    Returns
    -------
    dict
        ``"steps"``: ``{step: {"stdout": str, "value": ..., "modules": list of str, "ended": float}}``
        for the steps ``"refusal"``, ``"help"``, ``"folders"`` and ``"plan"``; ``"stderr"``: the
        process's standard error (the refusal's alone); ``"started"``: ``time.time()`` just before
        the process started.
    """
    started = time.time()
    proc = subprocess.run([sys.executable, "-c", FRESH_INTERPRETER], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return dict(steps=json.loads(proc.stdout), stderr=proc.stderr, started=started)


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory, shared_workers):
    """The README's quick study (``python -m study.run --quick``) in this process, with the
    default workers as users run it (this test process's, ``conftest.shared_workers``, whose
    TensorFlow is imported already): its report folder."""
    base = tmp_path_factory.mktemp("quick")
    out = base / "out"
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        status = main(["--quick", "--out", str(out), "--cache-dir", str(base / "cache")], workers=shared_workers)
    assert status == 0, err.getvalue()[-3000:]
    return out


def test_quick_writes_every_file(quick_report):
    assert {"report.md", "results.csv", "predictions.csv", "study.json"} <= {p.name for p in quick_report.iterdir()}
    for dataset in ("digits", "breast_cancer", "wine", "wide"):
        for kind in ("scores", "gaps"):
            png = quick_report / "figures" / f"{kind}_{dataset}.png"
            assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_quick_covers_all_models_and_cnn_only_on_images(quick_report):
    results = read_results(quick_report / "results.csv")
    ran = results[results["status"] == "ok"]
    expected = {(d, m) for d in ("digits", "breast_cancer", "wine", "wide") for m in MODELS
                if m != "keras_cnn" or d == "digits"}
    assert set(zip(ran["dataset"], ran["model"])) == expected
    skipped = results[results["status"] == "skipped"]
    assert set(zip(skipped["dataset"], skipped["model"])) == {(d, "keras_cnn") for d in ("breast_cancer", "wine",
                                                                                          "wide")}
    assert set(skipped["error"]) == {f"keras_cnn needs image data; {d} is tabular" for d in ("breast_cancer", "wine",
                                                                                            "wide")}


def test_quick_keeps_every_successful_unit_and_writes_report_html(quick_report):
    results = read_results(quick_report / "results.csv")
    ran = results[results["status"] == "ok"].drop_duplicates(["dataset", "model"])
    kept = {(p.parent.name, p.name) for p in (quick_report / "models").glob("*/*") if (p / "model.json").is_file()}
    assert kept == set(zip(ran["dataset"], ran["model"]))
    assert (quick_report / "models" / "digits" / "keras_cnn" / "network-0.keras").is_file()
    html = (quick_report / "report.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and '<section id="digits">' in html and "figures/" not in html


def test_quick_numbers_are_sane_and_match_the_report(quick_report):
    results = read_results(quick_report / "results.csv")
    table = summarize(results).query("status == 'ok'").set_index(["dataset", "model"])
    # quick grids and epochs still generalize well on these datasets
    assert table.loc[("digits", "logistic_regression"), "test_score"] > 0.93
    assert table.loc[("digits", "random_forest"), "test_score"] > 0.93
    assert table.loc[("breast_cancer", "logistic_regression"), "test_score"] > 0.93
    assert (table["mean_train_score"] >= table["mean_test_score"] - 0.02).all()
    report = (quick_report / "report.md").read_text()
    for (dataset, model), row in table.iterrows():
        section = report.split(f"\n## {dataset}\n", 1)[1].split("\n## ", 1)[0]
        line = next(l for l in section.splitlines() if l.startswith(f"| {model} |"))
        assert f"| {row.mean_train_score:.3f} | {row.mean_test_score:.3f} ± {row.std_test_score:.3f} | {row.test_score:.3f} |" in line
    predictions = pd.read_csv(quick_report / "predictions.csv")
    accuracy = (predictions["y_true"] == predictions["y_pred"]).groupby([predictions["dataset"], predictions["model"]]).mean()
    for key, value in accuracy.items():
        assert value == pytest.approx(table.loc[key, "test_score"])


# A process (one new interpreter, shared: fresh_interpreter): only a fresh interpreter shows what --help imports.
def test_help_does_not_import_tensorflow():
    shown = fresh_interpreter()["steps"]["help"]
    assert "tensorflow" not in shown["modules"] and "sklearn" not in shown["modules"]
    assert "--quick" in shown["stdout"]


# A process (one new interpreter, shared: fresh_interpreter): the import budget of a refusal (its imports, its time).
def test_a_bad_option_value_is_refused_before_the_heavy_imports():
    """Only a fresh interpreter shows what a refusal imports: the spec's own checks run before the
    data, the report, the runner and the workers are imported (no pandas, scikit-learn, SciPy,
    plotting libraries or TensorFlow), so a typo is answered at once: in under 1.5 s from the
    process's start (about 0.2 s on the 2-core machine of the README's figures)."""
    fresh = fresh_interpreter()
    refusal = fresh["steps"]["refusal"]
    loaded = sorted(m for m in ('tensorflow', 'seaborn', 'matplotlib', 'scipy', 'sklearn', 'pandas', 'study.report',
                                'study.orchestrator') if m in refusal["modules"])
    assert refusal["value"] == 2 and loaded == [], (refusal["value"], loaded)
    assert fresh["stderr"].startswith("error: Unknown dataset name(s) ['nope']") and fresh["stderr"].count("\n") == 1
    elapsed = refusal["ended"] - fresh["started"]
    assert elapsed < 1.5, f"the refusal took {elapsed:.2f} s"


def test_unknown_model_exits_2_before_training(run_cli):
    status, _, err = run_cli("--models", "ridge", "svm", "--no-cache")
    assert status == 2
    assert re.search(r"error: Unknown model name\(s\) \['svm'\]; expected some of \[.*\]\. Fix --models\.", err)
    assert "Traceback" not in err


@pytest.mark.parametrize("args, message", [
    (["--data", "missing.csv", "--target", "y"], "error: Data file 'missing.csv' does not exist"),
    (["--data", "tests/data/customers.csv", "--target", "nope"], "error: Target column 'nope' not found in dataset 'customers'"),
    (["--target", "churned"], "error: --target, --task and --sep describe --data; give --data FILE as well."),
    (["--cv", "1"], "error: cv must be an integer >= 2 (the number of folds); got 1."),
    (["--datasets", "iris", "--metrics", "r2"], "error: Metric 'r2' is a regression metric, but dataset 'iris' is a "
                                                "classification task; use classification metrics such as accuracy"),
    (["--seed", "-1"], "error: seed must be an integer in [0, 4294967295]; got -1."),
    (["--config", "missing.toml"], "error: Config file missing.toml does not exist"),
])
def test_bad_input_exits_2_with_a_clear_message(args, message, run_cli, monkeypatch):
    monkeypatch.chdir(ROOT)  # the paths are the repository's
    status, _, err = run_cli(*args, "--no-cache")
    assert status == 2 and message in err, err[-2000:]
    assert "Traceback" not in err and "work:" not in err and "fits" not in err  # refused before any work


def test_config_then_command_line_options(tmp_path):
    """--config applies the file, then the options given beside it override it."""
    from study.run import build_parser, spec_from_args

    spec = spec_from_args(build_parser().parse_args(
        ["--config", "examples/churn_csv.toml", "--quick", "--out", str(tmp_path), "--cv", "3", "--no-cache"]))
    assert spec.quick and spec.out == tmp_path and spec.cv == 3 and spec.cache_dir is None
    assert spec.metrics == ("balanced_accuracy", "accuracy") and spec.dataset_names == ["churn"]  # from the file
    assert spec.model_names == ["logistic_regression", "random_forest", "keras_dense"]
    plain = spec_from_args(build_parser().parse_args([]))
    assert plain == type(plain)()  # no option: the defaults


def test_a_failing_model_is_reported_and_the_others_go_on(tmp_path, run_cli, user_imports):
    (tmp_path / "broken_models.py").write_text(
        "from sklearn.base import BaseEstimator, ClassifierMixin\n"
        "class Broken(ClassifierMixin, BaseEstimator):\n"
        "    def fit(self, X, y):\n        raise RuntimeError('cannot fit')\n"
        "    def predict(self, X):\n        return X[:, 0]\n")
    (tmp_path / "study.toml").write_text(
        f'out = "{tmp_path / "out"}"\ncache_dir = "{tmp_path / "cache"}"\nquick = true\ncv = 3\nn_jobs = 1\ndiagnostics = false\n'
        'datasets = ["wine"]\nmodels = ["ridge", { name = "broken", sklearn = "broken_models:Broken" }]\n')
    user_imports("broken_models")  # imported from the TOML's folder in this process: forgotten after
    status, _, err = run_cli("--config", tmp_path / "study.toml")
    assert status == 1, err[-2000:]
    assert "1 unit(s) failed" in err and "Traceback" not in err
    results = read_results(tmp_path / "out" / "results.csv")
    assert set(results.loc[results["model"] == "ridge", "status"]) == {"ok"}
    assert results.loc[results["model"] == "broken", "error"].tolist() == ["RuntimeError: cannot fit"]
    report = (tmp_path / "out" / "report.md").read_text()
    assert "| broken | scikit-learn | FAILED: RuntimeError: cannot fit |" in report
    assert "- unit of broken on wine: RuntimeError: cannot fit" in report


DIAGNOSED = ["--quick", "--diagnostics", "--datasets", "breast_cancer", "--models", "ridge", "keras_dense"]


@pytest.fixture(scope="module")
def diagnosed(tmp_path_factory, shared_workers):
    """``python -m study.run --quick --diagnostics`` on breast cancer with ridge and keras_dense,
    in this process with the default workers (``conftest.shared_workers``) and a cache: its
    base folder, holding ``cli`` (the report) and ``cache``."""
    base = tmp_path_factory.mktemp("diagnosed")
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        status = main([*DIAGNOSED, "--out", str(base / "cli"), "--cache-dir", str(base / "cache")],
                      workers=shared_workers)
    assert status == 0, err.getvalue()[-3000:]
    return base


def test_diagnostics_end_to_end(diagnosed):
    out = diagnosed / "cli"
    report = (out / "report.md").read_text()
    for heading in ("## Fit verdicts", "## Learning curves", "## Validation curves (regularization paths)",
                    "## Keras training histories and early stopping", "## Regularization ablation (Keras)",
                    "## Class imbalance: class weighting off vs on", "## Statistical comparison"):
        assert heading in report
        assert f"(#{heading[3:].lower().replace(' ', '-').replace('(', '').replace(')', '').replace(':', '')})" in report
    for table in ("learning_curves", "validation_curves", "histories", "ablation", "imbalance", "per_class_recall",
                  "verdicts"):
        assert len(pd.read_csv(out / f"{table}.csv")) > 0, table
    assert (out / "figures" / "learning_curves_breast_cancer.png").exists()


@pytest.mark.parametrize("args", [["--datasets", "iris", "wine", "--metrics", "f1_macro", "balanced_accuracy"],
                                  ["--datasets", "iris", "--metrics", "roc_auc_ovr"]])
def test_any_scorer_from_the_command_line(tmp_path, args, run_cli):
    status, _, err = run_cli(*args, "--models", "logistic_regression", "random_forest", "keras_dense", "--quick",
                             "--out", tmp_path / "out", "--cache-dir", tmp_path / "cache")
    assert status == 0, err[-3000:]
    report = (tmp_path / "out" / "report.md").read_text()
    assert f"Primary metric: **{args[-2] if args[-1] == 'balanced_accuracy' else args[-1]}** (higher is better)" in report
    assert "95% bootstrap CI" in report and "| n/a |" not in report.split("### Hold-out test scores")[1].split("###")[0]


def test_python_write_report_is_the_command_lines_report(tmp_path, diagnosed, shared_workers):
    """write_report(run_study(spec), out) writes the files and the report.md the command line writes
    (both on this test process's default workers; a study's own workers give the same tables:
    test_execution.py)."""
    from study import StudySpec, run_study, write_report

    spec = StudySpec(datasets=("breast_cancer",), models=("ridge", "keras_dense"), quick=True, diagnostics=True,
                     cache_dir=diagnosed / "cache")
    write_report(run_study(spec, progress=False, workers=shared_workers), tmp_path / "python", workers=shared_workers)
    folders = {"cli": diagnosed / "cli", "python": tmp_path / "python"}
    files = {d: sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) for d, folder in folders.items()}
    assert files["cli"] == files["python"]
    assert any(name.startswith("figures/validation_curves_breast_cancer_ridge") for name in files["cli"])
    for name in ("report.md", "results.csv", "study.json", "learning_curves.csv", "verdicts.csv"):
        assert (folders["cli"] / name).read_text() == (folders["python"] / name).read_text(), name
