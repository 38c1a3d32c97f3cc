"""Command line: ``python -m study.run`` regenerates the report (default: ``reports/default``).

Only argv -> StudySpec -> ``run_study`` -> ``write_report`` lives here; heavy imports happen
after ``--help`` has been answered.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import threading
import warnings
from dataclasses import fields, replace
from pathlib import Path

from study.cli_options import BooleanOnce, OneLineParser, RepeatedOption, once_actions, usage_error
from study.text import plain_line
from study.spec import DEFAULT_DATASETS, DEFAULT_MODELS, DataSource, InputError, StudySpec

EXIT_FAILED_UNITS = 1
EXIT_NOT_WRITTEN = 3
EXIT_INTERRUPTED = 130

DESCRIPTION = """\
Compare classical and deep models on the same folds and write a generalization report.

With --config, the TOML file is applied first, then every option given on the command line
overrides it (e.g. --config study.toml --quick --out /tmp/x). Exit status: 0 when every unit
succeeded, 1 when some or all failed (recorded in the report), 2 for bad input (found before
training; an option given twice too) or an --out or --cache-dir folder that another study is
using, 3 when the report could not be written (disk full; the previous report is left as it
was), 130 when interrupted (Ctrl-C; what finished is stored: run the same command again to
resume)."""


def _folder(text: str) -> Path:
    """A folder option's value (an empty one would silently mean the current folder)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("got an empty path, which would mean the current folder; give a "
                                         "folder's name")
    return Path(text)


def build_parser() -> argparse.ArgumentParser:
    """The CLI's argument parser. Options left out are absent from the parsed namespace, so
    that only the options actually given override a ``--config`` file. An option given twice
    raises :class:`RepeatedOption` (the same flag twice is accepted)."""
    parser = once_actions(OneLineParser(prog="python -m study.run", description=DESCRIPTION,
                                        formatter_class=argparse.RawDescriptionHelpFormatter,
                                        argument_default=argparse.SUPPRESS))
    parser.repeat_hints = {"data": "several files: one [[datasets]] table each (path, target) in a --config TOML file"}
    add = parser.add_argument
    add("--config", type=Path, metavar="TOML", help="read the study from a TOML file (see examples/); "
        "options given beside it override the file")
    add("--out", type=_folder, help="output directory (default: reports/default)")
    add("--datasets", nargs="+", help=f"bundled datasets: digits breast_cancer wine wide iris diabetes "
        f"(default: {' '.join(DEFAULT_DATASETS)}; with --data: none unless given)")
    add("--data", metavar="SOURCE", help="your data: a .csv/.parquet file (with --target), a .npz "
        "(X, y or Keras mnist.npz format), or openml:<name or id>")
    add("--target", metavar="COLUMN", help="target column of --data")
    add("--task", choices=["classification", "regression"], help="override the detected task of --data")
    add("--sep", metavar="CHAR", help="column separator of a --data .csv file: one character such as ';' or '|', "
        "or tab (default: detected from the first lines)")
    add("--groups", metavar="COLUMN", help="groups column of --data (a patient, a customer, a source): every split "
        "keeps each group on one side; not a feature")
    add("--time", metavar="COLUMN", help="time column of --data (numbers or dates): the hold-out test split is the "
        "latest rows, the folds are TimeSeriesSplit; not a feature")
    add("--time-features", action="store_true", help="also expand the --time column into features")
    add("--cv-kind", choices=["auto", "shuffled", "group", "timeseries"],
        help="kind of splits (default: auto = timeseries with --time, group with --groups, else shuffled); "
             "timeseries without --time uses the row order")
    add("--gap", type=int, help="time-ordered splits: distinct times left out between training and validation "
        "rows (default: 0)")
    add("--search", choices=["grid", "random", "halving"],
        help="GridSearchCV, RandomizedSearchCV or successive halving, on the shared folds (default: grid)")
    add("--n-iter", type=int, help="candidates of a random search (default: 10)")
    add("--models", nargs="+", help=f"models (default: {' '.join(DEFAULT_MODELS)})")
    add("--cv", type=int, help="number of shared stratified folds (default: 5)")
    add("--repeats", type=int, help="repetitions of the k-fold split, e.g. --cv 5 --repeats 2 for 5x2 CV (default: 1)")
    add("--nested", action=BooleanOnce,
        help="nested cross-validation (outer: the shared folds; inner: the same grid search); "
             "default: on, off with --quick")
    add("--test-size", type=float, help="hold-out test fraction (default: 0.2)")
    add("--metrics", nargs="+", help="scikit-learn scorer names, primary first "
        "(default: accuracy balanced_accuracy; r2 neg_root_mean_squared_error for regression)")
    add("--seed", type=int, help="seed of splits and models (default: 0)")
    add("--n-jobs", type=int, help="worker processes, -1 = all cores (default: -1)")
    add("--scheduler", metavar="ADDRESS", help="run the fits on an existing Dask cluster, e.g. tcp://10.0.0.5:8786")
    add("--cache-dir", type=_folder, help="finished work is stored here and reused by reruns (default: .study_cache)")
    add("--no-cache", action="store_true", help="neither reuse nor store finished work")
    add("--diagnostics", action=BooleanOnce,
        help="learning/validation curves, Keras histories, regularization ablation, class imbalance; "
             "default: on, off with --quick (--no-diagnostics for a quick comparison)")
    add("--mlflow", nargs="?", const=None, metavar="TRACKING_URI",
        help="log the study to MLflow once its report is written: a parent run, one child run per dataset x model "
             "with its tuned model as an MLflow model (runs:/<run_id>/model; needs pip install -e \".[mlflow]\"); "
             "default store: a local ./mlruns folder; a folder, file:, sqlite:///x.db or http(s):// URI; a SQLite "
             "store's new experiment keeps its artifacts in mlartifacts/ beside the database file")
    add("--mlflow-register", metavar="NAME",
        help="with --mlflow: register each unit's model (not dummy's) as a new version of the registered model "
             "NAME-<dataset>-<model>")
    add("--time-budget", metavar="DURATION",
        help="how long the study may take, e.g. 10m, 90s or 1.5h: from each model's fits timed on a subsample, the "
             "diagnostics and nested CV are reduced (subsampled, fewer folds, or left out) until the study is "
             "predicted to fit; the report says what was reduced (default: no budget)")
    add("--quick", action="store_true",
        help="small grids, few epochs and trees, no nested CV and no diagnostics unless asked (about a minute)")
    return parser


