"""What every diagnostic experiment shares: the job it receives and the shape of its rows.

An experiment is a small object (in the manner of skorch's callbacks) that the runner
schedules like any other work item: its ``name`` (the table it writes), which models and
datasets it ``applies`` to, how many fits it makes (``n_fits``), how to ``run`` one :class:`Job`, and the
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
from sklearn.base import clone

from backends import ModelSpec
from study.data import Dataset
from study.protocol import Job
from study.records import WorkKind

__all__ = ["Job", "Experiment", "QUICK_FOLDS", "QUICK_KERAS_FOLDS", "FITTED", "FROM_UNIT", "experiment_folds",
           "from_search", "unit_fits", "settings_key", "score_rows", "label"]

FITTED = "fitted"
"""``source`` of rows an experiment fitted itself."""
FROM_UNIT = "unit's grid search"
"""``source`` of rows taken from the unit's own fits (the same estimator on the same folds)."""

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
    after : WorkKind, str or None
        What the experiment waits for on each model: ``WorkKind.UNIT`` (its unit succeeded; it runs with
        the chosen parameters), the name of another experiment (that one ended, or does not
        apply; its rows are in ``job.options["earlier"]``, so fits it made are not made again),
        or None (it runs once per model and study at once: :meth:`study_dataset`).
    """

    name = ""
    columns: list = []
    after = WorkKind.UNIT

    def applies(self, model: ModelSpec, dataset: Dataset, quick: bool) -> bool:
        """Whether the experiment runs on this model and dataset (the model already applies)."""
        return True

    def options(self, model: ModelSpec) -> dict:
        """The experiment's settings for a model, computed in the study's process."""
        return {}

    fit_weight = 1.0
    """Cost of one of its fits relative to one fit of nested CV (e.g. longer training); a unit's
    fit costs ``study.plan.UNIT_FIT_COST`` of them. For the order of the work and the time left."""

    def n_fits(self, job: Job) -> int:
        """Expected number of fits (for the progress bar and longest-first scheduling)."""
        return len(experiment_folds(job))

    def parts(self, job: Job) -> list:
        """The work items one run on ``job`` is split into, each an independent part of the
        experiment that a worker runs apart (both cores busy when little else is left): a list of
        ``(name, options)``, ``options`` set on top of ``job.options`` for that part; the rows of
        all parts, in this order, are the experiment's rows. One part (``[("", {})]``) by default.
        Computed in the study's process, so without building a (Keras) estimator."""
        return [("", {})]

    def run(self, job: Job) -> list:
        """Fit and score; return the rows (dicts with :attr:`columns`). Raises on failure."""
        raise NotImplementedError


def _settings(estimator) -> dict:
    """An estimator's own values (nested steps flattened), without the step objects."""
    return {k: v for k, v in estimator.get_params(deep=True).items()
            if k not in ("steps", "memory") and not hasattr(v, "get_params")}


def from_search(job: Job, n_folds: int, **overrides):
    """The unit's fits of this very estimator, when its grid search made them on these folds:
    :func:`unit_fits`, or None when the job's splits are a subsample (``Splits.subsample``, under
    a time budget), whose fits the unit did not make."""
    return None if job.splits.whole is not None else unit_fits(job, n_folds, **overrides)


def unit_fits(job: Job, n_folds: int, **overrides):
    """The unit's fits of this very estimator on the whole folds, when its grid search made them.

    The estimator ``job.estimator(**overrides)`` is looked up among the unit's candidates (the
    model's estimator with a candidate's parameters): when one has exactly its settings, its
    scores on the first ``n_folds`` shared folds are the fits this experiment would make.

    Returns
    -------
    dict or None
        ``train`` and ``validation``: lists of ``n_folds`` scores of the primary metric;
        ``test``: the hold-out score of the unit's refit, or None unless the candidate is the
        one the unit chose. None when no candidate matches (or the job has no search).
    """
    if not job.search:
        return None
    wanted = _settings(job.estimator(**overrides))
    base = job.model.estimator(job.dataset.task, random_state=job.seed, image_shape=job.dataset.image_shape,
                               quick=job.quick)
    search = job.search
    for i, params in enumerate(search.params):
        if _settings(clone(base).set_params(**params)) == wanted:
            part = {name: [search.score(k, key, job.metric, i) for k in range(n_folds)]
                    for name, key in (("train", "train"), ("validation", "test"))}
            return {**part, "test": search.test.get(job.metric) if i == search.best else None}
    return None


def settings_key(job: Job, **overrides) -> tuple:
    """The settings of ``job.estimator(**overrides)``, hashable: two estimators with the same key
    make the same fits."""
    return tuple(sorted((k, repr(v)) for k, v in _settings(job.estimator(**overrides)).items()))


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
