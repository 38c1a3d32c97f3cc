"""The protocol: the unit of work on a dataset's splits (``study.splits``), and nested CV.

A unit of work tunes one estimator on one dataset with its search (``study.search``: grid,
random or halving) over the shared folds, refits the best candidate on the whole training part
and scores it once on the hold-out test split. The hold-out test rows are never passed to
anything but that final scoring (and the permutation importance of that same refit model, which
scores it there with columns shuffled and chooses nothing). Like scikit-learn's
``_fit_and_score``, the unit takes an estimator object and returns a plain record; the runner
applies the one error policy (a raised exception becomes a recorded failure).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
from sklearn.base import clone
from sklearn.metrics import get_scorer
from sklearn.model_selection import cross_validate

from backends import ModelSpec
from backends.routing import route
from study.data import Dataset, take_rows
from study.records import InnerChoice, SearchScores, SearchSummary, UnitOutcome
from study.model_store import keep
from study.scoring import missing_responses, output_columns, response_methods
from study.search import Search, as_search
from study.splits import Splits, make_splits
from study.statistics.importance import feature_labels, importance_rows

__all__ = ["Splits", "make_splits", "skip_reason", "Job", "fit_and_score", "run_unit", "inner_search", "nested_rows"]


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
    search : SearchScores or None, default=None
        The unit's search scores (:attr:`UnitOutcome.search <study.records.UnitOutcome>`), so
        that an experiment takes the scores of a fit the unit already made instead of making it
        again.
    """

    dataset: Dataset
    splits: Splits
    model: ModelSpec
    metrics: tuple
    seed: int
    quick: bool
    params: dict = field(default_factory=dict)
    options: dict = field(default_factory=dict)
    search: SearchScores | None = None

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

    def fit_params(self, positions=None) -> dict:
        """Fit parameters of a fit on rows ``positions`` of the training part (None: all of it):
        for a Keras model on grouped or time-ordered splits, each row's group or time, so that
        its inner validation split (early stopping) is grouped or time-ordered too
        (:meth:`Splits.inner_validation`); ``{}`` otherwise. Searches and ``cross_validate``
        slice them per fold."""
        return self.splits.inner_validation(positions) if self.keras else {}

    def training_part(self):
        return self.splits.training_part(self.dataset)

    def test_part(self):
        return self.splits.test_part(self.dataset)


def _cv_rows(search: SearchScores, splits: Splits, metrics: tuple) -> list:
    """Per-fold train and validation rows of the chosen candidate (``search.best``)."""
    rows = []
    for k, (fit, val) in enumerate(splits.folds):
        for metric in metrics:
            for split, part, n_test in (("train", "train", len(fit)), ("validation", "test", len(val))):
                score = float(search.score(k, part, metric, search.best))
                rows.append(dict(split=split, fold=k, metric=metric, score=score, n_train=len(fit), n_test=n_test))
    return rows


def _test_rows(estimator, X_test, y_test, n_train: int, metrics: tuple) -> list:
    return [dict(split="test", fold=None, metric=m, score=float(get_scorer(m)(estimator, X_test, y_test)),
                 n_train=n_train, n_test=len(y_test)) for m in metrics]


def _fold_scores(estimator, X, y, folds: list, metrics: tuple, fit_params: dict) -> dict:
    """``cv_results_``-like per-fold scores of one candidate refitted on the whole of every fold
    (halving's last round may have used fewer rows, and it scores one metric)."""
    result = cross_validate(estimator, X, y, cv=folds, scoring=list(metrics), return_train_score=True,
                            error_score="raise", params=fit_params)
    return SearchScores.fold_results(result, len(folds), metrics)


def _search_summary(search, plan: Search, n_folds: int) -> SearchSummary:
    """What ran: the scikit-learn class, candidates and fits per round, for the report."""
    if plan.kind == "halving":
        rounds = [(int(c), int(r)) for c, r in zip(search.n_candidates_, search.n_resources_)]
    else:
        rounds = [(len(search.cv_results_["params"]), None)]
    return SearchSummary(search=type(search).__name__, kind=plan.kind, rounds=rounds, n_candidates=rounds[0][0],
                         n_fits=sum(c for c, _ in rounds) * n_folds)


def inner_search(job: Job, grid, fold: int) -> InnerChoice:
    """Nested cross-validation's inner search on one outer fold (a work item of its own).

    The outer folds are the shared folds; on outer fold ``fold``'s training part, the same search
    (``study.search``) on k inner folds of the same kind (:meth:`Splits.inner_folds`: grouped or
    time-ordered when the shared folds are) chooses a candidate by the primary metric. Its outer
    score is the unit's own fit of that candidate on that fold's training part, scored on the
    fold's validation part (the same data and parameters): :func:`nested_rows` takes it from the
    unit's search instead of fitting it again; after a halving search (whose unit keeps the scores
    of its chosen candidate only) it is fitted and scored here. Source: Cawley & Talbot (2010),
    JMLR 11; scikit-learn's "Nested versus non-nested cross-validation" example.

    Parameters
    ----------
    job : Job
    grid : dict or Search
        The unit's search (a grid: its grid search).
    fold : int
        The outer fold.

    Returns
    -------
    InnerChoice
        The inner search's choice; after halving also its outer validation scores.
    """
    plan = as_search(grid)
    X, y = job.training_part()
    fit, val = job.splits.folds[fold]
    inner = plan.build(job.estimator(), metrics=(job.metric,), cv=job.splits.inner_folds(fit, y[fit]), seed=job.seed,
                       refit=False, train_scores=False)
    best = dict(inner.fit(take_rows(X, fit), y[fit], **job.fit_params(fit)).best_params_)
    if plan.kind != "halving":
        return InnerChoice(best)
    model = clone(job.estimator()).set_params(**best).fit(take_rows(X, fit), y[fit], **job.fit_params(fit))
    X_val, y_val = take_rows(X, val), y[val]
    return InnerChoice(best, scores={m: float(get_scorer(m)(model, X_val, y_val)) for m in job.metrics})


