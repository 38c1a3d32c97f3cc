"""The splits of a dataset: one hold-out test split and the CV folds every model shares.

Three kinds, one per way rows can depend on each other (``--cv-kind``; "auto" picks it from the
dataset):

- **shuffled** (rows independent): a seeded hold-out split, then k shuffled folds, both
  stratified for classification (``train_test_split(stratify=y)``, ``StratifiedKFold`` /
  ``RepeatedStratifiedKFold``; plain ``KFold`` for regression).
- **group** (several rows per patient, customer or image source: ``Dataset.groups``): each group
  on one side of every split. The hold-out test split is one fold of
  ``StratifiedGroupKFold(round(1 / test_size))`` for classification (so ``test_size=0.2`` holds
  out a fifth of the groups), ``GroupShuffleSplit(test_size)`` for regression (a fraction of the
  groups); the folds are ``StratifiedGroupKFold`` / ``GroupKFold`` (shuffled, seeded).
- **timeseries** (rows ordered in time: ``Dataset.time``, or the row order): the hold-out test
  split is the latest rows (at least ``test_size`` of them; rows sharing a time stay together),
  and the folds are ``TimeSeriesSplit`` over the distinct times of the training part: each fold
  validates on the period right after its training rows (an expanding window), ``gap`` distinct
  times left out between them (and between the training part and the hold-out test split).
  These splits cannot be stratified: a hold-out test split or a fold's training rows holding a
  single class (rows sorted by class) are refused, and so is a validation period of fewer than
  :data:`study.folds.MIN_VALIDATION_ROWS` rows.

Everything downstream takes its folds from :class:`Splits`: the units' searches, nested CV's
inner searches (:meth:`Splits.inner_folds`: the same kind of folds inside an outer fold's
training part) and every diagnostic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from sklearn.model_selection import (
    GroupShuffleSplit,
    RepeatedKFold,
    RepeatedStratifiedKFold,
    StratifiedGroupKFold,
    train_test_split,
)

from study.data import Dataset, take_rows
from study.folds import group_folds, shuffled_folds, subsample_positions, time_folds

__all__ = ["Splits", "make_splits", "resolve_kind", "describe_splits", "KINDS", "CV_KINDS"]

KINDS = ("shuffled", "group", "timeseries")
"""The kinds of splits."""
CV_KINDS = ("auto", *KINDS)
"""The values of ``--cv-kind``: "auto" is "timeseries" for a dataset with a time column, "group"
for one with groups, else "shuffled"."""


@dataclass(frozen=True, eq=False)
class Splits:
    """The hold-out split and the shared CV folds of one dataset.

    Attributes
    ----------
    train : ndarray of int, shape (n_train,)
        Dataset row indices of the training part (in time order for time-ordered splits).
    test : ndarray of int, shape (n_test,)
        Dataset row indices of the untouched hold-out test split.
    folds : list of (ndarray, ndarray)
        (fit, validation) positions *into* ``train`` for each fold; the same for every model.
    n_splits : int
        k, the number of folds of one repetition (``len(folds) == k * repeats``).
    kind : {"shuffled", "group", "timeseries"}, default="shuffled"
    task : {"classification", "regression"}, default="classification"
        Classification folds are stratified where the kind allows it.
    groups : ndarray of shape (n_train,) or None, default=None
        The training rows' groups (kind "group").
    order : ndarray of shape (n_train,) or None, default=None
        The training rows' times (kind "timeseries"; the row numbers when the data has no time
        column).
    gap : int, default=0
        Distinct times left out between training and validation rows (kind "timeseries").
    seed : int, default=0
        Seed of the shuffles.
    whole : Splits or None, default=None
        When these are the splits of a subsample of the training part (:meth:`subsample`), the
        splits they were drawn from; None otherwise.
    """

    train: np.ndarray
    test: np.ndarray
    folds: list
    n_splits: int
    kind: str = "shuffled"
    task: str = "classification"
    groups: np.ndarray | None = None
    order: np.ndarray | None = None
    gap: int = 0
    seed: int = 0
    whole: "Splits | None" = None

    @property
    def first_repetition(self) -> list:
        """The first k folds (fold indices 0 .. k-1): the folds the diagnostics use."""
        return list(self.folds)[:self.n_splits]

    def subsample(self, rows: int, y: np.ndarray) -> "Splits":
        """These splits on a seeded subsample of ``rows`` rows of the training part (stratified
        for classification): each fold keeps its fitting and validation rows that are in it; the
        hold-out test split is unchanged. Shuffled splits only (a subsample of groups or times
        would change what the folds mean).

        Parameters
        ----------
        rows : int
            Rows to keep, fewer than the training part's.
        y : ndarray of shape (n_train,)
            The training part's targets.

        Returns
        -------
        Splits
            With :attr:`whole` set to these splits.

        Raises
        ------
        ValueError
            Splits of another kind than "shuffled", or ``rows`` not below the training part's rows.
        """
        if self.kind != "shuffled" or not 0 < rows < len(self.train):
            raise ValueError(f"A subsample of {rows} rows needs shuffled splits with more training rows; got "
                             f"{self.kind} splits of {len(self.train)} training rows.")
        keep = subsample_positions(y, rows, self.seed, self.task == "classification")
        new = np.full(len(self.train), -1)
        new[keep] = np.arange(len(keep))
        folds = [(new[fit][new[fit] >= 0], new[val][new[val] >= 0]) for fit, val in self.folds]
        return replace(self, train=self.train[keep], folds=folds, whole=self)

    def training_part(self, dataset: Dataset):
        """``(X, y)`` of the training part."""
        return take_rows(dataset.X, self.train), dataset.y[self.train]

    def test_part(self, dataset: Dataset):
        """``(X, y)`` of the hold-out test split."""
        return take_rows(dataset.X, self.test), dataset.y[self.test]

    def inner_folds(self, positions: np.ndarray, y: np.ndarray) -> list:
        """Folds of the same kind inside part of the training part (nested CV's inner split).

        Parameters
        ----------
        positions : ndarray of int of shape (n,)
            Positions into :attr:`train` (an outer fold's training rows).
        y : ndarray of shape (n,)
            Their targets.

        Returns
        -------
        list of (ndarray, ndarray)
            k (fit, validation) position pairs into ``positions``: grouped folds keep each
            group on one side, time-ordered folds validate after their training rows.

        Raises
        ------
        ValueError
            Fewer groups or distinct times there than the folds need.
        """
        if self.kind == "group":
            return group_folds(self.groups[positions], y, self.n_splits, self.seed, 1, self.task, "an outer fold")
        if self.kind == "timeseries":
            return time_folds(self.order[positions], self.n_splits, self.gap, "an outer fold")
        return list(shuffled_folds(self.task, self.n_splits, self.seed).split(np.zeros(len(y)), y))

    def inner_validation(self, positions: np.ndarray | None = None) -> dict:
        """Fit parameters for a Keras model's inner validation split (early stopping) on rows of
        the training part: each row's group or time, so that split is grouped or time-ordered
        too (``backends.keras_wrappers``: ``validation_groups`` / ``validation_time``).

        Parameters
        ----------
        positions : ndarray of int of shape (n,) or None, default=None
            Positions into :attr:`train` of the rows fitted on; None: all of them.

        Returns
        -------
        dict
            ``{"model__validation_groups": ...}``, ``{"model__validation_time": ...}`` (arrays of
            shape (n,), routed to the Pipeline's ``model`` step), or ``{}`` for shuffled splits.
        """
        values = self.groups if self.kind == "group" else self.order if self.kind == "timeseries" else None
        if values is None:
            return {}
        key = "model__validation_groups" if self.kind == "group" else "model__validation_time"
        return {key: values if positions is None else values[positions]}


def resolve_kind(dataset: Dataset, cv_kind: str | None = None) -> str:
    """The kind of splits of a dataset (see the module docstring).

    Parameters
    ----------
    dataset : Dataset
    cv_kind : {"auto", "shuffled", "group", "timeseries"} or None, default=None
        None or "auto": "timeseries" when the dataset has a time column, "group" when it has
        groups, else "shuffled".

    Returns
    -------
    {"shuffled", "group", "timeseries"}

    Raises
    ------
    ValueError
        An unknown kind, "group" for a dataset without groups, or "timeseries" for one with
        groups.
    """
    if cv_kind in (None, "auto"):
        return "timeseries" if dataset.time is not None else "group" if dataset.groups is not None else "shuffled"
    if cv_kind not in KINDS:
        raise ValueError(f"cv_kind must be one of {list(CV_KINDS)}; got {cv_kind!r}. Fix --cv-kind.")
    if cv_kind == "group" and dataset.groups is None:
        raise ValueError(f"--cv-kind group needs groups, but dataset {dataset.name!r} has none; pass --groups COLUMN "
                         "with --data (groups in TOML or DataSource), or use another --cv-kind.")
    if cv_kind == "timeseries" and dataset.groups is not None:
        raise ValueError(f"--cv-kind timeseries on dataset {dataset.name!r}, which has groups "
                         f"({dataset.groups_name!r}); expected one of them: splits that are both grouped and "
                         "time-ordered are not supported. Remove --groups or use --cv-kind group.")
    return cv_kind


def make_splits(dataset: Dataset, cv: int = 5, test_size: float = 0.2, seed: int = 0, repeats: int = 1,
                kind: str | None = None, gap: int = 0) -> Splits:
    """The seeded hold-out split, then the shared folds on the training part.

    A dataset with its own ``test_index`` (e.g. Keras' ``mnist.npz``) keeps it as the hold-out.

    Parameters
    ----------
    dataset : Dataset
    cv : int, default=5
        Number of folds k.
    test_size : float, default=0.2
        Fraction of rows (of groups, for grouped splits) in the hold-out test split.
    seed : int, default=0
    repeats : int, default=1
        Repetitions r of the k-fold split with new shuffles (shuffled and grouped folds); the
        folds are numbered 0 .. k*r-1 (repeat = fold // k).
    kind : {"auto", "shuffled", "group", "timeseries"} or None, default=None
        See :func:`resolve_kind`.
    gap : int, default=0
        Time-ordered splits: distinct times left out between training and validation rows and
        before the hold-out test split (``TimeSeriesSplit(gap=...)``).

    Returns
    -------
    Splits

    Raises
    ------
    ValueError
        A class with fewer members than the stratified splits need, fewer groups than the
        folds need, too few distinct times for the folds and the gap (every time-ordered
        validation period needs :data:`study.folds.MIN_VALIDATION_ROWS` rows), a time-ordered hold-out
        test split or a fold's training rows holding a single class (classification: these
        splits cannot be stratified; rows sorted by class), ``repeats > 1`` with time-ordered
        splits, and the errors of :func:`resolve_kind`.
    """
    kind = resolve_kind(dataset, kind)
    if kind == "timeseries":
        return _time_splits(dataset, cv, test_size, seed, repeats, gap)
    if kind == "group":
        return _group_splits(dataset, cv, test_size, seed, repeats)
    classification = dataset.task == "classification"
    indices = np.arange(dataset.n_samples)
    if dataset.test_index is not None:  # the data's own test split (e.g. mnist.npz) is the hold-out
        test = np.sort(np.asarray(dataset.test_index))
        train = np.setdiff1d(indices, test)
    else:
        train, test = train_test_split(
            indices, test_size=test_size, random_state=seed, stratify=dataset.y if classification else None
        )
    if repeats > 1:
        splitter = (RepeatedStratifiedKFold if classification else RepeatedKFold)(
            n_splits=cv, n_repeats=repeats, random_state=seed)
    else:
        splitter = shuffled_folds(dataset.task, cv, seed)
    folds = [(fit, val) for fit, val in splitter.split(take_rows(dataset.X, train), dataset.y[train])]
    return Splits(train=train, test=test, folds=folds, n_splits=cv, task=dataset.task, seed=seed)


# --------------------------------------------------------------------------- grouped

def _group_splits(dataset: Dataset, cv: int, test_size: float, seed: int, repeats: int) -> Splits:
    groups, name, column = dataset.groups, dataset.name, dataset.groups_name or "groups"
    n_groups = len(np.unique(groups))
    classification = dataset.task == "classification"
    n_holdout = max(2, round(1 / test_size))
    needed = max(cv + 1, n_holdout if classification else 2)
    if n_groups < needed:
        raise ValueError(f"The groups column {column!r} of dataset {name!r} has {n_groups} distinct groups; grouped "
                         f"splits with {cv} folds and a hold-out test split need at least {needed} (one group per "
                         f"fold plus the hold-out's). Use fewer folds (--cv) or data with more groups.")
    indices = np.arange(dataset.n_samples)
    if dataset.test_index is not None:
        test = np.sort(np.asarray(dataset.test_index))
        train = np.setdiff1d(indices, test)
        shared = np.intersect1d(groups[train], groups[test])
        if len(shared):
            raise ValueError(f"The predefined test split of dataset {name!r} shares {len(shared)} groups of "
                             f"{column!r} with its training rows (e.g. {shared[0]!r}); expected each group on one "
                             "side. Remove --groups or rebuild the test split by group.")
    else:
        splitter = (StratifiedGroupKFold(n_splits=n_holdout, shuffle=True, random_state=seed) if classification
                    else GroupShuffleSplit(n_splits=1, test_size=test_size, random_state=seed))
        train, test = (np.sort(part) for part in next(splitter.split(indices, dataset.y, groups)))
    where = f"the training part of dataset {name!r} (groups column {column!r})"
    folds = group_folds(groups[train], dataset.y[train], cv, seed, repeats, dataset.task, where)
    return Splits(train=train, test=test, folds=folds, n_splits=cv, kind="group", task=dataset.task,
                  groups=groups[train], seed=seed)


# --------------------------------------------------------------------------- time-ordered

def _time_splits(dataset: Dataset, cv: int, test_size: float, seed: int, repeats: int, gap: int) -> Splits:
    name = dataset.name
    if repeats > 1:
        raise ValueError(f"repeats={repeats} draws the folds again with new shuffles, but the time-ordered folds of "
                         f"dataset {name!r} are the same every time; expected repeats=1. Remove --repeats.")
    n = dataset.n_samples
    times = dataset.time if dataset.time is not None else np.arange(n)
    order = np.argsort(times, kind="stable")
    if dataset.test_index is not None:
        in_test = np.isin(np.arange(n), dataset.test_index)
        train_mask = ~in_test
    else:
        cut = times[order[n - math.ceil(test_size * n)]]
        in_test = times >= cut
        earlier = np.unique(times[~in_test])
        if len(earlier) <= gap:
            raise ValueError(f"The latest {test_size:.0%} of the rows of dataset {name!r} leave "
                             f"{len(earlier)} earlier distinct times for training{f' (gap {gap})' if gap else ''}; "
                             "expected more. Use a smaller --test-size or --gap, or a time column with more distinct "
                             "values.")
        train_mask = times < earlier[len(earlier) - gap] if gap else ~in_test
    train, test = order[train_mask[order]], order[in_test[order]]
    column = f"time column {dataset.time_name!r}" if dataset.time_name else "row order"
    where = f"the training part of dataset {name!r} ({column})"
    folds = time_folds(times[train], cv, gap, where)
    if dataset.task == "classification":
        _check_time_classes(dataset, train, test, folds, column)
    return Splits(train=train, test=test, folds=folds, n_splits=cv, kind="timeseries", task=dataset.task,
                  order=times[train], gap=gap, seed=seed)


def _check_time_classes(dataset: Dataset, train: np.ndarray, test: np.ndarray, folds: list, column: str) -> None:
    """Time-ordered splits cannot be stratified: refuse a hold-out test split, or a fold's training
    rows, that hold a single class (every classifier fails to fit on one class, and one-class test
    scores mean nothing), as with rows sorted by class and ``--cv-kind timeseries``."""
    from study.data.targets import label_repr

    name, y = dataset.name, np.asarray(dataset.y)
    if dataset.time_name:
        fix = f"Use a larger --test-size, fewer folds (--cv), or check the time column {dataset.time_name!r}"
    else:
        fix = ("The rows look sorted by class, not by time: shuffle them and use --cv-kind shuffled, or pass --time "
               "with a real time column")
    classes = pd.unique(y[test])
    if len(classes) == 1:
        raise ValueError(f"The time-ordered hold-out test split of dataset {name!r} (the latest {len(test)} rows by "
                         f"{column}) holds a single class ({label_repr(classes[0])}); expected at least 2 classes, "
                         f"or the test scores mean nothing. {fix}.")
    for k, (fit, _) in enumerate(folds):
        classes = pd.unique(y[train[fit]])
        if len(classes) == 1:
            raise ValueError(f"The training rows of time-ordered fold {k} of dataset {name!r} (the earliest "
                             f"{len(fit)} rows by {column}) hold a single class ({label_repr(classes[0])}); expected "
                             f"at least 2 classes, since a classifier cannot be fitted on one. {fix}.")


def describe_splits(splits: Splits, dataset: Dataset) -> str | None:
    """The splits of a grouped or time-ordered dataset in words (for the report's protocol); None
    for shuffled splits (the protocol's general text describes them)."""
    from study.data.columns import time_text

    k, name = splits.n_splits, dataset.name
    if splits.kind == "group":
        column = dataset.groups_name or "groups"
        train_groups, test_groups = len(np.unique(splits.groups)), len(np.unique(dataset.groups[splits.test]))
        splitter = "StratifiedGroupKFold" if splits.task == "classification" else "GroupKFold"
        return (f"dataset {name!r}: grouped splits by {column!r}: the hold-out test split holds {test_groups} whole "
                f"groups ({len(splits.test)} rows), the training part {train_groups} ({len(splits.train)} rows), and "
                f"its {k} folds are {splitter} (shuffled, seed {splits.seed}): no group is on both sides of the "
                "hold-out split or of any fold.")
    if splits.kind == "timeseries":
        column = f"time column {dataset.time_name!r}" if dataset.time_name else "row order"
        times = dataset.time if dataset.time is not None else np.arange(dataset.n_samples)
        train, test = times[splits.train], times[splits.test]
        gap = (f", {splits.gap} distinct times left out before each validation period and the hold-out"
               if splits.gap else "")
        return (f"dataset {name!r}: time-ordered splits by {column}: training rows from {time_text(train.min())} to "
                f"{time_text(train.max())}, the hold-out test split the latest {len(splits.test)} rows (from "
                f"{time_text(test.min())} to {time_text(test.max())}); {k} TimeSeriesSplit folds (expanding window), "
                f"each validating on the period right after its training rows{gap}; nothing is shuffled.")
    return None
