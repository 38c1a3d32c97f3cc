"""Fixtures shared by several test files: one quick study run once per test session."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
QUICK_MODELS = ("logistic_regression", "keras_dense")


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
    from study.runner import run_study
    from study.spec import StudySpec

    return run_study(StudySpec(datasets=("wine",), models=QUICK_MODELS, quick=True, cache_dir=wine_study["cache"]),
                     progress=False)
