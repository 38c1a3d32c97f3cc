"""The remaining time of a running study: the work items' predicted costs, corrected by the
seconds the finished ones took.

Every work item has a predicted cost (:attr:`study.execution.WorkItem.cost`, in arbitrary units:
the fits it makes, times a cost per fit from the model's framework and the dataset's rows; see
``study.plan``). The prediction orders the work; its scale, and how far it is off for a model or
a kind of work, are learned as items finish (only computed ones: not those loaded from the
store). An item's seconds per cost unit:

1. those of the finished items of its dataset, model and work (``WorkItem.work``: "unit",
   "nested", "learning_curves", ...);
2. else those of its dataset and model's unit, which finishes first (the main comparison runs
   first, ``study.execution``), times the work's factor: how much more or less a cost unit of
   this work takes than one of the unit: the median over the datasets and models of the same
   framework (``WorkItem.framework``) where both have finished, and a prior of 1 counted as one
   of them (the unit's predicted cost counts its extra work, ``study.plan.UNIT_FIT_COST``, and
   the experiments' their measured ``fit_weight``, so a cost unit of nested CV or the curves
   takes about as long as one of the unit). The prior keeps one outlier among few values from
   carrying the others: at 80% of one default study the scikit-learn validation curves had taken
   0.85 (random_forest, digits), 2.7 (logistic regression, breast_cancer) and 27 times (logistic
   regression, digits) their unit's rate; their median, 2.7, put the time left 18% too high
   there (40% in another run), the median with the prior, 1.9, 7%. The factor is not taken
   across frameworks: the unit's extra work (the permutation importance's predictions, the refit
   on the whole training part) weighs differently beside a Keras fit and a scikit-learn one. On
   an 8,000-row CSV, nested CV's factor was 1.71 for keras_dense and 1.03-1.22 for the
   scikit-learn models; keras_dense's, finishing first and applied to random_forest, put the
   time left 43% too high;
3. else, under a time budget, its dataset and model's unit's as the budget's pilot predicted it
   (``unit_rates``: one fit per model timed on a subsample before the work starts, ``study.pilot``),
   times the work's factor, so the time left is shown from the start (on a 2,000-row CSV with
   ``--time-budget 10m`` no work item had finished at a fifth of the run, 24 s of 118; on 50,000
   rows the first units take minutes);
4. else those of all its model's finished items, else those of all finished items.

Without any computed item and without the pilot's rates there is no estimate. The time left is the
predicted work not yet done, in seconds, shared by the workers: the items queued and not started,
what the running ones have left (their prediction minus the time they have run, at least nothing),
and the work expected but not queued yet (the diagnostics of units still running: the study's
forecast minus what was queued), at the scale of all finished items; under a time budget, at the
units' rates weighted by their costs, each measured once its unit finished, else as the pilot
predicted it, times the work's factor over all kinds of work (:meth:`RemainingTime.later_rate`):
early on, the finished items alone priced that work too low (the quick items finish first: on a
2,000-row CSV with ``--time-budget 10m``, at a fifth of the run the bar showed 60 s left where
112 s were) or far too high (a first Keras item carrying its worker's TensorFlow import: 443 s
where 134 s were). Divided by the number of workers, and never less than what the longest running
or queued item has left (the last item runs alone). Plus :attr:`RemainingTime.afterwards`, the
seconds the study takes after its last item, once known (the whole report: the time the first
report took, in this process beside the busy workers, over the number of workers, which draw the
last one's figures; ``study.execution``).
"""

from __future__ import annotations

import statistics
import time
from collections import defaultdict

__all__ = ["RemainingTime"]

UNIT = "unit"
"""``WorkItem.work`` of a unit (``study.records.WorkKind.UNIT``'s value)."""


