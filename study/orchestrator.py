"""Run a study: spec -> datasets -> splits -> work items -> tidy tables.

The one orchestrator. Before any training it validates the spec, resolves the models to
:class:`backends.ModelSpec` objects, loads and checks every dataset, checks the metrics against
them and draws each dataset's splits once. Its plan (``study.plan``) holds the work: one unit per
dataset x model that applies (``study.protocol``) with its nested CV, and, as each unit finishes,
the diagnostics that follow it (``study.experiments``), all run by ``study.execution`` through
one store (``study.store``)
with one failure policy. Finally it assembles the tidy tables (``study.results``): the results,
the hold-out predictions, one table per experiment, the fit verdicts, per-class recall, the
failures and the timings.
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from dataclasses import dataclass, field, replace

import pandas as pd

from study.data import check_dataset, load_data
from study.budget import GROWTH, Deadline, FitSeconds, Reductions, choose, duration_text
from study.execution import FIRST, execute
from study.experiments import EXPERIMENTS
from study.plan import Plan, draw_splits
from study.progress import notebook_warnings
from study.protocol import nested_rows
from study.records import WorkKind
from study.results import (COLUMNS, DATA_CHECK_COLUMNS, FAILURE_COLUMNS, IMPORTANCE_COLUMNS, PREDICTION_COLUMNS,
                           SEARCH_COLUMNS, TABLES, TIMING_COLUMNS, frame)
from study.scoring import check_metrics
from study.splits import describe_splits
from study.spec import InputError, StudySpec
from study.statistics.threshold_curves import score_curves
from study.statistics.holdout import per_class_recall
from study.statistics.verdicts import verdict_table
from study.workers import Workers, n_workers, using
from study.store import Store

__all__ = ["StudyResult", "run_study", "prepare", "load_datasets", "draw_splits"]


@dataclass(frozen=True, eq=False)
class StudyResult:
    """What a study produced: its settings and its tidy tables.

    Attributes
    ----------
    spec : StudySpec
        The study that ran.
    results : pandas.DataFrame
        The tidy results table (columns ``study.results.COLUMNS``).
    predictions : pandas.DataFrame
        Hold-out test predictions and stored outputs (``study.results``).
    tables : dict of str to pandas.DataFrame
        Every other table, by name (``study.results.TABLES``): the experiments' tables (empty
        when the diagnostics did not run), "verdicts", "per_class_recall", "failures",
        "timings".
    notes : dict of str to tuple of str
        The notices about each dataset found before training (``Dataset.notes``: the detected
        task and why, dropped columns, ...), by dataset name; datasets without notes are left
        out.
    models : dict of (str, str) to study.model_store.SavedModel
        Each successful unit's refit best estimator, packed by the worker that fitted it, by
        ``(dataset, model)``; :meth:`best_estimator` rebuilds one, ``write_report`` stores them
        under ``models/<dataset>/<model>/``.
    protocols : dict of str to str
        The splits of each grouped or time-ordered dataset in words
        (``study.splits.describe_splits``), by dataset name; shuffled ones are left out.
    pending : tuple of str
        Empty for a finished study. The result ``run_study`` passes to its
        ``on_main_comparison`` (the main comparison, written first) names the work still
        running: "nested CV", "diagnostics"; its tables have none of their rows yet.
    budget : dict
        Under a time budget, what it reduced and the predictions behind it
        (``study.budget.Reductions.as_dict``, with ``lines``: the protocol's words); empty
        without one.
    """

    spec: StudySpec
    results: pd.DataFrame
    predictions: pd.DataFrame
    tables: dict = field(default_factory=dict)
    notes: dict = field(default_factory=dict)
    models: dict = field(default_factory=dict)
    protocols: dict = field(default_factory=dict)
    pending: tuple = ()
    budget: dict = field(default_factory=dict)

    @property
    def failed(self) -> pd.DataFrame:
        """Rows of the units that failed (empty when all succeeded)."""
        return self.results[self.results["status"] == "failed"]

    def best_estimator(self, dataset: str, model: str):
        """The refit best estimator of one unit, rebuilt in this process, ready to ``predict``.

        Parameters
        ----------
        dataset, model : str
            The unit's names, as in :attr:`results`.

        Returns
        -------
        study.stored_estimator.StoredEstimator
            The Pipeline GridSearchCV refit on the whole training part (its preprocessing
            fitted there), frozen as ``study.model_store.load_model`` returns it: it takes the dataset's
            feature columns, a DataFrame's by name in any order, an array's by position.

        Raises
        ------
        KeyError
            No successful unit of that name (the message lists the kept ones).
        ValueError
            The unit's estimator could not be kept (the reason), or cannot be rebuilt here.
        """
        if (dataset, model) not in self.models:
            kept = ", ".join(f"({d!r}, {m!r})" for d, m in self.models) or "none"
            raise KeyError(f"No kept model for dataset {dataset!r} and model {model!r}; the study kept: {kept}. "
                           "Only successful units keep their model.")
        return self.models[dataset, model].estimator()

    def __repr__(self) -> str:
        """A few lines, never the stored models' bytes: the datasets and models, the best model
        of each dataset by its CV score (the chance baseline excluded) and the failed units."""
        verdicts = self.tables.get("verdicts")
        best = [] if verdicts is None or verdicts.empty else [
            f"{dataset}: {name} (CV {rows.set_index('model').loc[name, 'validation_mean']:.3f})"
            for dataset, rows in verdicts.groupby("dataset", sort=False) for name in rows["best_model"].iloc[:1]]
        failed = self.failed[["dataset", "model"]].drop_duplicates()
        return (f"StudyResult(datasets={self.spec.dataset_names}, models={self.spec.model_names}, "
                f"best: {'; '.join(best) or 'none'}; failed units: {len(failed)}; tables: {sorted(self.tables)}; "
                "write_report(result, folder) writes the report)")

    def _repr_html_(self) -> str:
        """Jupyter's display: per dataset the side-by-side table and the gap figure."""
        from study.report.notebook import result_html

        return result_html(self)


def load_datasets(spec: StudySpec) -> list:
    """Load and check every dataset of the study (before any training).

    Raises
    ------
    ValueError
        The first bad dataset, with what was found, what was expected and how to fix it.
    """
    datasets = []
    for entry in spec.datasets:  # a bundled name or a DataSource
        datasets.append(check_dataset(load_data(entry), n_splits=spec.cv, test_size=spec.test_size))
    return datasets


def prepare(spec: StudySpec | None = None, datasets: list | None = None) -> tuple:
    """Everything that can be checked before any training.

    Returns
    -------
    (StudySpec, tuple of ModelSpec, list of Dataset)

    Raises
    ------
    InputError
        A bad spec, model, dataset or metric, with what was found, what was expected and how
        to fix it.
    """
    try:
        spec = _capped_workers((spec or StudySpec()).validate())
        models = spec.resolved_models()
        datasets = load_datasets(spec) if datasets is None else datasets
        check_metrics(spec.metrics, datasets)
        for model in models:
            notice = spec.search_for(model).notice(model.name)
            if notice:
                warnings.warn(notice, UserWarning, stacklevel=2)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    return spec, models, datasets


def _capped_workers(spec: StudySpec) -> StudySpec:
    """``n_jobs`` at most the cores this process may use (``study.workers.n_workers``: more
    workers would share them and use more memory), with a notice; the results do not depend on it."""
    cores = n_workers(spec.n_jobs)
    if spec.scheduler is None and spec.n_jobs > cores:
        warnings.warn(f"n_jobs={spec.n_jobs} is more than the {cores} cores this process may use: using {cores} "
                      "worker processes (more would only share the cores and take more memory).", UserWarning,
                      stacklevel=3)
        return replace(spec, n_jobs=cores)
    return spec


def _unit_rows(dataset, model, reason, outcome, nested: list, splits) -> list:
    base = dict(dataset=dataset.name, model=model.name, framework=model.framework)
    empty = dict(split=None, fold=None, metric=None, score=float("nan"), n_train=None, n_test=None,
                 best_params="", fit_time=float("nan"))
    if reason is not None:
        return [{**base, **empty, "status": "skipped", "error": reason}]
    if not outcome.ok:
        return [{**base, **empty, "status": "failed", "error": outcome.error}]
    unit = outcome.value
    labels = dict(best_params=json.dumps(unit.best_params, sort_keys=True, default=str),
                  fit_time=unit.fit_time, status="ok", error="")
    choices = {o.item.arguments.outer_fold: o.value for o in nested if o.ok}
    rows = unit.rows + nested_rows(unit.search, choices, splits, tuple(r["metric"] for r in unit.rows
                                                                       if r["split"] == "test"))
    return [{**base, **row, **labels} for row in rows]


def _search_rows(plan: Plan, units: dict) -> list:
    """One row per round of every successful unit's search (``protocol._search_summary``);
    ``units``: the units' outcomes by ``(dataset, model)``."""
    rows = []
    for dataset, model, _ in plan.pairs():
        outcome = units.get((dataset.name, model.name))
        summary = outcome.value.summary if outcome is not None and outcome.ok else None
        n_folds = len(plan.splits[dataset.name].folds)
        for i, (candidates, n_rows) in enumerate(summary.rounds if summary else []):
            rows.append(dict(dataset=dataset.name, model=model.name, search=summary.search, round=i,
                             candidates=candidates, rows=n_rows, fits=candidates * n_folds))
    return rows


def _tables(plan: Plan, outcomes: list) -> tuple:
    """The tidy tables, in report order whatever order the work finished in."""
    units = {(o.item.dataset, o.item.model): o for o in outcomes if o.item.kind is WorkKind.UNIT}
    rows, predictions, importance = [], [], []
    for dataset, model, reason in plan.pairs():
        outcome = units.get((dataset.name, model.name))
        nested = [o for o in outcomes if o.item.kind is WorkKind.NESTED and (o.item.dataset, o.item.model) == (
            dataset.name, model.name)]
        rows += _unit_rows(dataset, model, reason, outcome, nested, plan.splits[dataset.name])
        if outcome is not None and outcome.ok:
            predictions.append(outcome.value.predictions.assign(dataset=dataset.name, model=model.name))
            importance += [dict(dataset=dataset.name, model=model.name, **row) for row in outcome.value.importance]
    results = frame(rows, COLUMNS)
    predictions = pd.concat(predictions, ignore_index=True) if predictions else pd.DataFrame(columns=PREDICTION_COLUMNS)
    predictions = predictions[PREDICTION_COLUMNS + [c for c in predictions.columns if c not in PREDICTION_COLUMNS]]
    datasets = {d.name: i for i, d in enumerate([*plan.datasets])}
    models = {m.name: i for i, m in enumerate(plan.models)}
    order = sorted(outcomes, key=lambda o: (datasets.get(o.item.dataset, -1), models.get(o.item.model, -1),
                                          o.item.work, o.item.part, o.item.label))  # no model (data checks): -1, first
    tables = {e.name: frame([row for o in order if o.item.work == e.name and o.ok for row in o.value], e.columns)
              for e in EXPERIMENTS}
    # the parts of an experiment (Experiment.parts) that failed alike: one row
    tables["failures"] = frame([dict(dataset=o.item.dataset, model=o.item.model, work=o.item.work, error=o.error)
                                for o in order if not o.ok], FAILURE_COLUMNS).drop_duplicates(ignore_index=True)
    tables["timings"] = frame([dict(dataset=o.item.dataset, model=o.item.model, work=o.item.work, seconds=o.seconds,
                                    fits=o.fits) for o in order], TIMING_COLUMNS)
    tables["verdicts"] = (verdict_table(results, tables["learning_curves"], tables["validation_curves"],
                                        histories=tables["histories"], subsamples=plan.subsamples)
                          if (results["status"] == "ok").any() else frame([], TABLES["verdicts"]))
    names = {d.name: d.target_names for d in plan.datasets if d.target_names}
    classified = predictions[predictions["dataset"].isin([d.name for d in plan.datasets
                                                           if d.task == "classification"])]
    tables["per_class_recall"] = per_class_recall(classified, names)
    tables.update(score_curves(classified))
    tables["searches"] = frame(_search_rows(plan, units), SEARCH_COLUMNS)
    tables["importance"] = frame(importance, IMPORTANCE_COLUMNS)  # the units' permutation importance
    # a dataset's checks have no model: first of their dataset in order
    checks = [o for o in order if o.item.kind is WorkKind.DATA_CHECKS and o.ok]
    tables["data_checks"] = frame([row for o in checks for row in o.value], DATA_CHECK_COLUMNS)
    return results, predictions, {name: tables[name] for name in TABLES}


def _study_result(plan: Plan, outcomes: list, pending: tuple = ()) -> StudyResult:
    """The study's result from the outcomes of its work (``pending``: see :class:`StudyResult`;
    the outcomes of pending work are left out)."""
    if pending:
        outcomes = [o for o in outcomes if o.item.kind in FIRST]
    results, predictions, tables = _tables(plan, outcomes)
    models = {(o.item.dataset, o.item.model): o.value.model for o in outcomes
              if o.item.kind is WorkKind.UNIT and o.ok and o.value.model is not None}
    protocols = {d.name: describe_splits(plan.splits[d.name], d) for d in plan.datasets}
    return StudyResult(plan.spec, results, predictions, tables,
                       {d.name: tuple(d.notes) for d in plan.datasets if d.notes},
                       models={key: models[key] for key in ((d.name, m.name) for d, m, _ in plan.pairs())
                               if key in models},
                       protocols={name: text for name, text in protocols.items() if text}, pending=pending,
                       budget=_budget_record(plan.reductions))


def _budget_record(reductions: Reductions) -> dict:
    """What a time budget reduced, for the report and ``study.json`` (empty without a budget)."""
    return {} if reductions.budget is None else {**reductions.as_dict(), "lines": reductions.lines()}


def _reductions(plan: Plan, workers: Workers, started: float) -> Reductions:
    """What of ``plan`` fits in its spec's time budget (``study.budget``): every model timed on a
    subsample of each dataset it runs on (``study.pilot``, in the workers), then the least
    reduced study predicted to fit."""
    from study.pilot import pilot_sizes, time_fits

    initial = plan.initial()
    jobs = {}
    for item in initial:
        if item.kind is not WorkKind.DATA_CHECKS:
            jobs.setdefault((item.arguments.job.dataset.name, item.model), item.arguments.job)
    sizes = {key: pilot_sizes(len(job.splits.folds[0][0])) for key, job in jobs.items()}
    timed = workers.map(time_fits, [(job, sizes[key]) for key, job in jobs.items()], code=plan.code)
    seconds = {key: FitSeconds.from_pilot(sizes[key], t, 1.0 if jobs[key].keras else GROWTH) if t
               else FitSeconds(0.0, 0.0, 1) for key, t in zip(jobs, timed)}
    return choose(plan.planned(initial), seconds, budget=plan.spec.budget_seconds,
                  elapsed=time.monotonic() - started, workers=workers.processes,
                  n_folds={name: len(splits.folds) for name, splits in plan.splits.items()})


def _pending(spec: StudySpec, initial: list) -> tuple:
    """What still runs once the main comparison is done: nested CV and the diagnostics, when the
    study has them."""
    nested = any(item.kind is WorkKind.NESTED for item in initial)
    return (("nested CV",) if nested else ()) + (("diagnostics",) if spec.use_diagnostics else ())


@notebook_warnings()  # in a notebook: the study's warnings one line each, each once
def run_study(spec: StudySpec | None = None, *, datasets: list | None = None, progress: bool = True,
              workers: Workers | None = None, on_main_comparison=None) -> StudyResult:
    """Run every applicable dataset x model unit of a study on shared splits, and its diagnostics.

    Parameters
    ----------
    spec : StudySpec or None, default=None
        The study; ``None`` runs the default one.
    datasets : list of Dataset or None, default=None
        The spec's datasets already loaded by :func:`load_datasets` (so they are loaded once).
    progress : bool, default=True
        Show a progress bar over the work items.
    workers : study.workers.Workers or None, default=None
        Where the work runs (entered; the command line's, which it closes after the report); None:
        ``Workers.from_spec(spec)``, made here and closed when the study ends.
    on_main_comparison : callable or None, default=None
        ``on_main_comparison(result)``, called once, in this process, as soon as every unit and
        the data checks are done while nested CV or the diagnostics still have work to compute
        (they go on meanwhile): ``result`` is a :class:`StudyResult` of the main comparison,
        whose ``pending`` names what still runs (the command line writes it as a first report,
        replaced at the end). Not called when nothing is left to compute then. An exception it
        raises stops the study (as Ctrl-C does: what finished is stored).

    With ``spec.time_budget``, every model is first timed on a subsample of each dataset (in the
    workers), the diagnostics and nested CV are reduced until the study is predicted to fit, and
    while it runs, work outside the main comparison that would end past the budget is not
    started (``study.budget``); :attr:`StudyResult.budget` says what was reduced. The choice
    depends on the machine's speed at the time.

    Returns
    -------
    StudyResult
        Same seed, same tables: every split and model is seeded from ``spec.seed``, and the
        tables are in the spec's order whatever order the work finished in.

    Raises
    ------
    InputError
        If the spec, a model, a dataset or a metric is invalid (raised before any training).
    """
    started = time.monotonic()
    spec, models, datasets = prepare(spec, datasets)
    own = Workers.from_spec(spec) if workers is None else None
    plan = Plan(spec, models, datasets, search_n_jobs=(workers or own).search_n_jobs)  # the splits drawn (or refused)
    store = Store(spec.cache_dir)
    with using(workers, lambda: own) as workers:  # a scheduler is connected to only now
        if spec.time_budget is not None:
            if progress:  # the pilot takes seconds before the progress bar starts
                print(f"study: timing one fit per model for the time budget of {duration_text(spec.budget_seconds)}",
                      file=sys.stderr, flush=True)
            plan.reduce(_reductions(plan, workers, started))
        initial = plan.initial()
        first = None if on_main_comparison is None else (
            lambda so_far: on_main_comparison(_study_result(plan, so_far, _pending(spec, initial))))
        fits, cost = plan.forecast(initial)
        deadline = None if spec.time_budget is None else Deadline(started, spec.budget_seconds)
        outcomes = execute(initial, store=store, workers=workers, follow_up=plan.follow_up, progress=progress,
                           expected_fits=fits, expected_cost=cost, on_main_comparison=first, deadline=deadline,
                           unit_rates=plan.unit_rates(initial), code=plan.code)
    if deadline is not None and deadline.left_out:
        plan.reductions = replace(plan.reductions, left_out=tuple(deadline.left_out))
    return _study_result(plan, outcomes)
