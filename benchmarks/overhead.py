"""Runner overhead: ``run_study`` vs a hand-written GridSearchCV + scikeras loop, same folds.

Measures the wall time of the study runner on a fixed cross-validation workload divided by
the wall time of a hand-written loop doing the same fits directly:

- workload: datasets breast_cancer and wine; models logistic_regression, random_forest and
  keras_dense with their quick grids and quick parameters, and the chance baseline (``dummy``),
  which every study fits beside them; cv=5, seed 0, n_jobs=1, no unit cache
  (``cache_dir=None``): what is left is the runner's own cost;
- runner: ``run_study(StudySpec(..., quick=True, n_jobs=1, cache_dir=None), progress=False)``
  (no nested CV, no diagnostics: the hand loop does neither);
- hand loop: ``train_test_split`` + ``StratifiedKFold`` with the seeds of ``make_splits``,
  ``make_estimator`` with the same parameters, ``GridSearchCV(cv=folds, scoring=["accuracy",
  "balanced_accuracy"], refit="accuracy", return_train_score=True)``, fit, score on the
  hold-out test split, predict.

Each variant runs in a fresh subprocess (TensorFlow's import and joblib's set-up are paid by
both), interleaved (A B, B A, ...), 3 repetitions each (2 with ``--quick``). Printed: every
wall time, the ratio of the minimum wall times (whole subprocess) and, as a diagnostic, the
ratio of the minimum in-process times of the work alone (after the imports of the script)
and of the CPU seconds (less sensitive to other processes competing for the cores);
and whether both variants give the same hold-out test scores and predictions.

With ``--in-process`` it also times both variants alternately inside one process (same
imports, same TensorFlow runtime and thread settings): the code-path difference alone.

Target: RATIO overhead = runner / hand loop <= 1.10.

Usage: python benchmarks/overhead.py [--quick] [--repeats N] [--in-process]
"""

from __future__ import annotations

import argparse
import time

import _measure

NAME = "overhead"
TARGET = 1.10
DATASETS = ("breast_cancer", "wine")
MODELS = ("logistic_regression", "random_forest", "keras_dense")
CV, SEED, TEST_SIZE = 5, 0, 0.2
METRICS = ("accuracy", "balanced_accuracy")


def import_runner():
    """Import what the runner variant needs (paid before the timed work); return the work."""
    import study.orchestrator  # noqa: F401

    return runner_work


def runner_work() -> tuple:
    """The study runner on the workload: (test scores, test predictions, failed rows)."""
    from study.orchestrator import run_study

    spec = _measure.plain_spec(datasets=DATASETS, models=MODELS, cv=CV, seed=SEED, test_size=TEST_SIZE, quick=True,
                               n_jobs=1, cache_dir=None)
    result = run_study(spec, progress=False)
    table = result.results
    test = table[table["split"] == "test"]
    scores = {f"{r.dataset}/{r.model}/{r.metric}": float(r.score) for r in test.itertuples()}
    predictions = {}
    for (dataset, model), part in result.predictions.groupby(["dataset", "model"], sort=False):
        predictions[f"{dataset}/{model}"] = [int(v) for v in part.sort_values("index")["y_pred"]]
    return scores, predictions, int((table["status"] != "ok").sum())


def import_hand():
    """Import what the hand loop needs (paid before the timed work); return the work."""
    import sklearn.datasets  # noqa: F401
    import sklearn.metrics  # noqa: F401
    import sklearn.model_selection  # noqa: F401

    import backends  # noqa: F401

    return hand_work


def hand_work() -> tuple:
    """The same fits written by hand, GridSearchCV + scikeras on the same folds: (test scores,
    test predictions, 0)."""
    import numpy as np
    from sklearn import datasets as skdatasets
    from sklearn.metrics import get_scorer
    from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split

    from backends import BASELINE, get_model, make_estimator

    loaders = {"breast_cancer": skdatasets.load_breast_cancer, "wine": skdatasets.load_wine}
    scores, predictions = {}, {}
    for dataset in DATASETS:
        X, y = loaders[dataset](return_X_y=True)
        X = np.asarray(X, dtype=np.float64)
        train, test = train_test_split(np.arange(len(y)), test_size=TEST_SIZE, random_state=SEED, stratify=y)
        X_train, y_train, X_test, y_test = X[train], y[train], X[test], y[test]
        folds = list(StratifiedKFold(n_splits=CV, shuffle=True, random_state=SEED).split(X_train, y_train))
        for model in (*MODELS, BASELINE):  # the study fits the chance baseline too
            registered = get_model(model)
            estimator = make_estimator(model, "classification", random_state=SEED, **registered.quick_params)
            search = GridSearchCV(estimator, registered.quick_grid, cv=folds, scoring=list(METRICS),
                                  refit=METRICS[0], return_train_score=True, n_jobs=1, error_score="raise")
            search.fit(X_train, y_train)
            for metric in METRICS:
                scores[f"{dataset}/{model}/{metric}"] = float(get_scorer(metric)(search, X_test, y_test))
            order = np.argsort(test)
            predictions[f"{dataset}/{model}"] = [int(v) for v in search.predict(X_test)[order]]
    return scores, predictions, 0


