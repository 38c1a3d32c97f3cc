"""Shared measuring code of the benchmark scripts (not a benchmark itself).

- :func:`run`: run one command in a fresh subprocess, sample its process tree with psutil
  every ``interval`` seconds from a thread, return a :class:`Measurement` (wall seconds,
  peak RSS of the main process, of the largest descendant = a joblib/loky worker, and of
  the whole tree).
- :func:`interleave`: run the compared variants alternately (A B B A A B ...), so a slow
  drift of the machine's load hits every variant alike.
- :func:`self_command` / :func:`emit` / :attr:`Measurement.data`: a script re-runs itself with
  ``--child ...`` in a subprocess; the child prints one JSON line that the parent reads.
- :func:`calibration`: a fixed small Keras fit timed beside a measurement, so that an absolute
  figure can be read against the machine's speed at the time (it drifts by up to 1.5x).
- :func:`ratio_line`: the final ``RATIO <name> = <value> (target <op> <target>)`` line.
- :func:`freeze_source`: every measured subprocess imports ``study`` and ``backends`` from one
  copy taken when the script starts (the last commit; ``BENCH_SOURCE=worktree``: the working
  tree) through ``PYTHONPATH``, so edits made while a benchmark runs cannot change the code
  under test half-way (nor the unit cache's key, which hashes the model-building source).

The project's rule: benchmarks print RATIOS of variants measured within one run of a script,
never absolute times checked against a fixed limit.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
JSON_TAG = "BENCH_JSON "
MiB = 1024.0 * 1024.0
PACKAGES = ("study", "backends")
_SOURCE: Path | None = None  # set by freeze_source()


@dataclass
class Measurement:
    """One subprocess run.

    Attributes
    ----------
    label : str
    wall : float
        Wall-clock seconds from start to exit of the subprocess (its imports included).
    returncode : int
    peak_main_rss : int
        Peak resident set size of the subprocess itself, bytes (Linux ``VmHWM`` when readable,
        else the largest sampled RSS).
    peak_worker_rss : int
        The largest peak RSS of any descendant process (joblib/loky workers; 0 if none), bytes.
    peak_tree_rss : int
        The largest sampled sum of RSS over the whole tree, bytes (shared pages counted once
        per process, so an upper bound).
    max_descendants : int
        The most descendants seen at one sample.
    cpu : float
        CPU seconds (user + system) of the subprocess and of those descendants it waited for
        (``getrusage(RUSAGE_CHILDREN)`` difference); ``cpu / wall`` is the mean number of busy cores.
    stdout, stderr : str
    data : dict or None
        The JSON object the child printed with :func:`emit`, if any.
    """

    label: str
    wall: float
    returncode: int
    peak_main_rss: int = 0
    peak_worker_rss: int = 0
    peak_tree_rss: int = 0
    max_descendants: int = 0
    cpu: float = 0.0
    stdout: str = ""
    stderr: str = ""
    data: dict | None = field(default=None)

    def check(self) -> "Measurement":
        """Raise ``RuntimeError`` with the tail of stderr if the subprocess failed."""
        if self.returncode != 0:
            tail = "\n".join(self.stderr.strip().splitlines()[-25:])
            raise RuntimeError(f"{self.label}: exit status {self.returncode}; stderr tail:\n{tail}")
        return self

    def summary(self) -> str:
        """One line: wall time and peak memories."""
        return (f"{self.label:<28s} wall {self.wall:8.2f} s   main peak {self.peak_main_rss / MiB:7.0f} MiB   "
                f"worker peak {self.peak_worker_rss / MiB:6.0f} MiB   tree peak {self.peak_tree_rss / MiB:7.0f} MiB   "
                f"cpu {self.cpu:7.1f} s ({self.max_descendants} descendants)")


def _hwm(pid: int) -> int:
    """Peak RSS (``VmHWM``) of a live process in bytes, or 0 where unavailable."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


class _TreeSampler(threading.Thread):
    """Samples the RSS of a process and its descendants until stopped."""

    def __init__(self, pid: int, interval: float):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.main = self.worker = self.tree = self.count = 0
        self._stop_event = threading.Event()

    def sample(self) -> None:
        try:
            root = psutil.Process(self.pid)
            procs = [root] + root.children(recursive=True)
        except psutil.Error:
            return
        total, count = 0, 0
        for proc in procs:
            try:
                rss = proc.memory_info().rss
            except psutil.Error:
                continue
            peak = max(rss, _hwm(proc.pid))
            total += rss
            if proc.pid == self.pid:
                self.main = max(self.main, peak)
            else:
                count += 1
                self.worker = max(self.worker, peak)
        self.tree = max(self.tree, total)
        self.count = max(self.count, count)

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.sample()
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def child_env(extra: dict | None = None) -> dict:
    """The environment of every measured subprocess: quiet TensorFlow, plus ``extra``."""
    env = dict(os.environ)
    if _SOURCE is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(_SOURCE)] + [p for p in [env.get("PYTHONPATH")] if p])
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env.setdefault("PYTHONWARNINGS", "ignore")
    env.update(extra or {})
    return env


