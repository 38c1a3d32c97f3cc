"""Wall time and peak memory of the default study, so that regressions show up.

Runs ``python -m study.run --no-cache --out <temporary dir>`` (the full default study, 10+
minutes on 2 cores; the quick one with ``--quick``) in a fresh subprocess, sampling its
process tree with psutil every 0.1 s: wall time, CPU seconds, peak RSS of the main process,
of the largest joblib worker and of the whole tree (sum).

Wall times are not comparable between machines or loads, so the script also times a fixed
calibration workload that does not use the project's code (``_measure.CALIBRATION_CODE``:
scikit-learn fits, TensorFlow's import, a small Keras fit), interleaved with the study
(calibration, study, [study, calibration] ...), and reports the study's wall time in
calibration units: RATIO default_study = min study wall / min calibration wall.

Target: RATIO <= 1.25 x the baseline recorded in ``BASELINE`` below (measured on this 2-core
machine with nothing else running), i.e. no slowdown of more than 25%.
The calibration itself varies with the load (15-29 s in one run at load ~4.5), so compare
runs made on a quiet machine.
Peak memories are printed for the record (absolute MiB; compare runs of this script).

Usage: python benchmarks/default_study.py [--quick] [--repeats N] [--n-jobs N]
"""

from __future__ import annotations

import argparse
import shutil

import _measure

NAME = "default_study"
#: study wall / calibration wall: quick recorded 2026-11-21 (commit 952f061, 2 cores, nothing else
#: running: 44.7 s / 10.8 s); the full study has not been measured by this script yet (one
#: cold `python -m study.run` took 2328 s that day): record it from its first run.
BASELINE = {"quick": 4.1, "full": None}
SLACK = 1.25


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog="Target: study / calibration <= 1.25 x BASELINE.")
    parser.add_argument("--quick", action="store_true", help="the quick default study (about a minute)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="study runs (default 2 with --quick, 1 for the full study, which takes 10+ minutes)")
    parser.add_argument("--n-jobs", type=int, default=-1, help="--n-jobs of the study (default: %(default)s)")
    args = parser.parse_args()
    mode = "quick" if args.quick else "full"
    repeats = args.repeats or (2 if args.quick else 1)
    print(f"{NAME}: the {mode} default study (--no-cache, --n-jobs {args.n_jobs}), {repeats} run(s), "
          f"interleaved with a fixed calibration workload")
    if not args.quick:
        print("note: the full default study takes many minutes (10+ on 2 cores)")
    print(_measure.machine_note())
    _measure.freeze_source()

    def study():
        out = _measure.temp_dir("default-study")
        try:
            cmd = _measure.study_command(*(["--quick"] if args.quick else []), "--n-jobs", args.n_jobs,
                                         "--no-cache", "--out", out)
            return _measure.run(cmd, label=f"{mode} default study").check()
        finally:
            shutil.rmtree(out, ignore_errors=True)

    runs = _measure.interleave({"calibration": _measure.calibration, "study": study}, repeats)
    if repeats % 2 == 1:  # end with a calibration too: calibration, study, calibration
        runs["calibration"].append(_measure.calibration())
    studies, calibrations = runs["study"], runs["calibration"]
    mib = _measure.MiB
    print(f"      study wall: {_measure.describe(_measure.walls(studies))}")
    print(f"calibration wall: {_measure.describe(_measure.walls(calibrations))}")
    print(f"study CPU: {', '.join(f'{m.cpu:.0f} s ({m.cpu / m.wall:.2f} busy cores)' for m in studies)}")
    print(f"study peak RSS: main process {max(m.peak_main_rss for m in studies) / mib:.0f} MiB, "
          f"largest worker {max(m.peak_worker_rss for m in studies) / mib:.0f} MiB, "
          f"whole tree {max(m.peak_tree_rss for m in studies) / mib:.0f} MiB "
          f"(up to {max(m.max_descendants for m in studies)} descendant processes)")
    print(_measure.machine_note())
    value = min(_measure.walls(studies)) / min(_measure.walls(calibrations))
    baseline = BASELINE[mode]
    if baseline is None:
        print(f"no baseline recorded for the {mode} study: record {value:.2f} in BASELINE")
        baseline = value
    print(f"baseline {baseline:.2f} calibration units; target <= {SLACK} x baseline")
    _measure.ratio_line(NAME, value, "<=", SLACK * baseline)


if __name__ == "__main__":
    main()
