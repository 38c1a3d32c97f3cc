"""What every diagnostic experiment shares: the job it receives and the shape of its rows.

An experiment is a small object (in the manner of skorch's callbacks) that the runner
schedules like any other work item: its ``name`` (the table it writes), which models and
datasets it ``applies`` to, its expected ``cost``, how to ``run`` one :class:`Job`, and the
``columns`` of its rows. The protocol rules (``study.protocol``) hold for every experiment:

- Everything is fitted on rows of ``splits.train`` only, through the shared folds (positions
  into ``splits.train``), the same folds as the main comparison.
- ``splits.test`` is touched only to score a model refitted on the whole training part, once
  per variant.
- Keras validation data (per-epoch ``val_loss``, early stopping) is an inner split of the data
  passed to ``fit`` (``validation_fraction``), never a fold's validation part.
- Every fit starts from a fresh estimator built from the model's specification, seeded with
  the study's seed.
- With repeated k-fold the experiments use the first repetition's k folds (fold indices
  0 .. k-1 of the results table).

Quick mode is a smoke test of the whole pipeline: each model's quick parameters (fewer epochs,
trees) and only the first :data:`QUICK_FOLDS` shared folds (Keras: :data:`QUICK_KERAS_FOLDS`,
as a Keras fit costs seconds of graph tracing however small the data).
"""

from __future__ import annotations

import numpy as np

from backends import ModelSpec
from study.data import Dataset
from study.protocol import Job

__all__ = ["Job", "Experiment", "QUICK_FOLDS", "QUICK_KERAS_FOLDS", "experiment_folds", "score_rows", "label"]

QUICK_FOLDS = 2
"""Number of shared folds (the first ones) used in quick mode."""
QUICK_KERAS_FOLDS = 1
"""Number of shared folds (the first ones) used for Keras models in quick mode."""


def experiment_folds(job: Job) -> list:
    """The shared folds an experiment uses: the first repetition's k (fewer in quick mode)."""
    first = job.splits.first_repetition
    if job.quick:
        return first[:QUICK_KERAS_FOLDS if job.keras else QUICK_FOLDS]
    return first


class Experiment:
    """Base class of the diagnostics (see the module docstring).

    Attributes
    ----------
    name : str
        The experiment's table (``<name>.csv``).
    columns : list of str
        Columns of its rows (``study.results`` holds every table's columns).
    after_unit : bool
        True: runs on each model after the model's unit succeeded, with its chosen
        parameters. False: runs once per model and study (:meth:`study_dataset`).
    """

    name = ""
    columns: list = []
    after_unit = True

    def applies(self, model: ModelSpec, dataset: Dataset, quick: bool) -> bool:
        """Whether the experiment runs on this model and dataset (the model already applies)."""
        return True

    def options(self, model: ModelSpec) -> dict:
        """The experiment's settings for a model, computed in the study's process."""
        return {}

    def cost(self, model: ModelSpec, dataset: Dataset) -> float:
        """Expected run time relative to one fit of the model (for longest-first scheduling)."""
        return 5.0

    def run(self, job: Job) -> list:
        """Fit and score; return the rows (dicts with :attr:`columns`). Raises on failure."""
        raise NotImplementedError


def score_rows(base: dict, train_scores, val_scores, fold_ids) -> list:
    """Train and validation rows of per-fold scores, ``base`` columns repeated."""
    rows = []
    for j, k in enumerate(fold_ids):
        rows.append({**base, "fold": k, "split": "train", "score": float(train_scores[j])})
        rows.append({**base, "fold": k, "split": "validation", "score": float(val_scores[j])})
    return rows


def label(value) -> str:
    """A parameter value as text: ``None``, ``0.001``, ``relu``."""
    return "None" if value is None else f"{value:g}" if isinstance(value, (int, float, np.number)) else str(value)
