"""Class imbalance: class weighting off vs on, on an imbalanced copy of a dataset."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
from sklearn.metrics import get_scorer, make_scorer, recall_score
from sklearn.model_selection import cross_validate

from study.data import Dataset, take_rows
from study.experiments.base import Experiment, Job, experiment_folds, score_rows
from study.results import IMBALANCE_COLUMNS

__all__ = ["ClassImbalance", "make_imbalanced", "IMBALANCE_DATASET", "RATIO"]

IMBALANCE_DATASET = "breast_cancer"
"""Dataset of the class-imbalance experiment when the study has it; else its first binary
classification dataset (none: no imbalance experiment)."""
RATIO = 0.1
"""Minority/majority class size ratio of the imbalanced copy."""


def _class_name(dataset: Dataset, label) -> str:
    classes = np.unique(dataset.y)
    names = dataset.target_names
    if names is not None and len(names) == len(classes):
        return str(names[int(np.flatnonzero(classes == label)[0])])
    return str(label)


def make_imbalanced(dataset: Dataset, minority_class=None, ratio: float = 0.1, seed: int = 0) -> Dataset:
    """A copy of a classification dataset in which one class is made rare.

    A seeded random subset of ``minority_class`` is kept, ``round(ratio * n_majority)`` rows,
    where ``n_majority`` is the size of the largest other class; the other classes are kept
    whole and the row order is preserved.

    Parameters
    ----------
    dataset : Dataset
        A classification dataset.
    minority_class : label, class name or None, default=None
        The class to subsample, as a value of ``dataset.y`` or a name of
        ``dataset.target_names``. Default: the least frequent class (for binary data the
        smaller class; ties go to the first in ``np.unique(y)`` order).
    ratio : float in (0, 1], default=0.1
        Target minority/majority size ratio.
    seed : int, default=0
        Seed of the subsample.

    Returns
    -------
    Dataset
        Named ``f"{dataset.name}_imbalanced"``; same task, image shape and names; a
        predefined ``test_index`` is mapped to the kept rows, ``groups`` and ``time`` are the
        kept rows' (so its splits are grouped or time-ordered as the original's).

    Raises
    ------
    ValueError
        Regression data, a ratio outside (0, 1], an unknown class, or a ratio that needs more
        rows than the class has or rounds to zero rows.
    """
    if dataset.task != "classification":
        raise ValueError(f"make_imbalanced needs a classification dataset; {dataset.name!r} has task "
                         f"{dataset.task!r}.")
    if not (isinstance(ratio, (int, float, np.number)) and 0 < ratio <= 1):
        raise ValueError(f"ratio must be a number in (0, 1] (minority/majority class size); got {ratio!r}. "
                         "Use e.g. 0.1 for one minority row per ten majority rows.")
    classes, counts = np.unique(dataset.y, return_counts=True)
    label = _resolve_minority(dataset, minority_class)
    shown = label.item() if isinstance(label, np.generic) else label  # plain repr in messages
    n_have = int(counts[classes == label][0])
    n_majority = int(counts[classes != label].max())
    n_keep = int(round(ratio * n_majority))
    if n_keep < 1:
        raise ValueError(f"ratio={ratio!r} keeps round({ratio!r} * {n_majority}) = 0 rows of class {shown!r}; "
                         f"use ratio >= {0.5 / n_majority:.4f}.")
    if n_keep > n_have:
        raise ValueError(f"ratio={ratio!r} needs {n_keep} rows of class {shown!r} ({ratio!r} * {n_majority} "
                         f"majority rows) but it has only {n_have}; use ratio <= {n_have / n_majority:.4f}.")
    rng = np.random.default_rng(seed)
    members = np.flatnonzero(dataset.y == label)
    kept = np.sort(np.concatenate([np.flatnonzero(dataset.y != label), rng.choice(members, n_keep, replace=False)]))
    X = take_rows(dataset.X, kept)
    if isinstance(X, pd.DataFrame):
        X = X.reset_index(drop=True)
    test_index = getattr(dataset, "test_index", None)
    extra = {} if test_index is None else {"test_index": np.flatnonzero(np.isin(kept, test_index))}
    for rows_of in ("groups", "time"):  # one value per row: the kept rows'
        if getattr(dataset, rows_of, None) is not None:
            extra[rows_of] = getattr(dataset, rows_of)[kept]
    return replace(dataset, name=f"{dataset.name}_imbalanced", X=X, y=dataset.y[kept], **extra)


def _resolve_minority(dataset: Dataset, minority_class):
    """The label of ``minority_class`` (a label or a class name); default the rarest class."""
    classes, counts = np.unique(dataset.y, return_counts=True)
    if minority_class is None:
        return classes[int(np.argmin(counts))]
    for label in classes:
        if isinstance(label, str) == isinstance(minority_class, str) and label == minority_class:
            return label
    names = list(dataset.target_names or [])
    if isinstance(minority_class, str) and minority_class in names and len(names) == len(classes):
        return classes[names.index(minority_class)]
    hint = f" or one of the names {names}" if names else ""
    raise ValueError(f"Unknown minority_class {minority_class!r} for dataset {dataset.name!r}; "
                     f"expected one of the labels {classes.tolist()}{hint}.")


class ClassImbalance(Experiment):
    """Class weighting off vs on, on an imbalanced copy of one of the study's datasets.

    :meth:`study_dataset` makes the copy (:func:`make_imbalanced`, ratio :data:`RATIO`) of
    :data:`IMBALANCE_DATASET` (or the study's first binary classification dataset); the runner
    draws its splits with the study's settings. For every model with a ``class_weight``
    parameter, with its default parameters (plus quick parameters) and ``class_weight`` None
    ("off") or "balanced" ("on"): ``cross_validate`` on the shared folds of the training part,
    then a refit on the whole training part scored once on the hold-out test split.

    Rows (:data:`study.results.IMBALANCE_COLUMNS`): ``dataset`` (the imbalanced copy's name),
    ``class_weight`` ("off" | "on"), ``minority_class`` (name), ``ratio``, ``metric``
    ("accuracy", "balanced_accuracy", ``"recall[<class name>]"`` per class), ``fold``,
    ``split`` ("train" | "validation" | "test"), ``score``.
    """

    name = "imbalance"
    columns = IMBALANCE_COLUMNS
    after = None

    def applies(self, model, dataset, quick) -> bool:
        return model.class_weight and dataset.task == "classification"

    def options(self, model) -> dict:
        return {"ratio": RATIO}  # the ratio study_dataset subsamples with, for the table

    def n_fits(self, job: Job) -> int:
        return 2 * (len(experiment_folds(job)) + 1)

    @staticmethod
    def study_dataset(datasets: list, seed: int):
        """The imbalanced copy of the study's chosen dataset, or None when it has no binary
        classification dataset."""
        binary = [d for d in datasets if d.task == "classification" and len(np.unique(d.y)) == 2]
        chosen = next((d for d in datasets if d.name == IMBALANCE_DATASET), binary[0] if binary else None)
        return None if chosen is None else make_imbalanced(chosen, ratio=RATIO, seed=seed)

    def run(self, job: Job) -> list:
        data = job.dataset
        minority = _class_name(data, _resolve_minority(data, None))  # the subsampled class is now the rarest
        scoring = {"accuracy": get_scorer("accuracy"), "balanced_accuracy": get_scorer("balanced_accuracy")}
        for label in np.unique(data.y):
            scoring[f"recall[{_class_name(data, label)}]"] = make_scorer(
                recall_score, labels=[label], average="macro", zero_division=0.0)
        X, y = job.training_part()
        folds = experiment_folds(job)
        rows = []
        for switch, weight in (("off", None), ("on", "balanced")):
            result = cross_validate(job.estimator(class_weight=weight), X, y, cv=folds, scoring=scoring,
                                    return_train_score=True, n_jobs=1, error_score="raise", params=job.fit_params())
            refit = job.estimator(class_weight=weight).fit(X, y, **job.fit_params())
            for metric, scorer in scoring.items():
                base = dict(dataset=data.name, model=job.model.name, class_weight=switch, minority_class=minority,
                            ratio=job.options.get("ratio", RATIO), metric=metric)
                rows += score_rows(base, result[f"train_{metric}"], result[f"test_{metric}"], range(len(folds)))
                rows.append({**base, "fold": None, "split": "test", "score": float(scorer(refit, *job.test_part()))})
        return rows
