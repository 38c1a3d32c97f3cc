"""Faults the study survives, driven through the command line as users meet them: a corrupted
store, a killed study's workers, more workers than cores, user modules that do not import, an
unreachable scheduler, a Keras build function that returns nothing."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from study.results import read_results
from tests.test_execution import still_running

ROOT = Path(__file__).resolve().parents[1]
QUICK = ["--quick", "--datasets", "wine", "--models", "ridge", "logistic_regression", "--no-diagnostics"]


def _cli(*args, cwd=ROOT, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "study.run", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


def _messages(stderr: str) -> list:
    """The lines a user reads (the progress bar's redraws left out)."""
    return [line for line in stderr.replace("\r", "\n").splitlines() if line.strip() and not line.startswith("fits")]


def _results(out: Path):
    return read_results(out / "results.csv").drop(columns="fit_time")


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """A quick study's store and report, made once."""
    base = tmp_path_factory.mktemp("stored")
    done = _cli(*QUICK, "--cache-dir", str(base / "cache"), "--out", str(base / "clean"))
    assert done.returncode == 0, done.stderr[-2000:]
    return base


@pytest.mark.parametrize("damage", ["truncated", "garbled", "empty"])
def test_a_corrupted_store_file_never_stops_a_rerun(tmp_path, stored, damage):
    """Stored files of each kind (two results, their metadata, the function's code) damaged at once."""
    cache = tmp_path / "cache"
    subprocess.run(["cp", "-r", str(stored / "cache"), str(cache)], check=True)
    damaged = [path for name in ("output.pkl", "metadata.json", "func_code.py") for path in sorted(cache.rglob(name))[:2]]
    assert {path.name for path in damaged} == {"output.pkl", "metadata.json", "func_code.py"}
    for path in damaged:
        data = path.read_bytes()
        path.write_bytes({"truncated": data[:len(data) // 3], "garbled": b"\x00garbage{[" * 5, "empty": b""}[damage])
    rerun = _cli(*QUICK, "--cache-dir", str(cache), "--out", str(tmp_path / "out"))
    assert rerun.returncode == 0 and "Traceback" not in rerun.stderr, rerun.stderr[-2000:]
    assert all(line.startswith(("warning: ", "wrote ")) for line in _messages(rerun.stderr)), rerun.stderr
    assert _results(tmp_path / "out").equals(_results(stored / "clean"))
    again = _cli(*QUICK, "--cache-dir", str(cache), "--out", str(tmp_path / "again"))  # stored again, readable
    assert again.returncode == 0 and _messages(again.stderr) == [], again.stderr


def _workers(pid: int) -> list:
    return [p for p in psutil.Process(pid).children(recursive=True) if "loky" in " ".join(p.cmdline())]


def test_workers_end_within_2_seconds_of_a_killed_study(tmp_path):
    """kill -9 of a study while its workers fit (Keras and a forest): every worker is gone 2 s later."""
    study = subprocess.Popen([sys.executable, "-m", "study.run", "--quick", "--datasets", "digits", "--models",
                              "random_forest", "keras_dense", "--no-cache", "--n-jobs", "2", "--out",
                              str(tmp_path / "out")], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    workers = []
    while len(workers) < 2 and time.monotonic() < deadline and study.poll() is None:
        time.sleep(0.2)
        workers = _workers(study.pid)
    assert study.poll() is None and workers, "the study ended before its workers could be seen"
    time.sleep(2)  # the workers are busy
    workers = _workers(study.pid)
    study.send_signal(signal.SIGKILL)
    alive = still_running(workers, 2.0)
    study.wait()
    assert not alive, f"workers outlived the killed study by 2 s: {alive}"


def test_more_workers_than_cores_are_capped_with_a_notice(tmp_path):
    done = _cli(*QUICK, "--n-jobs", str(4 * (os.cpu_count() or 1)), "--no-cache", "--out", str(tmp_path / "out"))
    notices = [line for line in _messages(done.stderr) if line.startswith("warning: ")]
    assert done.returncode == 0 and len(notices) == 1 and "using" in notices[0], done.stderr


@pytest.mark.parametrize("source, found", [
    ("import math\nx = 1 / 0\n", "raised ZeroDivisionError: division by zero (at {path}:2)"),
    ("def factory(:\n    pass\n", "has a syntax error at {path}:1"),
    ("import not_a_module_anywhere\n", "Cannot import module 'usermodels'"),
])
def test_a_user_module_that_does_not_import_is_refused_with_its_file_and_line(tmp_path, source, found):
    (tmp_path / "usermodels.py").write_text(source)
    (tmp_path / "study.toml").write_text(textwrap.dedent("""
        datasets = ["wine"]
        quick = true
        [[models]]
        name = "mine"
        sklearn = "usermodels:factory"
    """))
    done = _cli("--config", "study.toml", "--no-cache", "--out", "out", cwd=tmp_path)
    lines = _messages(done.stderr)
    assert done.returncode == 2 and len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert found.format(path=tmp_path / "usermodels.py") in lines[0]
    assert not (tmp_path / "out").exists()


def test_an_unreachable_scheduler_is_refused_within_seconds(tmp_path):
    start = time.monotonic()
    done = _cli(*QUICK, "--scheduler", "tcp://127.0.0.1:9", "--no-cache", "--out", str(tmp_path / "out"))
    lines = _messages(done.stderr)
    assert done.returncode == 2 and len(lines) == 1 and "Cannot reach the Dask scheduler" in lines[0], done.stderr
    assert time.monotonic() - start < 30


def test_a_keras_build_function_returning_nothing_fails_its_unit_with_a_clear_message(tmp_path):
    (tmp_path / "nets.py").write_text("def build(meta):\n    net = None  # forgot the model\n")
    (tmp_path / "study.toml").write_text(textwrap.dedent("""
        datasets = ["wine"]
        models = ["ridge", { name = "net", keras = "nets:build" }]
        quick = true
        diagnostics = false
    """))
    done = _cli("--config", "study.toml", "--no-cache", "--out", "out", cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    failures = (tmp_path / "out" / "failures.csv").read_text()
    assert "The Keras build function build returned NoneType (None); expected a keras.Model" in failures
