"""Execution: the study's work items on its workers (``study.workers``), the main comparison first,
then the longest first, one error policy.

A study's work differs in cost by two orders of magnitude (a ridge unit on wine vs a CNN unit
on digits), and its items arrive in waves: a model's diagnostics can start only when its unit
has chosen the parameters. :func:`execute` keeps one queue of ready items and as many in flight
as there are workers; an item that finishes may add new items, which start at once (no barrier
between the units and the diagnostics). The queue starts the main comparison (the units and the
data checks: :data:`FIRST`) before anything else, so that it is known, and can be reported
(``on_main_comparison``), while nested CV and the diagnostics still run; within that order the
longest first, which keeps every core busy until the end: the "longest processing time first"
rule, whose makespan is at most 4/3 of the optimum (Graham, 1969, SIAM J. Appl. Math. 17(2)).

The error policy, the same for every item (as scikit-learn's ``_fit_and_score`` with
``error_score``): an exception becomes a failed :class:`Outcome` whose error is one line
``"Type: message"`` (no terminal colours), plus a ``RuntimeWarning``; it never stops the study. Results already in
the store are loaded in the study's process, so a rerun that finds everything stored starts no
worker. Workers' warnings are shown again in the study's process.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import time
import warnings
from concurrent.futures import FIRST_COMPLETED, wait
from dataclasses import dataclass, fields

from study.text import one_line
from study.records import WorkKind

from study.workers import Workers, fit_threads, using

__all__ = ["WorkItem", "Outcome", "Interrupted", "execute", "FIRST"]

FIRST = frozenset({WorkKind.UNIT, WorkKind.DATA_CHECKS})
"""The work of the main comparison (the units and the checks of the data), started before any other."""


@dataclass(frozen=True, eq=False)
class WorkItem:
    """One call ``function(*args)`` of a study, stored under ``key``.

    Attributes
    ----------
    label : str
        Shown by the progress bar and in warnings, e.g. ``"digits / keras_cnn"``.
    kind : WorkKind
        What the work is: a unit, a nested CV fold, an experiment or a dataset's checks.
    dataset, model : str
        What it runs on (for the failure and timing tables).
    cost : float
        Expected run time in arbitrary units (larger runs earlier).
    fits : int
        Expected number of fits (for the progress bar).
    function : callable
        Importable in a worker (a module-level function or a method of a module-level object).
    arguments : dataclass instance
        ``function``'s arguments by name, its fields in the order ``function`` takes them
        (``study.records``: e.g. :class:`~study.records.UnitArguments`).
    key : str or None, default=None
        Store key (``study.store.work_key``); None: never stored.
    beside : str or None, default=None
        The label of an item this one is queued with and only useful beside (a unit's nested CV
        folds beside the unit): when that item fails, this one is not started, and its own
        failure is not reported a second time (a failure is held until that item's outcome).
    experiment : str, default=""
        The experiment's name, when ``kind`` is ``WorkKind.EXPERIMENT``.
    part : int, default=0
        Which part of its experiment the item is (``Experiment.parts``, in order): the rows of
        an experiment's parts are put together in this order.
    framework : str, default=""
        The model's framework (``ModelSpec.framework``: "scikit-learn" or "keras"; "" without a
        model): the progress bar's time left learns how long a kind of work takes from models of
        the same framework (``study.remaining``).
    """

    label: str
    kind: WorkKind
    dataset: str
    model: str
    cost: float
    fits: int
    function: object
    arguments: object
    key: str | None = None
    beside: str | None = None
    experiment: str = ""
    framework: str = ""
    part: int = 0

    @property
    def work(self) -> str:
        """The ``work`` column of the failures and timings tables: the experiment's name, or
        the kind's value ("unit", "nested", "data_checks")."""
        return self.experiment if self.kind is WorkKind.EXPERIMENT else self.kind.value

    @property
    def args(self) -> tuple:
        """``function``'s positional arguments: the fields of :attr:`arguments`, in order."""
        return tuple(getattr(self.arguments, f.name) for f in fields(self.arguments))


