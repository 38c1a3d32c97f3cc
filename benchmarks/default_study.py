"""The default study, cold: its wall time against a hand-written baseline, its fits, its memory.

Runs, in fresh subprocesses and in one run of this script:

- ``study``: ``python -m study.run --no-cache --out <temporary dir> --n-jobs N`` (the full
  default study: units, nested CV, every diagnostic, the report; ``--quick``: the quick one);
- ``hand``: the comparison written by hand the way users write it in their notebooks, on
  the same splits: GridSearchCV over the same grids for the scikit-learn models, and for the
  Keras dense network and CNN a ``keras.Sequential`` built, compiled and ``fit`` for every
  candidate and fold, then refit and tested (no nested CV, no diagnostics, no report); with
  ``joblib.Parallel(n_jobs=N)`` over the fits.

Prints both wall times and CPU seconds, the study's peak RSS (main process, largest worker,
whole tree), the number of fits the study made (the sum of ``timings.csv``'s ``fits``) and:

- ``RATIO default_study_vs_hand`` = study wall / hand wall (how much the whole study costs
  beyond the bare comparison; recorded, target <= 3);
- ``RATIO fits`` = fits made on digits, breast_cancer and wine / 3,050 (the fits of the study
  before work was shared, when those were its datasets; the ``wide`` dataset, added since, is
  counted apart; target <= 0.85);
- ``RATIO memory`` = peak RSS of the whole tree / 2 GiB (target <= 1 with ``--n-jobs 1``);
- ``RATIO default_study_300s`` (the full study) = its wall time at the reference machine's speed /
  300 s (target <= 1, docs/performance.md): a fixed calibration workload
  (``_measure.calibration``) is timed before and after the study, and the wall time is scaled by
  ``_measure.REFERENCE_CALIBRATION_SECONDS`` / their mean (``_measure.at_reference_speed``).

Usage: python benchmarks/default_study.py [--quick] [--n-jobs N] [--no-hand]
"""

from __future__ import annotations

import argparse
import shutil

import _measure

NAME = "default_study"
FITS_BEFORE = 3050
ADDED_SINCE = ("wide",)
"""Default datasets added after the 3,050 fits were counted (their fits are printed apart)."""
GiB = 1024.0 ** 3
TARGET_SECONDS = 300.0
"""The full default study's wall-time target at the reference machine's speed (docs/performance.md)."""

