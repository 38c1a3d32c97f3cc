"""The work of one study: its work items (units, nested CV's inner searches, diagnostics), in the
order they can run, and what each finished item lets start. ``study.orchestrator`` executes the plan
(``study.execution.execute``) and gathers its outcomes into tables."""

from __future__ import annotations

import warnings
from dataclasses import replace

from study.budget import DIAGNOSTIC_ROWS, UNIT_FITS, Planned, Reductions
from study.data_checks import LEAK_CANDIDATES, run_data_checks
from study.execution import WorkItem
from study.experiments import EXPERIMENTS, ClassImbalance
from study.protocol import Job, inner_search, make_splits, run_unit, skip_reason
from study.records import DataCheckArguments, ExperimentArguments, NestedArguments, UnitArguments, WorkKind
from study.scoring import study_metrics
from study.spec import InputError, StudySpec
from study.store import work_key
from study.user_code import user_modules

__all__ = ["Plan", "draw_splits"]


def draw_splits(spec: StudySpec, datasets: list) -> dict:
    """Each dataset's splits, drawn once (``study.splits.make_splits``), by dataset name.

    Raises
    ------
    InputError
        Splits that cannot be drawn (fewer groups or distinct times than the folds need, a
        ``cv_kind`` that does not fit a dataset, ...), before any training.
    """
    try:
        return {d.name: make_splits(d, spec.cv, spec.test_size, spec.seed, spec.repeats, kind=spec.cv_kind,
                                    gap=spec.gap) for d in datasets}
    except ValueError as exc:
        raise InputError(str(exc)) from None


def _builder_module(model) -> str:
    """The module whose code builds a model's estimator (part of its work's store key)."""
    builder = model.builder
    return builder.partition(":")[0] if isinstance(builder, str) else getattr(builder, "func", builder).__module__


UNIT_FIT_COST = 1.6
"""A unit's cost per fit over that of its nested CV and diagnostics: on top of its search a unit
refits on the whole training part, scores the hold-out test and computes permutation importance.
Measured on the default study (``timings.csv``, a unit's seconds per fit over its nested CV's, per
dataset and model): median 1.6 (1.0-3.5) since permutation importance predicts its shuffled copies
stacked (commit 2ee5943, 2026-12-07); 2.0 (1.3-4.5) before."""


def _fit_cost(model, dataset, splits=None) -> float:
    """Expected cost of one fit: Keras fits cost seconds of graph tracing however small the data,
    image models most; then larger datasets (``splits`` of a subsample: its share of the rows)."""
    weight = 40.0 if model.framework == "keras" else 1.0
    share = len(splits.train) / len(splits.whole.train) if splits is not None and splits.whole is not None else 1.0
    return weight * (2.0 if model.needs_image else 1.0) * (1.0 + share * dataset.n_samples / 1000)


def _can_subsample(splits, rows: int) -> bool:
    """Whether the diagnostics can fit on a subsample of ``rows`` rows of these splits' training part."""
    return splits.kind == "shuffled" and len(splits.train) > rows


def _fit_rows(splits, inner: bool = False) -> int:
    """Rows of a fit on a fold's fitting part (``inner``: of an inner fold inside it)."""
    rows = len(splits.folds[0][0])
    return rows * (splits.n_splits - 1) // splits.n_splits if inner else rows


def _subsample_rows(splits) -> int | None:
    """Rows of a fit on a fold of the diagnostics' subsample, or None when there is none."""
    if not _can_subsample(splits, DIAGNOSTIC_ROWS):
        return None
    return DIAGNOSTIC_ROWS * len(splits.folds[0][0]) // len(splits.train)


