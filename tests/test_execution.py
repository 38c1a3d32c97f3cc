"""Work items on the study's workers (study.workers): longest first, follow-ups at once, one error policy, the store
(the workers object itself: tests/test_workers.py)."""

import os
import re
import time
import warnings
from dataclasses import dataclass

import pytest

from study.execution import WorkItem, execute
from study.text import one_line
from study.records import WorkKind
from study.results import read_results
from study.orchestrator import run_study
from study.spec import StudySpec
from study.store import Store
from study.workers import fit_threads


def _describe(name):
    return name, os.getpid()


def _warn_and_describe(name):
    warnings.warn(f"{name}: careful", UserWarning)
    return name, os.getpid()


def _fail(name):
    raise RuntimeError(f"{name} broke\nsecond line")


@dataclass(frozen=True)
class Named:
    """The arguments of the test functions: a name."""

    name: str


def _items(names, function=_describe, store_keys=False):
    return [WorkItem(name, WorkKind.UNIT, "d", name, cost, 1, function, Named(name), key=name if store_keys else None)
            for cost, name in enumerate(names)]


def _values(outcomes):
    return {o.item.label: o.value for o in outcomes}


@pytest.fixture(scope="module")
def two_workers():
    """Two worker processes shared by this file's tests (a pool takes seconds to start); the pool
    starts at its first work item."""
    from study.workers import Workers

    with Workers(2) as workers:
        yield workers


def test_serial_items_run_here_longest_first():
    outcomes = execute(_items(["a", "b", "c"]), n_jobs=1, store=Store(None), progress=False)
    assert [o.item.label for o in outcomes] == ["c", "b", "a"]  # larger cost first
    assert {pid for _, pid in _values(outcomes).values()} == {os.getpid()}
    assert all(o.ok and not o.loaded and o.seconds >= 0 for o in outcomes)


def test_parallel_items_run_on_workers(two_workers):
    outcomes = execute(_items([f"t{i}" for i in range(6)]), workers=two_workers, store=Store(None), progress=False)
    assert sorted(_values(outcomes)) == [f"t{i}" for i in range(6)]
    assert os.getpid() not in {pid for _, pid in _values(outcomes).values()}


def test_follow_ups_start_as_their_item_finishes(two_workers):
    def follow_up(outcome):
        name = outcome.item.label
        return _items([name + "+"]) if not name.endswith("+") else []

    outcomes = execute(_items(["a", "b"]), workers=two_workers, store=Store(None), follow_up=follow_up,
                       progress=False)
    assert sorted(o.item.label for o in outcomes) == ["a", "a+", "b", "b+"]


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_a_failure_is_one_line_and_a_warning_and_the_rest_go_on(n_jobs, two_workers):
    items = _items(["bad"], _fail) + _items(["good"])
    workers = two_workers if n_jobs == 2 else None  # None: n_jobs=1, in this process
    with pytest.warns(RuntimeWarning, match="bad failed: RuntimeError: bad broke second line"):
        outcomes = {o.item.label: o for o in execute(items, workers=workers, n_jobs=n_jobs, store=Store(None),
                                                     progress=False)}
    assert outcomes["bad"].error == "RuntimeError: bad broke second line" and outcomes["bad"].value is None
    assert not outcomes["bad"].ok and outcomes["good"].ok
    assert one_line(ValueError("a\n\n  b")) == "ValueError: a b"


@pytest.mark.parametrize("message, expected", [
    ("\x1b[1;31mred\x1b[0m and \x1b[38;5;208morange\x1b[m", "red and orange"),  # colours (CSI)
    ("\x1b]8;;https://x.org\x07a link\x1b]8;;\x07 \x1b]0;title\x1b\\done", "a link done"),  # links, titles (OSC)
    ("bell\x07 nul\x00 back\x08space\r\nCRLF\u2028next \x1bMreverse\x9b", "bell nul back space CRLF next reverse"),
    ("tabs\tand | pipes", "tabs and | pipes"),  # the report escapes pipes, the CSV tables keep them
])
def test_one_line_drops_terminal_escapes_and_control_characters(message, expected):
    assert one_line(RuntimeError(message)) == f"RuntimeError: {expected}"


def test_a_workers_warnings_are_shown_again_here(two_workers):
    with pytest.warns(UserWarning) as caught:
        outcomes = execute(_items(["a", "b", "c"], _warn_and_describe), workers=two_workers, store=Store(None),
                           progress=False)
    assert os.getpid() not in {pid for _, pid in _values(outcomes).values()}
    assert {str(w.message) for w in caught} >= {"a: careful", "b: careful", "c: careful"}


