"""The k folds of each kind, drawn inside a set of training rows: shuffled (stratified for
classification), grouped (each group on one side) and time-ordered (each fold validates on the
period right after its training rows), and a seeded subsample of them. ``study.splits`` draws a
dataset's splits with them, ``Splits.inner_folds`` nested CV's inner folds, and a time budget its
subsamples (``Splits.subsample``, ``study.pilot``)."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import (GroupKFold, KFold, StratifiedGroupKFold, StratifiedKFold, TimeSeriesSplit,
                                     train_test_split)
from sklearn.utils import check_random_state

__all__ = ["shuffled_folds", "group_folds", "time_folds", "needed_times", "subsample_positions", "MIN_VALIDATION_ROWS"]


def shuffled_folds(task: str, cv: int, seed: int):
    """The shuffled k-fold splitter: stratified for classification, seeded."""
    cls = StratifiedKFold if task == "classification" else KFold
    return cls(n_splits=cv, shuffle=True, random_state=seed)


def subsample_positions(y: np.ndarray, rows: int, seed: int, classification: bool) -> np.ndarray:
    """``rows`` positions into ``y``, sorted, seeded, stratified for classification when every class
    has enough members (else a plain seeded subsample); all of them when ``rows >= len(y)``."""
    positions = np.arange(len(y))
    if rows >= len(y):
        return positions
    try:
        keep = train_test_split(positions, train_size=rows, random_state=seed, stratify=y if classification else None)
    except ValueError:  # a class too small to stratify
        keep = train_test_split(positions, train_size=rows, random_state=seed)
    return np.sort(keep[0])


def group_folds(groups: np.ndarray, y: np.ndarray, k: int, seed: int, repeats: int, task: str, where: str) -> list:
    """``repeats`` x k grouped folds (``StratifiedGroupKFold`` for classification), each group on one
    side; ``where`` names the rows in the refusal (fewer groups than folds: ValueError)."""
    n_groups = len(np.unique(groups))
    if n_groups < k:
        raise ValueError(f"The training rows of {where} hold {n_groups} groups, fewer than the {k} folds; grouped "
                         "folds need at least one group per fold. Use fewer folds (--cv), data with more groups, "
                         "or --no-nested.")
    rng = check_random_state(seed)  # one random state for every repetition, as the Repeated* splitters
    cls = StratifiedGroupKFold if task == "classification" else GroupKFold
    folds = []
    for _ in range(repeats):
        folds += list(cls(n_splits=k, shuffle=True, random_state=rng).split(np.zeros(len(groups)), y, groups))
    return folds


MIN_VALIDATION_ROWS = 2
"""Rows a time-ordered validation period must hold: scores on one row are undefined (R^2) or
mean nothing (an accuracy of 0 or 1)."""


def needed_times(k: int, gap: int, per_fold: int = 1) -> int:
    """The fewest distinct times ``TimeSeriesSplit(k, gap=gap)`` can split: a validation period of
    ``n // (k + 1)`` times per fold, at least ``per_fold`` of them, and a first training period of
    at least one time."""
    n = per_fold * (k + 1)
    while n - gap - (n // (k + 1)) * k <= 0:
        n += 1
    return n


def time_folds(times: np.ndarray, k: int, gap: int, where: str) -> list:
    """``TimeSeriesSplit`` over the distinct times (rows sharing a time stay together)."""
    distinct, codes = np.unique(times, return_inverse=True)
    if len(distinct) < needed_times(k, gap):
        raise ValueError(f"The training rows of {where} have {len(distinct)} distinct times; {k} time-ordered folds"
                         f"{f' with a gap of {gap}' if gap else ''} need at least {needed_times(k, gap)}. Use fewer "
                         f"folds (--cv){', a smaller --gap' if gap else ''}, more data, or --no-nested.")
    folds = []
    for fit, val in TimeSeriesSplit(n_splits=k, gap=gap).split(distinct):
        folds.append((np.flatnonzero(np.isin(codes, fit)), np.flatnonzero(np.isin(codes, val))))
    smallest = min(len(val) for _, val in folds)
    if smallest < MIN_VALIDATION_ROWS:
        needed = needed_times(k, gap, MIN_VALIDATION_ROWS)
        fix = "more data, or --no-nested" if where == "an outer fold" else "a smaller --test-size, or more data"
        raise ValueError(f"The training rows of {where} have {len(distinct)} distinct times ({len(times)} rows): "
                         f"{k} time-ordered folds{f' with a gap of {gap}' if gap else ''} would validate the smallest "
                         f"on {smallest} row, and a fold needs at least {MIN_VALIDATION_ROWS} rows to be scored (R^2 "
                         f"is undefined on one); expected at least {needed} distinct times. Use fewer folds (--cv), "
                         f"{fix}.")
    return folds
