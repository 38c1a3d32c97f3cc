"""Whole tasks on joblib workers: order of results, inner n_jobs, same table as a serial run."""

import os

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
