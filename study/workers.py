"""The study's workers: one object, made once from the spec, closed once.

:class:`Workers` is where the study's work runs: a local pool of worker processes (loky's
``ProcessPoolExecutor``, public API, started at the first task: a fully stored rerun starts
none), this process alone (``n_jobs=1``), or the fits on an existing Dask cluster through a
``distributed.Client`` (``--scheduler``; the work items then run in this process with joblib's
Dask backend, and a unit's search spreads its fits over the cluster). The runner runs the work
items through it (``study.execution.execute``) and the report draws its figures in it
(``study.report.figures.drawing_together``); the command line makes one for both and closes it at
the end, and ``run_study`` / ``write_report`` called without one make their own.

Every worker fits on one thread (:func:`fit_threads`), keeps what its imports made out of the
garbage collector's full passes (:func:`_settle_imports`), ends with the study's process (killed,
even with SIGKILL, it leaves no orphan computing), and its standard error goes nowhere: its
warnings and errors come back with its results. In a Jupyter kernel, the pool is killed when the
kernel is asked to shut down (``study.progress.watch_kernel_exit``).
"""

from __future__ import annotations

import contextlib
import functools
import gc
import os
import pickle
import sys
import threading
import time
import traceback
import warnings
import weakref

from joblib import cpu_count

__all__ = ["Workers", "using", "fit_threads", "n_workers", "THREAD_VARIABLES", "PARENT_CHECK_SECONDS"]

THREAD_VARIABLES = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                    "MKL_NUM_THREADS")
"""Thread counts of TensorFlow and BLAS: one thread per fit, in every process that fits (values
the user set are kept, everywhere alike), so the same seed gives the same table whatever
``n_jobs`` (TensorFlow's results depend on its thread settings); parallelism comes from the
worker processes."""
PARENT_CHECK_SECONDS = 0.1
"""How often a worker checks that the study's process is still alive (where the kernel does not
end it at once, see :func:`_quiet_worker`)."""
KILL_HANDOVER_SECONDS = 1.0
"""How long :meth:`Workers.kill` waits for the pool to hand the work just submitted to its workers
before it kills them (:func:`_is_kill_race`)."""
_PR_SET_PDEATHSIG = 1
_ROUTINE_RESTART = "A worker stopped while some jobs were given"
"""loky's warning when it replaces an idle worker whose memory grew by 300 MB since it started (a
worker's Keras models and traced functions do): routine, no work is lost."""


def fit_threads() -> dict:
    """The thread settings of every fit (:data:`THREAD_VARIABLES`: "1" unless the user set them)."""
    return {name: os.environ.get(name, "1") for name in THREAD_VARIABLES}


def n_workers(n_jobs: int) -> int:
    """Worker processes for ``n_jobs``: every core for -1 (or any negative value), else ``n_jobs``
    but at most the cores (more processes would only share them, each with its own memory).

    The cores are joblib's ``cpu_count()``: those this process may run on (its CPU affinity) and
    its container's CPU quota (cgroups), not the host's processors that ``os.cpu_count()``
    counts: in a container limited to 2 cores on a 64-core host, 2 workers, not 64.
    """
    cores = cpu_count()
    return cores if n_jobs < 0 else min(n_jobs, cores)


@contextlib.contextmanager
def using(workers: "Workers | None", make):
    """``workers`` as given (their owner closes them), or, when None, ``make()``'s workers, entered
    here and closed (killed, on an exception) when the block ends: what ``run_study``,
    ``write_report`` and ``execute`` do when called without the study's workers."""
    if workers is not None:
        yield workers
        return
    with make() as own:
        yield own


