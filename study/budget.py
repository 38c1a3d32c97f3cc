"""A time budget (``--time-budget 10m``): what of a study fits in it, chosen before the work starts.

The main comparison (every unit and the checks of the data) always runs. From the seconds of one
model's fit, measured on a subsample of each dataset (``study.pilot``) and scaled to the rows each
work item fits on, the whole study's wall time is predicted; when it is more than the budget, the
work is reduced step by step, each step keeping more of the study than the next, until the
prediction fits (:data:`STEPS`):

1. the diagnostics (learning and validation curves, Keras histories, the ablation, class
   imbalance) on a stratified subsample of :data:`DIAGNOSTIC_ROWS` rows of the training part
   (datasets with shuffled splits and more training rows than that); the learning curve keeps
   the unit's own fits on the whole folds as its last point;
2. nested CV on the first :data:`NESTED_FOLDS` outer folds instead of all k;
3. the regularization ablation left out;
4. nested CV left out;
5. every diagnostic left out.

The report's protocol section and ``study.json`` say what was reduced, and the predictions
behind it (:meth:`Reductions.lines`). This module is plain Python (the command line parses
``--time-budget`` before importing anything heavy).
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field, replace

__all__ = ["parse_duration", "duration_text", "Reductions", "Planned", "FitSeconds", "Deadline", "choose",
           "DIAGNOSTIC_ROWS", "REPORT_SECONDS",
           "NESTED_FOLDS", "MARGIN", "GROWTH", "UNIT_FITS", "STEPS"]

DIAGNOSTIC_ROWS = 5_000
"""Training rows the diagnostics are fitted on under a budget that needs it (step 1)."""
NESTED_FOLDS = 3
"""Outer folds of a reduced nested CV (step 2)."""
MARGIN = 0.85
"""Share of the budget the predicted work may fill: the predictions are rough (``benchmarks/eta.py``
measured -17% to +45% on a CSV), and the reports are drawn after the work."""
GROWTH = 1.1
"""A scikit-learn fit's seconds grow as rows ** GROWTH beyond the pilot's rows (measured on
``make_classification`` CSVs of 2,000 and 8,000 rows with the default models: CPU ~ rows ** 1.0-1.1;
a random forest's trees grow as n log n). A Keras fit's grow linearly: a fixed number of epochs of
rows / batch size steps each."""
UNIT_FITS = 1.15
"""A unit's seconds per fit of its search, over one fit's: its refit on the whole training part
(1.25 times a fold's rows, one fit among the search's 10-30) and its permutation importance
(predictions only). On a 50,000-row CSV the random forest's unit took 439 s for 30 search fits and
the refit, 1.2 times its pilot's prediction for 31 fits."""
REPORT_SECONDS = 30.0
"""Seconds kept for the last report at the end of a budget (:class:`Deadline`): on a 50,000-row CSV
its tables and figures took 7 s after the last work item."""
STEPS = ("diagnostics on a subsample", "nested CV on fewer outer folds", "ablation left out", "nested CV left out",
         "diagnostics left out")
"""The reductions, in the order they are taken."""
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([smh]?)\s*$", re.IGNORECASE)


def parse_duration(text) -> float:
    """Seconds of a duration: ``"10m"``, ``"90s"``, ``"1.5h"``, or a number of seconds.

    Parameters
    ----------
    text : str, int or float

    Returns
    -------
    float
        Seconds, positive and finite.

    Raises
    ------
    ValueError
        Not such a duration, or not positive (what was found, what is expected).
    """
    if isinstance(text, bool):
        match, seconds = None, None
    elif isinstance(text, (int, float)):
        match, seconds = True, float(text)
    else:
        match = _DURATION.match(str(text))
        seconds = float(match.group(1)) * _UNITS[match.group(2).lower() or "s"] if match else None
    if not match or not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"A time budget must be a positive duration such as 10m, 90s or 1.5h (s, m or h; a bare "
                         f"number is seconds); got {text!r}.")
    return seconds