def run(cmd: list, *, label: str | None = None, env: dict | None = None, cwd: Path | None = None,
        interval: float = 0.1, timeout: float | None = None, echo: bool = True) -> Measurement:
    """Run ``cmd`` in a fresh subprocess and sample its process tree.

    Parameters
    ----------
    cmd : list of str
    label : str or None
        Name printed with the result; default the command.
    env : dict or None
        Extra environment variables (on top of :func:`child_env`).
    cwd : pathlib.Path or None
        Default: the source snapshot of :func:`freeze_source` if taken, else the repository root.
    interval : float, default=0.1
        Seconds between two samples of the process tree.
    timeout : float or None
        Seconds after which the subprocess tree is killed and ``RuntimeError`` raised.
    echo : bool, default=True
        Print the label before and the summary after the run.

    Returns
    -------
    Measurement
        ``data`` holds the child's :func:`emit` output, if any. Not checked: call ``.check()``.
    """
    label = label or " ".join(str(c) for c in cmd)
    if echo:
        print(f"  running {label} ...", flush=True)
    before = children_cpu()
    start = time.perf_counter()
    cwd = cwd or _SOURCE or REPO
    proc = subprocess.Popen([str(c) for c in cmd], cwd=cwd, env=child_env(env), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sampler = _TreeSampler(proc.pid, interval)
    sampler.start()
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_tree(proc.pid)
        proc.communicate()
        raise RuntimeError(f"{label}: no result after {timeout} s; killed it") from None
    finally:
        sampler.stop()
    wall = time.perf_counter() - start
    data = None
    for line in out.splitlines():
        if line.startswith(JSON_TAG):
            data = json.loads(line[len(JSON_TAG):])
    m = Measurement(label=label, wall=wall, returncode=proc.returncode, peak_main_rss=sampler.main,
                    peak_worker_rss=sampler.worker, peak_tree_rss=sampler.tree,
                    max_descendants=sampler.count, cpu=children_cpu() - before, stdout=out, stderr=err, data=data)
    if echo:
        print("    " + m.summary(), flush=True)
    return m


def children_cpu() -> float:
    """CPU seconds (user + system) of this process's ended and waited-for child processes so far."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _kill_tree(pid: int) -> None:
    """Kill a subprocess we started and its descendants (by pid, never by name)."""
    try:
        root = psutil.Process(pid)
        procs = root.children(recursive=True) + [root]
    except psutil.Error:
        return
    for proc in procs:
        try:
            proc.kill()
        except psutil.Error:
            pass


def interleave(variants: dict, repeats: int) -> dict:
    """Run each variant ``repeats`` times, alternating the order (A B, B A, A B, ...).

    Parameters
    ----------
    variants : dict of str to callable
        Each callable takes no argument and returns a :class:`Measurement`.
    repeats : int

    Returns
    -------
    dict of str to list of Measurement
    """
    names = list(variants)
    results = {name: [] for name in names}
    for rep in range(repeats):
        order = names if rep % 2 == 0 else names[::-1]
        print(f"repetition {rep + 1}/{repeats}: {' -> '.join(order)}", flush=True)
        for name in order:
            results[name].append(variants[name]())
    return results


def walls(measurements: list) -> list:
    """Wall seconds of each measurement."""
    return [m.wall for m in measurements]


def describe(values: list, unit: str = "s") -> str:
    """``min / median / all`` of a list of numbers."""
    return (f"min {min(values):.2f} {unit}, median {statistics.median(values):.2f} {unit} "
            f"(all: {', '.join(f'{v:.2f}' for v in values)})")


def emit(data: dict) -> None:
    """Print one JSON line for the parent process (read into :attr:`Measurement.data`)."""
    print(JSON_TAG + json.dumps(data), flush=True)


def self_command(script: str, *args) -> list:
    """Command that re-runs a benchmark script (its path) with ``args`` in a new interpreter."""
    return [PYTHON, str(Path(script).resolve()), *map(str, args)]


def study_command(*args) -> list:
    """``python -m study.run`` with ``args``."""
    return [PYTHON, "-m", "study.run", *map(str, args)]


def met(value: float, op: str, target: float, tolerance: float = 0.0) -> bool:
    """Whether ``value <op> target`` holds; ``op`` is ``<=``, ``>=`` or ``~=`` (within ``tolerance``,
    a fraction of ``target``)."""
    if op == "<=":
        return value <= target
    if op == ">=":
        return value >= target
    if op == "~=":
        return abs(value - target) <= tolerance * abs(target)
    raise ValueError(f"op must be '<=', '>=' or '~='; got {op!r}.")


def ratio_line(name: str, value: float, op: str, target: float, tolerance: float = 0.0) -> str:
    """``RATIO <name> = <value> (target <op> <target>) met|MISSED``, printed and returned."""
    shown = f"{target:.2f}" + (f" +/- {tolerance:.0%}" if op == "~=" else "")
    verdict = "met" if met(value, op, target, tolerance) else "MISSED"
    line = f"RATIO {name} = {value:.3f} (target {op} {shown}) {verdict}"
    print(line, flush=True)
    return line


def machine_note() -> str:
    """Cores and current load: a loaded machine slows every variant, and parallel ones most."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return (f"machine: {os.cpu_count()} cores, load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} "
            f"(1/5/15 min), python {sys.version.split()[0]}")


