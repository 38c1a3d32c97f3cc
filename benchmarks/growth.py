"""Growth with the number of units: wall time and peak memory for 1x, 2x and 4x the fits.

A unit here is one fit. The workload is one dataset (digits) and one model
(logistic_regression by default) whose grid of the regularization knob is scaled: 4, 8 and
16 values spread over the same range (``model__C`` log-spaced in [1e-2, 10]; with
``--model random_forest``, ``model__min_samples_leaf`` evenly spaced in [1, 16]), so the mean
cost of one fit stays the same. cv=5, n_jobs=2, no nested CV or diagnostics, no unit cache: 4*5+1, 8*5+1 and
16*5+1 fits (the +1 is the refit on the whole training part, which runs alone in the main
process).

Each size runs in a fresh subprocess whose process tree is sampled with psutil every 0.1 s
(peak RSS of the main process and of the largest joblib worker). Inside it, a small warm-up
study (one grid value) first pays the imports and starts the worker pool; then the timed
``run_study``. Sizes are interleaved (1x 2x 4x, 4x 2x 1x, ...), 2 repetitions (1 with
``--quick``); the minimum time per size is used.

Linear time means time = fixed cost per study + constant cost per fit. Printed: time per fit
for each size; time(2x)/time(1x) and time(4x)/time(1x) (target: no worse than linear, <= 2 and
<= 4 with 15% tolerance; a fixed cost per study makes them smaller); peak worker memory ratios
(target: flat, ~1.0 within 15%); the implied fixed cost; and, last, RATIO growth = the marginal
cost per fit from 2x to 4x ((t4x - t2x) / (fits 4x - fits 2x)) over that from 1x to 2x (target
~1.0 within 15%: every added fit costs the same, whatever the study's size).

Usage: python benchmarks/growth.py [--quick] [--model {logistic_regression,random_forest}]
"""

from __future__ import annotations

import argparse
import time

import _measure

NAME = "growth"
TOLERANCE = 0.15
CV, N_JOBS, DATASET = 5, 2, "digits"
BASE_VALUES = 4
KNOBS = {"logistic_regression": "model__C", "random_forest": "model__min_samples_leaf"}


def grid_values(model: str, n: int) -> list:
    """``n`` values of the model's knob over a fixed range (the mean cost of a fit stays put)."""
    import numpy as np

    if model == "logistic_regression":
        return [float(v) for v in np.logspace(-2, 1, n)]
    return [int(round(v)) for v in np.linspace(1, 16, n)]


def child(model: str, n: int) -> None:
    """One size: warm-up study, then the timed study with an ``n``-value grid."""
    from study.orchestrator import run_study

    knob = KNOBS[model]
    base = dict(datasets=(DATASET,), models=(model,), cv=CV, n_jobs=N_JOBS, cache_dir=None, seed=0)
    run_study(_measure.plain_spec(**base, grids={model: {knob: grid_values(model, 1)}}), progress=False)  # warm-up
    start = time.perf_counter()
    result = run_study(_measure.plain_spec(**base, grids={model: {knob: grid_values(model, n)}}), progress=False)
    seconds = time.perf_counter() - start
    table = result.results
    failed = int((table["status"] != "ok").sum())
    refit = float(table["fit_time"].dropna().iloc[0]) if table["fit_time"].notna().any() else float("nan")
    _measure.emit(dict(seconds=seconds, fits=n * CV + 1, refit=refit, failed=failed))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog="Targets: time linear in the fits (marginal cost per fit "
                                            "x1.0 within 15%, time x2 / x4 at most), peak worker memory flat "
                                            "(x1.0 within 15%).")
    parser.add_argument("--quick", action="store_true", help="1 repetition per size instead of 2")
    parser.add_argument("--repeats", type=int, default=None, help="repetitions per size (default 2, 1 with --quick)")
    parser.add_argument("--model", choices=sorted(KNOBS), default="logistic_regression",
                        help="model whose grid is scaled (default: %(default)s)")
    parser.add_argument("--child", type=int, metavar="N_VALUES", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.model, args.child)
        return
    repeats = args.repeats or (1 if args.quick else 2)
    sizes = {f"{k}x": BASE_VALUES * k for k in (1, 2, 4)}
    print(f"{NAME}: {DATASET} / {args.model}, grid of {KNOBS[args.model]} with {list(sizes.values())} values, "
          f"cv={CV}, n_jobs={N_JOBS}, no cache; {repeats} interleaved repetition(s)")
    print(_measure.machine_note())
    _measure.freeze_source()
    variants = {
        label: (lambda n=n, label=label: _measure.run(
            _measure.self_command(__file__, "--model", args.model, "--child", n),
            label=f"{label} ({n} values)").check())
        for label, n in sizes.items()
    }
    runs = _measure.interleave(variants, repeats)
    best = {label: min(ms, key=lambda m: m.data["seconds"]) for label, ms in runs.items()}
    if any(m.data["failed"] for ms in runs.values() for m in ms):
        print("WARNING: some units failed; the figures are not meaningful")
    print(f"{'size':>4s} {'fits':>5s} {'study s':>8s} {'s/fit':>7s} {'refit s':>8s} {'main peak MiB':>14s} "
          f"{'worker peak MiB':>16s} {'tree peak MiB':>14s}")
    for label, m in best.items():
        fits = m.data["fits"]
        worker = max(x.peak_worker_rss for x in runs[label]) / _measure.MiB
        main_peak = max(x.peak_main_rss for x in runs[label]) / _measure.MiB
        tree = max(x.peak_tree_rss for x in runs[label]) / _measure.MiB
        print(f"{label:>4s} {fits:>5d} {m.data['seconds']:8.2f} {m.data['seconds'] / fits:7.3f} {m.data['refit']:8.2f} "
              f"{main_peak:14.0f} "
              f"{worker:16.0f} {tree:14.0f}")
    t = {label: m.data["seconds"] for label, m in best.items()}
    worker = {label: max(x.peak_worker_rss for x in ms) for label, ms in runs.items()}
    main_rss = {label: max(x.peak_main_rss for x in ms) for label, ms in runs.items()}
    fits = {label: m.data["fits"] for label, m in best.items()}
    low = (t["2x"] - t["1x"]) / (fits["2x"] - fits["1x"])
    high = (t["4x"] - t["2x"]) / (fits["4x"] - fits["2x"])
    fixed = t["1x"] - low * fits["1x"]
    print(f"marginal cost per fit: 1x->2x {low:.3f} s, 2x->4x {high:.3f} s (ratio {high / low:.2f}; 1.0 = linear); "
          f"implied fixed cost per study {fixed:.2f} s")
    print(f"main-process peak memory ratios: 2x/1x {main_rss['2x'] / main_rss['1x']:.3f}, "
          f"4x/1x {main_rss['4x'] / main_rss['1x']:.3f}")
    _measure.ratio_line(f"{NAME}_time_2x", t["2x"] / t["1x"], "<=", 2.0 * (1 + TOLERANCE))
    _measure.ratio_line(f"{NAME}_time_4x", t["4x"] / t["1x"], "<=", 4.0 * (1 + TOLERANCE))
    _measure.ratio_line(f"{NAME}_worker_memory_2x", worker["2x"] / worker["1x"], "~=", 1.0, TOLERANCE)
    _measure.ratio_line(f"{NAME}_worker_memory_4x", worker["4x"] / worker["1x"], "~=", 1.0, TOLERANCE)
    _measure.ratio_line(NAME, high / low, "~=", 1.0, TOLERANCE)


if __name__ == "__main__":
    main()
