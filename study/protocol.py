"""The protocol: one seeded hold-out split and shared folds per dataset, and the unit of work.

A unit of work tunes one estimator on one dataset with GridSearchCV over the shared folds,
refits the best candidate on the whole training part and scores it once on the hold-out test
split. The hold-out test rows are never passed to anything but that final scoring. Like
scikit-learn's ``_fit_and_score``, the unit takes an estimator object and returns a plain
record; the runner applies the one error policy (a raised exception becomes a recorded
failure).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.metrics import get_scorer
from sklearn.model_selection import (
    GridSearchCV,
    KFold,
    RepeatedKFold,
    RepeatedStratifiedKFold,
    StratifiedKFold,
    train_test_split,
)

from backends import ModelSpec
from backends.routing import route
from study.data import Dataset, take_rows
from study.saved import keep
from study.scoring import missing_responses, output_columns, response_methods

__all__ = ["Splits", "make_splits", "skip_reason", "Job", "fit_and_score", "run_unit", "inner_search", "nested_rows"]


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

    @property
    def first_repetition(self) -> list:
        """The first k folds (fold indices 0 .. k-1): the folds the diagnostics use."""
        return list(self.folds)[:self.n_splits]

    def training_part(self, dataset: Dataset):
        """``(X, y)`` of the training part."""
        return take_rows(dataset.X, self.train), dataset.y[self.train]

    def test_part(self, dataset: Dataset):
        """``(X, y)`` of the hold-out test split."""
        return take_rows(dataset.X, self.test), dataset.y[self.test]


def _kfold(task: str, cv: int, seed: int):
    cls = StratifiedKFold if task == "classification" else KFold
    return cls(n_splits=cv, shuffle=True, random_state=seed)


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


def skip_reason(model, dataset: Dataset, metrics: tuple) -> str | None:
    """Why a model does not run on a dataset, or None when it does: the one applicability rule.

    A model runs where it supports the dataset's task and image shape
    (``ModelSpec.supports``) and has a prediction method every metric needs
    (``ModelSpec.responses``; e.g. ``roc_auc_ovr`` needs ``predict_proba``).
    """
    if dataset.task not in model.tasks:
        return f"{model.name} does not apply to {dataset.task} (it supports {', '.join(model.tasks)})"
    if not model.supports(dataset.task, dataset.image_shape):
        return f"{model.name} needs image data; {dataset.name} is tabular"
    missing = missing_responses(model.responses, metrics) if dataset.task == "classification" else []
    if missing:
        return (f"{model.name} has no {' or '.join(response_methods(missing[0]))}, which the metric "
                f"{missing[0]} needs")
    return None


@dataclass(frozen=True, eq=False)
class Job:
    """One model on one dataset, with everything a worker needs to fit it: no name to look up.

    Attributes
    ----------
    dataset : Dataset
    splits : Splits
        The dataset's splits (computed once per dataset).
    model : ModelSpec
        The model's specification; :meth:`estimator` builds fresh estimators from it.
    metrics : tuple of str
        The study's metrics on this dataset, primary first.
    seed : int
    quick : bool
    params : dict, default={}
        Parameters chosen by the model's unit (routed names), for the experiments that follow it.
    options : dict, default={}
        An experiment's own settings for this model (e.g. the validation-curve sweeps).
    search : dict or None, default=None
        The unit's grid search (:func:`fit_and_score`'s ``search``), so that an experiment takes
        the scores of a fit the unit already made instead of making it again.
    """

    dataset: Dataset
    splits: Splits
    model: ModelSpec
    metrics: tuple
    seed: int
    quick: bool
    params: dict = field(default_factory=dict)
    options: dict = field(default_factory=dict)
    search: dict | None = None

    @property
    def metric(self) -> str:
        """The primary metric."""
        return self.metrics[0]

    @property
    def keras(self) -> bool:
        return self.model.framework == "keras"

    def estimator(self, **overrides):
        """A fresh estimator: the model's quick parameters (quick mode), then :attr:`params`,
        then ``overrides`` (routed or not), seeded with :attr:`seed`."""
        return self.model.estimator(self.dataset.task, random_state=self.seed, image_shape=self.dataset.image_shape,
                                    quick=self.quick, params={**self.params, **route(overrides)})

    def training_part(self):
        return self.splits.training_part(self.dataset)

    def test_part(self):
        return self.splits.test_part(self.dataset)


def _cv_rows(search: GridSearchCV, splits: Splits, metrics: tuple) -> list:
    results, best = search.cv_results_, search.best_index_
    rows = []
    for k, (fit, val) in enumerate(splits.folds):
        for metric in metrics:
            for split, key, n_test in (("train", "train", len(fit)), ("validation", "test", len(val))):
                score = float(results[f"split{k}_{key}_{metric}"][best])
                rows.append(dict(split=split, fold=k, metric=metric, score=score, n_train=len(fit), n_test=n_test))
    return rows


def _test_rows(estimator, X_test, y_test, n_train: int, metrics: tuple) -> list:
    return [dict(split="test", fold=None, metric=m, score=float(get_scorer(m)(estimator, X_test, y_test)),
                 n_train=n_train, n_test=len(y_test)) for m in metrics]


def inner_search(job: Job, grid: dict, fold: int) -> dict:
    """Nested cross-validation's inner search on one outer fold (a work item of its own).

    The outer folds are the shared folds; on outer fold ``fold``'s training part, the same grid
    search with k seeded inner folds chooses a candidate (by the primary metric). Its outer
    score is the unit's own fit of that candidate on that fold's training part, scored on the
    fold's validation part (the same data and parameters): :func:`nested_rows` takes it from
    the unit's search instead of fitting it again. Source: Cawley & Talbot (2010), JMLR 11;
    scikit-learn's "Nested versus non-nested cross-validation" example.

    Returns
    -------
    dict
        ``best_params``: the inner search's choice (routed names).
    """
    X, y = job.training_part()
    fit = job.splits.folds[fold][0]
    inner = GridSearchCV(job.estimator(), grid, scoring=job.metric, refit=False, error_score="raise",
                         cv=_kfold(job.dataset.task, job.splits.n_splits, job.seed))
    return {"best_params": dict(inner.fit(take_rows(X, fit), y[fit]).best_params_)}


def nested_rows(search: dict, choices: dict, splits: Splits, metrics: tuple) -> list:
    """The "nested" result rows: each outer fold's score of the candidate its inner search chose.

    Parameters
    ----------
    search : dict
        The unit's ``search`` record (:func:`fit_and_score`).
    choices : dict of int to dict
        ``{outer fold: inner search's best_params}`` (folds whose inner search failed are absent).
    splits : Splits
    metrics : tuple of str

    Returns
    -------
    list of dict
        Rows without the unit's labels, as :func:`fit_and_score`'s.
    """
    rows = []
    for k, params in sorted(choices.items()):
        chosen = search["params"].index(params)
        fit, val = splits.folds[k]
        rows += [dict(split="nested", fold=k, metric=m, score=search["scores"][f"split{k}_test_{m}"][chosen],
                      n_train=len(fit), n_test=len(val)) for m in metrics]
    return rows


def _search_record(search: GridSearchCV, n_folds: int, metrics: tuple, test_rows: list) -> dict:
    """What the experiments reuse of a grid search: every candidate's per-fold scores."""
    results = search.cv_results_
    scores = {f"split{k}_{part}_{m}": [float(v) for v in results[f"split{k}_{part}_{m}"]]
              for k in range(n_folds) for part in ("train", "test") for m in metrics}
    return dict(params=list(results["params"]), scores=scores, best=int(search.best_index_),
                test={row["metric"]: row["score"] for row in test_rows})


def _predictions(estimator, splits: Splits, X_test, y_test) -> pd.DataFrame:
    columns = {"index": splits.test.astype(int), "y_true": y_test, "y_pred": estimator.predict(X_test)}
    return pd.DataFrame({**columns, **output_columns(estimator, X_test)})


def fit_and_score(estimator, dataset: Dataset, splits: Splits, *, grid: dict, metrics: tuple,
                  n_jobs: int | None = None) -> dict:
    """The unit of work: tune ``estimator`` on ``dataset``'s training part, then test it once.

    Parameters
    ----------
    estimator : scikit-learn estimator
        Unfitted (cloned by GridSearchCV for every fit).
    dataset : Dataset
    splits : Splits
        From :func:`make_splits`; its folds are GridSearchCV's ``cv``.
    grid : dict of str to list
        GridSearchCV grid (routed keys); ``{}`` is a single candidate.
    metrics : tuple of str
        scikit-learn scorer names, primary first (GridSearchCV's ``refit``).
    n_jobs : int or None, default=None
        GridSearchCV's ``n_jobs``.

    Returns
    -------
    dict
        ``rows``: tidy result rows without the unit's labels (split, fold, metric, score,
        n_train, n_test; see ``study.results``); ``predictions``: a DataFrame of the hold-out
        rows (index, y_true, y_pred and the stored outputs of ``study.scoring.output_columns``);
        ``best_params``: GridSearchCV's choice (dict of routed names to values);
        ``fit_time``: seconds to refit it on the whole training part; ``search``: every
        candidate's parameters and per-fold train and validation scores, the chosen index and
        its hold-out test scores (for the experiments that follow the unit); ``model``: the
        refit best estimator as a :class:`study.saved.SavedModel` (bytes: the Keras networks
        saved at the end of the fit in Keras' format, never a TensorFlow object; see
        :func:`study.saved.keep`).

    Raises
    ------
    Exception
        Whatever the fit raises (GridSearchCV's ``error_score="raise"``): the runner records it.
    """
    search = GridSearchCV(estimator, grid, scoring=list(metrics), refit=metrics[0], cv=splits.folds,
                          return_train_score=True, n_jobs=n_jobs, error_score="raise")
    X_train, y_train = splits.training_part(dataset)
    X_test, y_test = splits.test_part(dataset)
    search.fit(X_train, y_train)
    test_rows = _test_rows(search, X_test, y_test, len(y_train), metrics)
    rows = _cv_rows(search, splits, metrics) + test_rows
    predictions = _predictions(search.best_estimator_, splits, X_test, y_test)
    record = _search_record(search, len(splits.folds), metrics, test_rows)
    best_params = dict(search.best_params_)
    model = keep(search.best_estimator_, dataset, best_params=best_params, scores=record["test"])
    return dict(rows=rows, predictions=predictions, best_params=best_params, fit_time=float(search.refit_time_),
                search=record, model=model)


def run_unit(job: Job, grid: dict, n_jobs: int | None = None) -> dict:
    """:func:`fit_and_score` of a fresh estimator of ``job.model`` (the runner's work function)."""
    return fit_and_score(job.estimator(), job.dataset, job.splits, grid=grid, metrics=job.metrics, n_jobs=n_jobs)
