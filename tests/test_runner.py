"""The runner: cached units, resume, grid changes, thread budget."""

import os

import pytest

import study.protocol as protocol
from study.runner import budget_threads, run_study
from study.spec import StudySpec

CALLS = []


@pytest.fixture
def counted(monkeypatch):
    """Count estimator builds: one per unit actually computed (cached units build nothing)."""
    CALLS.clear()
    real = protocol.make_estimator

    def counting(name, *args, **kwargs):
        CALLS.append(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(protocol, "make_estimator", counting)
    return CALLS


def _spec(tmp_path, **changes):
    base = dict(datasets=("wine", "iris"), models=("logistic_regression", "ridge"), cv=3, quick=True,
                n_jobs=1, cache_dir=tmp_path / "cache", diagnostics=False)
    return StudySpec(**{**base, **changes})


def test_cached_rerun_fits_nothing_and_gives_the_same_table(tmp_path, counted):
    first = run_study(_spec(tmp_path), progress=False)
    assert len(counted) == 4
    counted.clear()
    second = run_study(_spec(tmp_path), progress=False)
    assert counted == []
    assert first.results.equals(second.results) and first.predictions.equals(second.predictions)


def test_units_computed_on_workers_are_reused_by_a_serial_rerun(tmp_path, counted):
    # digits' X is a strided view of the loaded table: the key must not depend on memory layout
    study = dict(datasets=("digits", "wine"), models=("logistic_regression", "ridge"))
    run_study(_spec(tmp_path, **study, n_jobs=2), progress=False)
    counted.clear()
    run_study(_spec(tmp_path, **study, n_jobs=1), progress=False)
    assert counted == []


def test_changing_one_grid_refits_only_that_model(tmp_path, counted):
    run_study(_spec(tmp_path), progress=False)
    counted.clear()
    run_study(_spec(tmp_path, grids={"ridge": {"model__alpha": [0.5, 5.0]}}), progress=False)
    assert sorted(counted) == ["ridge", "ridge"]  # on wine and on iris, nothing else


def test_failed_units_are_not_cached(tmp_path, monkeypatch, counted):
    def broken(name, *args, **kwargs):
        raise RuntimeError("transient")

    monkeypatch.setattr(protocol, "make_estimator", broken)
    with pytest.warns(RuntimeWarning):
        failed = run_study(_spec(tmp_path, datasets=("wine",), models=("ridge",)), progress=False)
    assert (failed.results["status"] == "failed").all()
    monkeypatch.undo()
    ok = run_study(_spec(tmp_path, datasets=("wine",), models=("ridge",)), progress=False)
    assert (ok.results["status"] == "ok").all()


def test_thread_budget_splits_the_cores(monkeypatch):
    monkeypatch.delenv("TF_NUM_INTRAOP_THREADS", raising=False)
    monkeypatch.delenv("TF_NUM_INTEROP_THREADS", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    budget_threads(4)
    assert os.environ["TF_NUM_INTRAOP_THREADS"] == "2" and os.environ["TF_NUM_INTEROP_THREADS"] == "1"


def test_serial_study_keeps_tensorflow_defaults(monkeypatch):
    monkeypatch.delenv("TF_NUM_INTRAOP_THREADS", raising=False)
    monkeypatch.delenv("TF_NUM_INTEROP_THREADS", raising=False)
    budget_threads(1)
    assert "TF_NUM_INTRAOP_THREADS" not in os.environ and "TF_NUM_INTEROP_THREADS" not in os.environ


def test_unknown_grid_model_is_refused():
    with pytest.raises(ValueError, match=r"A grid is given for model 'svm', which is not in the study's models"):
        StudySpec(models=("ridge",), grids={"svm": {"C": [1]}}).validate()