def child(variant: str) -> None:
    """One variant in this (fresh) process; prints its timings, test scores and predictions."""
    start = time.perf_counter()
    work = {"runner": import_runner, "hand": import_hand}[variant]()
    imported, cpu_imported = time.perf_counter(), time.process_time()
    scores, predictions, failed = work()
    done = time.perf_counter()
    _measure.emit(dict(work=done - imported, imports=imported - start, work_cpu=time.process_time() - cpu_imported,
                       scores=scores, predictions=predictions, failed=failed))


def child_in_process(repeats: int) -> None:
    """Both variants alternately in ONE process (same imports, same TensorFlow runtime and thread
    settings): the code-path difference alone, much less noisy than separate processes."""
    runner, hand = import_runner(), import_hand()
    import os

    import study.workers

    os.environ.update(study.workers.fit_threads())  # as run_study does, before TensorFlow starts: both share it
    runner()  # warm-up: TensorFlow's import and first graph
    times = {"runner": [], "hand": []}
    for rep in range(repeats):
        for name in (("runner", "hand") if rep % 2 == 0 else ("hand", "runner")):
            start = time.perf_counter()
            (runner if name == "runner" else hand)()
            times[name].append(time.perf_counter() - start)
    _measure.emit(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog="Target: runner / hand loop <= 1.10 (ratio of the minimum wall times).")
    parser.add_argument("--quick", action="store_true", help="2 repetitions per variant instead of 3")
    parser.add_argument("--repeats", type=int, default=None, help="repetitions per variant (default 3, 2 with --quick)")
    parser.add_argument("--in-process", action="store_true",
                        help="also time both variants alternately inside one process (a diagnostic: no process "
                             "start-up, same TensorFlow threads)")
    parser.add_argument("--child", choices=["runner", "hand", "both"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    repeats = args.repeats or (2 if args.quick else 3)
    if args.child == "both":
        child_in_process(repeats)
        return
    if args.child:
        child(args.child)
        return
    print(f"{NAME}: run_study vs hand-written GridSearchCV loop; datasets {DATASETS}, models {MODELS}, "
          f"quick grids, cv={CV}, n_jobs=1, no cache; {repeats} interleaved repetitions each")
    print(_measure.machine_note())
    _measure.freeze_source()
    variants = {
        name: (lambda name=name: _measure.run(_measure.self_command(__file__, "--child", name), label=name).check())
        for name in ("runner", "hand")
    }
    runs = _measure.interleave(variants, repeats)
    runner, hand = runs["runner"], runs["hand"]
    for name, ms in runs.items():
        print(f"{name:>6s} subprocess wall: {_measure.describe(_measure.walls(ms))}")
        print(f"{name:>6s} work only      : {_measure.describe([m.data['work'] for m in ms])}; "
              f"imports before the work {_measure.describe([m.data['imports'] for m in ms])}")
    for name, ms in runs.items():
        print(f"{name:>6s} CPU (all threads): work {_measure.describe([m.data['work_cpu'] for m in ms])}; "
              f"whole subprocess {_measure.describe([m.cpu for m in ms])}")
    if any(m.data["failed"] for m in runner):
        print("WARNING: the runner recorded failed units; the comparison is not meaningful")
    same_scores = all(m.data["scores"] == hand[0].data["scores"] for m in runner + hand)
    same_predictions = all(m.data["predictions"] == hand[0].data["predictions"] for m in runner + hand)
    print(f"same hold-out test scores (runner vs hand, every repetition): {same_scores}")
    print(f"same hold-out test predictions: {same_predictions}")
    if not same_scores:
        for key in sorted(hand[0].data["scores"]):
            print(f"  {key:<45s} runner {runner[0].data['scores'].get(key)}  hand {hand[0].data['scores'][key]}")
    work = min(m.data["work"] for m in runner) / min(m.data["work"] for m in hand)
    print(f"work-only ratio (runner / hand, minimums): {work:.3f}")
    cpu = min(m.cpu for m in runner) / min(m.cpu for m in hand)
    print(f"CPU-seconds ratio (runner / hand, whole subprocess, minimums; less sensitive to other load): {cpu:.3f}")
    if args.in_process:
        both = _measure.run(_measure.self_command(__file__, "--child", "both", "--repeats", repeats),
                            label="both variants in one process").check().data
        print(f"in one process: runner {_measure.describe(both['runner'])}; hand {_measure.describe(both['hand'])}")
        print(f"in-process ratio (runner / hand, minimums): {min(both['runner']) / min(both['hand']):.3f}")
    value = min(_measure.walls(runner)) / min(_measure.walls(hand))
    _measure.ratio_line(NAME, value, "<=", TARGET)


if __name__ == "__main__":
    main()
