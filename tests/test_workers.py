"""The study's workers (``study.workers.Workers``): one object, its pool started at the first task and
ended when it closes, killed when its block raises."""

import gc
import os
import sys
import time
import weakref

import joblib
import pytest

from study.workers import Workers, n_workers


def _describe(name):
    return name, os.getpid()


def _fail(name):
    raise RuntimeError(f"{name} broke")


class _Node:
    """An object that can sit in a reference cycle and be referred to weakly."""


_LEFT = {}
"""In a worker: a weak reference to the cycle a task left behind (its garbage)."""


def _import_and_leave_a_cycle(module: str):
    """A task that imports ``module`` (new in a worker) and leaves a reference cycle as garbage."""
    __import__(module)
    node = _Node()
    node.self = node
    _LEFT["cycle"] = weakref.ref(node)
    return os.getpid(), gc.get_freeze_count(), module in sys.modules


def _frozen_and_cycle_left():
    return os.getpid(), gc.get_freeze_count(), _LEFT["cycle"]() is not None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped) counts as ended
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _ended_within(pids: set, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while any(_alive(pid) for pid in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_map_keeps_the_order_runs_in_workers_and_raises_what_was_raised():
    with Workers(2) as workers:
        results = workers.map(_describe, [(name,) for name in "abcd"])
        assert [name for name, _ in results] == list("abcd")
        assert os.getpid() not in {pid for _, pid in results}
        with pytest.raises(RuntimeError, match="a broke"):
            workers.map(_fail, [("a",), ("b",)])
    with Workers(1) as workers:
        assert {pid for _, pid in workers.map(_describe, [("a",), ("b",)])} == {os.getpid()}


def test_no_pool_starts_without_a_task_and_closing_ends_the_pool_in_order():
    workers = Workers(2)
    with workers:
        assert workers._pool is None  # nothing submitted: no process started (a fully stored rerun)
        pids = {pid for _, pid in workers.map(_describe, [(name,) for name in "abcd"])}
        assert pids and all(_alive(pid) for pid in pids)
    assert workers._pool is None and _ended_within(pids, 10)
    workers.close()  # closing again does nothing


def test_a_block_that_raises_kills_the_pool_at_once():
    with pytest.raises(KeyboardInterrupt):
        with Workers(2) as workers:
            pids = {pid for _, pid in workers.map(_describe, [(name,) for name in "abcd"])}
            future = workers.submit(time.sleep, 60)  # work in flight, never read
            while not future.running():  # handed to a worker (as a study's items are when Ctrl-C comes)
                time.sleep(0.01)
            raise KeyboardInterrupt
    assert _ended_within(pids, 5)  # not after the minute of work in flight


def test_a_task_after_a_kill_starts_a_new_pool():
    with Workers(2) as workers:
        first = {pid for _, pid in workers.map(_describe, [("a",), ("b",)])}
        workers.kill()
        second = {pid for _, pid in workers.map(_describe, [("a",), ("b",)])}
        assert first.isdisjoint(second)


def test_workers_of_a_spec_and_their_search_n_jobs():
    from study.spec import StudySpec

    local = Workers.from_spec(StudySpec(n_jobs=2))
    assert (local.processes, local.search_n_jobs, local.scheduler) == (2, 1, None)
    assert Workers(-1).processes == n_workers(-1) == joblib.cpu_count()
    dask = Workers(2, scheduler="tcp://127.0.0.1:1")  # not entered: nothing is connected
    assert (dask.processes, dask.search_n_jobs) == (1, -1)


def test_workers_are_at_most_the_cores_this_process_may_use(monkeypatch):
    """The cores are joblib's count (CPU affinity and a container's CPU quota), not the host's
    processors: a container limited to 3 cores of a 64-core host gets 3 workers, for -1 and for
    any larger ``n_jobs``, through the spec (the command line's workers and the report's) too."""
    from study.spec import StudySpec

    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    monkeypatch.setattr("study.workers.cpu_count", lambda: 3)
    assert [Workers(n).processes for n in (-1, 1, 2, 3, 4, 64)] == [3, 1, 2, 3, 3, 3]
    assert Workers.from_spec(StudySpec(n_jobs=8)).processes == Workers.for_figures(StudySpec(n_jobs=8)).processes == 3


def test_a_reports_figures_are_drawn_by_local_workers_even_after_a_study_on_a_cluster():
    """``write_report`` called without workers draws on the spec's local processes; after a study
    on a Dask cluster, in this process alone (the cluster's workers draw nothing). Nothing starts
    before a task."""
    from study.spec import StudySpec

    local = Workers.for_figures(StudySpec(n_jobs=2))
    assert (local.processes, local.scheduler) == (2, None)
    after_dask = Workers.for_figures(StudySpec(n_jobs=2, scheduler="tcp://127.0.0.1:1"))
    assert (after_dask.processes, after_dask.scheduler) == (1, None)
    assert Workers.for_figures(StudySpec()).processes == n_workers(-1)


def test_only_lokys_race_at_a_kill_goes_unprinted(capsys):
    """loky's manager thread looking up a work item a kill dropped (a KeyError in
    add_call_item_to_queue of loky/process_executor.py) is not printed; any other uncaught thread
    exception is, as before."""
    import threading

    from study.workers import _quiet_kill_race

    race = compile("def add_call_item_to_queue():\n    {}[3]\n", os.path.join("x", "loky", "process_executor.py"),
                   "exec")
    other = compile("def add_call_item_to_queue():\n    {}[3]\n", os.path.join("x", "mine.py"), "exec")

    def crash(code, name):
        scope = {}
        exec(code, scope)
        thread = threading.Thread(target=scope["add_call_item_to_queue"], name=name)
        thread.start()
        thread.join()
        return capsys.readouterr().err

    previous = threading.excepthook
    threading.excepthook = threading.__excepthook__  # Python's own, which prints (pytest's keeps them)
    try:
        _quiet_kill_race()
        _quiet_kill_race()  # installed once
        assert threading.excepthook.skips_loky_kill_race
        assert crash(race, "ExecutorManagerThread") == ""
        assert "KeyError: 3" in crash(other, "ExecutorManagerThread")
        assert "KeyError: 3" in crash(race, "SomeOtherThread")
    finally:
        threading.excepthook = previous


def test_a_worker_freezes_what_its_imports_made_and_collects_the_garbage_first():
    """After a task that imported modules, the worker has collected its garbage (the cycle the
    task left is gone) and frozen the rest (``gc.freeze``): the garbage collector's full passes,
    after each task in loky, then skip the libraries' objects (study.workers._settle_imports)."""
    with Workers(1) as workers:  # one worker process: both tasks run in it
        pid, frozen_before, imported = workers.submit(_import_and_leave_a_cycle, "xml.dom.minidom").result()
        same, frozen_after, cycle_left = workers.submit(_frozen_and_cycle_left).result()
    assert same == pid != os.getpid() and imported
    assert frozen_after > frozen_before
    assert not cycle_left


def test_kept_workers_run_the_user_module_as_the_study_resolved_it(tmp_path, monkeypatch, shared_workers):
    """Workers started before the user's folder was on ``sys.path`` (this test process's, kept across
    studies): each version of an edited module runs as this process imported it (``study.user_code``)."""
    import importlib

    from sklearn.dummy import DummyClassifier

    from backends import BUILTIN_MODELS
    from backends.custom import sklearn_model
    from study.user_code import user_modules

    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    name = "edited_user_module"
    path = tmp_path / f"{name}.py"
    ran = []
    for version in ("1", "22"):  # the file's size changes, as an edit's does: no stale bytecode
        path.write_text("from sklearn.dummy import DummyClassifier\n"
                        f"class Versioned(DummyClassifier):\n    pass\n"
                        f"def version():\n    return {version}\n")
        sys.modules.pop(name, None)
        module = importlib.import_module(name)
        code = user_modules([sklearn_model("versioned", module.Versioned())])
        assert [m.name for m in code] == [name] and code[0].file == str(path.resolve())
        ran.append({shared_workers.submit(module.version, code=code).result() for _ in range(6)})
    sys.modules.pop(name, None)
    assert ran == [{1}, {22}]
    assert user_modules([*BUILTIN_MODELS.values(), sklearn_model("prior", DummyClassifier())]) == ()  # none of theirs


def test_a_user_module_is_imported_from_the_folder_above_its_package():
    from study.user_code import UserModule

    assert UserModule("nets", "/a/b/nets.py", "0").root == "/a/b"
    assert UserModule("pkg.models", "/a/b/pkg/models.py", "0").root == "/a/b"
    assert UserModule("pkg", "/a/b/pkg/__init__.py", "0").root == "/a/b"
    assert UserModule("pkg.sub.models", "/a/b/pkg/sub/models.py", "0").root == "/a/b"