HAND_CODE = r"""
import sys, time
import numpy as np
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, ParameterGrid
from sklearn.metrics import accuracy_score

from backends import BUILTIN_MODELS, make_estimator
from study.data import load_dataset
from study.spec import DEFAULT_DATASETS
from study.protocol import make_splits

n_jobs = int(sys.argv[1])


def keras_fit(kind, params, X, y):
    import keras
    from sklearn.preprocessing import StandardScaler
    keras.utils.set_random_seed(0)
    scale = StandardScaler().fit(X) if kind == "dense" else None
    Z = scale.transform(X) if scale else X / 16.0
    if kind == "dense":
        reg = keras.regularizers.L2(params["model__l2"])
        body = [keras.layers.Dense(128, activation="relu", kernel_regularizer=reg),
                keras.layers.Dropout(params["model__dropout"])]
    else:
        body = [keras.layers.Reshape((8, 8, 1)), keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
                keras.layers.MaxPooling2D(2), keras.layers.Conv2D(64, 3, padding="same", activation="relu"),
                keras.layers.MaxPooling2D(2), keras.layers.Flatten(), keras.layers.Dropout(params["model__dropout"]),
                keras.layers.Dense(128, activation="relu"), keras.layers.Dropout(params["model__dropout"])]
    head = keras.layers.Dense(len(np.unique(y)), activation="softmax")
    model = keras.Sequential([keras.Input((X.shape[1],)), *body, head])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(Z, y, epochs=40 if kind == "dense" else 25, batch_size=64, verbose=0)
    return lambda Xt: model.predict(scale.transform(Xt) if scale else Xt / 16.0, verbose=0).argmax(1)


def keras_cv(kind, params, X, y, fit, val):
    predict = keras_fit(kind, params, X[fit], y[fit])
    return accuracy_score(y[val], predict(X[val]))


for name in DEFAULT_DATASETS:
    data = load_dataset(name)
    splits = make_splits(data, 5, 0.2, 0)
    X, y = splits.training_part(data)
    Xt, yt = splits.test_part(data)
    for model in ("logistic_regression", "ridge", "random_forest"):
        spec = BUILTIN_MODELS[model]
        search = GridSearchCV(make_estimator(model, random_state=0), spec.grid, cv=splits.folds, n_jobs=n_jobs)
        search.fit(X, y)
        print(name, model, round(search.score(Xt, yt), 3), flush=True)
    for kind, model in (("dense", "keras_dense"), ("cnn", "keras_cnn")):
        if kind == "cnn" and data.image_shape is None:
            continue
        grid = list(ParameterGrid(BUILTIN_MODELS[model].grid))
        scores = Parallel(n_jobs=n_jobs)(delayed(keras_cv)(kind, p, X, y, fit, val)
                                         for p in grid for fit, val in splits.folds)
        means = np.asarray(scores).reshape(len(grid), -1).mean(1)
        best = grid[int(np.argmax(means))]
        print(name, model, round(accuracy_score(yt, keras_fit(kind, best, X, y)(Xt)), 3), flush=True)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog="Targets: fits <= 0.85 x 3,050; memory <= 2 GiB with --n-jobs 1.")
    parser.add_argument("--quick", action="store_true", help="the quick default study")
    parser.add_argument("--n-jobs", type=int, default=2, help="--n-jobs of the study and the hand loop")
    parser.add_argument("--no-hand", action="store_true", help="skip the hand-written baseline")
    args = parser.parse_args()
    mode = "quick" if args.quick else "full"
    print(f"{NAME}: the {mode} default study (--no-cache, --n-jobs {args.n_jobs}) and the hand-written "
          "comparison, in fresh subprocesses")
    print(_measure.machine_note())
    _measure.freeze_source()
    out = _measure.temp_dir("default-study")
    try:
        cmd = _measure.study_command(*(["--quick"] if args.quick else []), "--n-jobs", args.n_jobs, "--no-cache",
                                     "--out", out)
        before = _measure.calibration("calibration before")
        study = _measure.run(cmd, label=f"{mode} default study").check()
        after = _measure.calibration("calibration after")
        import pandas as pd

        timings = pd.read_csv(out / "timings.csv")
        fits = int(timings["fits"].sum())
        fits_before = int(timings.loc[~timings["dataset"].isin(ADDED_SINCE), "fits"].sum())
    finally:
        shutil.rmtree(out, ignore_errors=True)
    mib = _measure.MiB
    print(f"study: wall {study.wall:.1f} s, CPU {study.cpu:.0f} s ({study.cpu / study.wall:.2f} busy cores), "
          f"{fits} fits ({fits_before} on the datasets of the 3,050); peak RSS main "
          f"{study.peak_main_rss / mib:.0f} MiB, largest worker "
          f"{study.peak_worker_rss / mib:.0f} MiB, whole tree {study.peak_tree_rss / mib:.0f} MiB")
    reference = _measure.at_reference_speed(study.wall, before, after)
    print(f"calibration (a fixed small Keras fit): {before.wall:.2f} s before, {after.wall:.2f} s after "
          f"({_measure.REFERENCE_CALIBRATION_SECONDS} s on the reference machine): the study at the reference "
          f"machine's speed {reference:.0f} s")
    if not args.no_hand:
        hand = _measure.run([_measure.PYTHON, "-c", HAND_CODE, str(args.n_jobs)], label="hand-written comparison",
                            env={"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}).check()
        print(f"hand: wall {hand.wall:.1f} s, CPU {hand.cpu:.0f} s; test accuracies:\n{hand.stdout.strip()}")
        _measure.ratio_line(f"{NAME}_vs_hand", study.wall / hand.wall, "<=", 3.0)
    print(_measure.machine_note())
    if not args.quick:
        _measure.ratio_line("fits", fits_before / FITS_BEFORE, "<=", 0.85)
    _measure.ratio_line("memory", study.peak_tree_rss / GiB / 2.0, "<=", 1.0)
    if not args.quick:
        _measure.ratio_line(f"{NAME}_300s", reference / TARGET_SECONDS, "<=", 1.0)


if __name__ == "__main__":
    main()