def test_stored_results_are_loaded_here_and_start_no_worker(tmp_path, two_workers):
    store = Store(tmp_path)
    first = execute(_items(["a", "b", "c"], store_keys=True), workers=two_workers, store=store, progress=False)
    assert all(store.load(o.item.key) is not None for o in first) and not any(o.loaded for o in first)
    again = execute(_items(["a", "b", "c"], store_keys=True), n_jobs=2, store=store, progress=False)
    assert _values(again) == _values(first) and all(o.loaded for o in again)
    assert {o.item.label: o.seconds for o in again} == {o.item.label: o.seconds for o in first}
    failed = execute(_items(["x"], _fail, store_keys=True), n_jobs=1, store=store, progress=False)
    assert not failed[0].ok and store.load("x") is None  # failures are never stored


def _fit_pipelines(name):
    """Fit ``len(name)`` counted pipelines; this process's id and environment."""
    from sklearn.linear_model import LinearRegression

    from backends.preprocessing import pipeline

    for _ in name:
        pipeline(LinearRegression()).fit([[0.0], [1.0]], [0.0, 1.0])
    return os.getpid(), dict(os.environ)


def _apart_from_threads(environment) -> dict:
    """An environment without the thread settings every fit has (``fit_threads``)."""
    return {name: value for name, value in environment.items() if name not in fit_threads()}


def test_a_work_items_fits_are_in_its_outcome_and_on_the_bar_and_nothing_in_the_environment(
        tmp_path, two_workers, capsys):
    """The fits a work item makes on a worker process come back in its outcome (loaded ones too),
    the bar counts them, and neither this process's environment nor the workers' carry a counter:
    apart from the thread settings, this process's is as before and the workers' names nothing more
    (their values may be an earlier test's: the pool is shared, ``PYTEST_CURRENT_TEST``)."""
    before = _apart_from_threads(os.environ)
    store = Store(tmp_path)
    items = _items(["a", "bb", "ccc"], _fit_pipelines, store_keys=True)
    first = execute(items, workers=two_workers, store=store, progress=True)
    assert {o.item.label: o.fits for o in first} == {"a": 1, "bb": 2, "ccc": 3} and not any(o.loaded for o in first)
    assert os.getpid() not in {pid for pid, _ in _values(first).values()}
    assert all(_apart_from_threads(environment).keys() <= before.keys() for _, environment in _values(first).values())
    again = execute(items, workers=two_workers, store=store, progress=True)
    assert {o.item.label: (o.fits, o.loaded) for o in again} == {"a": (1, True), "bb": (2, True), "ccc": (3, True)}
    assert _apart_from_threads(os.environ) == before
    bars = [line.rsplit("\r", 1)[-1] for line in capsys.readouterr().err.split("\n") if "study:" in line]
    assert len(bars) == 2 and all(re.fullmatch(r"study: 100%\|\S+\| \[[\d:]+, 6 fits\]", bar) for bar in bars), bars


