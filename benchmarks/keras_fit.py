"""Per-fit cost of the study's Keras models vs a plain Keras fit of the same network.

On one thread (``TF_NUM_INTRAOP_THREADS=1``, ``TF_NUM_INTEROP_THREADS=1``, as each of the
study's workers runs), in one fresh process per variant, fits the five folds of digits' training
part (the study's splits, seed 0) and measures the CPU seconds of each fit (``fit`` + scoring
the fold's validation part):

- ``study``: the study's estimator (``backends.make_estimator``: the Pipeline with the scaler and
  the scikeras wrapper, its tf.data pipeline and its pooled model), a new estimator per fold as
  GridSearchCV makes them;
- ``plain``: the same network written directly in Keras, the way users write it in their
  notebooks (``keras.Sequential``, ``compile``, ``model.fit(X, y, epochs,
  batch_size)`` on the scaled fold, a new model per fold).

Prints every fit's CPU seconds and ``RATIO keras_<model>_per_fit`` = study / plain (median of
folds 2-5, the first fit of each process pays TensorFlow's warm-up; target <= 1.2), ``RATIO
keras_<model>_reuse`` = study's later fits / its first fit (the traced model is reused: well
below 1), and, for keras_dense, the study's CPU seconds per digits fold (the issue's target:
<= 0.55 s; an absolute figure, printed for the record).

Usage: python benchmarks/keras_fit.py [--model keras_dense|keras_cnn|both]
"""

from __future__ import annotations

import argparse
import statistics

import _measure

NAME = "keras_fit"
TARGET_RATIO = 1.2
EPOCHS, BATCH_SIZE = {"keras_dense": 40, "keras_cnn": 25}, 64
THREADS = {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1", "OMP_NUM_THREADS": "1"}


def _folds():
    from study.data import load_dataset
    from study.protocol import make_splits

    digits = load_dataset("digits")
    splits = make_splits(digits, cv=5, test_size=0.2, seed=0)
    X, y = splits.training_part(digits)
    return digits, X, y, splits.folds


def _plain_network(model: str, n_classes: int):
    import keras

    if model == "keras_dense":
        layers = [keras.Input((64,)), keras.layers.Dense(128, activation="relu",
                                                         kernel_regularizer=keras.regularizers.L2(1e-4))]
    else:
        layers = [keras.Input((64,)), keras.layers.Reshape((8, 8, 1)),
                  keras.layers.Conv2D(32, 3, padding="same", activation="relu"), keras.layers.MaxPooling2D(2),
                  keras.layers.Conv2D(64, 3, padding="same", activation="relu"), keras.layers.MaxPooling2D(2),
                  keras.layers.Flatten(), keras.layers.Dropout(0.25), keras.layers.Dense(128, activation="relu"),
                  keras.layers.Dropout(0.25)]
    network = keras.Sequential([*layers, keras.layers.Dense(n_classes, activation="softmax")])
    network.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return network


def child(variant: str, model: str) -> None:
    import time

    import numpy as np

    digits, X, y, folds = _folds()
    if variant == "plain":
        import keras
        from sklearn.preprocessing import MinMaxScaler, StandardScaler
    else:
        from backends import make_estimator
    seconds, scores = [], []
    for k, (fit, val) in enumerate(folds):
        start = time.process_time()
        if variant == "study":
            estimator = make_estimator(model, image_shape=digits.image_shape, random_state=0)
            score = estimator.fit(X[fit], y[fit]).score(X[val], y[val])
            del estimator
        else:
            keras.utils.set_random_seed(0)
            scaler = (StandardScaler() if model == "keras_dense" else MinMaxScaler()).fit(X[fit])
            network = _plain_network(model, 10)
            network.fit(scaler.transform(X[fit]), y[fit], epochs=EPOCHS[model], batch_size=BATCH_SIZE, verbose=0)
            score = float(np.mean(network.predict(scaler.transform(X[val]), verbose=0).argmax(1) == y[val]))
        seconds.append(time.process_time() - start)
        scores.append(float(score))
    _measure.emit(dict(seconds=seconds, scores=scores))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog="Targets: study / plain <= 1.2 per fit; reuse ratio well below 1.")
    parser.add_argument("--model", choices=["keras_dense", "keras_cnn", "both"], default="both")
    parser.add_argument("--child", nargs=2, metavar=("VARIANT", "MODEL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    print(f"{NAME}: CPU seconds per fit on a digits fold, one thread, study estimator vs plain Keras")
    print(_measure.machine_note())
    _measure.freeze_source()
    for model in (["keras_dense", "keras_cnn"] if args.model == "both" else [args.model]):
        runs = _measure.interleave({
            variant: (lambda v=variant: _measure.run(_measure.self_command(__file__, "--child", v, model),
                                                     label=f"{model} {v}", env=THREADS).check())
            for variant in ("study", "plain")}, 1)
        got = {variant: ms[0].data for variant, ms in runs.items()}
        for variant, data in got.items():
            print(f"  {model} {variant:>5s}: CPU s per fit {', '.join(f'{s:.2f}' for s in data['seconds'])}; "
                  f"fold accuracy {', '.join(f'{s:.3f}' for s in data['scores'])}")
        study = statistics.median(got["study"]["seconds"][1:])
        plain = statistics.median(got["plain"]["seconds"][1:])
        if model == "keras_dense":
            print(f"  keras_dense through the study: {study:.2f} CPU-seconds per digits fold (issue target <= 0.55)")
        _measure.ratio_line(f"{model}_per_fit", study / plain, "<=", TARGET_RATIO)
        _measure.ratio_line(f"{model}_reuse", study / got["study"]["seconds"][0], "<=", 1.0)


if __name__ == "__main__":
    main()
