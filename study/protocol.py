"""The protocol: one seeded hold-out split and shared folds per dataset, and the unit of work.

A unit of work tunes one model on one dataset with GridSearchCV over the shared folds, refits
the best candidate on the whole training part and scores it once on the hold-out test split.
The hold-out test rows are never passed to anything but that final scoring.
"""

from __future__ import annotations

import contextlib
import json
import warnings
from dataclasses import dataclass

import numpy as np
from joblib import parallel_config
from sklearn.base import clone
from sklearn.metrics import get_scorer
from sklearn.model_selection import (
    GridSearchCV,
    KFold,
    RepeatedKFold,
    RepeatedStratifiedKFold,
    StratifiedKFold,
    cross_validate,
    train_test_split,
)

from backends import get_model, make_estimator
from study.datasets import Dataset

__all__ = ["Splits", "make_splits", "take_rows", "scoring_for", "unit_settings", "fit_and_score"]

SCORING = {
    "classification": ("accuracy", "balanced_accuracy"),
    "regression": ("r2", "neg_root_mean_squared_error"),
}


@dataclass(frozen=True, eq=False)
class Splits:
    """The hold-out split and the shared CV folds of one dataset.

    Attributes
    ----------
    train : ndarray of int, shape (n_train,)
        Dataset row indices of the training part.
    test : ndarray of int, shape (n_test,)
        Dataset row indices of the untouched hold-out test split.
    folds : list of (ndarray, ndarray)
        (fit, validation) positions *into* ``train`` for each fold; the same for every model.
    n_splits : int
        k, the number of folds of one repetition (``len(folds) == k * repeats``).
    """

    train: np.ndarray
    test: np.ndarray
    folds: list
    n_splits: int


def make_splits(dataset: Dataset, cv: int = 5, test_size: float = 0.2, seed: int = 0, repeats: int = 1) -> Splits:
    """Seeded outer hold-out split, then k shuffled folds (r times) on the training part.

    Classification uses stratified splits (``train_test_split(stratify=y)``,
    ``StratifiedKFold`` / ``RepeatedStratifiedKFold``); regression plain shuffled ones. A
    dataset with its own ``test_index`` (e.g. Keras' ``mnist.npz``) keeps it as the hold-out.

    Parameters
    ----------
    dataset : Dataset
    cv : int, default=5
        Number of folds k.
    test_size : float, default=0.2
        Fraction of rows in the hold-out test split.
    seed : int, default=0
    repeats : int, default=1
        Number of repetitions r of the k-fold split with different shuffles; the folds are
        numbered 0 .. k*r-1 (repeat = fold // k).

    Returns
    -------
    Splits

    Raises
    ------
    ValueError
        If a class has fewer members than needed for the stratified splits.
    """
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
        splitter = _kfold(dataset.task, cv, seed)
    folds = [(fit, val) for fit, val in splitter.split(take_rows(dataset.X, train), dataset.y[train])]
    return Splits(train=train, test=test, folds=folds, n_splits=cv)


def _kfold(task: str, cv: int, seed: int):
    cls = StratifiedKFold if task == "classification" else KFold
    return cls(n_splits=cv, shuffle=True, random_state=seed)


def take_rows(X, rows: np.ndarray):
    """Rows of ``X`` by position: ndarray indexing or ``DataFrame.iloc``."""
    return X.iloc[rows] if hasattr(X, "iloc") else X[rows]


def scoring_for(task: str) -> tuple:
    """Metric names of a task, primary first (scikit-learn scorer names; higher is better)."""
    return SCORING[task]


def _cv_rows(search: GridSearchCV, splits: Splits, metrics: tuple) -> list:
    results, best = search.cv_results_, search.best_index_
    rows = []
    for k, (fit, val) in enumerate(splits.folds):
        for metric in metrics:
            for split, key, n_train, n_test in (
                ("train", "train", len(fit), len(fit)),
                ("validation", "test", len(fit), len(val)),
            ):
                score = float(results[f"split{k}_{key}_{metric}"][best])
                rows.append(dict(split=split, fold=k, metric=metric, score=score, n_train=n_train, n_test=n_test))
    return rows


def _test_rows(estimator, X_test, y_test, n_train: int, metrics: tuple) -> list:
    return [
        dict(split="test", fold=None, metric=m, score=float(get_scorer(m)(estimator, X_test, y_test)),
             n_train=n_train, n_test=len(y_test))
        for m in metrics
    ]


def unit_settings(model: str, quick: bool, grid: dict | None = None, params: dict | None = None) -> tuple:
    """The (grid, params) a unit uses: the given ones, else the registered (quick) ones."""
    spec = get_model(model)
    return (spec.grid_for(quick) if grid is None else dict(grid),
            (dict(spec.quick_params) if quick else {}) if params is None else dict(params))


