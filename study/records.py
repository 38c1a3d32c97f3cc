"""The typed records passed between the study's modules: no dict read by string keys.

- :class:`UnitOutcome`: what a unit of work returns (``study.protocol.fit_and_score``), with its
  search's scores (:class:`SearchScores`, which alone builds the ``split{k}_{part}_{metric}``
  keys of scikit-learn's ``cv_results_``: :func:`split_key`) and what the search ran
  (:class:`SearchSummary`); :class:`InnerChoice`: what one of nested CV's inner searches chose.
- :class:`WorkKind`: what a work item is (``study.execution.WorkItem``), and the named
  arguments of each kind's function (:class:`UnitArguments`, :class:`NestedArguments`,
  :class:`ExperimentArguments`, :class:`DataCheckArguments`).

Every record pickles (the store keeps a unit's outcome; work items travel to worker processes),
and this module imports nothing heavy (a worker imports it before its set-up).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["split_key", "SearchScores", "SearchSummary", "UnitOutcome", "InnerChoice", "WorkKind",
           "UnitArguments", "NestedArguments", "ExperimentArguments", "DataCheckArguments"]

PARTS = ("train", "test")
"""The parts of a fold in ``cv_results_`` keys: the fold's training part, its validation part
("test" in scikit-learn's names)."""


def split_key(fold: int, part: str, metric: str) -> str:
    """The ``cv_results_`` key of one fold's scores: ``split{fold}_{part}_{metric}``.

    The one place the key format is written (scikit-learn builds the same keys in
    ``BaseSearchCV._format_results``).

    Parameters
    ----------
    fold : int
        The fold's index (0-based), as in the results table's ``fold``.
    part : {"train", "test"}
        The fold's training part, or its validation part (scikit-learn calls it "test").
    metric : str
        A scikit-learn scorer name, e.g. ``"accuracy"``.

    Returns
    -------
    str
        e.g. ``"split0_test_accuracy"``.

    Raises
    ------
    ValueError
        ``part`` is not "train" or "test".
    """
    if part not in PARTS:
        raise ValueError(f"part must be one of {list(PARTS)}, got {part!r}")
    return f"split{fold}_{part}_{metric}"


@dataclass(frozen=True)
class SearchScores:
    """A search's per-candidate, per-fold scores, what the experiments reuse of a unit's fits.

    Attributes
    ----------
    params : list of dict
        Every candidate's parameters (routed names), ``n_candidates`` of them; after a halving
        search only the chosen candidate's.
    scores : dict of str to list of float
        By :func:`split_key` (every fold, both parts, every metric): ``n_candidates`` scores,
        one per candidate, in the order of :attr:`params`.
    best : int
        The index of the chosen candidate in :attr:`params`.
    test : dict of str to float
        The chosen candidate's hold-out test score by metric (refit on the whole training part).
    """

    params: list
    scores: dict
    best: int
    test: dict

    @classmethod
    def from_cv_results(cls, cv_results, params: list, best: int, n_folds: int, metrics: tuple,
                        test: dict) -> SearchScores:
        """The record of a search's ``cv_results_`` (or of scores keyed the same way).

        Parameters
        ----------
        cv_results : mapping of str to array-like of shape (n_candidates,)
            Holds :func:`split_key` ``(k, part, metric)`` for every fold ``k < n_folds``, part
            and metric (e.g. a scikit-learn search's ``cv_results_``); other keys are ignored.
        params : list of dict
            The candidates' parameters, ``n_candidates`` of them.
        best : int
            The chosen candidate's index.
        n_folds : int
        metrics : tuple of str
        test : dict of str to float
            The chosen candidate's hold-out test scores by metric.

        Raises
        ------
        KeyError
            A fold, part or metric missing from ``cv_results``.
        """
        keys = [split_key(k, part, m) for k in range(n_folds) for part in PARTS for m in metrics]
        return cls(params=list(params), scores={key: [float(v) for v in cv_results[key]] for key in keys},
                   best=int(best), test=dict(test))

    @staticmethod
    def fold_results(result: dict, n_folds: int, metrics: tuple) -> dict:
        """``cv_results_``-like scores of one candidate from ``sklearn.model_selection.cross_validate``.

        Parameters
        ----------
        result : dict
            ``cross_validate``'s result with ``return_train_score=True`` and a list of metrics:
            ``train_<metric>`` and ``test_<metric>``, arrays of shape (n_folds,).
        n_folds : int
        metrics : tuple of str

        Returns
        -------
        dict of str to list of float
            By :func:`split_key`, a list of one score each (one candidate), for
            :meth:`from_cv_results`.
        """
        return {split_key(k, part, m): [float(result[f"{part}_{m}"][k])]
                for k in range(n_folds) for part in PARTS for m in metrics}

    def score(self, fold: int, part: str, metric: str, candidate: int) -> float:
        """One candidate's score on one fold's ``part`` ("train" or "test": validation)."""
        return self.scores[split_key(fold, part, metric)][candidate]

    def candidate(self, params: dict) -> int:
        """The index of the candidate with these parameters.

        Raises
        ------
        ValueError
            No candidate has them.
        """
        return self.params.index(params)


@dataclass(frozen=True)
class SearchSummary:
    """What a search ran, for the report's searches table.

    Attributes
    ----------
    search : str
        The scikit-learn class, e.g. ``"GridSearchCV"``.
    kind : str
        ``study.search.Search.kind``: "grid", "random" or "halving".
    rounds : list of tuple of (int, int or None)
        ``(candidates, rows)`` per round: one round with rows None, except for halving
        (``n_candidates_`` and ``n_resources_``: the rows of the training part subsampled in
        that round).
    n_candidates : int
        Candidates of the first round.
    n_fits : int
        Candidate fits on the folds, without the refit.
    """

    search: str
    kind: str
    rounds: list
    n_candidates: int
    n_fits: int


@dataclass(frozen=True, eq=False)
class UnitOutcome:
    """What a unit of work returns (``study.protocol.fit_and_score``).

    Attributes
    ----------
    rows : list of dict
        Tidy result rows without the unit's labels: ``split``, ``fold``, ``metric``, ``score``,
        ``n_train``, ``n_test`` (see ``study.results``); per fold the chosen candidate's train
        and validation scores, then the hold-out test scores.
    predictions : pandas.DataFrame of shape (n_test, n_columns)
        The hold-out rows: ``index``, ``y_true``, ``y_pred`` and the stored outputs of
        ``study.scoring.output_columns``.
    best_params : dict
        The search's choice (routed names to values).
    fit_time : float
        Seconds to refit it on the whole training part.
    search : SearchScores
        Every candidate's per-fold scores (after halving, the chosen candidate's only, fitted
        again on the whole of every fold), the chosen index and its hold-out test scores.
    summary : SearchSummary
        What the search ran.
    model : study.model_store.SavedModel
        The refit best estimator, packed in the worker (``study.model_store.keep``).
    importance : list of dict
        The permutation importance, one row per input column
        (``study.statistics.importance.importance_rows``); empty when not computed.
    """

    rows: list
    predictions: object
    best_params: dict
    fit_time: float
    search: SearchScores
    summary: SearchSummary
    model: object
    importance: list


@dataclass(frozen=True)
class InnerChoice:
    """What one of nested CV's inner searches chose on an outer fold (``study.protocol.inner_search``).

    Attributes
    ----------
    best_params : dict
        The inner search's choice (routed names).
    scores : dict of str to float or None, default=None
        The choice's outer validation score by metric, when the inner search fitted it itself
        (after halving); None: the unit's search holds it.
    """

    best_params: dict
    scores: dict | None = None


class WorkKind(StrEnum):
    """What a work item is; its value is the ``work`` column of the failures and timings tables
    (an experiment's own name stands there instead of "experiment")."""

    UNIT = "unit"
    """A dataset x model unit (``study.protocol.run_unit``)."""
    NESTED = "nested"
    """Nested CV's inner search on one outer fold (``study.protocol.inner_search``)."""
    EXPERIMENT = "experiment"
    """A diagnostic experiment on one model (``study.experiments``)."""
    DATA_CHECKS = "data_checks"
    """The checks of one dataset's data (``study.data_checks.run_data_checks``)."""


@dataclass(frozen=True, eq=False)
class UnitArguments:
    """The arguments of ``study.protocol.run_unit``, in its order.

    Attributes
    ----------
    job : study.protocol.Job
    search : study.search.Search
        The model's search.
    n_jobs : int or None
        The search's ``n_jobs``.
    """

    job: object
    search: object
    n_jobs: int | None


@dataclass(frozen=True, eq=False)
class NestedArguments:
    """The arguments of ``study.protocol.inner_search``, in its order.

    Attributes
    ----------
    job : study.protocol.Job
    search : study.search.Search
        The unit's search, run again inside the outer fold.
    outer_fold : int
        The outer fold (an index into the shared folds).
    """

    job: object
    search: object
    outer_fold: int


@dataclass(frozen=True, eq=False)
class ExperimentArguments:
    """The argument of an experiment's ``run``.

    Attributes
    ----------
    job : study.protocol.Job
        The model's job, with the unit's choice and search when the experiment follows it.
    """

    job: object


@dataclass(frozen=True, eq=False)
class DataCheckArguments:
    """The arguments of ``study.data_checks.run_data_checks``, in its order.

    Attributes
    ----------
    dataset : study.data.Dataset
    splits : study.splits.Splits
    metric : str
        The primary metric.
    """

    dataset: object
    splits: object
    metric: str