def freeze_source() -> Path:
    """Copy ``study/`` and ``backends/`` to a temporary directory used by every later :func:`run`.

    The copy is of the last commit (``git archive HEAD``, read-only), which is consistent even
    while others edit the working tree. The environment variable ``BENCH_SOURCE`` changes it:
    ``worktree`` copies the working tree as it is now; a directory path copies that directory's
    ``study/`` and ``backends/`` (e.g. a checkout with a proposed fix applied). Returns the
    directory (removed at exit) and prints what was copied and a hash of its files.
    """
    import atexit
    import hashlib
    import io
    import shutil
    import tarfile

    global _SOURCE
    root = temp_dir("source")
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    choice = os.environ.get("BENCH_SOURCE", "head")
    origin, tree = "the working tree", REPO
    if choice not in ("head", "worktree"):
        origin, tree = f"directory {choice}", Path(choice)
    elif choice == "head":
        try:
            git = ["git", "-C", str(REPO)]
            commit = subprocess.run(git + ["rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                    check=True).stdout.strip()
            archive = subprocess.run(git + ["archive", "--format=tar", "HEAD", *PACKAGES], capture_output=True,
                                     check=True).stdout
            with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
                tar.extractall(root, filter="data")
            origin = f"commit {commit}"
        except (OSError, subprocess.CalledProcessError) as exc:
            print(f"source: git archive failed ({exc}); copying the working tree instead")
    if not origin.startswith("commit"):
        for package in PACKAGES:
            shutil.copytree(tree / package, root / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
                            dirs_exist_ok=True)
    digest = hashlib.sha256()
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            digest.update(path.read_bytes())
    _SOURCE = root
    print(f"source: {', '.join(p + '/' for p in PACKAGES)} from {origin} (frozen at {time.strftime('%H:%M:%S')}, "
          f"sha256 {digest.hexdigest()[:12]}) in {root}", flush=True)
    return root


def plain_spec(**fields):
    """A ``StudySpec`` with only the plain units: no nested CV and no diagnostics (each turned off
    only if the spec of the code under test has that field)."""
    from study.spec import StudySpec

    extras = {"nested": False, "diagnostics": False}
    known = StudySpec.__dataclass_fields__
    return StudySpec(**{**{k: v for k, v in extras.items() if k in known}, **fields})


def temp_dir(prefix: str) -> Path:
    """A new empty temporary directory (the caller removes it)."""
    import tempfile

    return Path(tempfile.mkdtemp(prefix=f"bench-{prefix}-"))


#: A fixed workload that does not use the project's code (scikit-learn fits, TensorFlow's
#: import and a small Keras fit): timed in the same run as a study, it turns the study's wall
#: time into a ratio that does not depend on how fast or how loaded the machine is.
CALIBRATION_CODE = r"""
import numpy as np
from sklearn.datasets import load_digits
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
X, y = load_digits(return_X_y=True)
X = X / 16.0
for C in (0.1, 1.0, 10.0):
    LogisticRegression(C=C, max_iter=5000).fit(X, y)
RandomForestClassifier(n_estimators=200, random_state=0, n_jobs=1).fit(X, y)
import keras
keras.utils.set_random_seed(0)
model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(128, activation="relu"),
                          keras.layers.Dense(10, activation="softmax")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
model.fit(X, y, epochs=10, batch_size=32, verbose=0)
"""


REFERENCE_CALIBRATION_SECONDS = 9.9
"""Wall seconds of :data:`CALIBRATION_CODE` on the reference machine, the one of the performance
figures' targets (this 2-core machine on 2026-12-01, docs/performance.md; issue 25 quotes it)."""


def at_reference_speed(seconds: float, *calibrations: "Measurement") -> float:
    """``seconds`` measured beside ``calibrations`` (runs of :func:`calibration`), scaled to the
    reference machine's speed: ``seconds x REFERENCE_CALIBRATION_SECONDS / mean calibration wall``.
    The machine's speed drifts within minutes, so the calibration is timed before and after."""
    return seconds * REFERENCE_CALIBRATION_SECONDS / statistics.mean(m.wall for m in calibrations)


def calibration(label: str = "calibration") -> Measurement:
    """Run :data:`CALIBRATION_CODE` in a fresh subprocess."""
    return run([PYTHON, "-c", CALIBRATION_CODE], label=label).check()
