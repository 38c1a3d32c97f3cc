"""Whole tasks on joblib workers: order of results, inner n_jobs, same table as a serial run."""

import os
import warnings

import pytest

from study.cache import cached, open_memory
from study.runner import run_study
from study.spec import StudySpec
from study.tasks import Task, expected_cost, run_tasks, worker_threads


def _describe(name, n_jobs):
    return name, n_jobs, os.getpid()


def _tasks(names):
    return [Task(name, (cost,), _describe, (name,)) for cost, name in enumerate(names)]


def test_serial_tasks_run_here_with_the_given_n_jobs():
    out = run_tasks(_tasks(["a", "b"]), 1, progress=False)
    assert out == [("a", 1, os.getpid()), ("b", 1, os.getpid())]
    [(name, n_jobs, pid)] = run_tasks(_tasks(["only"]), -1, progress=False)
    assert (name, n_jobs, pid) == ("only", -1, os.getpid())  # one task: its own inner parallelism


def test_parallel_tasks_run_on_workers_one_job_each_results_in_order():
    names = [f"t{i}" for i in range(6)]
    out = run_tasks(_tasks(names), 2, progress=False)
    assert [name for name, _, _ in out] == names
    assert {n_jobs for _, n_jobs, _ in out} == {1}
    assert os.getpid() not in {pid for _, _, pid in out}


def test_keras_and_image_models_are_expected_to_cost_most():
    ranked = sorted([("ridge", 178), ("keras_dense", 178), ("keras_cnn", 1797), ("random_forest", 1797)],
                    key=lambda pair: expected_cost(*pair), reverse=True)
    assert [m for m, _ in ranked] == ["keras_cnn", "keras_dense", "random_forest", "ridge"]


def test_worker_threads_share_the_cores(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    assert (worker_threads(1), worker_threads(2), worker_threads(-1), worker_threads(16)) == (8, 4, 1, 1)


def test_parallel_study_gives_the_serial_table(tmp_path):
    spec = dict(datasets=("wine", "iris"), models=("logistic_regression", "ridge", "random_forest"), cv=3,
                quick=True, cache_dir=None, diagnostics=False)
    serial = run_study(StudySpec(**spec, n_jobs=1), progress=False)
    parallel = run_study(StudySpec(**spec, n_jobs=2), progress=False)
    columns = [c for c in serial.results.columns if c != "fit_time"]
    assert serial.results[columns].equals(parallel.results[columns])
    assert serial.predictions.equals(parallel.predictions)


def _warn_and_describe(name, n_jobs):
    warnings.warn(f"{name} failed: on purpose", RuntimeWarning)
    return name, n_jobs, os.getpid()


def test_a_workers_warnings_are_shown_again_here():
    tasks = [Task(name, (0,), _warn_and_describe, (name,)) for name in ("a", "b", "c")]
    with pytest.warns(RuntimeWarning) as caught:
        out = run_tasks(tasks, 2, progress=False)
    assert os.getpid() not in {pid for _, _, pid in out}
    assert {str(w.message) for w in caught} >= {"a failed: on purpose", "b failed: on purpose", "c failed: on purpose"}


def test_stored_results_are_loaded_here_and_start_no_worker(tmp_path):
    memory = open_memory(tmp_path)
    function = cached(memory, _describe, lambda out: False)
    tasks = [Task(name, (0,), function, (name,)) for name in ("a", "b", "c")]
    first = run_tasks(tasks, 2, progress=False)
    assert all(task.stored() for task in tasks) and os.getpid() not in {pid for _, _, pid in first}
    assert run_tasks(tasks, 2, progress=False) == first  # loaded from the store, not computed again
    fresh = Task("d", (0,), function, ("d",))
    assert not fresh.stored()
    [(name, _, pid)] = run_tasks(tasks[:1] + [fresh], 2, progress=False)[1:]
    assert (name, pid) == ("d", os.getpid())  # one task left to compute: here, no pool