class Plan:
    """The work of one study: units and their nested CV first, each model's diagnostics as its unit
    finishes (``follow_up``); under a time budget, as its :attr:`reductions` leave it."""

    def __init__(self, spec: StudySpec, models: tuple, datasets: list, search_n_jobs: int = 1):
        self.spec, self.models, self.datasets = spec, models, datasets
        self.splits = draw_splits(spec, datasets)
        self.metrics = {d.name: study_metrics(spec.metrics, d.task) for d in datasets}
        self.search_n_jobs = search_n_jobs  # a unit's search: -1 on a Dask cluster (study.workers.Workers)
        self.code = user_modules(models)  # what a worker makes current before an item (study.user_code)
        self.reductions = Reductions()  # what a time budget reduced (study.budget): nothing, until reduce()
        self._subsamples: dict = {}
        self._parts_left: dict = {}  # (dataset, model, experiment) -> [parts not ended, (part, rows) of those ended]

    def reduce(self, reductions: Reductions) -> None:
        """Plan the work as ``reductions`` leave it (before :meth:`initial`)."""
        self.reductions, self._subsamples = reductions, {}

    def _diagnostic_splits(self, dataset, splits):
        """The splits the diagnostics fit on: a subsample's (``Splits.subsample``) when the
        reductions ask for one and the dataset has more rows (shuffled splits only), else ``splits``."""
        rows = self.reductions.diagnostic_rows
        if not rows or splits.whole is not None or not _can_subsample(splits, rows):
            return splits
        if dataset.name not in self._subsamples:
            self._subsamples[dataset.name] = splits.subsample(rows, dataset.y[splits.train])
        return self._subsamples[dataset.name]

    @property
    def subsamples(self) -> dict:
        """Training rows of the subsample each dataset's diagnostics fit on, by dataset name (those
        with one)."""
        return {name: len(splits.train) for name, splits in self._subsamples.items()}

    def _runs(self, experiment, job: Job) -> bool:
        """Whether ``experiment`` runs on ``job``'s model and dataset (it applies, and no budget left it out)."""
        return (experiment.name not in self.reductions.skipped
                and experiment.applies(job.model, job.dataset, self.spec.quick))

    def job(self, dataset, model, **extra) -> Job:
        return Job(dataset, self.splits[dataset.name], model, self.metrics[dataset.name], self.spec.seed,
                   self.spec.quick, **extra)

    def pairs(self):
        """(dataset, model, skip reason or None) in report order."""
        return [(d, m, skip_reason(m, d, self.metrics[d.name])) for d in self.datasets for m in self.models]

    def unit(self, dataset, model) -> WorkItem:
        job = self.job(dataset, model)
        grid = self.spec.search_for(model)
        n_fits = grid.planned_fits(len(job.splits.folds), len(job.splits.train)) + 1
        return WorkItem(f"{dataset.name} / {model.name}", WorkKind.UNIT, dataset.name, model.name,
                        UNIT_FIT_COST * _fit_cost(model, dataset) * n_fits, n_fits, run_unit,
                        UnitArguments(job, grid, self.search_n_jobs),
                        work_key(WorkKind.UNIT.value, ("study.protocol", _builder_module(model)), job, grid),
                        framework=model.framework)

    def nested(self, job: Job, grid, unit: str | None = None) -> list:
        """Nested CV's inner searches, one work item per outer fold (``protocol.inner_search``),
        queued beside the ``unit`` item of that label."""
        n_fits = grid.planned_fits(job.splits.n_splits, len(job.splits.train))
        modules = ("study.protocol", _builder_module(job.model))
        outer = len(job.splits.folds) if self.reductions.nested_folds is None else self.reductions.nested_folds
        return [WorkItem(f"{job.dataset.name} / {job.model.name} / nested fold {k}", WorkKind.NESTED,
                         job.dataset.name, job.model.name, _fit_cost(job.model, job.dataset) * n_fits, n_fits,
                         inner_search, NestedArguments(job, grid, k),
                         work_key(WorkKind.NESTED.value, modules, job, grid, k), beside=unit,
                         framework=job.model.framework)
                for k in range(min(outer, len(job.splits.folds)))]

    def experiment(self, experiment, job: Job, earlier: list | None = None) -> list:
        """The work items of ``experiment`` on ``job``'s model and dataset: one per part
        (``Experiment.parts``), each labelled with its part's name when there are several."""
        options = experiment.options(job.model)
        if experiment.after not in (None, WorkKind.UNIT):
            options["earlier"] = list(earlier or [])
        job = replace(job, options=options, splits=self._diagnostic_splits(job.dataset, job.splits))
        parts = experiment.parts(job)
        if len(parts) > 1:
            self._parts_left[(job.dataset.name, job.model.name, experiment.name)] = [len(parts), []]
        label = f"{job.dataset.name} / {job.model.name} / {experiment.name}"
        return [self._part(experiment, replace(job, options={**options, **extra}),
                           f"{label} ({name})" if len(parts) > 1 else label, index)
                for index, (name, extra) in enumerate(parts)]

    @staticmethod
    def _part(experiment, job: Job, label: str, index: int) -> WorkItem:
        n_fits = experiment.n_fits(job)
        key = work_key(experiment.name, (type(experiment).__module__, _builder_module(job.model)), job)
        return WorkItem(label, WorkKind.EXPERIMENT, job.dataset.name, job.model.name,
                        _fit_cost(job.model, job.dataset, job.splits) * n_fits * experiment.fit_weight, n_fits,
                        experiment.run, ExperimentArguments(job), key, experiment=experiment.name,
                        framework=job.model.framework, part=index)

    def _all_parts(self, outcome):
        """``(done, rows)`` of the experiment whose part ``outcome`` is: whether every part has
        ended, and the rows of those that succeeded, in part order (an experiment of one part: its own)."""
        item = outcome.item
        left = self._parts_left.get((item.dataset, item.model, item.work))
        if left is None:
            return True, list(outcome.value) if outcome.ok else []
        left[0] -= 1
        left[1].append((item.part, list(outcome.value) if outcome.ok else []))
        return left[0] == 0, [row for _, rows in sorted(left[1], key=lambda part: part[0]) for row in rows]

    def data_checks(self, dataset) -> WorkItem:
        """The checks of one dataset's data (``study.data_checks``): a work item with no model
        (``model`` is ""), stored and failing like any other; no counted fits (its one-feature
        trees are not the study's estimators). Its cost: one tree per feature (the screen) and one per
        fold of each of the ``LEAK_CANDIDATES`` best, a fiftieth of a model's fit each (measured: 0.35 s
        of CPU on digits, where a quick ridge unit takes about 2 s)."""
        splits = self.splits[dataset.name]
        metric = self.metrics[dataset.name][0]
        cost = 0.02 * (dataset.n_features + LEAK_CANDIDATES * splits.n_splits) * (1.0 + dataset.n_samples / 1000)
        return WorkItem(f"{dataset.name} / data checks", WorkKind.DATA_CHECKS, dataset.name, "", cost, 0,
                        run_data_checks, DataCheckArguments(dataset, splits, metric),
                        work_key(WorkKind.DATA_CHECKS.value, ("study.data_checks",), dataset, splits, metric))

    def initial(self) -> list:
        """The units, their nested CV's inner searches (which need nothing from the unit, so they
        start at once), the checks of each dataset's data, and the experiments that do not follow
        a unit."""
        items = []
        for dataset, model, reason in self.pairs():
            if reason is None:
                unit = self.unit(dataset, model)
                nested = (self.spec.use_nested and not model.baseline  # the baseline has nothing to tune
                          and self.reductions.nested_folds != 0)
                items += [unit] + (self.nested(unit.arguments.job, unit.arguments.search, unit.label) if nested else [])
        items += [self.data_checks(dataset) for dataset in self.datasets]
        if self.spec.use_diagnostics:
            items += self._study_level()
        return items

    def forecast(self, initial: list) -> tuple:
        """The fits and the predicted cost (:attr:`WorkItem.cost`) of the whole study: the
        ``initial`` items' and those of the diagnostics that will follow each unit (their items
        are made as :meth:`experiment` makes them); for the progress bar's count and its time
        left from the start.

        Returns
        -------
        (int, float)
        """
        fits, cost = sum(item.fits for item in initial), sum(item.cost for item in initial)
        for job, experiment, n_fits in self._following(initial):
            fits += n_fits
            cost += _fit_cost(job.model, job.dataset, job.splits) * n_fits * experiment.fit_weight
        return fits, cost

    def unit_rates(self, initial: list) -> dict:
        """Each unit's seconds per cost unit as a time budget's pilot predicted them: its fits
        (``study.budget.UNIT_FITS`` each) times one fit's seconds on a fold's rows, over its
        cost; empty without a budget. For the time left from the start (``study.remaining``).

        Returns
        -------
        dict of (str, str) to float
            ``{(dataset, model): seconds per cost unit}``.
        """
        units = [(item, self.reductions.fit_seconds_of(item.dataset, item.model)) for item in initial
                 if item.kind is WorkKind.UNIT and item.cost > 0]
        return {(item.dataset, item.model): item.fits * UNIT_FITS * seconds / item.cost
                for item, seconds in units if seconds is not None}

    def _following(self, initial: list):
        """``(job, experiment, fits)`` of each diagnostic that will follow a unit of ``initial``
        (the job as the experiment will have it: its splits a subsample's under a budget)."""
        if not self.spec.use_diagnostics:
            return
        for item in initial:
            job = item.arguments.job if item.kind is WorkKind.UNIT else None
            if job is None or job.model.baseline:
                continue
            for e in EXPERIMENTS:
                if e.after is not None and self._runs(e, job):
                    planned = replace(job, options=e.options(job.model),
                                      splits=self._diagnostic_splits(job.dataset, job.splits))
                    yield planned, e, e.n_fits(planned)

    def planned(self, initial: list) -> list:
        """The study's work as a time budget weighs it (``study.budget.choose``): the ``initial``
        items (the data checks left out: a fiftieth of a fit each) and the diagnostics that will
        follow the units, as the plan stands before any reduction.

        Returns
        -------
        list of study.budget.Planned
            Fits weighted as the items' costs are (a unit's: ``study.budget.UNIT_FITS`` each, its
            fixed costs being the pilot's); rows: a fold's fitting part (nested CV: an
            inner fold's); ``subsample``: a fold's fitting part of the diagnostics' subsample,
            where the dataset can have one.
        """
        work = []
        for item in initial:
            if item.kind is WorkKind.DATA_CHECKS:
                continue
            job = item.arguments.job
            inner = item.kind is WorkKind.NESTED
            fits = item.fits * UNIT_FITS if item.kind is WorkKind.UNIT else item.cost / _fit_cost(job.model, job.dataset)
            work.append(Planned(item.dataset, item.model, item.work, fits, _fit_rows(job.splits, inner),
                                None if inner else _subsample_rows(job.splits)))
        for job, experiment, n_fits in self._following(initial):
            work.append(Planned(job.dataset.name, job.model.name, experiment.name, n_fits * experiment.fit_weight,
                                _fit_rows(job.splits), _subsample_rows(job.splits)))
        return work

    def _study_level(self) -> list:
        imbalanced = ClassImbalance.study_dataset(self.datasets, self.spec.seed)
        if imbalanced is None:
            return []
        try:
            splits = make_splits(imbalanced, self.spec.cv, self.spec.test_size, self.spec.seed, kind=self.spec.cv_kind,
                                 gap=self.spec.gap)
        except ValueError as exc:
            warnings.warn(f"the class-imbalance experiment is left out: {exc}", UserWarning, stacklevel=2)
            return []
        metrics = study_metrics(None, imbalanced.task)
        jobs = [Job(imbalanced, splits, m, metrics, self.spec.seed, self.spec.quick) for m in self.models
                if skip_reason(m, imbalanced, metrics) is None]
        return [item for e in EXPERIMENTS if e.after is None for job in jobs if self._runs(e, job)
                for item in self.experiment(e, job)]

    def _waits_for(self, experiment, job: Job) -> str:
        """What ``experiment`` waits for on ``job``'s model, as :attr:`WorkItem.work` names it:
        the unit (``WorkKind.UNIT``), or an experiment that applies."""
        earlier = next((e for e in EXPERIMENTS if e.name == experiment.after), None)
        if earlier is None or not self._runs(earlier, job):
            return WorkKind.UNIT
        return earlier.name

    def follow_up(self, outcome) -> list:
        """The work that was waiting for this outcome (when the study runs diagnostics): after a
        successful unit, the diagnostics that follow the unit; after an experiment, those that
        follow it."""
        item = outcome.item
        unit = item.kind is WorkKind.UNIT
        if (not self.spec.use_diagnostics or item.kind in (WorkKind.NESTED, WorkKind.DATA_CHECKS)  # checks: no model
                or (unit and not outcome.ok)):
            return []
        job = item.arguments.job
        if job.model.baseline:  # the chance baseline: a reference, not a model to diagnose
            return []
        if unit:
            job = replace(job, params=outcome.value.best_params, search=outcome.value.search)
        elif job.dataset.name not in self.splits:  # a study-level experiment (e.g. class imbalance)
            return []
        earlier = []
        if not unit:
            done, earlier = self._all_parts(outcome)
            if not done:  # the experiments that wait for this one wait for all its parts
                return []
        return [following for e in EXPERIMENTS
                if e.after is not None and self._runs(e, job) and self._waits_for(e, job) == item.work
                for following in self.experiment(e, job, earlier)]
