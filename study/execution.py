"""Workers: the study's work items on joblib's loky processes, the longest first, one error policy.

A study's work differs in cost by two orders of magnitude (a ridge unit on wine vs a CNN unit
on digits), and its items arrive in waves: a model's diagnostics can start only when its unit
has chosen the parameters. :func:`execute` keeps one queue of ready items, ordered by expected
cost, and as many in flight as there are workers; an item that finishes may add new items,
which start at once (no barrier between the units and the diagnostics). Running the longest
first keeps every core busy until the end: the "longest processing time first" rule, whose
makespan is at most 4/3 of the optimum (Graham, 1969, SIAM J. Appl. Math. 17(2)).

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
import threading
import time
import warnings
from concurrent.futures import FIRST_COMPLETED, wait
from dataclasses import dataclass

from study.lines import one_line

# nothing heavy at the top: a worker imports this module (for _quiet_worker) before its
# initializer runs, and only that initializer makes it end with the study (_quiet_worker)

__all__ = ["WorkItem", "Outcome", "Interrupted", "execute", "map_in_workers", "stop_workers", "fit_threads"]

THREAD_VARIABLES = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                    "MKL_NUM_THREADS")
"""Thread counts of TensorFlow and BLAS: one thread per fit, in every process that fits (values
the user set are kept, everywhere alike), so the same seed gives the same table whatever
``n_jobs`` (TensorFlow's results depend on its thread settings); parallelism comes from the
worker processes."""


@dataclass(frozen=True, eq=False)
class WorkItem:
    """One call ``function(*args)`` of a study, stored under ``key``.

    Attributes
    ----------
    label : str
        Shown by the progress bar and in warnings, e.g. ``"digits / keras_cnn"``.
    work : str
        "unit", or the experiment's name.
    dataset, model : str
        What it runs on (for the failure and timing tables).
    cost : float
        Expected run time in arbitrary units (larger runs earlier).
    fits : int
        Expected number of fits (for the progress bar).
    function : callable
        Importable in a worker (a module-level function or a method of a module-level object).
    args : tuple
    key : str or None, default=None
        Store key (``study.store.work_key``); None: never stored.
    beside : str or None, default=None
        The label of an item this one is queued with and only useful beside (a unit's nested CV
        folds beside the unit): when that item fails, this one is not started, and its own
        failure is not reported a second time (a failure is held until that item's outcome).
    """

    label: str
    work: str
    dataset: str
    model: str
    cost: float
    fits: int
    function: object
    args: tuple
    key: str | None = None
    beside: str | None = None


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


def fit_threads() -> dict:
    """The thread settings of every fit (:data:`THREAD_VARIABLES`: "1" unless the user set them)."""
    return {name: os.environ.get(name, "1") for name in THREAD_VARIABLES}


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


def _executor(n_workers: int):
    from joblib.externals.loky import get_reusable_executor

    from backends.preprocessing import FIT_LOG
    from study.progress import fit_log_path

    # the same settings every time, so one pool serves a process's studies and their reports
    env = {**fit_threads(), FIT_LOG: str(fit_log_path())}
    main_thread = threading.current_thread() is threading.main_thread()  # see _quiet_worker
    return get_reusable_executor(max_workers=n_workers, env=env, initializer=_quiet_worker,
                                 initargs=(os.getpid(), main_thread))


def stop_workers() -> None:
    """End the study's worker processes, if any are running (idle, between studies), and wait
    for them: an orderly shutdown (killing them raced with loky's resource tracker, which then
    reported "leaked semlock objects" at exit)."""
    from backends._compat import idle_loky_executor

    executor = idle_loky_executor()
    if executor is not None:
        executor.shutdown(wait=True)


def _n_workers(n_jobs: int) -> int:
    return (os.cpu_count() or 1) if n_jobs < 0 else n_jobs


def map_in_workers(function, calls: list, n_jobs: int) -> list:
    """``function(*args)`` for each ``args`` of ``calls``, in the study's worker processes (in
    this process when ``n_jobs`` is 1); the results in the order of ``calls``. An exception is
    raised here as it was raised there.

    Parameters
    ----------
    function : callable
        Importable in a worker (a module-level function).
    calls : list of tuple
    n_jobs : int
        Number of worker processes (-1: all cores).
    """
    n_workers = _n_workers(n_jobs)
    if n_workers == 1 or len(calls) < 2:
        return [function(*args) for args in calls]
    executor = _executor(n_workers)  # the study's pool, as it is: not resized
    return [future.result() for future in [executor.submit(function, *args) for args in calls]]


# loky replaces an idle worker whose memory grew by 300 MB since it started (a worker's Keras models
# and traced functions do) and says so from its manager thread, at any time, also while the report
# draws its figures in the workers; the replacement is routine and loses no work
warnings.filterwarnings("ignore", "A worker stopped while some jobs were given", UserWarning)

PARENT_CHECK_SECONDS = 0.1
"""How often a worker checks that the study's process is still alive (where the kernel does not
end it at once, see :func:`_quiet_worker`)."""
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> bool:
    """Linux: ask the kernel to SIGKILL this process when the thread that started it ends. Unlike
    a watching thread, this needs neither the GIL (a fit in C code holding it for seconds) nor a
    poll. False where unavailable."""
    import sys

    if not sys.platform.startswith("linux"):
        return False
    import ctypes
    import signal

    try:
        return ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _quiet_worker(parent: int, main_thread: bool = False) -> None:
    """Set up a worker. Its standard error goes nowhere: its warnings and errors reach the study's
    process through its results, and what else it writes there is TensorFlow's start-up chatter.

    It ends with the study's process (killed, even with SIGKILL) instead of finishing work
    nobody will read: on Linux, when the pool was made by the study's main thread, the kernel
    kills it at once (``PR_SET_PDEATHSIG``; the kernel watches the thread that started a
    worker, and a study's main thread lives as long as its process: workers started by another
    thread are left to the watch alone); everywhere, a thread checks every
    :data:`PARENT_CHECK_SECONDS` that the study's process is still its parent. ``parent`` is
    the study's process id (passed, not read here: the study may have died while this worker
    started); ``main_thread``: whether the pool was made by the study's main thread.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    if main_thread:
        _die_with_parent()
    if os.getppid() != parent:  # the study died before this worker could watch it
        os._exit(1)
    threading.Thread(target=_end_with_parent, args=(parent,), daemon=True, name="parent-watch").start()


