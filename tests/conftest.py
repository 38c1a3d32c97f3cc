"""Fixtures shared by several test files: one quick study run once per test session."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
QUICK_MODELS = ("logistic_regression", "keras_dense")


@pytest.fixture(scope="module")
def one_thread_per_fit():
    """BLAS and OpenMP on one thread while a test file fits in the test process, as every fit of
    a study runs (``study.workers.fit_threads``). Their idle threads spin on a busy 2-core
    machine: an L-BFGS logistic regression on iris took ten times longer with two threads."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


@pytest.fixture
def run_cli(capsys):
    """``python -m study.run ARGV`` in the test process (``study.run.main``).

    Returns
    -------
    callable
        ``run_cli(*argv)`` (strings or paths) -> ``(exit status, stdout, stderr)`` of that call.
    """
    from study.run import main

    def run(*argv) -> tuple:
        capsys.readouterr()
        status = main([str(arg) for arg in argv])
        out, err = capsys.readouterr()
        return status, out, err

    return run


@pytest.fixture(scope="session")
def wine_study(tmp_path_factory):
    """``python -m study.run --quick --datasets wine --models logistic_regression keras_dense --mlflow``
    with the default workers and a cache: ``{"out", "cache", "mlruns"}`` (paths)."""
    base = tmp_path_factory.mktemp("wine_study")
    paths = dict(out=base / "out", cache=base / "cache", mlruns=base / "mlruns")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    argv = ["--quick", "--datasets", "wine", "--models", *QUICK_MODELS, "--out", str(paths["out"]),
            "--cache-dir", str(paths["cache"]), "--mlflow", str(paths["mlruns"])]
    proc = subprocess.run([sys.executable, "-m", "study.run", *argv], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    paths["stdout"] = proc.stdout
    return paths


@pytest.fixture(scope="session")
def wine_result(wine_study):
    """The same study from Python (``run_study``), loaded from the store the CLI run filled."""
    from study.orchestrator import run_study
    from study.spec import StudySpec

    return run_study(StudySpec(datasets=("wine",), models=QUICK_MODELS, quick=True, cache_dir=wine_study["cache"]),
                     progress=False)


@pytest.fixture
def user_imports(monkeypatch):
    """``sys.path`` restored after the test, and the given user modules forgotten before and after
    it (a TOML study puts its folder on ``sys.path`` and imports its modules in this process).

    Returns
    -------
    callable
        ``forget(*names)``: drop those modules from ``sys.modules`` now and again after the
        test, as a new process would not have them.
    """
    monkeypatch.setattr(sys, "path", list(sys.path))
    names = set()

    def forget(*modules):
        names.update(modules)
        for name in modules:
            sys.modules.pop(name, None)

    yield forget
    forget(*names)
