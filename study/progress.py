"""What a study shows while it runs: the progress bar (the share of the study's time gone, the time
left, the fits made out of those expected and the work in flight) and, in a notebook, its
warnings one line each.

Every estimator of the study is a ``backends.preprocessing.CountedPipeline``, whose fits are
counted in the work item that makes them (``Outcome.fits``, in whichever process it runs): the
count grows by a work item's fits when it finishes, loaded from the store or computed. The time
left is estimated from the work items' predicted costs, corrected by the seconds the finished
ones took (``study.remaining``). A thread of the study's process redraws the bar twice a second,
so its time and estimate keep moving during long work items.

Where the bar goes (:func:`progress_bar`): in a terminal, tqdm on standard error; in a Jupyter
notebook, one output that is updated in place: tqdm's widget when ipywidgets is installed, else
tqdm's text line in an IPython display updated with ``DisplayHandle.update`` (a saved notebook
keeps that one output, not one per refresh; ``tqdm.auto`` would print ipywidgets' "IProgress not
found" warning and a new stream output per refresh instead).

In a Jupyter kernel, the study's worker processes end before the kernel does
(:func:`watch_kernel_exit`): ipykernel (7.4 here) sends SIGTERM to its child processes when
it shuts down and waits for them, but the resource trackers of loky and multiprocessing ignore
SIGTERM, so the kernel hung until Jupyter terminated it (2.5 s later), and the workers, killed,
left loky's "leaked semlock objects" warning in the server's log.
"""

from __future__ import annotations

import contextlib
import gc
import importlib.util
import multiprocessing
import os
import sys
import threading
import time
import warnings

from study.remaining import RemainingTime
from study.text import plain_line

__all__ = ["Progress", "in_notebook", "progress_bar", "notebook_warnings", "watch_kernel_exit"]

REDRAW_SECONDS = 0.5
"""Seconds between two redraws of the bar while work runs (its elapsed time and ETA move)."""