def _end_with_parent(parent: int) -> None:
    while os.getppid() == parent:  # an orphan is re-parented (to init or a subreaper)
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(1)


def execute(items: list, *, n_jobs: int, store, follow_up=None, progress: bool = True,
            in_process=contextlib.nullcontext, expected_fits: int = 0) -> list:
    """Run work items, longest first, and every item their outcomes add.

    Parameters
    ----------
    items : list of WorkItem
    n_jobs : int
        Number of worker processes (-1: all cores). 1: everything runs in this process.
    store : study.store.Store
        Where results are loaded from and stored (in the process that computes them).
    follow_up : callable or None, default=None
        ``follow_up(outcome) -> list of WorkItem``, called in this process for every outcome:
        the items it returns are queued at once (e.g. a model's diagnostics after its unit).
    progress : bool, default=True
        A progress bar over the fits (``study.progress``; its total grows as items are added).
    in_process : callable, default=contextlib.nullcontext
        A context manager entered around the items run in this process (e.g. a Dask backend).
    expected_fits : int, default=0
        Fits expected in all, follow-ups included (the progress bar's total until the queued
        items' fits exceed it).

    Returns
    -------
    list of Outcome
        In completion order.
    """
    from study.progress import Progress

    counter = itertools.count()
    ready: list = []
    outcomes: list = []
    bar = Progress(progress, expected_fits)

    def push(new):
        for item in new:
            heapq.heappush(ready, (-item.cost, next(counter), item))
        bar.expect(sum(item.fits for item in new))

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
        bar.finished(outcome)
        settled.add(item.label)
        failed.update(() if outcome.ok else (item.label,))
        push(follow_up(outcome) if follow_up else [])
        for later in held.pop(item.label, []):
            finish(*later)

    push(items)
    n_workers = _n_workers(n_jobs)
    in_flight: dict = {}
    with bar, _threads_here():
        try:
            while ready or in_flight:
                while ready and (n_workers == 1 or len(in_flight) < n_workers):
                    item = heapq.heappop(ready)[2]
                    if item.beside in failed:
                        continue
                    stored = store.load(item.key)
                    if stored is not None:  # a stored result: loaded here, no worker needed
                        finish(item, (stored[0], "", stored[1], stored[2], []), loaded=True)
                        continue
                    bar.started(item)
                    if n_workers == 1:
                        with in_process():
                            finish(item, _perform(item, store))
                    else:
                        in_flight[_executor(n_workers).submit(_perform, item, store)] = item
                if in_flight:
                    done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                    for future in done:
                        finish(in_flight.pop(future), future.result())
        except KeyboardInterrupt:
            if n_workers > 1:  # work in flight is lost: stop it now rather than let it finish unread
                _executor(n_workers).shutdown(wait=False, kill_workers=True)
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
