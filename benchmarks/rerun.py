"""Cost of an unchanged rerun: cold run vs rerun with the same unit cache.

Runs ``python -m study.run --cache-dir <empty temporary dir> --out <temporary dir>`` (the
quick default study; the full one with ``--full``), then the same command again with the
same cache directory: every unit comes from the joblib.Memory cache and nothing is fitted.
Each run is a fresh subprocess (imports, report writing and figures included, as a user
sees it). Cold/rerun pairs are repeated (2 with the quick study, 1 with ``--full``), each pair
with a new empty cache. Prints both wall times and the rerun's fraction of the cold run =
min rerun wall / min cold wall. Also checks that the rerun stored no new unit (it fitted
nothing): the number of cached units after each run. With ``--new-out`` the rerun writes
its report into a new folder (another ``--out``, or a deleted report): its figures then come from
the figures the store kept, not from the previous report.

Target: RATIO rerun = rerun / cold <= 0.10.

Usage: python benchmarks/rerun.py [--full] [--repeats N] [--n-jobs N] [--new-out]
"""

from __future__ import annotations

import argparse
import shutil

import _measure

NAME = "rerun"
TARGET = 0.10


def cached_units(cache) -> int:
    """Number of work items stored in a joblib.Memory cache directory (not the figures kept beside them)."""
    return sum(1 for _ in cache.rglob("_compute/*/output.pkl"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog="Target: rerun wall / cold wall <= 0.10.")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="the quick default study (the default)")
    mode.add_argument("--full", action="store_true", help="the full default study (many minutes for the cold run)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="cold/rerun pairs (default 2 for the quick study, 1 with --full)")
    parser.add_argument("--n-jobs", type=int, default=-1, help="--n-jobs of both runs (default: %(default)s)")
    parser.add_argument("--new-out", action="store_true",
                        help="the rerun writes its report into a new folder, not over the cold run's")
    args = parser.parse_args()
    repeats = args.repeats or (1 if args.full else 2)
    study = "FULL default study" if args.full else "quick default study"
    folder = "a new report folder" if args.new_out else "the same report folder"
    print(f"{NAME}: {study}, cold run (empty cache) then unchanged rerun (same cache, {folder}); "
          f"{repeats} pair(s); --n-jobs {args.n_jobs}")
    print(_measure.machine_note())
    _measure.freeze_source()
    cold, warm = [], []
    for rep in range(repeats):
        print(f"pair {rep + 1}/{repeats}", flush=True)
        cache, out = _measure.temp_dir("rerun-cache"), _measure.temp_dir("rerun-out")
        try:
            def cmd(folder):
                return _measure.study_command(*([] if args.full else ["--quick"]), "--n-jobs", args.n_jobs,
                                              "--cache-dir", cache, "--out", out / folder)
            cold.append(_measure.run(cmd("report"), label="cold (empty cache)").check())
            stored = cached_units(cache)
            warm.append(_measure.run(cmd("another" if args.new_out else "report"),
                                     label="rerun (same cache)").check())
            print(f"    cached units after the cold run: {stored}, after the rerun: {cached_units(cache)} "
                  f"(rerun fitted nothing: {cached_units(cache) == stored})")
        finally:
            shutil.rmtree(cache, ignore_errors=True)
            shutil.rmtree(out, ignore_errors=True)
    print(f" cold wall: {_measure.describe(_measure.walls(cold))}")
    print(f"rerun wall: {_measure.describe(_measure.walls(warm))}")
    print(f" cold CPU: {_measure.describe([m.cpu for m in cold])}; "
          f"rerun CPU: {_measure.describe([m.cpu for m in warm])}")
    value = min(_measure.walls(warm)) / min(_measure.walls(cold))
    _measure.ratio_line(NAME, value, "<=", TARGET)


if __name__ == "__main__":
    main()