def _kernel_shell():
    """IPython's shell when this process is a Jupyter kernel (``ipykernel``), else None. IPython
    is not imported when it is not already (then this is no kernel)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell if type(shell).__name__ == "ZMQInteractiveShell" else None


def in_notebook() -> bool:
    """Whether this process is a Jupyter kernel showing its outputs in a notebook (JupyterLab,
    Notebook, VS Code), as ``tqdm.autonotebook`` decides: IPython's kernel shell is running, and
    it is not the Qt console or Spyder (whose consoles show no updatable displays)."""
    if _kernel_shell() is None:
        return False
    return not any(name == "QT_API" or name.startswith("SPYDER") for name in os.environ)


def watch_kernel_exit(kill) -> callable:
    """In a Jupyter kernel: when it is asked to shut down or restart, call ``kill`` (a pool's
    :meth:`study.workers.Workers.kill`: the kernel is ending, so the work of any study still
    running is lost anyway, and a worker that loaded TensorFlow takes seconds to exit by itself:
    3.4 s against 0.12 s measured), then stop loky's and multiprocessing's resource trackers,
    before ipykernel signals the kernel's children. Elsewhere nothing is watched.

    The moment is the kernel's ``do_shutdown``, which sets the shell's ``exit_now`` trait (observed
    with traitlets' ``observe``). The trackers are stopped through their private ``_stop()``, for
    want of a public API (``backends._compat.stop_resource_trackers``), and only when no other
    process started by ``multiprocessing`` may still use them; a tracker left running is ended by
    ipykernel as before. The trackers are watched as long as the kernel lives (one observer per
    kernel: traitlets keeps an observer once), the pool until it is closed.

    Returns
    -------
    callable
        Ends the watch of ``kill`` (the pool was closed); does nothing outside a kernel.
    """
    shell = _kernel_shell()
    if shell is None:
        return lambda: None
    shell.observe(_stop_trackers_at_exit, names="exit_now")  # the trackers outlive every pool

    def kill_at_exit(change) -> None:
        if change["new"]:
            with contextlib.suppress(Exception):  # at shutdown: what fails is left to ipykernel
                kill()
                for child in multiprocessing.active_children():
                    if type(child).__name__ == "LokyProcess":
                        child.join(timeout=2)
            _stop_trackers_at_exit(change)

    shell.observe(kill_at_exit, names="exit_now")
    return lambda: shell.unobserve(kill_at_exit, names="exit_now")


def _stop_trackers_at_exit(change) -> None:
    if not change["new"]:
        return
    try:
        # the semaphores of the pool's queues and workers released while the trackers run (else the
        # trackers report them as "leaked", and their finalizers, later, start a tracker again)
        gc.collect()
        if not multiprocessing.active_children():
            from backends._compat import stop_resource_trackers

            stop_resource_trackers()
    except Exception:
        pass


class _DisplayLine:
    """A text file for tqdm in a notebook without ipywidgets: every line tqdm draws (``"\\r" +
    line``) replaces the previous one in a single IPython display, created on the first line."""

    encoding = "utf-8"  # tqdm draws its Unicode bar only to a file that declares it

    def __init__(self):
        self.handle, self.line = None, ""

    def write(self, text: str) -> int:
        line = text.rsplit("\r", 1)[-1].strip()  # tqdm pads with spaces; its last write is "\n"
        if line and line != self.line:
            from IPython.display import display

            self.line, bundle = line, {"text/plain": line}
            if self.handle is None:
                self.handle = display(bundle, raw=True, display_id=True)
            else:
                self.handle.update(bundle, raw=True)
        return len(text)

    def flush(self) -> None:
        pass


BAR_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| [{elapsed}{postfix}]"
"""The bar's line: the share of the study's time gone, the time gone, then (:meth:`Progress._refresh`)
the time left, the fits made out of those expected and the work in flight."""


def progress_bar(enabled: bool = True):
    """A tqdm bar over a study's time (percent), drawn where the study runs (see the module's docstring).

    Parameters
    ----------
    enabled : bool, default=True
        False: a disabled bar (it shows nothing anywhere).

    Returns
    -------
    tqdm.tqdm
        ``tqdm.notebook.tqdm`` in a notebook with ipywidgets; else ``tqdm.tqdm``, on standard
        error in a terminal, on one updated IPython display in a notebook.
    """
    options = dict(total=100, desc="study", bar_format=BAR_FORMAT, disable=not enabled)
    if not (enabled and in_notebook()):
        from tqdm import tqdm

        return tqdm(**options)
    if importlib.util.find_spec("ipywidgets") is not None:
        from tqdm.notebook import tqdm as notebook_tqdm

        with contextlib.suppress(ImportError):  # an ipywidgets tqdm cannot use: the text line
            return notebook_tqdm(**options)
    from tqdm import tqdm

    return tqdm(**options, file=_DisplayLine())


@contextlib.contextmanager
def notebook_warnings():
    """In a notebook, for the duration: each warning shown as one line ``Category: message`` on
    standard error, and a line already shown not shown again (a warning raised in every fold of
    every work item, re-raised from the workers, shows once). Elsewhere nothing changes (the CLI
    has its own one-line warnings, ``study.run``).

    The warning filters apply as before: an ignored warning stays hidden, one turned into an
    error still raises; a failed work item's warning names the item and its error, so no two
    failures are alike. Usable as a decorator (``@notebook_warnings()``).
    """
    if not in_notebook():
        yield
        return
    shown: set = set()

    def show(message, category, filename, lineno, file=None, line=None):
        text = f"{category.__name__}: {plain_line(message)}"
        if text not in shown:
            shown.add(text)
            print(text, file=sys.stderr if file is None else file, flush=True)

    previous, warnings.showwarning = warnings.showwarning, show
    try:
        yield
    finally:
        warnings.showwarning = previous


class Progress(contextlib.AbstractContextManager):
    """The share of the study's time gone, the time left, the fits made and the work in flight.

    The time left is :class:`study.remaining.RemainingTime`'s: the work items' predicted costs,
    corrected by the seconds the finished ones took; the bar shows the time gone over the time
    gone plus the time left (it never moves back), "estimating the time left" until a first
    item has been computed. The fits made are the ``fits`` of the work items that have finished
    (:meth:`finished`): computed here or in a worker process, or loaded from the store (a failed
    item has none). While the bar is shown, a thread redraws it every :data:`REDRAW_SECONDS`.

    Parameters
    ----------
    enabled : bool, default=True
        Show the bar (False: nothing is shown and no thread runs).
    expected_fits : int, default=0
        Fits expected in all (shown as "made/expected"; the queued fits count when more).
    expected_cost : float, default=0.0
        Predicted cost of the whole study (``study.plan.Plan.forecast``).
    workers : int, default=1
        Work items that run at once.
    unit_rates : dict or None, default=None
        A time budget's predicted seconds per cost unit of each unit (``study.remaining.RemainingTime``).
    """

    def __init__(self, enabled: bool = True, expected_fits: int = 0, expected_cost: float = 0.0, workers: int = 1,
                 unit_rates: dict | None = None):
        self.bar = progress_bar(enabled)
        self.remaining = RemainingTime(workers, expected_cost, unit_rates=unit_rates)
        self.expected, self.queued, self.done = expected_fits, 0, 0
        self.started_at = time.monotonic()
        self.running: dict = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._redraw, daemon=True) if enabled else None
        if self.thread is not None:
            self.thread.start()

    def expect(self, items) -> None:
        """Work items were queued (``study.execution.WorkItem``: their fits and predicted cost)."""
        with self.lock:
            self.queued += sum(item.fits for item in items)
            self.remaining.queue(items)

    def started(self, item) -> None:
        """``item`` (a ``study.execution.WorkItem``) started computing: its label is shown."""
        with self.lock:
            self.running[id(item)] = item.label
            self.remaining.start(item)

    def finished(self, outcome) -> None:
        """A work item ended (``outcome``, a ``study.execution.Outcome``): its ``fits`` are made."""
        with self.lock:
            self.running.pop(id(outcome.item), None)
            self.done += outcome.fits
            self.remaining.finish(outcome.item, outcome.seconds, computed=outcome.ok and not outcome.loaded)
        self._refresh()

    def dropped(self, item) -> None:
        """``item`` was queued and will not run (a time budget's deadline): its fits and time leave
        the expected ones."""
        with self.lock:
            self.queued -= item.fits
            self.expected -= item.fits
            self.remaining.drop(item)

    @contextlib.contextmanager
    def paused(self):
        """The bar cleared and not redrawn during the block (which may print lines), then drawn again."""
        with self.lock:
            self.bar.clear()
            try:
                yield
            finally:
                self.bar.refresh()

    def _refresh(self) -> None:
        from tqdm import tqdm

        with self.lock:
            left = self.remaining.seconds_left()
            if left is None:
                words = "estimating the time left"
            else:
                gone = time.monotonic() - self.started_at
                self.bar.n = max(self.bar.n, round(100.0 * gone / max(gone + left, 1e-9), 1))
                words = f"about {tqdm.format_interval(left)} left"
            fits = f"{self.done}/{max(self.expected, self.queued, self.done)} fits"
            self.bar.set_postfix_str(", ".join([words, fits, *list(self.running.values())[:2]]), refresh=False)
            self.bar.refresh()

    def _redraw(self) -> None:
        while not self.stop.wait(REDRAW_SECONDS):
            self._refresh()

    def __exit__(self, *exc) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join()
        if exc[0] is None:  # finished
            with self.lock:
                self.bar.n = 100
                self.bar.set_postfix_str(f"{self.done} fits", refresh=False)
        else:
            self._refresh()
        self.bar.refresh()
        self.bar.close()