def spec_from_args(args: argparse.Namespace) -> StudySpec:
    """The StudySpec: the ``--config`` file's (or the defaults), then every given option.

    Raises
    ------
    ValueError
        ``--target``, ``--task``, ``--sep``, ``--groups``, ``--time`` or ``--time-features``
        without ``--data``, and the errors of ``study.config`` (the rules between options are
        ``StudySpec.validate``'s).
    """
    given = vars(args)
    if "config" in given:
        from study.config import load_config

        spec = load_config(given.pop("config"))
    else:
        spec = StudySpec()
    if ("target" in given or "task" in given or "sep" in given) and "data" not in given:
        raise ValueError("--target, --task and --sep describe --data; give --data FILE as well.")
    if ("groups" in given or "time" in given or "time_features" in given) and "data" not in given:
        raise ValueError("--groups, --time and --time-features name columns of --data (a table); give --data FILE "
                         "as well. Bundled datasets have no such columns: for rows in time order use --cv-kind "
                         "timeseries.")
    if "data" in given:
        source = DataSource(source=given.pop("data"), target=given.pop("target", None), task=given.pop("task", None),
                            sep=given.pop("sep", None), groups=given.pop("groups", None), time=given.pop("time", None),
                            time_features=given.pop("time_features", False))
        given["datasets"] = tuple(given.get("datasets", ())) + (source,)
    if given.pop("no_cache", False):
        given["cache_dir"] = None
    for key in ("datasets", "models", "metrics"):
        if key in given:
            given[key] = tuple(given[key])
    known = {f.name for f in fields(StudySpec)}
    return replace(spec, **{key: value for key, value in given.items() if key in known})


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings and notices as one line each, above the progress bar (not through it)."""
    from tqdm import tqdm

    tqdm.write(f"warning: {plain_line(message)}", file=sys.stderr)


def _interrupted(exc: KeyboardInterrupt, spec: StudySpec) -> int:
    finished = getattr(exc, "finished", None)
    if finished is None:
        print("interrupted.", file=sys.stderr)
    elif spec.cache_dir is None:
        print(f"interrupted; {finished} of {exc.known} work items had finished, but nothing is stored "
              "(--no-cache): running the command again starts over.", file=sys.stderr)
    else:
        print(f"interrupted; {finished} of {exc.known} work items finished and stored in {spec.cache_dir}; "
              "run the same command again to resume.", file=sys.stderr)
    return EXIT_INTERRUPTED


def _not_written(exc: OSError, spec: StudySpec) -> int:
    """The report could not be written (the previous one is left as it was, ``study.folders``):
    one line; returns :data:`EXIT_NOT_WRITTEN`."""
    where = f" {exc.filename}" if exc.filename else ""
    why = f"{exc.strerror} (errno {exc.errno})" if exc.strerror else plain_line(exc)
    again = (f"what was computed is stored in {spec.cache_dir} and is not computed again" if spec.cache_dir is not None
             else "nothing was stored (--no-cache), so everything is computed again")
    print(f"error: The report could not be written to {spec.out}: writing{where} failed: {why}. The previous report, "
          f"if any, is left as it was. Free some space (or fix the folder's permissions), then run the same command "
          f"again: {again}.", file=sys.stderr)
    return EXIT_NOT_WRITTEN


QUIET_TRACKER = "ignore:resource_tracker:UserWarning"
"""The ``PYTHONWARNINGS`` entry that hides the resource tracker's routine cleanup at a Ctrl-C."""


