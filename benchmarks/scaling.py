"""How the study scales with the rows of a user's table: wall, CPU, busy cores, time left, budget.

The workload is what a user runs on their own table: ``python -m study.run --data <csv> --target y
--no-cache`` with default settings otherwise (nested CV and diagnostics asked for, every built-in
model, default ``--n-jobs``), on ``make_classification`` CSVs made here (``--rows`` sizes, default
2,000, 8,000 and 32,000 rows, x 30 features of which 10 informative, ``random_state=0``). Each size
runs twice in fresh subprocesses: without a budget, and with ``--time-budget`` (default ``10m``;
``--budget none`` skips these runs). Each run's standard error is read as it comes (the progress
bar, redrawn twice a second: its time left is timed from the start, as in ``eta.py``); its CPU
seconds are those of the whole process tree (``RUSAGE_CHILDREN``: the study and its workers).

Printed per run: wall seconds, CPU seconds, busy cores (CPU / wall), the time left's largest error
after 20% of the run (``eta.py``'s checkpoints) and, with a budget, what it reduced. Then the CPU
seconds' growth exponent between consecutive sizes (1.0: linear in the rows), and last:

- ``RATIO scaling_eta_error`` = the largest absolute error of the time left over all runs
  (target <= 0.30: issue 25's "within +/-30% of the actual remaining time after 20% of the work");
- ``RATIO scaling_busy_cores`` = the lowest busy cores of the runs without a budget (target >= 1.7
  on 2 cores);
- ``RATIO scaling_budget`` = the largest wall / budget of the runs with one (target <= 1.0).

Every ratio compares times of the same run, so the machine's drifting speed cancels. The whole
script takes about an hour at the default sizes on 2 cores (the 32,000-row run without a budget
alone some 25 minutes).

Usage: python benchmarks/scaling.py [--rows N [N ...]] [--budget DURATION|none]
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
from pathlib import Path

import _measure
from eta import checkpoint_errors, timed_estimates
from first_report import make_csv

NAME = "scaling"
ETA_TARGET = 0.30
BUSY_TARGET = 1.7
BUDGET_TARGET = 1.0
SIZES = (2_000, 8_000, 32_000)


def run_once(csv: Path, out: Path, budget: str | None, source: Path) -> dict:
    """One study on ``csv``: ``{"wall", "cpu", "busy", "eta_error", "budget"}`` (the last: the
    ``budget`` record of its study.json, None without a budget)."""
    options = [] if budget is None else ["--time-budget", budget]
    cmd = _measure.study_command("--data", csv, "--target", "y", "--no-cache", *options, "--out", out)
    before = _measure.children_cpu()
    estimates, wall = timed_estimates(cmd, source)
    cpu = _measure.children_cpu() - before
    errors = checkpoint_errors(estimates, wall)
    record = json.loads((out / "study.json").read_text()).get("budget") if budget is not None else None
    return dict(wall=wall, cpu=cpu, busy=cpu / wall, eta_error=max(abs(e) for e in errors), budget=record)


def describe(rows: int, budget: str | None, result: dict) -> None:
    """Print one run's figures."""
    where = f"{rows:>6,} rows, " + ("no budget" if budget is None else f"--time-budget {budget}")
    eta = (f"time left off by at most {result['eta_error']:.0%}" if math.isfinite(result["eta_error"])
           else "no time left shown yet at 20% of the run")
    print(f"{where}: {result['wall']:.0f} s wall, {result['cpu']:.0f} CPU-s, busy cores {result['busy']:.2f}, {eta}",
          flush=True)
    if result["budget"] is not None:
        record = result["budget"]
        print(f"    wall / budget {result['wall'] / record['budget_seconds']:.2f}; predicted "
              f"{record['predicted_seconds']:.0f} s as reduced ({record['unreduced_seconds']:.0f} s unreduced)")
        for line in record["lines"]:
            print(f"    {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=list(SIZES), help="table sizes (default: %(default)s)")
    parser.add_argument("--budget", default="10m", help="a duration (10m, 90s, 1.5h) or none (default: %(default)s)")
    args = parser.parse_args()
    budgets = [None] if args.budget == "none" else [None, args.budget]
    source = _measure.freeze_source()
    print(_measure.machine_note())
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for rows in sorted(args.rows):
            csv = Path(folder) / f"table_{rows}.csv"
            make_csv(csv, rows)
            for budget in budgets:
                out = Path(folder) / f"out_{rows}_{budget or 'none'}"
                results[rows, budget] = run_once(csv, out, budget, source)
                describe(rows, budget, results[rows, budget])
    sizes = sorted(args.rows)
    for small, large in zip(sizes, sizes[1:]):
        growth = math.log(results[large, None]["cpu"] / results[small, None]["cpu"]) / math.log(large / small)
        print(f"CPU seconds {small:,} -> {large:,} rows: rows^{growth:.2f}")
    _measure.ratio_line(f"{NAME}_eta_error", max(r["eta_error"] for r in results.values()), "<=", ETA_TARGET)
    _measure.ratio_line(f"{NAME}_busy_cores", min(r["busy"] for (_, b), r in results.items() if b is None), ">=",
                        BUSY_TARGET)
    budgeted = [r["wall"] / r["budget"]["budget_seconds"] for (_, b), r in results.items() if b is not None]
    if budgeted:
        _measure.ratio_line(f"{NAME}_budget", max(budgeted), "<=", BUDGET_TARGET)


if __name__ == "__main__":
    main()