def duration_text(seconds: float) -> str:
    """``"45 s"``, ``"12 min"``, ``"1 h 05 min"`` (rounded to the second or the minute)."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


@dataclass(frozen=True)
class FitSeconds:
    """Seconds of one fit of a model on a dataset, by rows: ``intercept + per_row * rows`` up to
    the pilot's rows, growing as rows ** :data:`GROWTH` beyond.

    Attributes
    ----------
    intercept : float
        Seconds of a fit however few its rows (Keras: tracing its graphs).
    per_row : float
        Seconds per row (training examples) up to ``rows``.
    rows : int
        The pilot's largest fit.
    growth : float, default=GROWTH
        Exponent of the growth beyond ``rows`` (1.0 for Keras models).
    """

    intercept: float
    per_row: float
    rows: int
    growth: float = GROWTH

    @classmethod
    def from_pilot(cls, sizes: tuple, seconds: tuple, growth: float = GROWTH) -> "FitSeconds":
        """From two timed fits ``(small, large)`` of ``sizes`` rows (both non-negative slopes)."""
        (n1, n2), (t1, t2) = sizes, seconds
        per_row = max((t2 - t1) / (n2 - n1), 0.0) if n2 > n1 else 0.0
        return cls(max(t2 - per_row * n2, 0.0), per_row, int(n2), growth)

    def __call__(self, rows: float) -> float:
        scale = (rows / self.rows) ** self.growth * self.rows if rows > self.rows else rows
        return self.intercept + self.per_row * scale


@dataclass(frozen=True)
class Planned:
    """One work item as the budget sees it.

    Attributes
    ----------
    dataset, model : str
    work : str
        "unit", "nested" or an experiment's name (``WorkItem.work``).
    fits : float
        Its fits, weighted as its cost is (``WorkItem.cost`` over the model's cost of one fit).
    rows : int
        Training rows of each fit (a fold's fitting part).
    subsample : int or None, default=None
        Rows of each fit when the diagnostics are on a subsample (experiments of datasets that can
        have one; None: they cannot).
    """

    dataset: str
    model: str
    work: str
    fits: float
    rows: int
    subsample: int | None = None


@dataclass(frozen=True)
class Reductions:
    """What a time budget left out or reduced (the default: nothing).

    Attributes
    ----------
    budget : float or None
        The budget in seconds (None: no budget).
    diagnostic_rows : int or None
        Training rows of the diagnostics' subsample (None: the whole training part).
    nested_folds : int or None
        Outer folds of nested CV (None: all of them; 0: nested CV left out).
    skipped : tuple of str
        Experiments left out (their names).
    predicted : float
        Predicted seconds of the study as reduced (wall, with its workers).
    unreduced : float
        Predicted seconds of the whole study.
    elapsed : float
        Seconds already gone when the choice was made (loading the data, the pilot).
    steps : tuple of str
        The steps taken (:data:`STEPS`).
    left_out : tuple of str
        Labels of the work items not started because the time ran out (:class:`Deadline`).
    fit_seconds : dict
        ``{"dataset / model": predicted seconds of one fit on a fold's rows}``, for the record.
    """

    budget: float | None = None
    diagnostic_rows: int | None = None
    nested_folds: int | None = None
    skipped: tuple = ()
    predicted: float = 0.0
    unreduced: float = 0.0
    elapsed: float = 0.0
    steps: tuple = ()
    left_out: tuple = ()
    fit_seconds: dict = field(default_factory=dict)

    def fit_seconds_of(self, dataset: str, model: str) -> float | None:
        """The predicted seconds of one of ``model``'s fits on a fold's rows of ``dataset``
        (:attr:`fit_seconds`); None when not predicted (no budget)."""
        return self.fit_seconds.get(_pair(dataset, model))

    @property
    def over(self) -> bool:
        """Whether the prediction exceeds the budget even after every step."""
        return self.budget is not None and self.elapsed + self.predicted > self.budget

    def lines(self) -> list:
        """What was reduced and why, in words (the report's protocol section, after "time budget
        10 min:")."""
        if self.budget is None:
            return []
        head = (f"the whole study was predicted to take "
                f"{duration_text(self.elapsed + self.unreduced)} (from each model's fits timed on a subsample, "
                f"scaled to each work item's rows; {duration_text(self.elapsed)} of loading and timing included)")
        late = (f" When the time ran out, {len(self.left_out)} work item(s) were not started: "
                f"{', '.join(self.left_out)}." if self.left_out else "")
        if not self.steps and self.over:
            return [head + ", over the budget: only the main comparison runs, and it is not reduced." + late]
        if not self.steps:
            return [head + ", within the budget: nothing was reduced." + late]
        superseded = {STEPS[3]: (STEPS[1],), STEPS[4]: (STEPS[0], STEPS[2])}  # a later step covers them
        covered = {step for later in self.steps for step in superseded.get(later, ())}
        done = [self._words(step) for step in self.steps if step not in covered]
        after = (f"still predicted at {duration_text(self.elapsed + self.predicted)}, over the budget: the main "
                 "comparison itself is not reduced" if self.over else
                 f"predicted then at {duration_text(self.elapsed + self.predicted)}")
        return [head + "; so " + "; ".join(done) + f" ({after})." + late]

    def _words(self, step: str) -> str:
        if step == STEPS[0]:
            return (f"the diagnostics were fitted on a stratified subsample of {self.diagnostic_rows:,} training rows "
                    "(datasets with more; the learning curve's last point is the unit's own fits on the whole folds)")
        return {STEPS[1]: f"nested CV ran on the first {self.nested_folds} outer folds only",
                STEPS[2]: "the regularization ablation was left out",
                STEPS[3]: "nested CV was left out",
                STEPS[4]: "every diagnostic was left out"}[step]

    def as_dict(self) -> dict:
        """Plain values for ``study.json``."""
        return dict(budget_seconds=self.budget, predicted_seconds=round(self.elapsed + self.predicted, 1),
                    unreduced_seconds=round(self.elapsed + self.unreduced, 1), steps=list(self.steps),
                    diagnostic_rows=self.diagnostic_rows, nested_folds=self.nested_folds,
                    skipped=list(self.skipped), left_out=list(self.left_out),
                    fit_seconds={k: round(v, 3) for k, v in self.fit_seconds.items()})


class Deadline:
    """When a study under a time budget must have started its last work item (a small hook object
    of ``study.execution.execute``): the predictions behind :func:`choose` are rough, so while
    the study runs, a work item outside the main comparison that is predicted to end after the
    deadline is not started, and its label is kept in :attr:`left_out`.

    Parameters
    ----------
    started : float
        ``clock()`` when the study started.
    budget : float
        Seconds; the deadline is :data:`REPORT_SECONDS` before its end.
    clock : callable, default=time.monotonic
    """

    def __init__(self, started: float, budget: float, clock=time.monotonic):
        self.at, self.clock, self.left_out = started + budget - REPORT_SECONDS, clock, []

    def allows(self, item, seconds: float | None) -> bool:
        """Whether ``item`` (a ``study.execution.WorkItem``) may start, ``seconds`` being its
        predicted wall time (None: not known yet, it starts); False: it is noted as left out."""
        if seconds is None or self.clock() + seconds <= self.at:
            return True
        self.left_out.append(item.label)
        return False


def _pair(dataset: str, model: str) -> str:
    """The key of :attr:`Reductions.fit_seconds`: ``"dataset / model"``."""
    return f"{dataset} / {model}"


def _wall(work: list, seconds: dict, reductions: Reductions, workers: int, n_folds: dict) -> float:
    """Predicted wall seconds of ``work`` as ``reductions`` leave it: its seconds shared by the
    workers, at least its longest item."""
    items = []
    for item in work:
        if item.work == "nested":
            if reductions.nested_folds == 0:
                continue
            share = min(reductions.nested_folds or n_folds[item.dataset], n_folds[item.dataset]) / n_folds[item.dataset]
            items.append(share * item.fits * seconds[item.dataset, item.model](item.rows))
        elif item.work == "unit":
            items.append(item.fits * seconds[item.dataset, item.model](item.rows))
        elif item.work not in reductions.skipped:
            rows = item.subsample if reductions.diagnostic_rows and item.subsample else item.rows
            items.append(item.fits * seconds[item.dataset, item.model](rows))
    return max(sum(items) / workers, max(items, default=0.0))


def _candidates(work: list, experiments: tuple, nested: bool, n_folds: dict):
    """The reductions of :data:`STEPS` that apply, in order, each adding one step."""
    current = Reductions()
    if any(item.subsample for item in work):
        current = replace(current, diagnostic_rows=DIAGNOSTIC_ROWS, steps=current.steps + (STEPS[0],))
        yield current
    if nested and max(n_folds.values(), default=0) > NESTED_FOLDS:
        current = replace(current, nested_folds=NESTED_FOLDS, steps=current.steps + (STEPS[1],))
        yield current
    if "ablation" in experiments:
        current = replace(current, skipped=current.skipped + ("ablation",), steps=current.steps + (STEPS[2],))
        yield current
    if nested:
        current = replace(current, nested_folds=0, steps=current.steps + (STEPS[3],))
        yield current
    if experiments:
        current = replace(current, skipped=tuple(experiments), diagnostic_rows=None,
                          steps=current.steps + (STEPS[4],))
        yield current


def choose(work: list, seconds: dict, *, budget: float, elapsed: float, workers: int, n_folds: dict) -> Reductions:
    """The least reduced study predicted to fit in the budget.

    Parameters
    ----------
    work : list of Planned
        The study's work items, those that follow the units included.
    seconds : dict of (str, str) to FitSeconds
        One fit's seconds, by (dataset, model).
    budget : float
        Seconds.
    elapsed : float
        Seconds already gone (they count against the budget).
    workers : int
        Worker processes.
    n_folds : dict of str to int
        Each dataset's outer folds of nested CV (its k).

    Returns
    -------
    Reductions
        The first of the steps' reductions whose prediction, with ``elapsed``, is within
        :data:`MARGIN` of the budget; the most reduced one when none is (:attr:`Reductions.over`).
    """
    experiments = tuple(dict.fromkeys(item.work for item in work if item.work not in ("unit", "nested")))
    nested = any(item.work == "nested" for item in work)
    unreduced = _wall(work, seconds, Reductions(), workers, n_folds)
    per_fit = {_pair(d, m): fit(max((i.rows for i in work if (i.dataset, i.model) == (d, m)), default=0))
               for (d, m), fit in seconds.items()}
    chosen = Reductions()
    predicted = unreduced
    for candidate in ([] if elapsed + unreduced <= MARGIN * budget else _candidates(work, experiments, nested,
                                                                                   n_folds)):
        chosen, predicted = candidate, _wall(work, seconds, candidate, workers, n_folds)
        if elapsed + predicted <= MARGIN * budget:
            break
    return replace(chosen, budget=budget, predicted=predicted, unreduced=unreduced, elapsed=elapsed,
                   fit_seconds=per_fit)