def _first_report(out, write_report):
    """``on_main_comparison`` of the command line's study: the main comparison written as the
    report as soon as it is known (its figures drawn in this process, while the workers go on),
    and its path printed; replaced by the whole report at the end. A report that cannot be
    written then is a warning: the study goes on (the last write reports its own failure)."""
    from study.workers import Workers

    def write(result):
        try:
            path = write_report(result, out, Workers(1))
        except OSError as exc:
            warnings.warn(f"the main comparison could not be written to {out.path} ({plain_line(exc)}); the study "
                          "goes on and writes its whole report at the end", RuntimeWarning, stacklevel=2)
            return
        print(f"wrote {path}: the main comparison ({' and '.join(result.pending)} still running)", flush=True)

    return write


def _tracking_uri(store: str | None) -> str:
    from study.tracking import tracking_uri

    return tracking_uri(store)


def _log_to_mlflow(result, folder: Path, uri: str, register: str | None = None) -> None:
    from study.tracking import EXPERIMENT, log_study

    run_id = log_study(result, folder, uri, register=register)
    registered = f"; models registered as {register}-<dataset>-<model>" if register else ""
    print(f"logged to MLflow at {uri}: experiment {EXPERIMENT!r}, parent run {run_id}{registered}")


def _registered_name(name: str | None, mlflow: bool) -> str | None:
    """``--mlflow-register``'s value, checked before any training (only with ``--mlflow``)."""
    if name is None:
        return None
    if not mlflow:
        raise InputError(f"--mlflow-register {name} given without --mlflow; expected it with --mlflow, which logs "
                         "the models it registers. Add --mlflow [TRACKING_URI] or leave out --mlflow-register.")
    from study.tracking import check_registered_name

    return check_registered_name(name)


def _stop(signum, frame):
    raise KeyboardInterrupt


@contextlib.contextmanager
def _terminal():
    """For the run's duration: warnings and notices one line each, above the progress bar; SIGTERM
    (a scheduler or `timeout` ending the run) stops the study as Ctrl-C does."""
    import signal

    previous_show, previous_term = warnings.showwarning, signal.getsignal(signal.SIGTERM)
    main_thread = threading.current_thread() is threading.main_thread()  # signals: main thread only
    warnings.showwarning = _show_warning
    if main_thread:
        signal.signal(signal.SIGTERM, _stop)
    try:
        yield
    finally:
        warnings.showwarning = previous_show
        if main_thread:
            signal.signal(signal.SIGTERM, previous_term)


