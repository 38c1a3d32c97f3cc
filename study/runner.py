"""Run a study: datasets -> splits -> units of work -> the tidy results table.

Every finished unit is stored at once by ``joblib.Memory`` (an atomic write, keyed by a hash
of the dataset, the split indices, the model, its grid and parameters, the seed, the library
versions and the source of the model-building code), so an interrupted study started again recomputes only the missing units,
and an unchanged rerun fits nothing. Failed units are never stored.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import joblib
import pandas as pd
from tqdm.auto import tqdm

from backends import get_model
from study.datasets import check_dataset, load_data
from study.protocol import fit_and_score, make_splits, unit_settings
from study.results import COLUMNS, PREDICTION_COLUMNS
from study.spec import StudySpec

__all__ = ["StudyResult", "run_study", "load_datasets", "skip_reason", "library_versions", "code_version"]

VERSIONED = ("scikit-learn", "numpy", "scipy", "tensorflow", "keras", "scikeras", "generalization-study")


@dataclass(frozen=True, eq=False)
class StudyResult:
    """What a study produced.

    Attributes
    ----------
    results : pandas.DataFrame
        The tidy results table (columns ``study.results.COLUMNS``).
    predictions : pandas.DataFrame
        Hold-out test predictions (columns ``study.results.PREDICTION_COLUMNS``).
    """

    results: pd.DataFrame
    predictions: pd.DataFrame

    @property
    def failed(self) -> pd.DataFrame:
        """Rows of the units that failed (empty when all succeeded)."""
        return self.results[self.results["status"] == "failed"]


def library_versions() -> str:
    """``name-version`` of every library a unit's result depends on, joined by ``_``."""
    def one(name):
        try:
            return f"{name}-{version(name)}"
        except PackageNotFoundError:
            return f"{name}-none"
    return "_".join(one(name) for name in VERSIONED)


def code_version() -> str:
    """Hash of the source that decides a unit's result: ``backends/`` and the protocol.

    Part of the cache location, so editing a model's code never reuses stale results
    (joblib.Memory itself only hashes the cached function's own source).
    """
    root = Path(__file__).resolve().parents[1]
    files = sorted((root / "backends").glob("*.py")) + [root / "study" / "protocol.py", root / "study" / "datasets.py"]
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


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
    Values already set by the user are kept.
    """
    workers = os.cpu_count() if n_jobs < 0 else n_jobs
    threads = max(1, (os.cpu_count() or 1) // max(1, workers))
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", str(threads))
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


def _unit_function(cache_dir: Path | None):
    if cache_dir is None:
        return None
    memory = joblib.Memory(Path(cache_dir) / library_versions() / code_version(), verbose=0)
    return memory.cache(fit_and_score, ignore=["n_jobs", "scheduler"])


def _run_unit(cached, dataset, model, splits, spec: StudySpec) -> dict:
    grid, params = unit_settings(model, spec.quick, spec.grids.get(model))
    kwargs = dict(seed=spec.seed, quick=spec.quick, n_jobs=spec.n_jobs, nested=spec.use_nested, grid=grid, params=params,
                  scheduler=spec.scheduler, metrics=spec.metrics)
    if cached is None:
        return fit_and_score(dataset, model, splits, **kwargs)
    shelved = cached.call_and_shelve(dataset, model, splits, **kwargs)
    unit = shelved.get()
    if any(row["status"] != "ok" for row in unit["rows"]):
        shelved.clear()  # a failure may be transient: retry it next time
    return unit


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
    cached = _unit_function(spec.cache_dir)
    pairs = [(d, m, skip_reason(m, d)) for d in datasets for m in spec.models]
    units = {}
    with _client(spec.scheduler):
        bar = tqdm([(d, m) for d, m, reason in pairs if not reason], desc="units", unit="unit", disable=not progress)
        for dataset, model in bar:
            bar.set_postfix_str(f"{dataset.name} / {model}")
            units[dataset.name, model] = _run_unit(cached, dataset, model, splits[dataset.name], spec)
    rows, predictions = [], []
    for dataset, model, reason in pairs:
        unit = {"rows": [_skipped_row(dataset, model, reason)], "predictions": []} if reason else units[dataset.name, model]
        rows += unit["rows"]
        predictions += unit["predictions"]
    results = pd.DataFrame(rows, columns=COLUMNS).astype({"fold": "Int64", "n_train": "Int64", "n_test": "Int64"})
    return StudyResult(results, pd.DataFrame(predictions, columns=PREDICTION_COLUMNS))
