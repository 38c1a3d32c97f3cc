"""Fixtures shared by several test files: one quick study run once per test session."""

import contextlib
import io
import os
import sys
import tempfile
from pathlib import Path

import pytest

from study.workers import fit_threads

ROOT = Path(__file__).resolve().parents[1]

os.environ.update(fit_threads())
"""This test process fits with the thread settings of every fit of a study (``study.workers.fit_threads``:
one TensorFlow and BLAS thread unless set), read by TensorFlow when it starts, before any test
imports it: a study run here with ``n_jobs=1`` fits as users' serial studies do, and as the
workers do (TensorFlow's results depend on its thread settings)."""
QUICK_MODELS = ("logistic_regression", "keras_dense")


SESSION_STUDIES = ("wine_study", "wine_result")
MODULE_STUDIES = ("quick_report", "diagnosed", "reports", "stored", "grouped", "time_ordered", "hostile", "study",
                  "executed", "shop", "first_report", "first_and_final", "references", "clean", "wine", "spied",
                  "two_workers", "budgeted")
"""Fixtures that run a study (or start workers) once for several tests (of the session; of a test
file): their tests run in one test process (``pytest-xdist``'s ``--dist loadgroup``,
pyproject.toml), so the study runs once; every other test goes to whichever test process is free."""


def pytest_itemcollected(item):
    """Mark a test that uses a fixture of :data:`MODULE_STUDIES` or :data:`SESSION_STUDIES` with its
    group (as it is collected: before pytest-xdist reads the marks in ``pytest_collection_modifyitems``)."""
    names = getattr(item, "fixturenames", ())
    shared = next((name for name in names if name in MODULE_STUDIES), None)
    if any(name in SESSION_STUDIES for name in names):
        item.add_marker(pytest.mark.xdist_group("wine_study"))
    elif shared is not None:
        item.add_marker(pytest.mark.xdist_group(f"{item.module.__name__}::{shared}"))


@pytest.fixture(scope="module")
def one_thread_per_fit():
    """BLAS and OpenMP on one thread while a test file fits in the test process, as every fit of
    a study runs (``study.workers.fit_threads``). Their idle threads spin on a busy 2-core
    machine: an L-BFGS logistic regression on iris took ten times longer with two threads."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="session")
def shared_workers():
    """The default workers (``study.workers.Workers()``: one process per core, as users run),
    started once per test process and shared by its in-process studies: each study would
    otherwise start its own, and every worker imports TensorFlow again (about 4 CPU-s each).
    A study run on them gives the table it gives on its own workers (the same seed gives the
    same table whatever the workers: test_execution.py).

    Each worker's first task imports what the studies' work items and figures import (TensorFlow
    and Keras among them), the two at once: loky measures a worker's memory after its first task
    and, with psutil installed (the tests' extra), replaces a worker that grew 300 MB past it,
    which one importing TensorFlow later does (a new process, its imports and its traced Keras
    models again). Users' runs, without psutil, never replace a worker."""
    from study.workers import Workers

    with Workers() as workers, tempfile.TemporaryDirectory() as arrived:
        warm = (f"import os, pathlib, time\nimport backends.keras, study.protocol, study.experiments, study.report\n"
                f"folder = pathlib.Path({arrived!r}); (folder / str(os.getpid())).touch()\n"
                f"end = time.monotonic() + 20\n"  # every worker takes one of these: none takes two
                f"while len(list(folder.iterdir())) < {workers.processes} and time.monotonic() < end:\n"
                f"    time.sleep(0.02)\n")
        for future in [workers.submit(exec, warm) for _ in range(workers.processes)]:
            future.result()
        yield workers


class _Lent:
    """Workers lent to a study: entering gives them, leaving keeps them open (their owner closes them)."""

    def __init__(self, workers):
        self._workers = workers

    def __getattr__(self, name):
        return getattr(self._workers, name)

    def __enter__(self):
        return self._workers

    def __exit__(self, *exc_info) -> None:
        return None


@pytest.fixture
def default_workers_lent(monkeypatch, shared_workers):
    """Code that makes the default workers (``Workers.from_spec`` / ``Workers.for_figures`` of a
    spec without a scheduler whose ``n_jobs`` gives as many processes as the default, as
    ``run_study``, ``write_report`` and the command line do when given none) gets this test
    process's :func:`shared_workers` instead: the same workers (``Workers()``, one process per
    core, loky), whose imports are done, left open after it. The code runs as written; only its
    workers are not new processes.

    Returns
    -------
    list of int
        The processes of every workers the code asked for, lent or made, in order.
    """
    from study.workers import Workers

    made = {name: getattr(Workers, name) for name in ("from_spec", "for_figures")}
    asked = []

    def lend(name):
        def make(cls, spec):
            workers = made[name].__func__(cls, spec)  # not started: a pool starts at its first task
            asked.append(workers.processes)
            same = workers.scheduler is None and workers.processes == shared_workers.processes
            return _Lent(shared_workers) if same else workers
        return classmethod(make)

    for name in made:
        monkeypatch.setattr(Workers, name, lend(name))
    return asked


@pytest.fixture
def run_cli(capsys, request):
    """``python -m study.run ARGV`` in the test process (``study.run.main``), on the test
    process's :func:`shared_workers` when its spec asks for the default workers
    (:func:`default_workers_lent`); a TOML study's user modules are made current in them
    before each work item (``study.user_code``), as if they were new processes.

    Returns
    -------
    callable
        ``run_cli(*argv)`` (strings or paths) -> ``(exit status, stdout, stderr)`` of that call.
    """
    from study.run import main

    def run(*argv) -> tuple:
        argv = [str(arg) for arg in argv]
        request.getfixturevalue("default_workers_lent")
        capsys.readouterr()
        status = main(argv)
        out, err = capsys.readouterr()
        return status, out, err

    return run


@pytest.fixture(scope="session")
def wine_study(tmp_path_factory, shared_workers):
    """``python -m study.run --quick --datasets wine --models logistic_regression keras_dense --mlflow``
    (``study.run.main`` in the test process) with the default workers and a cache:
    ``{"out", "cache", "mlruns"}`` (paths) and ``"stdout"``, what it printed."""
    from study.run import main

    base = tmp_path_factory.mktemp("wine_study")
    paths = dict(out=base / "out", cache=base / "cache", mlruns=base / "mlruns")
    argv = ["--quick", "--datasets", "wine", "--models", *QUICK_MODELS, "--out", str(paths["out"]),
            "--cache-dir", str(paths["cache"]), "--mlflow", str(paths["mlruns"])]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(argv, workers=shared_workers)
    assert status == 0, err.getvalue()[-3000:]
    paths["stdout"] = out.getvalue()
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
