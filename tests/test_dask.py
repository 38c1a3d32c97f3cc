"""The same units on a Dask cluster (process workers on loopback) give the local table."""

import pytest

from study.runner import run_study
from study.spec import StudySpec

distributed = pytest.importorskip("distributed")


def test_dask_cluster_gives_the_same_table_as_a_local_run():
    spec = dict(datasets=("wine",), models=("logistic_regression", "random_forest"), cv=3, quick=True,
                cache_dir=None, diagnostics=False)
    local = run_study(StudySpec(**spec, n_jobs=1), progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        remote = run_study(StudySpec(**spec, n_jobs=2, scheduler=cluster.scheduler_address), progress=False)
        ran_on_cluster = {name for name in cluster.scheduler.task_prefixes}
    assert ran_on_cluster, "no task reached the Dask scheduler"
    columns = [c for c in local.results.columns if c != "fit_time"]
    assert remote.results[columns].equals(local.results[columns])
    assert remote.predictions.equals(local.predictions)
