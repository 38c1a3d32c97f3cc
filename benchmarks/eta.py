"""The progress bar's time left against the time the study then really took.

The workload: ``python -m study.run --no-cache --out <tmp>`` with default settings, on the bundled
default study, or with ``--rows N`` on a ``make_classification`` CSV made here (N rows x 30
features, 10 informative, ``random_state=0``; ``--data <csv> --target y``). One run in a fresh
subprocess; its standard error (where the bar is redrawn twice a second) is read as it comes,
and every "about M:SS left" is timed from the start.

At 20%, 40%, 60% and 80% of the study's actual wall time, the last estimate shown is compared
with the time that was actually left then: the error is (estimate - actual) / actual. Printed: each
checkpoint's estimate, actual and error, and last ``RATIO eta_error`` = the largest absolute error
over the checkpoints (target <= 0.30: issue 25's "within +/-30% of the actual remaining time after
20% of the work"). Estimate and actual come from the same run, so the machine's speed cancels.

Usage: python benchmarks/eta.py [--rows N] [--quick]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import tempfile
import time
from pathlib import Path

import _measure
from first_report import make_csv

NAME = "eta_error"
TARGET = 0.30
CHECKPOINTS = (0.2, 0.4, 0.6, 0.8)
LEFT = re.compile(r"about (?:(\d+):)?(\d+):(\d+) left")


def seconds(match) -> float:
    hours, minutes, secs = match.groups()
    return 3600 * int(hours or 0) + 60 * int(minutes) + int(secs)


def timed_estimates(cmd: list, cwd: Path) -> tuple:
    """``([(seconds since start, estimated seconds left)], total seconds)`` of one run of ``cmd``."""
    start = time.perf_counter()
    proc = subprocess.Popen([str(c) for c in cmd], cwd=cwd, env=_measure.child_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    estimates, pending = [], b""
    while chunk := proc.stderr.read1(65536):
        now = time.perf_counter() - start
        *lines, pending = re.split(rb"[\r\n]", pending + chunk)
        for line in lines:
            match = LEFT.search(line.decode(errors="replace"))
            if match:
                estimates.append((now, seconds(match)))
    if proc.wait() not in (0, 1):
        raise RuntimeError(f"the study exited with {proc.returncode}")
    return estimates, time.perf_counter() - start


def checkpoint_errors(estimates: list, total: float, echo: bool = True) -> list:
    """The time left's relative error at each of :data:`CHECKPOINTS` of a run of ``total`` seconds.

    Parameters
    ----------
    estimates : list of (float, float)
        ``(seconds since start, estimated seconds left)`` as shown (:func:`timed_estimates`).
    total : float
        Seconds the run took.
    echo : bool, default=True
        Print each checkpoint's estimate, actual time left and error.

    Returns
    -------
    list of float
        ``(estimate - actual) / actual`` per checkpoint; ``inf`` where no estimate was shown yet.
    """
    errors = []
    for share in CHECKPOINTS:
        at = share * total
        shown = [(t, left) for t, left in estimates if t <= at]
        if not shown:
            if echo:
                print(f"  {share:.0%} ({at:.0f} s): no estimate shown yet")
            errors.append(float("inf"))
            continue
        t, left = shown[-1]
        actual = total - t
        errors.append((left - actual) / actual)
        if echo:
            print(f"  {share:.0%} ({at:.0f} s): estimate {left:.0f} s left, actually {actual:.0f} s: "
                  f"error {errors[-1]:+.0%}")
    return errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=0, help="a CSV of this many rows (0: the bundled default study)")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    source = _measure.freeze_source()
    print(_measure.machine_note())
    with tempfile.TemporaryDirectory() as folder:
        cmd = [_measure.PYTHON, "-m", "study.run", "--no-cache", "--out", Path(folder) / "out"]
        if args.rows:
            make_csv(Path(folder) / "table.csv", args.rows)
            cmd += ["--data", Path(folder) / "table.csv", "--target", "y"]
        cmd += ["--quick"] if args.quick else []
        estimates, total = timed_estimates(cmd, source)
    print(f"{'the bundled study' if not args.rows else f'{args.rows} rows'}: {total:.1f} s, {len(estimates)} estimates")
    errors = checkpoint_errors(estimates, total)
    _measure.ratio_line(NAME, max(abs(e) for e in errors), "<=", TARGET)


if __name__ == "__main__":
    main()