def test_every_fit_runs_on_one_thread_unless_the_user_says_otherwise(monkeypatch):
    monkeypatch.delenv("TF_NUM_INTRAOP_THREADS", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    threads = fit_threads()
    assert threads["TF_NUM_INTRAOP_THREADS"] == threads["TF_NUM_INTEROP_THREADS"] == "1"
    assert threads["OMP_NUM_THREADS"] == "3"


def test_parallel_study_gives_the_serial_table(default_workers_lent):
    spec = dict(datasets=("wine",), models=("logistic_regression", "ridge", "random_forest"), cv=3,
                quick=True, cache_dir=None, diagnostics=True)
    serial = run_study(StudySpec(**spec, n_jobs=1), progress=False)
    parallel = run_study(StudySpec(**spec), progress=False)
    columns = [c for c in serial.results.columns if c != "fit_time"]
    assert serial.results[columns].equals(parallel.results[columns])
    assert serial.predictions.equals(parallel.predictions)
    for name in ("learning_curves", "validation_curves", "verdicts", "per_class_recall"):
        assert serial.tables[name].equals(parallel.tables[name]), name


SAME_SEED_SPEC = dict(datasets=("digits",), models=("keras_cnn", "logistic_regression"), quick=True, cv=3,
                      cache_dir=None)
"""``--datasets digits --models keras_cnn logistic_regression --quick --cv 3 --no-cache``."""

def test_same_seed_same_table_whatever_n_jobs(tmp_path, shared_workers):
    """TensorFlow's results depend on its thread settings: every fit runs with the same ones. The
    serial run: this test process, whose TensorFlow started with them (``tests/conftest.py``), as a
    serial study's does. The parallel run: this test process's default workers (one per core: 2 in
    CI), or two of its own on a single core."""
    serial = run_study(StudySpec(**SAME_SEED_SPEC, n_jobs=1), progress=False)
    workers = shared_workers if shared_workers.processes >= 2 else None  # None: Workers(n_jobs=2)
    parallel = run_study(StudySpec(**SAME_SEED_SPEC, n_jobs=2), workers=workers, progress=False)
    for n_jobs, result in (("1", serial), ("2", parallel)):  # both tables as results.csv is written and read
        result.results.to_csv(tmp_path / f"{n_jobs}.csv", index=False)
    tables = {n_jobs: read_results(tmp_path / f"{n_jobs}.csv").drop(columns="fit_time") for n_jobs in "12"}
    cnn = tables["1"][tables["1"]["model"] == "keras_cnn"]
    assert len(cnn) > 10 and tables["1"].equals(tables["2"])


def still_running(processes: list, seconds: float) -> list:
    """Those of ``processes`` (psutil) still running ``seconds`` later: neither gone nor a zombie
    (a killed orphan stays one until the system's init reaps it)."""
    import time

    import psutil

    deadline = time.monotonic() + seconds
    while True:
        running = []
        for process in processes:
            try:
                if process.status() != psutil.STATUS_ZOMBIE:
                    running.append(process)
            except psutil.NoSuchProcess:
                pass
        if not running or time.monotonic() >= deadline:
            return running
        time.sleep(0.01)


def _kinds(named_kinds):
    """Work items of the given ``(label, kind, cost)``."""
    return [WorkItem(name, kind, "d", name, cost, 1, _describe, Named(name)) for name, kind, cost in named_kinds]


MIXED = [("nested", WorkKind.NESTED, 9.0), ("unit", WorkKind.UNIT, 1.0), ("curves", WorkKind.EXPERIMENT, 8.0),
         ("checks", WorkKind.DATA_CHECKS, 0.5), ("unit2", WorkKind.UNIT, 2.0)]
"""Nested CV and an experiment costlier than the main comparison's units and checks."""


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_the_main_comparison_runs_first_and_is_handed_over_while_the_rest_is_to_compute(n_jobs, two_workers):
    handed = []
    outcomes = execute(_kinds(MIXED), workers=two_workers if n_jobs == 2 else None, n_jobs=n_jobs,
                       store=Store(None), progress=False,
                       on_main_comparison=lambda so_far: handed.append([o.item.label for o in so_far]))
    if n_jobs == 1:  # in this process: in order, the main comparison (longest first), then the rest
        assert [o.item.label for o in outcomes] == ["unit2", "unit", "checks", "nested", "curves"]
        assert handed == [["unit2", "unit", "checks"]]  # once, before the rest is computed
    else:  # started in that order, but these items take microseconds: the rest may be done first
        assert sorted(o.item.label for o in outcomes) == sorted(name for name, _, _ in MIXED)
        assert len(handed) <= 1 and all({"unit", "unit2", "checks"} <= set(labels) for labels in handed), handed


def _wait_for_file(path):
    """Return when ``path`` exists (at most a minute)."""
    deadline = time.monotonic() + 60
    while not os.path.exists(path):
        assert time.monotonic() < deadline, f"{path} was never made"
        time.sleep(0.005)
    return path, os.getpid()


def test_on_workers_the_main_comparison_is_handed_over_while_the_rest_is_computed(tmp_path, two_workers):
    """The rest waits for a file that only the hand-over makes: it cannot finish first."""
    flag = tmp_path / "handed"
    rest = [WorkItem(name, WorkKind.NESTED, "d", name, 9.0, 1, _wait_for_file, Named(str(flag))) for name in "xy"]
    handed = []

    def hand_over(so_far):
        handed.append(sorted(o.item.label for o in so_far))
        flag.touch()

    outcomes = execute(_kinds(MIXED[1:2] + MIXED[3:]) + rest, workers=two_workers, store=Store(None),
                       progress=False, on_main_comparison=hand_over)
    assert handed == [["checks", "unit", "unit2"]] and all(o.ok for o in outcomes)
    assert os.getpid() not in {pid for _, pid in _values(outcomes).values()}


def test_the_main_comparison_is_not_handed_over_when_nothing_is_left_to_compute(tmp_path, two_workers):
    store = Store(tmp_path)
    stored = [WorkItem(name, kind, "d", name, cost, 1, _describe, Named(name), key=name) for name, kind, cost in MIXED]
    handed = []
    # in this process, in order: handed over once (on workers, when the last of the main
    # comparison's items is the last to finish, nothing is left then: not handed over)
    execute(stored, n_jobs=1, store=store, progress=False, on_main_comparison=handed.append)
    assert len(handed) == 1
    again = execute(stored, workers=two_workers, store=store, progress=False, on_main_comparison=handed.append)
    assert len(handed) == 1 and all(o.loaded for o in again)  # everything loaded: the whole result comes at once
    only_units = _kinds(MIXED[1:2])
    execute(only_units, n_jobs=1, store=Store(None), progress=False, on_main_comparison=handed.append)
    assert len(handed) == 1  # nothing after the main comparison
