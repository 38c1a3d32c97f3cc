"""A time budget on a large table: the whole study's wall time over its ``--time-budget``.

The workload is issue 25's: ``python -m study.run --data <csv> --target y --time-budget 10m``
with default settings otherwise (nested CV and diagnostics asked for, every built-in model,
default ``--n-jobs``, no cache), on a ``make_classification`` CSV made here (``--rows`` rows,
default 50,000, x 30 features of which 10 informative, ``random_state=0``). One run in a fresh
subprocess (several minutes); its wall time and CPU seconds are measured from outside, the
budget's record is read from the ``study.json`` it writes.

Printed: what the budget reduced (the report's protocol line), the predicted seconds against the
measured ones, the busy cores, and last ``RATIO budget`` = wall / budget (target <= 1.0: the study
ends within its budget; the budget is a time on this machine, so the ratio needs no calibration).

With ``--budget none`` (and e.g. ``--rows 8000 --no-nested``, issue 25's run) the study runs
without a budget and the last line is ``RATIO busy_cores`` = CPU seconds / wall seconds of the
whole process tree (target >= 1.7 on 2 cores: both busy to the end).

Usage: python benchmarks/budget.py [--rows N] [--budget DURATION|none] [--no-nested]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import _measure
from first_report import make_csv

NAME = "budget"
TARGET = 1.0
BUSY_TARGET = 1.7


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--budget", default="10m", help="a duration: 10m, 90s, 1.5h, or none (default: %(default)s)")
    parser.add_argument("--no-nested", action="store_true", help="the study without nested CV")
    args = parser.parse_args()
    budget = [] if args.budget == "none" else ["--time-budget", args.budget]
    _measure.freeze_source()
    print(_measure.machine_note())
    with tempfile.TemporaryDirectory() as folder:
        csv, out = Path(folder) / "table.csv", Path(folder) / "out"
        make_csv(csv, args.rows)
        run = _measure.run(_measure.study_command("--data", csv, "--target", "y", "--no-cache", *budget,
                                                  *(["--no-nested"] if args.no_nested else []), "--out", out),
                           label="budget").check()
        record = json.loads((out / "study.json").read_text()).get("budget")
    if record is None:
        print(f"{args.rows} rows, no budget: {run.wall:.0f} s wall, {run.cpu:.0f} CPU-s")
        _measure.ratio_line("busy_cores", run.cpu / run.wall, ">=", BUSY_TARGET)
        return
    print(f"{args.rows} rows, --time-budget {args.budget} ({record['budget_seconds']:.0f} s):")
    for line in record["lines"]:
        print(f"  {line}")
    print(f"  predicted {record['predicted_seconds']:.0f} s as reduced ({record['unreduced_seconds']:.0f} s "
          f"unreduced); measured {run.wall:.0f} s wall, {run.cpu:.0f} CPU-s, mean busy cores {run.cpu / run.wall:.2f}")
    print(f"  predicted seconds of one fit on a fold's rows: {record['fit_seconds']}")
    _measure.ratio_line(NAME, run.wall / record["budget_seconds"], "<=", TARGET)


if __name__ == "__main__":
    main()
