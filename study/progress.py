"""The progress bar of a study: fits done out of fits expected, with an ETA and the work in flight.

Every estimator of the study is a ``backends.preprocessing.CountedPipeline``, which appends one
byte per fit to the file named by ``$STUDY_FIT_LOG``, in whichever process it runs; a thread of
the study's process reads that file's size twice a second, so the bar moves during long work
items too. Fits of work loaded from the store count as done at once.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from pathlib import Path

from tqdm.auto import tqdm

from backends.preprocessing import FIT_LOG

__all__ = ["Progress", "fit_log_path"]

POLL_SECONDS = 0.5


def fit_log_path() -> Path:
    """This process's fit log (one per study process, so the worker pool's environment and hence
    its workers stay the same from one study to the next)."""
    return Path(tempfile.gettempdir()) / f"study-fits-{os.getpid()}.log"


class Progress(contextlib.AbstractContextManager):
    """Fits done / expected, ETA, and the labels of the work in flight.

    Parameters
    ----------
    enabled : bool
        Show the bar (the fit log is kept either way, for the workers' environment).
    expected : int, default=0
        Fits expected in all (the total from the start, so the time estimate is the study's);
        the total grows past it if the queued work turns out larger.
    """

    def __init__(self, enabled: bool = True, expected: int = 0):
        self.log = fit_log_path()
        self.log.write_bytes(b"")
        self.bar = tqdm(total=expected, desc="fits", unit="fit", disable=not enabled, smoothing=0.05)
        self.expected, self.queued = expected, 0
        self.loaded = 0
        self.running: dict = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.previous = os.environ.get(FIT_LOG)
        os.environ[FIT_LOG] = str(self.log)
        self.thread = threading.Thread(target=self._poll, daemon=True)
        self.thread.start()

    def expect(self, fits: int) -> None:
        """More work was queued: ``fits`` more fits expected."""
        with self.lock:
            self.queued += fits
            self.bar.total = max(self.expected, self.queued, self.bar.n)
            self.bar.refresh()

    def started(self, item) -> None:
        with self.lock:
            self.running[id(item)] = item.label

    def finished(self, outcome) -> None:
        """A work item ended; a loaded one counts its fits as done."""
        with self.lock:
            self.running.pop(id(outcome.item), None)
            if outcome.loaded:
                self.loaded += outcome.fits
        self._refresh()

    def _refresh(self) -> None:
        with self.lock:
            done = self.log.stat().st_size + self.loaded if self.log.exists() else self.loaded
            self.bar.total = max(self.bar.total, done)
            self.bar.n = done
            self.bar.set_postfix_str(", ".join(list(self.running.values())[:2]), refresh=False)
            self.bar.refresh()

    def _poll(self) -> None:
        while not self.stop.wait(POLL_SECONDS):
            self._refresh()

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()
        self._refresh()
        if exc[0] is None:  # finished: the expected number of fits was an estimate
            self.bar.total = self.bar.n
            self.bar.refresh()
        self.bar.close()
        if self.previous is None:
            os.environ.pop(FIT_LOG, None)
        else:
            os.environ[FIT_LOG] = self.previous
        self.log.unlink(missing_ok=True)