class Workers:
    """Where a study's work runs: a pool of local worker processes, this process, or a Dask cluster.

    Use it as a context manager (or call :meth:`close`): the pool's processes are ended in order
    when it closes, and killed when the block ends with an exception (work in flight is unread).

    Parameters
    ----------
    n_jobs : int, default=-1
        Local worker processes (-1: all cores; 1: everything in this process). Ignored with a
        ``scheduler``.
    scheduler : str or None, default=None
        Address of an existing Dask scheduler (``tcp://host:8786``): checked, probed and connected
        to when the object is entered (``study.scheduler.client``).

    Attributes
    ----------
    processes : int
        Local processes running work items at once (1: this process, also with a scheduler).
    search_n_jobs : int
        ``n_jobs`` of a unit's search: -1 on a Dask cluster (its fits spread over the cluster's
        workers), else 1 (one work item, one core).

    Raises
    ------
    study.errors.InputError
        On entering, with a scheduler: Dask's distributed package is missing, or the address is
        malformed, answered by something else, or unreachable (before any training).
    """

    def __init__(self, n_jobs: int = -1, scheduler: str | None = None):
        self.scheduler = scheduler
        self.processes = 1 if scheduler is not None else n_workers(n_jobs)
        self.search_n_jobs = -1 if scheduler is not None else 1
        self._pool = None
        self._submitted = weakref.WeakSet()  # the futures of submit, until they are collected
        self._stack = contextlib.ExitStack()

    @classmethod
    def from_spec(cls, spec) -> "Workers":
        """The workers of a :class:`~study.spec.StudySpec` (its ``n_jobs`` and ``scheduler``)."""
        return cls(spec.n_jobs, spec.scheduler)

    @classmethod
    def for_figures(cls, spec) -> "Workers":
        """Local workers to draw a report's figures when the study's are gone (``write_report``
        called from Python): the spec's ``n_jobs`` processes; this process alone after a study on
        a Dask cluster (whose workers draw nothing)."""
        return cls(1 if spec.scheduler is not None else spec.n_jobs)

    def __enter__(self) -> "Workers":
        if self.scheduler is not None:  # an empty or malformed address is refused there
            from study.scheduler import client

            self._stack.enter_context(client(self.scheduler))
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is not None:
            self.kill()
        self.close()

    def in_process(self):
        """A context manager around work run in this process: joblib's Dask backend with a
        scheduler (a search's fits go to the cluster), else nothing."""
        if self.scheduler is not None:
            from study.scheduler import dask_backend

            return dask_backend()
        return contextlib.nullcontext()

    def submit(self, function, *args, code: tuple = ()):
        """``function(*args)`` in a worker process (the pool starts at the first call).

        Parameters
        ----------
        function : callable
            Importable in a worker (a module-level function).
        *args
            Its arguments.
        code : tuple of study.user_code.UserModule, default=()
            The user modules ``args`` may import when unpickled: made current in the worker
            first (``study.user_code.make_current``), so a worker started before their folder
            was on ``sys.path``, or one that imported an earlier version, runs this one. With
            any, the call is pickled here (cloudpickle) and unpickled in the worker after that;
            without, loky pickles it as it sends it.

        Returns
        -------
        concurrent.futures.Future
        """
        call = (function, args)
        if code:  # unpickled in the worker only once its user modules are current
            import cloudpickle

            call = cloudpickle.dumps(call)
        future = self._running_pool().submit(_in_worker, code, call)
        self._submitted.add(future)
        return future

    def map(self, function, calls: list, code: tuple = ()) -> list:
        """``function(*args)`` for each ``args`` of ``calls``, in the worker processes (in this
        process with one worker or fewer than two calls); the results in the order of ``calls``.
        An exception is raised here as it was raised there.

        Parameters
        ----------
        function : callable
            Importable in a worker (a module-level function).
        calls : list of tuple
        code : tuple of study.user_code.UserModule, default=()
            As for :meth:`submit`.
        """
        if self.processes == 1 or len(calls) < 2:
            return [function(*args) for args in calls]
        return [future.result() for future in [self.submit(function, *args, code=code) for args in calls]]

    def kill(self) -> None:
        """Kill the pool's processes at once (the work in flight is lost); a later task starts a new pool."""
        pool, self._pool = self._pool, None
        if pool is not None:
            # loky drops the pending items at a kill, then looks up the ids still queued for its
            # workers (_is_kill_race): first let it hand over what was just submitted (a future
            # runs once handed over); a second at most, e.g. when many figures are queued
            deadline = time.monotonic() + KILL_HANDOVER_SECONDS
            while any(not (f.running() or f.done()) for f in list(self._submitted)) and time.monotonic() < deadline:
                time.sleep(0.002)
            _quiet_kill_race()
            pool.shutdown(wait=False, kill_workers=True)

    def close(self) -> None:
        """End the pool's processes in order (idle ones exit; the call waits for them) and
        disconnect from the scheduler. Closing twice does nothing more."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
        self._stack.close()

    def _running_pool(self):
        if self._pool is None:
            self._pool = self._start_pool()
        return self._pool

    def _start_pool(self):
        from joblib.externals.loky import ProcessPoolExecutor

        from study.progress import watch_kernel_exit

        warnings.filterwarnings("ignore", _ROUTINE_RESTART, UserWarning)
        env = fit_threads()
        main_thread = threading.current_thread() is threading.main_thread()  # see _quiet_worker
        pool = ProcessPoolExecutor(max_workers=self.processes, env=env, initializer=_quiet_worker,
                                   initargs=(os.getpid(), main_thread))
        self._stack.callback(watch_kernel_exit(self.kill))
        return pool


def _in_worker(code: tuple, call):
    """In a worker process: the user modules of ``code`` made current, then ``call`` (``(function,
    args)``, pickled as bytes when ``code`` is not empty) unpickled and ``function(*args)`` run,
    then :func:`_settle_imports`."""
    try:
        if code:
            from study.user_code import make_current, mark_current

            make_current(code)
            call = pickle.loads(call)
            mark_current(code)
        function, args = call
        return function(*args)
    finally:
        _settle_imports()


def _settle_imports() -> None:
    """Freeze what this worker's imports made (``gc.freeze``) once a task has imported modules.

    TensorFlow, Keras and scikit-learn leave some 440,000 objects that live as long as the
    process, and each full pass of the garbage collector walks them all: 0.2 s in a worker that
    has fitted a Keras model. loky runs one after a task when more than a second has passed since
    the last (without psutil, which the study does not install; with psutil, only when the
    worker's memory grew), besides Python's own. Frozen objects are left out of every pass.
    Measured (``python -m study.run --datasets digits breast_cancer --no-cache``, 2 workers,
    without psutil, 2026-12-07): full passes took 10.1 and 10.8 CPU-s per worker, 1.5 and 1.6 s
    with this; the study 256 s wall / 431 CPU-s before, 241 s / 397 CPU-s after; same tables.

    Collected first, so no garbage is frozen; only when the number of loaded modules changed (new
    imports), so what later tasks leave behind is collected as usual. What is alive at that
    moment stays until the process ends (e.g. a pooled Keras model, ``backends.keras_pool``).
    """
    _collect_and_freeze(len(sys.modules))


@functools.cache
def _collect_and_freeze(modules: int) -> None:
    """Once per number of loaded ``modules``: a full collection, then ``gc.freeze()``."""
    gc.collect()
    gc.freeze()


def _is_kill_race(args) -> bool:
    """Whether an uncaught thread exception (``threading.excepthook``'s ``args``) is loky's race at
    ``shutdown(kill_workers=True)``: its executor manager thread drops every pending work item, then
    looks one up whose id was still queued (``KeyError`` in ``add_call_item_to_queue``; seen with
    joblib 1.6.0's loky when Ctrl-C comes just after a work item was submitted)."""
    frames = traceback.extract_tb(args.exc_traceback) if args.exc_traceback is not None else []
    return (args.exc_type is KeyError and args.thread is not None and args.thread.name == "ExecutorManagerThread"
            and bool(frames) and frames[-1].name == "add_call_item_to_queue"
            and frames[-1].filename.endswith(os.path.join("loky", "process_executor.py")))


def _quiet_kill_race() -> None:
    """Leave loky's race at a kill (:func:`_is_kill_race`) unprinted: the pool is gone on purpose
    and nothing of it is read, so its manager thread's traceback would only bury the study's one
    line ("interrupted; ..."). Every other uncaught thread exception is shown as before. Installed
    once per process, around the hook in place then."""
    shown = threading.excepthook
    if getattr(shown, "skips_loky_kill_race", False):
        return

    def hook(args):
        if not _is_kill_race(args):
            shown(args)

    hook.skips_loky_kill_race = True
    threading.excepthook = hook


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
