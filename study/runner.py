"""Run a study: datasets -> splits -> units of work -> the tidy results table."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from tqdm.auto import tqdm

from backends import get_model
from study.datasets import load_dataset
from study.protocol import fit_and_score, make_splits
from study.results import COLUMNS, PREDICTION_COLUMNS
from study.spec import StudySpec

__all__ = ["StudyResult", "run_study"]


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


def _units(spec: StudySpec, datasets: list) -> list:
    return [
        (dataset, model)
        for dataset in datasets
        for model in spec.models
        if get_model(model).supports(dataset.task, dataset.image_shape)
    ]


def run_study(spec: StudySpec | None = None, *, progress: bool = True) -> StudyResult:
    """Run every applicable dataset x model unit of a study on shared splits.

    Parameters
    ----------
    spec : StudySpec or None, default=None
        The study; ``None`` runs the default one. Validated before any data is loaded.
    progress : bool, default=True
        Show a progress bar over the units.

    Returns
    -------
    StudyResult
        Same seed, same table: every split and model is seeded from ``spec.seed``.

    Raises
    ------
    ValueError
        If the spec is invalid (raised before any training).
    """
    spec = (spec or StudySpec()).validate()
    datasets = [load_dataset(name) for name in spec.datasets]
    splits = {d.name: make_splits(d, spec.cv, spec.test_size, spec.seed) for d in datasets}
    rows, predictions = [], []
    bar = tqdm(_units(spec, datasets), desc="units", unit="unit", disable=not progress)
    for dataset, model in bar:
        bar.set_postfix_str(f"{dataset.name} / {model}")
        unit = fit_and_score(dataset, model, splits[dataset.name], seed=spec.seed, quick=spec.quick,
                             n_jobs=spec.n_jobs)
        rows += unit["rows"]
        predictions += unit["predictions"]
    results = pd.DataFrame(rows, columns=COLUMNS).astype({"fold": "Int64", "n_train": "Int64", "n_test": "Int64"})
    return StudyResult(results, pd.DataFrame(predictions, columns=PREDICTION_COLUMNS))
