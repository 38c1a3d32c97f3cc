"""Run a study: datasets -> splits -> units of work -> the tidy results table.

Every finished unit is stored at once (``study.cache``: joblib.Memory, an atomic write, keyed
by a hash of the dataset, the split indices, the model, its grid and parameters, the seed, the
library versions and the model-building code), so an interrupted study started again
recomputes only the missing units, and an unchanged rerun fits nothing. Failed units are never
stored. The diagnostics are stored the same way, per dataset.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field

import pandas as pd
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from backends import get_model
from study.cache import cached, open_memory
from study.datasets import check_dataset, load_data
from study.protocol import fit_and_score, make_splits, unit_settings
from study.results import COLUMNS, PREDICTION_COLUMNS
from study.spec import StudySpec
from study.tasks import Task, expected_cost, run_tasks, worker_threads

__all__ = ["StudyResult", "run_study", "load_datasets", "skip_reason"]

@dataclass(frozen=True, eq=False)
class StudyResult:
    """What a study produced.

    Attributes
    ----------
    results : pandas.DataFrame
        The tidy results table (columns ``study.results.COLUMNS``).
    predictions : pandas.DataFrame
        Hold-out test predictions (columns ``study.results.PREDICTION_COLUMNS``).
    diagnostics : dict of str to pandas.DataFrame
        The diagnostics' tidy tables (empty when ``spec.use_diagnostics`` is False); see
        ``study.diagnostics.run_study_diagnostics``.
    """

    results: pd.DataFrame
    predictions: pd.DataFrame
    diagnostics: dict = field(default_factory=dict)

    @property
    def failed(self) -> pd.DataFrame:
        """Rows of the units that failed (empty when all succeeded)."""
        return self.results[self.results["status"] == "failed"]


def load_datasets(spec: StudySpec) -> list:
    """Load and check every dataset of the study (before any training).

    Raises
    ------
    ValueError
        The first bad dataset, with what was found, what was expected and how to fix it.
    """
    datasets = []
    for entry in spec.datasets:
        if isinstance(entry, str):
            data = load_data(entry)
        else:
            data = load_data(entry.source, target=entry.target, task=entry.task, name=entry.name)
        datasets.append(check_dataset(data, n_splits=spec.cv, test_size=spec.test_size))
    return datasets


def skip_reason(model: str, dataset) -> str | None:
    """Why ``model`` does not run on ``dataset`` (None when it does)."""
    spec = get_model(model)
    if dataset.task not in spec.tasks:
        return f"{model} does not apply to {dataset.task} (it supports {', '.join(spec.tasks)})"
    if spec.needs_image and dataset.image_shape is None:
        return f"{model} needs image data; {dataset.name} is tabular"
    return None


def _skipped_row(dataset, model: str, reason: str) -> dict:
    return dict(dataset=dataset.name, model=model, framework=get_model(model).framework, split=None, fold=None,
                metric=None, score=float("nan"), n_train=None, n_test=None, best_params="",
                fit_time=float("nan"), status="skipped", error=reason)


def budget_threads(n_jobs: int) -> None:
    """Give each parallel worker's TensorFlow one share of the cores (no oversubscription).

    TensorFlow reads ``TF_NUM_INTRAOP_THREADS`` / ``TF_NUM_INTEROP_THREADS`` when it starts;
    joblib's workers inherit them. BLAS/OpenMP threads in workers are limited by joblib itself.
    Values already set by the user are kept. With ``n_jobs=1`` nothing is set: one fit at a
    time, and TensorFlow's defaults (inter-op threads = cores) overlap its input pipeline with
    the training step.
    """
    if n_jobs == 1:
        return
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", str(worker_threads(n_jobs)))
    os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")


@contextlib.contextmanager
def _client(scheduler: str | None):
    """Connect to a Dask scheduler for the study's duration (nothing when ``scheduler`` is None)."""
    if scheduler is None:
        yield None
        return
    try:
        from distributed import Client
    except ImportError:
        raise ValueError(
            "--scheduler needs Dask's distributed package, which is not installed. "
            'Install it with: pip install -e ".[dask]"'
        ) from None
    with Client(scheduler) as client:
        yield client


def _unit_task(unit, dataset, model: str, splits, spec: StudySpec) -> Task:
    grid, params = unit_settings(model, spec.quick, spec.grids.get(model))
    return Task(f"{dataset.name} / {model}", expected_cost(model, dataset.n_samples), unit,
                (dataset, model, splits),
                dict(seed=spec.seed, quick=spec.quick, nested=spec.use_nested, grid=grid, params=params,
                     scheduler=spec.scheduler, metrics=spec.metrics))


def _run_units(tasks: list, spec: StudySpec, progress: bool) -> list:
    """Whole units on the workers (``study.tasks.run_tasks``), or, on a Dask cluster, one unit
    after the other with its candidates x folds on the cluster. A unit fitted in this process
    (a single unit, or a cluster's refits) keeps BLAS to one worker's share of the cores."""
    with threadpool_limits(worker_threads(spec.n_jobs), user_api="blas"):
        if spec.scheduler is not None:
            with _client(spec.scheduler):
                return [task(spec.n_jobs) for task in tqdm(tasks, desc="units", unit="unit", disable=not progress)]
        return run_tasks(tasks, spec.n_jobs, desc="units", unit="unit", progress=progress)


def run_study(spec: StudySpec | None = None, *, datasets: list | None = None, progress: bool = True) -> StudyResult:
    """Run every applicable dataset x model unit of a study on shared splits.

    Parameters
    ----------
    spec : StudySpec or None, default=None
        The study; ``None`` runs the default one. Validated before any data is loaded.
    datasets : list of Dataset or None, default=None
        The spec's datasets already loaded by :func:`load_datasets` (so they are loaded once).
    progress : bool, default=True
        Show a progress bar over the units.

    Returns
    -------
    StudyResult
        Same seed, same table: every split and model is seeded from ``spec.seed``.

    Raises
    ------
    ValueError
        If the spec or a dataset is invalid (raised before any training).
    """
    spec = (spec or StudySpec()).validate()
    budget_threads(spec.n_jobs)
    datasets = load_datasets(spec) if datasets is None else datasets
    splits = {d.name: make_splits(d, spec.cv, spec.test_size, spec.seed, spec.repeats) for d in datasets}
    memory = open_memory(spec.cache_dir)
    unit = cached(memory, fit_and_score, lambda out: any(row["status"] != "ok" for row in out["rows"]),
                  ("n_jobs", "scheduler"))
    pairs = [(d, m, skip_reason(m, d)) for d in datasets for m in spec.models]
    todo = [(d, m) for d, m, reason in pairs if not reason]
    tasks = [_unit_task(unit, d, m, splits[d.name], spec) for d, m in todo]
    units = {(d.name, m): out for (d, m), out in zip(todo, _run_units(tasks, spec, progress))}
    rows, predictions = [], []
    for dataset, model, reason in pairs:
        unit = {"rows": [_skipped_row(dataset, model, reason)], "predictions": []} if reason else units[dataset.name, model]
        rows += unit["rows"]
        predictions += unit["predictions"]
    results = pd.DataFrame(rows, columns=COLUMNS).astype({"fold": "Int64", "n_train": "Int64", "n_test": "Int64"})
    predictions = pd.DataFrame(predictions, columns=PREDICTION_COLUMNS)
    diagnostics = {}
    if spec.use_diagnostics:
        from study.diagnostics import run_study_diagnostics

        diagnostics = run_study_diagnostics(spec, datasets, results, predictions, progress=progress, memory=memory)
    return StudyResult(results, predictions, diagnostics)