@dataclass(frozen=True, eq=False)
class Outcome:
    """What came of a work item: its value, or the one-line error that replaced it.

    Attributes
    ----------
    item : WorkItem
    value : object
        ``function(*args)``; None when it failed.
    error : str
        ``"Type: message"`` on one line; empty when it succeeded.
    seconds : float
        Wall time of the computation (as stored, when loaded from the store).
    fits : int
        Fits the computation made (counted by ``backends.preprocessing.CountedPipeline``).
    loaded : bool
        True when the value came from the store.
    """

    item: WorkItem
    value: object
    error: str
    seconds: float
    fits: int
    loaded: bool

    @property
    def ok(self) -> bool:
        return not self.error


@contextlib.contextmanager
def _threads_here():
    """This process fits with :func:`fit_threads` (TensorFlow reads them when it starts; BLAS is
    limited for the duration)."""
    from threadpoolctl import threadpool_limits

    settings = fit_threads()
    for name, value in settings.items():
        os.environ.setdefault(name, value)
    with threadpool_limits(int(settings["OMP_NUM_THREADS"]), user_api="blas"):
        yield


def _perform(item: WorkItem, store) -> tuple:
    """Run (or load) one item; the one error policy. Returns ``(value, error, seconds, fits, warnings)``."""
    with warnings.catch_warnings(record=True) as caught:
        start = time.perf_counter()
        try:
            (value, seconds, fits), error = store.call(item.key, item.function, item.args), ""
        except Exception as exc:  # a failing item is recorded; the study goes on
            value, seconds, fits, error = None, time.perf_counter() - start, 0, one_line(exc)
    return value, error, seconds, fits, [(w.category, str(w.message), w.filename, w.lineno) for w in caught]


def _outcome(item: WorkItem, result: tuple, loaded: bool = False) -> Outcome:
    value, error, seconds, fits, caught = result
    for category, message, filename, lineno in caught:
        warnings.warn_explicit(message, category, filename, lineno)
    if error:
        warnings.warn(f"{item.label} failed: {error}", RuntimeWarning, stacklevel=3)
    return Outcome(item, value, error, seconds, fits, loaded)


def execute(items: list, *, store, workers: Workers | None = None, n_jobs: int = -1, follow_up=None,
            progress: bool = True, expected_fits: int = 0, expected_cost: float = 0.0,
            on_main_comparison=None, deadline=None, unit_rates: dict | None = None, code: tuple = ()) -> list:
    """Run work items, the main comparison's first (:data:`FIRST`), then the longest first, and
    every item their outcomes add.

    Parameters
    ----------
    items : list of WorkItem
    store : study.store.Store
        Where results are loaded from and stored (in the process that computes them).
    workers : study.workers.Workers or None, default=None
        Where the items run (the study's workers, which stay open); None: ``Workers(n_jobs)``,
        made and closed here.
    n_jobs : int, default=-1
        Worker processes when ``workers`` is None (-1: all cores; 1: everything in this process).
    follow_up : callable or None, default=None
        ``follow_up(outcome) -> list of WorkItem``, called in this process for every outcome:
        the items it returns are queued at once (e.g. a model's diagnostics after its unit).
    progress : bool, default=True
        A progress bar: the share of the time gone, the time left, the fits (``study.progress``).
    expected_fits : int, default=0
        Fits expected in all, follow-ups included (the bar's count until the queued items' fits
        exceed it).
    expected_cost : float, default=0.0
        The predicted cost (:attr:`WorkItem.cost`) of all the work, follow-ups included (for the
        time left until the queued items' cost exceeds it).
    on_main_comparison : callable or None, default=None
        ``on_main_comparison(outcomes)``, called once in this process with the outcomes so far
        (a list of Outcome) when every item of :data:`FIRST` has finished and other work is
        still to be computed: while the workers go on with it (the items in flight keep
        running; with ``n_jobs=1`` the work waits meanwhile). Not called when nothing is left to
        compute then (e.g. everything else is stored).
    deadline : study.budget.Deadline or None, default=None
        A time budget's: an item outside :data:`FIRST` that is not stored starts only when
        ``deadline.allows(item, predicted seconds)`` (the progress bar's prediction); one it
        refuses is not started, and nothing follows it.
    unit_rates : dict or None, default=None
        A time budget's predicted seconds per cost unit of each unit, ``{(dataset, model): rate}``
        (``study.plan.Plan.unit_rates``): the time left from the start (``study.remaining``).
    code : tuple of study.user_code.UserModule, default=()
        The user modules the items' models come from (``study.plan.Plan.code``): made current
        in a worker before it unpickles an item (:meth:`study.workers.Workers.submit`).

    Returns
    -------
    list of Outcome
        In completion order.
    """
    with using(workers, lambda: Workers(n_jobs)) as workers:
        return _execute(items, store, workers, follow_up, progress, (expected_fits, expected_cost, unit_rates),
                        on_main_comparison, deadline, code)