def _negative_durations_joined(argv: list) -> list:
    """``--time-budget -5m`` as ``--time-budget=-5m``: argparse takes a value that starts with "-"
    and is not a number for an option, and says only "expected one argument"; joined, the budget's
    own check says what is wrong with it (a negative duration) and how to write one."""
    joined = []
    for token in argv:
        if joined and joined[-1] == "--time-budget" and str(token).startswith("-") and not str(token).startswith("--"):
            joined[-1] = f"--time-budget={token}"
        else:
            joined.append(token)
    return joined


def main(argv: list | None = None, *, workers=None) -> int:
    """Run the CLI; returns the exit status (0 ok, 1 some or all units failed, 2 usage or input
    error, or a folder in use by another study, 3 the report could not be written, 130
    interrupted).

    Parameters
    ----------
    argv : list of str or None, default=None
        The options (None: ``sys.argv[1:]``).
    workers : study.workers.Workers or None, default=None
        Run the study and draw its figures on these workers, left open for their owner (a
        process that runs several studies keeps one pool of workers, e.g. a test session),
        instead of workers made from ``--n-jobs`` / ``--scheduler`` and closed at the end.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(_negative_durations_joined(sys.argv[1:] if argv is None else argv))
    except RepeatedOption as exc:
        return usage_error(exc)
    mlflow = "mlflow" in vars(args)
    mlflow_store = vars(args).pop("mlflow", None)
    register = vars(args).pop("mlflow_register", None)
    # TensorFlow's C++ log (CUDA probing on CPU machines, graph notes) is noise here; its errors
    # that matter surface as Python exceptions. TF_CPP_MIN_LOG_LEVEL=0 shows it again.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    # loky's resource tracker, a process of its own started with this environment, removes at its
    # exit the semaphores of workers killed by a Ctrl-C, and warns "resource_tracker: There appear
    # to be 1 leaked semlock objects" or "resource_tracker: /loky-...: FileNotFoundError" (already
    # removed) under the study's one line: its routine cleanup, hidden as such (this message only)
    if QUIET_TRACKER not in os.environ.get("PYTHONWARNINGS", ""):
        os.environ["PYTHONWARNINGS"] = ",".join(filter(None, [os.environ.get("PYTHONWARNINGS"), QUIET_TRACKER]))
    with _terminal():
        try:
            spec = spec_from_args(args)
            spec.validate()  # what the options alone can tell, refused before the heavy imports below
        except ValueError as exc:
            return usage_error(exc)
        try:
            from study.folders import study_folders  # light: unusable or busy folders are refused fast

            register = _registered_name(register, mlflow)
            uri = _tracking_uri(mlflow_store) if mlflow else None
            # the folders are checked, and held (one study per folder) until the report is in place
            with study_folders(spec.out, spec.cache_dir) as out:
                # heavy imports only now; the handlers below name only what is imported at the top,
                # so an import that fails shows as itself
                from study.report import write_report
                from study.orchestrator import run_study
                from study.workers import Workers, using

                # one set of workers for the fits and the figures, ended in order (killed on Ctrl-C)
                with using(workers, lambda: Workers.from_spec(spec)) as pool:
                    result = run_study(spec, workers=pool, on_main_comparison=_first_report(out, write_report))
                    try:
                        path = write_report(result, out, pool)  # the folder held: checked and locked once
                    except OSError as exc:  # disk full, quota, a folder made read-only meanwhile
                        return _not_written(exc, spec)
                print(f"wrote {path}")
                if uri is not None:
                    _log_to_mlflow(result, path.parent, uri, register)
        except InputError as exc:  # raised before any training (a folder in use too; or by the MLflow store)
            return usage_error(exc)
        except KeyboardInterrupt as exc:
            return _interrupted(exc, spec)
    if len(result.failed):
        print(f"{len(result.failed)} unit(s) failed; see the report's 'Failures' section.", file=sys.stderr)
        return EXIT_FAILED_UNITS
    return 0


if __name__ == "__main__":
    sys.exit(main())