class RemainingTime:
    """Estimate of a study's remaining wall time while it runs.

    Parameters
    ----------
    workers : int
        Work items that run at once (the worker processes; 1 in this process).
    expected_cost : float, default=0.0
        The predicted cost of the whole study, the work that finished items will add included
        (``study.plan.Plan.forecast``); the cost queued counts when it is larger.
    clock : callable, default=time.monotonic
        Seconds, for the running items' elapsed time.
    unit_rates : dict or None, default=None
        ``{(dataset, model): seconds per cost unit of its unit}`` as a time budget's pilot
        predicted them (``study.plan.Plan.unit_rates``; the module's rule 3).
    """

    def __init__(self, workers: int, expected_cost: float = 0.0, clock=time.monotonic, unit_rates: dict | None = None):
        self.workers = max(1, int(workers))
        self.expected = float(expected_cost)
        self.clock = clock
        self.queued_cost = 0.0
        self.waiting: dict = {}  # id(item) -> item: queued, not started
        self.running: dict = {}  # id(item) -> (item, start)
        self.measured = defaultdict(lambda: [0.0, 0.0])  # (dataset, model, work) -> [seconds, cost], computed items
        self.frameworks: dict = {}  # model -> its framework (WorkItem.framework)
        self.afterwards = 0.0  # seconds after the last item (the whole report), once known
        self.unit_rates = {key: rate for key, rate in (unit_rates or {}).items() if rate > 0}
        self.unit_costs: dict = {}  # (dataset, model) -> its unit's predicted cost, as queued

    def queue(self, items) -> None:
        """Work items were queued (``study.execution.WorkItem``: ``dataset``, ``model``, ``work``,
        ``cost``, ``framework``)."""
        for item in items:
            self.waiting[id(item)] = item
            self.queued_cost += item.cost
            self.frameworks[item.model] = item.framework
            if item.work == UNIT:
                self.unit_costs[item.dataset, item.model] = item.cost

    def start(self, item) -> None:
        """``item`` started computing now."""
        self.waiting.pop(id(item), None)
        self.running[id(item)] = (item, self.clock())

    def finish(self, item, seconds: float, computed: bool) -> None:
        """``item`` ended after ``seconds``; ``computed``: False when loaded from the store (or
        failed), whose seconds say nothing about the work left."""
        self.waiting.pop(id(item), None)
        self.running.pop(id(item), None)
        if computed and item.cost > 0:
            measured = self.measured[item.dataset, item.model, item.work]
            measured[0] += seconds
            measured[1] += item.cost

    def drop(self, item) -> None:
        """``item`` was queued and will not run (nor will what would have followed it)."""
        if self.waiting.pop(id(item), None) is not None:
            self.queued_cost -= item.cost
            self.expected -= item.cost

    def item_seconds(self, item) -> float | None:
        """Wall seconds ``item`` is expected to take (its cost scaled as in :meth:`seconds_left`);
        None while no item has been computed (and no pilot's rate)."""
        rates = self._rates()
        return None if rates is None else item.cost * self._scale(item, *rates)

    def _rates(self) -> tuple | None:
        """``_scale``'s measured rates ``(ratios, work factors, by model, over all)``; None while no
        item has been computed and the pilot predicted none (then over all: the pilot's median)."""
        models, scale = self._pooled()
        if scale is None and not self.unit_rates:
            return None
        if scale is None:
            scale = statistics.median(self.unit_rates.values())
        ratios = self._ratios()
        return ratios, self._work_factors(ratios), models, scale

    def _ratios(self) -> dict:
        """Seconds per cost unit by (dataset, model, work) measured."""
        return {key: seconds / cost for key, (seconds, cost) in self.measured.items() if cost > 0}

    def _work_factors(self, ratios: dict) -> dict:
        """(framework, work) -> the median of the work's seconds per cost unit over the unit's,
        over the datasets and models of that framework where both were measured, and 1 (the prior)."""
        by_work: dict = defaultdict(list)
        for key, relative in self._over_units(ratios):
            by_work[key].append(relative)
        return {key: statistics.median([*values, 1.0]) for key, values in by_work.items()}

    def _over_units(self, ratios: dict):
        """``((framework, work), rate / its unit's rate)`` of each measured work other than a unit
        whose dataset and model's unit was measured."""
        for (dataset, model, work), ratio in ratios.items():
            unit = ratios.get((dataset, model, UNIT))
            if work != UNIT and unit:
                yield (self.frameworks.get(model, ""), work), ratio / unit

    def _pooled(self) -> tuple:
        """Seconds per cost unit over all measured items: ``(by model, over all)`` (None: none)."""
        sums: dict = defaultdict(lambda: [0.0, 0.0])
        for (_, model, _), (seconds, cost) in self.measured.items():
            for key in (model, None):
                sums[key][0] += seconds
                sums[key][1] += cost
        scales = {key: seconds / cost for key, (seconds, cost) in sums.items() if cost > 0}
        return scales, scales.pop(None, None)

    def later_rate(self, ratios: dict, overall: float) -> float:
        """Seconds per cost unit of the work expected but not queued yet: ``overall`` (that of all
        finished items); under a time budget, the mean of the queued units' rates weighted by their
        costs, each unit's measured rate once it finished (``ratios``), else its pilot's, times
        the median of every measured work's rate over its unit's and a prior of 1 (the module's
        rule 2, over all frameworks and kinds of work: that work is the units' diagnostics)."""
        known = [(cost, ratios.get((dataset, model, UNIT), self.unit_rates.get((dataset, model))))
                 for (dataset, model), cost in self.unit_costs.items()] if self.unit_rates else []
        known = [(cost, rate) for cost, rate in known if rate is not None and cost > 0]
        total = sum(cost for cost, _ in known)
        if total == 0:
            return overall
        factors = [relative for _, relative in self._over_units(ratios)]
        return sum(cost * rate for cost, rate in known) / total * statistics.median([*factors, 1.0])

    def _scale(self, item, ratios: dict, factors: dict, models: dict, overall: float) -> float:
        """Seconds per cost unit of ``item`` (the module's rules 1-4)."""
        own = ratios.get((item.dataset, item.model, item.work))
        if own is not None:
            return own
        unit = ratios.get((item.dataset, item.model, UNIT), self.unit_rates.get((item.dataset, item.model)))
        if unit is not None:
            return unit * factors.get((item.framework, item.work), 1.0)
        return models.get(item.model, overall)

    def seconds_left(self) -> float | None:
        """Wall seconds left, estimated; None while no item has been computed (and no pilot's rate).

        Returns
        -------
        float or None
            Seconds (>= 0).
        """
        rates = self._rates()
        if rates is None:
            return None
        scale = rates[-1]
        now = self.clock()
        parts = [item.cost * self._scale(item, *rates) for item in self.waiting.values()]
        parts += [max(item.cost * self._scale(item, *rates) - (now - start), 0.0)
                  for item, start in self.running.values()]
        later = max(self.expected - self.queued_cost, 0.0) * self.later_rate(rates[0], scale)
        return max((sum(parts) + later) / self.workers, max(parts, default=0.0)) + self.afterwards