def _execute(items: list, store, workers: Workers, follow_up, progress: bool, expected: tuple,
             on_main_comparison=None, deadline=None, code: tuple = ()) -> list:
    """:func:`execute` on entered ``workers``."""
    from study.progress import Progress

    counter = itertools.count()
    ready: list = []
    outcomes: list = []
    fits, cost, unit_rates = expected
    bar = Progress(progress, fits, cost, workers=workers.processes, unit_rates=unit_rates)
    first_left = [0]  # items of FIRST queued and not finished
    milestone = [on_main_comparison]  # called once, then None

    def push(new):
        for item in new:
            first = item.kind in FIRST
            first_left[0] += first
            heapq.heappush(ready, (not first, -item.cost, next(counter), item))
        bar.expect(new)

    def main_comparison_done():
        """Call ``on_main_comparison`` once, when the main comparison's items have all finished."""
        if milestone[0] is not None and first_left[0] == 0:
            call, milestone[0] = milestone[0], None
            with bar.paused():
                start = time.perf_counter()
                call(list(outcomes))
                # the whole report at the end: drawn by all the workers (this one here, beside them)
                bar.remaining.afterwards = (time.perf_counter() - start) / workers.processes

    settled, failed, held = set(), set(), {}

    def finish(item, result, loaded=False):
        if result[1] and item.beside is not None:  # a failure beside an item: reported only if that one succeeds
            if item.beside not in settled:
                held.setdefault(item.beside, []).append((item, result, loaded))
                return
            if item.beside in failed:
                return
        outcome = _outcome(item, result, loaded)
        outcomes.append(outcome)
        first_left[0] -= item.kind in FIRST
        bar.finished(outcome)
        settled.add(item.label)
        failed.update(() if outcome.ok else (item.label,))
        push(follow_up(outcome) if follow_up else [])
        for later in held.pop(item.label, []):
            finish(*later)

    push(items)
    n_workers = workers.processes
    in_flight: dict = {}
    with bar, _threads_here():
        try:
            while ready or in_flight:
                while ready and (n_workers == 1 or len(in_flight) < n_workers):
                    item = heapq.heappop(ready)[-1]
                    if item.beside in failed:
                        continue
                    stored = store.load(item.key)
                    if stored is not None:  # a stored result: loaded here, no worker needed
                        finish(item, (stored[0], "", stored[1], stored[2], []), loaded=True)
                        continue
                    if (deadline is not None and item.kind not in FIRST
                            and not deadline.allows(item, bar.remaining.item_seconds(item))):
                        bar.dropped(item)  # the time budget runs out before it would end
                        continue
                    if n_workers == 1:
                        main_comparison_done()  # before computing the next item here
                        bar.started(item)
                        with workers.in_process():
                            finish(item, _perform(item, store))
                    else:
                        bar.started(item)
                        in_flight[workers.submit(_perform, item, store, code=code)] = item
                if in_flight:
                    main_comparison_done()  # while the workers compute
                    done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                    for future in done:
                        finish(in_flight.pop(future), future.result())
        except KeyboardInterrupt:
            workers.kill()  # work in flight is lost: stop it now rather than let it finish unread
            raise Interrupted(sum(o.ok for o in outcomes), len(outcomes) + len(ready) + len(in_flight)) from None
    return outcomes


class Interrupted(KeyboardInterrupt):
    """The study was interrupted (Ctrl-C): what had finished is stored, the workers are stopped.

    Attributes
    ----------
    finished : int
        Work items that finished (stored, when the study has a store).
    known : int
        Work items known when it stopped (more would have followed).
    """

    def __init__(self, finished: int, known: int):
        super().__init__(f"interrupted after {finished} of {known} work items")
        self.finished, self.known = finished, known
