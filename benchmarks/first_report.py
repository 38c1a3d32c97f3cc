"""The main comparison first: when the first report appears, as a fraction of the whole study.

The workload is what a user runs on their own table: ``python -m study.run --data <csv> --target y``
with default settings (nested CV and diagnostics on, every built-in model, default ``--n-jobs``,
no cache), on a ``make_classification`` CSV made here (``--rows`` rows, default 4,000, x 30
features of which 10 informative, ``random_state=0``). One run in a fresh subprocess; its standard
output is read line by line as it comes, and the time of each line is taken from the start.

Printed: the seconds at which ``wrote ...: the main comparison (...)`` appeared, the seconds of the
whole study (to the final ``wrote ...report.md``), and last ``RATIO first_report`` = the first over
the whole (target < 0.25: issue 25's "the main comparison's report appears before 25% of the total
time has passed"). Both times come from the same run, so the machine's speed cancels.

Usage: python benchmarks/first_report.py [--rows N]
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

import _measure

NAME = "first_report"
TARGET = 0.25
FIRST = "the main comparison ("


def make_csv(path: Path, rows: int) -> None:
    """A ``make_classification`` table of ``rows`` rows: 30 features (10 informative), target ``y``."""
    import pandas as pd
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=rows, n_features=30, n_informative=10, random_state=0)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])]).assign(y=y)
    frame.to_csv(path, index=False)


def timed_lines(cmd: list, cwd: Path) -> list:
    """``[(seconds since start, line)]`` of the command's standard output, as each line came."""
    start = time.perf_counter()
    proc = subprocess.Popen([str(c) for c in cmd], cwd=cwd, env=_measure.child_env(), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    lines = [(time.perf_counter() - start, line.rstrip("\n")) for line in proc.stdout]
    if proc.wait() not in (0, 1):  # 1: some unit failed, still a whole report
        raise RuntimeError(f"the study exited with {proc.returncode}: {lines[-3:]}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=4000)
    args = parser.parse_args()
    source = _measure.freeze_source()
    print(_measure.machine_note())
    with tempfile.TemporaryDirectory() as folder:
        csv = Path(folder) / "table.csv"
        make_csv(csv, args.rows)
        lines = timed_lines([_measure.PYTHON, "-m", "study.run", "--data", csv, "--target", "y", "--no-cache",
                             "--out", Path(folder) / "out"], cwd=source)
    for seconds, line in lines:
        print(f"  {seconds:7.1f} s  {line}")
    first = next((s for s, line in lines if FIRST in line), None)
    total = next(s for s, line in reversed(lines) if line.startswith("wrote ") and FIRST not in line)
    if first is None:
        raise SystemExit("no first report was written (nothing was left to compute after the main comparison)")
    print(f"{args.rows} rows: the main comparison at {first:.1f} s, the whole report at {total:.1f} s")
    _measure.ratio_line(NAME, first / total, "<=", TARGET)


if __name__ == "__main__":
    main()
