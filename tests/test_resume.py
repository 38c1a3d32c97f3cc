"""A study killed at any moment and started again recomputes only the missing units."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from study.results import read_results
from study.run import main
from tests.test_execution import still_running

ROOT = Path(__file__).resolve().parents[1]
STUDY = ["--datasets", "wine", "--models", "logistic_regression", "ridge", "random_forest",
         "--quick", "--cv", "3", "--no-diagnostics"]
N_UNITS = 5  # stored work items: 1 dataset x (3 models + the chance baseline + the data checks)


def _default_sigint():
    # A job started in the background by a non-interactive shell inherits an ignored SIGINT,
    # and Python then installs no KeyboardInterrupt handler: the study must see Ctrl-C as a user would.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _study(*extra, **popen):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.Popen([sys.executable, "-m", "study.run", *STUDY, *extra], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_default_sigint, **popen)


def _stored(cache: Path) -> dict:
    """The stored work items (not the figures the store keeps beside them)."""
    return {p: p.stat().st_mtime_ns for p in cache.rglob("_compute/*/output.pkl")}


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """The same study run once without interruption (and without a store), in this process."""
    out = tmp_path_factory.mktemp("clean")
    assert main([*STUDY, "--n-jobs", "1", "--no-cache", "--out", str(out)]) == 0
    return read_results(out / "results.csv").drop(columns="fit_time")


# A process: only a real study process can be killed (kill -9, Ctrl-C) mid-way and leave its store behind.
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "SIGINT"])
def test_killed_study_resumes_and_equals_a_clean_run(tmp_path, sig, clean, capsys):
    cache = tmp_path / "cache"
    proc = _study("--cache-dir", str(cache), "--out", str(tmp_path / "resumed"))
    deadline = time.monotonic() + 300
    while len(_stored(cache)) < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    workers = psutil.Process(proc.pid).children(recursive=True) if proc.poll() is None else []
    proc.send_signal(sig)
    code = proc.wait(timeout=120)
    if sig == signal.SIGINT:  # Ctrl-C: one line saying what is stored, no traceback, no warning noise
        lines = [line for line in proc.stderr.read().replace("\r", "\n").splitlines()
                 if line.strip() and not line.startswith("study:")]
        assert code == 130 and len(lines) == 1 and lines[0].startswith("interrupted; "), lines
        assert f"stored in {cache}; run the same command again to resume" in lines[0]
    still_running(workers, 10.0)  # a worker of the killed study ends within a second (one it was writing is kept)
    before = _stored(cache)
    assert 2 <= len(before) < N_UNITS, "the study was not interrupted mid-way"
    assert not (tmp_path / "resumed" / "results.csv").exists()

    # the same command again, in this process
    rerun = main([*STUDY, "--n-jobs", "1", "--cache-dir", str(cache), "--out", str(tmp_path / "resumed")])
    assert rerun == 0, capsys.readouterr().err[-2000:]
    after = _stored(cache)
    assert len(after) == N_UNITS
    assert all(after[p] == t for p, t in before.items()), "finished units were recomputed"

    assert read_results(tmp_path / "resumed" / "results.csv").drop(columns="fit_time").equals(clean)
