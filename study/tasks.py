"""Independent tasks of a study (units of work, per-model diagnostics) on joblib workers.

A study's tasks differ in cost by two orders of magnitude (a ridge unit on wine vs a CNN
unit on digits), and each has serial parts (a GridSearchCV refit, an ablation's hold-out
refit). Running whole tasks on the workers, the longest first, keeps every core busy until
the end: the "longest processing time first" rule, whose makespan is at most 4/3 of the
optimum (Graham, 1969, SIAM J. Appl. Math. 17(2)). TensorFlow then starts only in the
workers, once per worker (loky reuses them).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field

from joblib import Parallel, delayed
from tqdm.auto import tqdm

from backends import get_model

__all__ = ["Task", "expected_cost", "run_tasks", "worker_threads"]


@dataclass(frozen=True)
class Task:
    """One call ``function(*args, n_jobs=..., **kwargs)``.

    Attributes
    ----------
    label : str
        Shown by the progress bar, e.g. ``"digits / keras_cnn"``.
    cost : tuple
        Sort key of the expected run time (larger runs earlier); see :func:`expected_cost`.
    function : callable
        Must accept an ``n_jobs`` keyword (its own inner parallelism) and must not raise:
        failures are part of its result (a raising task stops the whole study).
    args : tuple, default=()
    kwargs : dict, default={}
    """

    label: str
    cost: tuple
    function: object
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)

    def __call__(self, n_jobs):
        return self.function(*self.args, n_jobs=n_jobs, **self.kwargs)

    def stored(self) -> bool:
        """Whether ``function`` would load a stored result (``study.cache.Cached.stored``)."""
        check = getattr(self.function, "stored", None)
        return bool(check and check(*self.args, n_jobs=1, **self.kwargs))


def expected_cost(model: str, n_samples: int) -> tuple:
    """Sort key of a task's expected run time: Keras before scikit-learn, image models first,
    then larger datasets (a Keras fit costs seconds of graph tracing however small the data)."""
    spec = get_model(model)
    return (spec.framework == "keras", spec.needs_image, n_samples)


def worker_threads(n_jobs: int) -> int:
    """One worker's share of the cores when ``n_jobs`` tasks run at once (-1: all cores)."""
    cores = os.cpu_count() or 1
    workers = cores if n_jobs < 0 else n_jobs
    return max(1, cores // max(1, workers))


def run_tasks(tasks: list, n_jobs: int, *, desc: str = "tasks", unit: str = "task",
              progress: bool = True) -> list:
    """Run ``tasks`` and return their results in the order given.

    Tasks whose result is already stored (:meth:`Task.stored`) are loaded here. With
    ``n_jobs == 1`` or a single task left, the others run here too, one after the other, each
    with the given ``n_jobs`` for its own inner parallelism. Otherwise they run whole on
    ``n_jobs`` joblib (loky) workers, the most expensive first, each with ``n_jobs=1`` inside;
    joblib limits the workers' BLAS threads to their share of the cores; their warnings are
    shown again here. A rerun that finds everything stored starts no worker.

    Parameters
    ----------
    tasks : list of Task
    n_jobs : int
        Number of workers (-1: all cores).
    desc : str, default="tasks"
        Progress-bar title.
    unit : str, default="task"
        Progress-bar unit.
    progress : bool, default=True

    Returns
    -------
    list
        ``[task(...) for task in tasks]``, in that order whatever order they finished in.
    """
    results = [None] * len(tasks)
    # only a parallel run asks the store first (a serial one would hash every task's arguments twice)
    is_stored = [task.stored() for task in tasks] if n_jobs != 1 else [False] * len(tasks)
    stored = [i for i, done in enumerate(is_stored) if done]
    todo = [i for i, done in enumerate(is_stored) if not done]
    parallel = n_jobs != 1 and len(todo) > 1
    with tqdm(total=len(tasks), desc=desc, unit=unit, disable=not progress) as bar:
        for i in stored if parallel else range(len(tasks)):  # here: cheap loads, or everything
            bar.set_postfix_str(tasks[i].label)
            results[i] = tasks[i](n_jobs)
            bar.update()
        if parallel:
            order = sorted(todo, key=lambda i: tasks[i].cost, reverse=True)
            with warnings.catch_warnings():
                # loky replaces a worker whose memory grew by 300 MB (TensorFlow's graphs of many
                # Keras fits do) and says so; the replacement is routine, not an error
                warnings.filterwarnings("ignore", "A worker stopped while some jobs were given", UserWarning)
                for i, result, caught in Parallel(n_jobs=n_jobs, batch_size=1, return_as="generator_unordered")(
                        delayed(_in_worker)(i, tasks[i]) for i in order):
                    results[i] = result
                    for category, message, filename, lineno in caught:  # e.g. a failed unit's RuntimeWarning
                        warnings.warn_explicit(message, category, filename, lineno)
                    bar.set_postfix_str(tasks[i].label)
                    bar.update()
    return results


def _in_worker(i: int, task: Task) -> tuple:
    """``(i, task(1), warnings)``: a worker's warnings, to be shown again by the study's process."""
    with warnings.catch_warnings(record=True) as caught:
        result = task(1)
    return i, result, [(w.category, str(w.message), w.filename, w.lineno) for w in caught]
