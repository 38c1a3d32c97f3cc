"""Parallel speed-up of the default study: ``--n-jobs 2`` vs ``--n-jobs 1``.

Runs ``python -m study.run --no-cache --out <temporary dir>`` (the full default study; the
quick one with ``--quick``) with ``--n-jobs 1`` and with ``--n-jobs 2``, each in a fresh
subprocess, interleaved (1 2, 2 1, ...): 2 repetitions each with ``--quick``, 1 for the full
study, which takes many minutes per run (10+ minutes on 2 cores). Prints both wall times,
the CPU seconds and mean busy cores of each run, and the speed-up = min wall(n_jobs=1) /
min wall(n_jobs=2).

Target: RATIO parallel = speed-up >= 1.7 (on a 2-core machine that nothing else is using;
other processes competing for the cores lower it).

Usage: python benchmarks/parallel.py [--quick] [--repeats N] [--jobs N]
"""

from __future__ import annotations

import argparse
import shutil

import _measure

NAME = "parallel"
TARGET = 1.7


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog="Target: speed-up >= 1.7 (min wall n_jobs=1 / min wall n_jobs=N).")
    parser.add_argument("--quick", action="store_true", help="the quick default study (about a minute per run)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="repetitions per variant (default 2 with --quick, 1 for the full study)")
    parser.add_argument("--jobs", type=int, default=2, help="n_jobs of the parallel variant (default: %(default)s)")
    args = parser.parse_args()
    repeats = args.repeats or (2 if args.quick else 1)
    study = "quick default study" if args.quick else "FULL default study (many minutes per run)"
    print(f"{NAME}: {study}, --n-jobs {args.jobs} vs --n-jobs 1, --no-cache, {repeats} interleaved repetition(s) each")
    print(_measure.machine_note())
    _measure.freeze_source()

    def variant(jobs: int):
        def go():
            out = _measure.temp_dir(f"parallel-n{jobs}")
            try:
                cmd = _measure.study_command(*(["--quick"] if args.quick else []), "--n-jobs", jobs, "--no-cache",
                                             "--out", out)
                return _measure.run(cmd, label=f"n_jobs={jobs}").check()
            finally:
                shutil.rmtree(out, ignore_errors=True)
        return go

    runs = _measure.interleave({"n_jobs=1": variant(1), f"n_jobs={args.jobs}": variant(args.jobs)}, repeats)
    for name, ms in runs.items():
        busy = ", ".join(f"{m.cpu / m.wall:.2f}" for m in ms)
        print(f"{name:>9s} wall: {_measure.describe(_measure.walls(ms))}; mean busy cores {busy}")
    print(_measure.machine_note())
    serial, parallel = min(_measure.walls(runs["n_jobs=1"])), min(_measure.walls(runs[f"n_jobs={args.jobs}"]))
    print(f"speed-up n_jobs={args.jobs} over n_jobs=1: {serial:.1f} s / {parallel:.1f} s")
    _measure.ratio_line(NAME, serial / parallel, ">=", TARGET)


if __name__ == "__main__":
    main()