def _backend(scheduler: str | None, X, y):
    if scheduler is None:
        return contextlib.nullcontext()
    return parallel_config(backend="dask", scatter=[X, y])


def _nested_rows(search: GridSearchCV, X, y, splits: Splits, metrics: tuple, task: str, seed: int) -> list:
    """Outer folds = the shared folds; inner = a fresh GridSearchCV with k seeded folds."""
    inner = clone(search).set_params(cv=_kfold(task, splits.n_splits, seed))
    scores = cross_validate(inner, X, y, cv=splits.folds, scoring=list(metrics), error_score="raise")
    return [
        dict(split="nested", fold=k, metric=m, score=float(scores[f"test_{m}"][k]),
             n_train=len(fit), n_test=len(val))
        for k, (fit, val) in enumerate(splits.folds)
        for m in metrics
    ]


def fit_and_score(
    dataset: Dataset,
    model: str,
    splits: Splits,
    *,
    seed: int = 0,
    quick: bool = False,
    n_jobs: int | None = None,
    nested: bool = False,
    grid: dict | None = None,
    params: dict | None = None,
    scheduler: str | None = None,
    metrics: tuple | None = None,
) -> dict:
    """The unit of work: tune ``model`` on ``dataset``'s training part, then test it once.

    Parameters
    ----------
    dataset : Dataset
    model : str
        Registered model name.
    splits : Splits
        From :func:`make_splits`; its folds are GridSearchCV's ``cv``.
    seed : int, default=0
        The model's ``random_state``.
    quick : bool, default=False
        Use the model's quick grid and quick parameters (when ``grid`` / ``params`` are None).
    n_jobs : int or None, default=None
        GridSearchCV's ``n_jobs``: candidates x folds fitted in parallel with joblib.
    nested : bool, default=False
        Also run nested cross-validation: the shared folds as outer folds, the same grid search
        with k seeded inner folds on each outer training part; adds "nested" rows. Source:
        Cawley & Talbot (2010), JMLR 11; scikit-learn's "Nested versus non-nested
        cross-validation" example.
    grid : dict or None, default=None
        GridSearchCV grid; default the registered grid (quick or full).
    params : dict or None, default=None
        Parameters set on the estimator before the search; default the registered quick
        parameters when ``quick``, else none.
    scheduler : str or None, default=None
        Address of a Dask distributed scheduler (a ``distributed.Client`` must be connected
        to it): the fits run there through joblib's Dask backend, with the training data
        scattered to the workers once per unit.
    metrics : tuple of str or None, default=None
        scikit-learn scorer names, primary first; default :func:`scoring_for` the task.

    Returns
    -------
    dict
        ``{"rows": [...], "predictions": [...]}``: tidy result rows (see ``study.results``)
        and the hold-out test predictions. A failure gives one row with status "failed"
        and the reason, plus a ``RuntimeWarning``; it never raises.
    """
    spec = get_model(model)
    metrics = tuple(metrics) if metrics else scoring_for(dataset.task)
    base = dict(dataset=dataset.name, model=model, framework=spec.framework)
    try:
        grid, params = unit_settings(model, quick, grid, params)
        estimator = make_estimator(model, dataset.task, random_state=seed, image_shape=dataset.image_shape, **params)
        search = GridSearchCV(
            estimator,
            grid,
            scoring=list(metrics),
            refit=metrics[0],
            cv=splits.folds,
            return_train_score=True,
            n_jobs=n_jobs,
            error_score="raise",
        )
        X_train, y_train = take_rows(dataset.X, splits.train), dataset.y[splits.train]
        X_test, y_test = take_rows(dataset.X, splits.test), dataset.y[splits.test]
        with _backend(scheduler, X_train, y_train):
            search.fit(X_train, y_train)
            nested_rows = _nested_rows(search, X_train, y_train, splits, metrics, dataset.task, seed) if nested else []
        rows = _cv_rows(search, splits, metrics) + _test_rows(search, X_test, y_test, len(y_train), metrics)
        rows += nested_rows
        unit = dict(best_params=json.dumps(search.best_params_, sort_keys=True), fit_time=search.refit_time_,
                    status="ok", error="")
        predictions = [dict(dataset=dataset.name, model=model, index=int(i), y_true=t, y_pred=p)
                       for i, t, p in zip(splits.test, y_test, search.predict(X_test))]
    except Exception as exc:  # a failing model is recorded, the study goes on
        reason = f"{type(exc).__name__}: {exc}"
        warnings.warn(f"{model} on {dataset.name} failed: {reason}", RuntimeWarning, stacklevel=2)
        rows = [dict(split=None, fold=None, metric=None, score=float("nan"), n_train=None, n_test=None)]
        unit = dict(best_params="", fit_time=float("nan"), status="failed", error=reason)
        predictions = []
    return {"rows": [{**base, **row, **unit} for row in rows], "predictions": predictions}
