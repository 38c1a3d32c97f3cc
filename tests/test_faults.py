"""Faults the study survives, driven through the command line as users meet them: a corrupted
store, a killed study's workers, more workers than cores, user modules that do not import, an
unreachable scheduler, a Keras build function that returns nothing. The command runs in this
process (``study.run.main``), except where only a process shows the fault (kill -9)."""

import contextlib
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import weakref
from pathlib import Path

import joblib.memory
import psutil
import pytest

from study.results import read_results
from study.run import main
from tests.test_execution import still_running

ROOT = Path(__file__).resolve().parents[1]
QUICK = ["--quick", "--datasets", "wine", "--models", "ridge", "--no-diagnostics"]
ONE_WORKER = ["--n-jobs", "1"]


def _cli(capsys, *args) -> tuple:
    """``python -m study.run *args``, run in this process: ``(exit status, its standard error)``."""
    code = main(list(args))
    return code, capsys.readouterr().err


def _as_in_a_new_process(monkeypatch) -> None:
    """Forget joblib's in-memory record of the stored function's code, as a new process starts
    without it: the next run reads the store's ``func_code.py`` as the command does."""
    monkeypatch.setattr(joblib.memory, "_FUNCTION_HASHES", weakref.WeakKeyDictionary())


@pytest.fixture
def user_folder(tmp_path, monkeypatch):
    """``tmp_path`` as the current folder of a command that imports user modules from it; the
    ``sys.path`` entry and the modules it adds are gone afterwards."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield tmp_path
    for name, module in list(sys.modules.items()):
        if str(getattr(module, "__file__", None) or "").startswith(str(tmp_path)):
            del sys.modules[name]


def _messages(stderr: str) -> list:
    """The lines a user reads (the progress bar's redraws left out)."""
    return [line for line in stderr.replace("\r", "\n").splitlines() if line.strip() and not line.startswith("study:")]


def _results(out: Path):
    return read_results(out / "results.csv").drop(columns="fit_time")


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """A quick study's store and report, made once."""
    base = tmp_path_factory.mktemp("stored")
    with pytest.MonkeyPatch.context() as monkeypatch:  # the store written in full (its func_code.py too),
        _as_in_a_new_process(monkeypatch)  # whatever ran in this test process before
        assert main([*QUICK, *ONE_WORKER, "--cache-dir", str(base / "cache"), "--out", str(base / "clean")]) == 0
    return base


@pytest.mark.parametrize("damage", ["truncated", "garbled", "empty"])
def test_a_corrupted_store_file_never_stops_a_rerun(tmp_path, stored, damage, capsys, monkeypatch):
    """Stored files of each kind (two results, their metadata, the function's code) damaged at once."""
    cache = tmp_path / "cache"
    shutil.copytree(stored / "cache", cache)
    damaged = [path for name in ("output.pkl", "metadata.json", "func_code.py") for path in sorted(cache.rglob(name))[:2]]
    assert {path.name for path in damaged} == {"output.pkl", "metadata.json", "func_code.py"}
    for path in damaged:
        data = path.read_bytes()
        path.write_bytes({"truncated": data[:len(data) // 3], "garbled": b"\x00garbage{[" * 5, "empty": b""}[damage])
    _as_in_a_new_process(monkeypatch)
    code, err = _cli(capsys, *QUICK, *ONE_WORKER, "--cache-dir", str(cache), "--out", str(tmp_path / "out"))
    assert code == 0 and "Traceback" not in err, err[-2000:]
    assert all(line.startswith(("warning: ", "wrote ")) for line in _messages(err)), err
    assert _results(tmp_path / "out").equals(_results(stored / "clean"))
    _as_in_a_new_process(monkeypatch)
    code, err = _cli(capsys, *QUICK, *ONE_WORKER, "--cache-dir", str(cache), "--out", str(tmp_path / "again"))
    assert code == 0 and _messages(err) == [], err  # stored again, readable


def _workers(pid: int) -> list:
    return [p for p in psutil.Process(pid).children(recursive=True) if "loky" in " ".join(p.cmdline())]


def _cpu_seconds(process: psutil.Process) -> float:
    try:
        return sum(process.cpu_times()[:2])  # user and system
    except psutil.NoSuchProcess:
        return 0.0


def _busy(study: subprocess.Popen, n_workers: int, cpu_seconds: float, timeout: float) -> bool:
    """Whether the running ``study``'s workers have worked ``cpu_seconds`` of CPU time each on
    average (of ``n_workers``) within ``timeout`` seconds, polled every 0.1 s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and study.poll() is None:
        if sum(_cpu_seconds(worker) for worker in _workers(study.pid)) >= n_workers * cpu_seconds:
            return study.poll() is None
        time.sleep(0.1)
    return False


HOG = """\
from study.workers import Workers
with Workers(2) as workers:
    workers.map(sum, [(range(10 ** 13),), (range(10 ** 13),)])
"""
"""Two workers in ``sum(range(...))``: C code that holds the GIL for hours, so that a watching
thread in the worker never runs."""


def _kill_when_busy(process: subprocess.Popen, workers: list, timeout: float, seen: list) -> list:
    """kill -9 ``process`` once its ``workers`` (psutil) have worked a second of CPU time each:
    those of its loky processes (the workers, loky's resource tracker) still running 2 s later.
    Every loky process it had is added to ``seen`` (to be killed after the test)."""
    assert process.poll() is None and workers, "the process ended before its workers could be seen"
    assert _busy(process, len(workers), cpu_seconds=1.0, timeout=timeout), "the workers did not get busy"
    loky = _workers(process.pid)
    seen += loky
    process.send_signal(signal.SIGKILL)
    alive = still_running(loky, 2.0)
    process.wait()
    return alive


def _started_workers(process: subprocess.Popen, count: int, timeout: float) -> list:
    """The loky workers of ``process`` once ``count`` of them run (fewer if it ends or ``timeout`` passes)."""
    deadline = time.monotonic() + timeout
    workers = []
    while len(workers) < count and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.2)
        workers = [p for p in _workers(process.pid) if "LokyProcess" in " ".join(p.cmdline())]
    return workers


# A process: only kill -9 of a real study process shows whether its workers outlive it (two processes).
def test_workers_end_within_2_seconds_of_a_killed_study(tmp_path):
    """kill -9 of a study while its workers fit (Keras and a forest): every worker is gone 2 s
    later. On Linux, so are two workers holding the GIL in C code (``HOG``) when their process is
    killed: their watching thread never runs, the kernel ends them (PR_SET_PDEATHSIG)."""
    study = subprocess.Popen([sys.executable, "-m", "study.run", "--quick", "--datasets", "digits", "--models",
                              "random_forest", "keras_dense", "--no-cache", "--n-jobs", "2", "--out",
                              str(tmp_path / "out")], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    processes, seen = [study], []
    try:
        alive = _kill_when_busy(study, _started_workers(study, 2, timeout=120), 120, seen)
        assert not alive, f"workers outlived the killed study by 2 s: {alive}"
        if sys.platform.startswith("linux"):  # elsewhere only the watching thread ends a worker
            hog = subprocess.Popen([sys.executable, "-c", HOG], cwd=ROOT,
                                   stderr=subprocess.DEVNULL)  # the resource tracker reports the killed locks
            processes.append(hog)
            workers = _started_workers(hog, 2, timeout=60)
            assert len(workers) == 2, "the summing workers did not start"
            alive = _kill_when_busy(hog, workers, 60, seen)
            assert not alive, f"workers holding the GIL outlived their killed process by 2 s: {alive}"
    finally:
        for process in [*processes, *seen]:
            with contextlib.suppress(psutil.NoSuchProcess, ProcessLookupError):
                process.kill()


def test_more_workers_than_cores_are_capped_with_a_notice(tmp_path, capsys, default_workers_lent, shared_workers):
    """One notice, and the command's workers (made once, for the fits and the figures) are one
    process per core, not ``--n-jobs`` of them: the workers it asks for are recorded, and this
    test process's shared workers of as many processes are lent instead of starting them."""
    asked = default_workers_lent
    cores = joblib.cpu_count()
    code, err = _cli(capsys, *QUICK, "--n-jobs", str(4 * cores), "--no-cache", "--out", str(tmp_path / "out"))
    notices = [line for line in _messages(err) if line.startswith("warning: ")]
    assert code == 0 and len(notices) == 1 and f"using {cores} worker processes" in notices[0], err
    assert asked == [cores] == [shared_workers.processes]


@pytest.mark.parametrize("source, found", [
    ("import math\nx = 1 / 0\n", "raised ZeroDivisionError: division by zero (at {path}:2)"),
    ("def factory(:\n    pass\n", "has a syntax error at {path}:1"),
    ("import not_a_module_anywhere\n", "Cannot import module 'usermodels'"),
])
def test_a_user_module_that_does_not_import_is_refused_with_its_file_and_line(user_folder, capsys, source, found):
    tmp_path = user_folder
    (tmp_path / "usermodels.py").write_text(source)
    (tmp_path / "study.toml").write_text(textwrap.dedent("""
        datasets = ["wine"]
        quick = true
        [[models]]
        name = "mine"
        sklearn = "usermodels:factory"
    """))
    code, err = _cli(capsys, "--config", "study.toml", "--no-cache", "--out", "out")
    lines = _messages(err)
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert found.format(path=tmp_path / "usermodels.py") in lines[0]
    assert not (tmp_path / "out").exists()


def test_an_unreachable_scheduler_is_refused_within_seconds(tmp_path, capsys, monkeypatch):
    """Dask's client retries for ``SCHEDULER_TIMEOUT`` seconds (a scheduler may be starting): 2 s
    here, as the test waits it out; 10 s in a study."""
    import study.scheduler

    monkeypatch.setattr(study.scheduler, "SCHEDULER_TIMEOUT", 2.0)
    start = time.monotonic()
    code, err = _cli(capsys, *QUICK, "--scheduler", "tcp://127.0.0.1:9", "--no-cache", "--out", str(tmp_path / "out"))
    lines = _messages(err)
    assert code == 2 and len(lines) == 1, err
    assert "Cannot reach the Dask scheduler at 'tcp://127.0.0.1:9' within 2 s" in lines[0], err
    assert time.monotonic() - start < 2.0 + 10


def test_a_keras_build_function_returning_nothing_fails_its_unit_with_a_clear_message(user_folder, capsys,
                                                                                     default_workers_lent):
    """A user model: the default workers, as users run it."""
    tmp_path = user_folder
    (tmp_path / "nets.py").write_text("def build(meta):\n    net = None  # forgot the model\n")
    (tmp_path / "study.toml").write_text(textwrap.dedent("""
        datasets = ["wine"]
        models = ["ridge", { name = "net", keras = "nets:build" }]
        quick = true
        diagnostics = false
    """))
    code, err = _cli(capsys, "--config", "study.toml", "--no-cache", "--out", "out")
    assert code == 1 and "Traceback" not in err, err
    failures = (tmp_path / "out" / "failures.csv").read_text()
    assert "The Keras build function build returned NoneType (None); expected a keras.Model" in failures