def nested_rows(search: SearchScores, choices: dict, splits: Splits, metrics: tuple) -> list:
    """The "nested" result rows: each outer fold's score of the candidate its inner search chose.

    Parameters
    ----------
    search : SearchScores
        The unit's search scores (:attr:`UnitOutcome.search <study.records.UnitOutcome>`).
    choices : dict of int to InnerChoice
        ``{outer fold: inner search's choice}`` (:func:`inner_search`); folds whose inner
        search failed are absent.
    splits : Splits
    metrics : tuple of str

    Returns
    -------
    list of dict
        Rows without the unit's labels, as :func:`fit_and_score`'s.
    """
    rows = []
    for k, choice in sorted(choices.items()):
        scores = choice.scores
        fit, val = splits.folds[k]
        if scores is None:
            chosen = search.candidate(choice.best_params)
            scores = {m: search.score(k, "test", m, chosen) for m in metrics}
        rows += [dict(split="nested", fold=k, metric=m, score=scores[m], n_train=len(fit), n_test=len(val))
                 for m in metrics]
    return rows


def _predictions(estimator, splits: Splits, X_test, y_test) -> pd.DataFrame:
    columns = {"index": splits.test.astype(int), "y_true": y_test, "y_pred": estimator.predict(X_test)}
    return pd.DataFrame({**columns, **output_columns(estimator, X_test)})


def fit_and_score(estimator, dataset: Dataset, splits: Splits, *, grid=None, metrics: tuple,
                  n_jobs: int | None = None, fit_params: dict | None = None,
                  importance_seed: int | None = None) -> UnitOutcome:
    """The unit of work: tune ``estimator`` on ``dataset``'s training part, then test it once.

    Parameters
    ----------
    estimator : scikit-learn estimator
        Unfitted (cloned by the search for every fit).
    dataset : Dataset
    splits : Splits
        From :func:`make_splits`; its folds are the search's ``cv``.
    grid : dict of str to list, Search or None, default=None
        The search (``study.search.Search``), or a grid (routed keys) for a grid search;
        ``{}`` or None is a single candidate.
    metrics : tuple of str
        scikit-learn scorer names, primary first (the search's ``refit``).
    n_jobs : int or None, default=None
        The search's ``n_jobs``.
    fit_params : dict or None, default=None
        Parameters of ``fit``, one value per training row (sliced per fold), e.g.
        :meth:`Job.fit_params`.
    importance_seed : int or None, default=None
        Seed of the permutation importance of the refit best estimator on the hold-out test rows
        (primary metric; ``study.statistics.importance``); None: not computed (the chance
        baseline). It predicts n_features x ``N_REPEATS`` times and fits nothing.

    Returns
    -------
    UnitOutcome
        The tidy rows, hold-out predictions, the search's choice, its refit time, every
        candidate's per-fold scores (for the experiments that follow the unit; after halving,
        the chosen candidate's only, fitted again on the whole of every fold), what the search
        ran, the refit best estimator as a :class:`study.model_store.SavedModel` (bytes: the Keras
        networks saved at the end of the fit in Keras' format, never a TensorFlow object; see
        :func:`study.model_store.keep`) and the permutation importance (empty when
        ``importance_seed`` is None).

    Raises
    ------
    Exception
        Whatever the fit raises (``error_score="raise"``): the runner records it.
    """
    plan = as_search(grid or {})
    search = plan.build(estimator, metrics=metrics, cv=splits.folds, seed=splits.seed, n_jobs=n_jobs)
    X_train, y_train = splits.training_part(dataset)
    X_test, y_test = splits.test_part(dataset)
    fit_params = fit_params or {}
    search.fit(X_train, y_train, **fit_params)
    test_rows = _test_rows(search, X_test, y_test, len(y_train), metrics)
    if plan.kind == "halving":
        params, best = [dict(search.best_params_)], 0
        scores = _fold_scores(clone(estimator).set_params(**search.best_params_), X_train, y_train, splits.folds,
                              metrics, fit_params)
    else:
        params, best, scores = search.cv_results_["params"], search.best_index_, search.cv_results_
    record = SearchScores.from_cv_results(scores, params, best, len(splits.folds), metrics,
                                          test={row["metric"]: row["score"] for row in test_rows})
    rows = _cv_rows(record, splits, metrics) + test_rows
    predictions = _predictions(search.best_estimator_, splits, X_test, y_test)
    best_params = dict(search.best_params_)
    model = keep(search.best_estimator_, dataset, best_params=best_params, scores=record.test)
    importance = [] if importance_seed is None else importance_rows(
        search.best_estimator_, X_test, y_test, metric=metrics[0], feature_names=feature_labels(dataset),
        seed=importance_seed, signal=dataset.signal_features)
    return UnitOutcome(rows=rows, predictions=predictions, best_params=best_params, fit_time=float(search.refit_time_),
                       search=record, summary=_search_summary(search, plan, len(splits.folds)), model=model,
                       importance=importance)


def run_unit(job: Job, grid, n_jobs: int | None = None) -> UnitOutcome:
    """:func:`fit_and_score` of a fresh estimator of ``job.model`` (the runner's work function), with the
    permutation importance of its refit model seeded by the study's seed (none for the chance baseline)."""
    return fit_and_score(job.estimator(), job.dataset, job.splits, grid=grid, metrics=job.metrics, n_jobs=n_jobs,
                         fit_params=job.fit_params(), importance_seed=None if job.model.baseline else job.seed)
