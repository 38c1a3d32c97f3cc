"""Command line: ``python -m study.run`` regenerates the report (default: ``reports/default``).

Only argument parsing lives here; heavy imports happen after ``--help`` has been answered.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from study.spec import DEFAULT_DATASETS, DEFAULT_MODELS, DataSource, StudySpec

EXIT_USAGE = 2
EXIT_FAILED_UNITS = 1


def build_parser() -> argparse.ArgumentParser:
    """The CLI's argument parser."""
    parser = argparse.ArgumentParser(
        prog="python -m study.run",
        description="Compare classical and deep models on the same folds and write a generalization report.",
    )
    parser.add_argument("--config", type=Path, metavar="TOML",
                        help="read the study from a TOML file (see examples/); other flags then are not allowed")
    parser.add_argument("--out", type=Path, default=Path("reports/default"), help="output directory (default: %(default)s)")
    parser.add_argument("--datasets", nargs="+", default=None,
                        help=f"bundled datasets: digits breast_cancer wine iris diabetes (default: {' '.join(DEFAULT_DATASETS)}; "
                             "with --data: none unless given)")
    parser.add_argument("--data", metavar="SOURCE",
                        help="your data: a .csv/.parquet file (with --target), a .npz (X, y or Keras mnist.npz format), "
                             "or openml:<name or id>")
    parser.add_argument("--target", metavar="COLUMN", help="target column of --data")
    parser.add_argument("--task", choices=["classification", "regression"], help="override the detected task of --data")
    parser.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS),
                        help="models (default: %(default)s)")
    parser.add_argument("--cv", type=int, default=5, help="number of shared stratified folds (default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=1, help="repetitions of the k-fold split, e.g. --cv 5 --repeats 2 for 5x2 CV (default: %(default)s)")
    parser.add_argument("--nested", action=argparse.BooleanOptionalAction, default=None,
                        help="nested cross-validation (outer: the shared folds; inner: the same grid search); "
                             "default: on, off with --quick")
    parser.add_argument("--test-size", type=float, default=0.2, help="hold-out test fraction (default: %(default)s)")
    parser.add_argument("--metrics", nargs="+", default=None,
                        help="scikit-learn scorer names, primary first (default: accuracy balanced_accuracy; r2 for regression)")
    parser.add_argument("--seed", type=int, default=0, help="seed of splits and models (default: %(default)s)")
    parser.add_argument("--n-jobs", type=int, default=-1, help="parallel scikit-learn fits, -1 = all cores (default: %(default)s)")
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS",
                        help="run the fits on an existing Dask cluster, e.g. tcp://10.0.0.5:8786")
    parser.add_argument("--cache-dir", type=Path, default=Path(".study_cache"),
                        help="finished units are stored here and reused by reruns (default: %(default)s)")
    parser.add_argument("--no-cache", action="store_true", help="neither reuse nor store finished units")
    parser.add_argument("--diagnostics", action=argparse.BooleanOptionalAction, default=None,
                        help="learning/validation curves, Keras histories, regularization ablation, class imbalance "
                             "and verdicts; default: on, off with --quick (--no-diagnostics for a quick comparison)")
    parser.add_argument("--quick", action="store_true",
                        help="small grids and few epochs, no nested CV and no diagnostics unless asked (about a minute)")
    return parser


def spec_from_args(args: argparse.Namespace, parser: argparse.ArgumentParser) -> StudySpec:
    """Build the StudySpec from parsed arguments, or from ``--config`` (validated separately)."""
    if args.config is not None:
        given = [a for a in vars(args) if a != "config" and getattr(args, a) != parser.get_default(a)]
        if given:
            raise ValueError(f"--config cannot be combined with other options (got {', '.join('--' + g.replace('_', '-') for g in given)}); "
                             "put them in the TOML file.")
        from study.config import load_config

        return load_config(args.config)
    if (args.target or args.task) and not args.data:
        raise ValueError("--target and --task describe --data; give --data FILE as well.")
    datasets = tuple(args.datasets) if args.datasets is not None else (() if args.data else DEFAULT_DATASETS)
    if args.data:
        datasets += (DataSource(source=args.data, target=args.target, task=args.task),)
    return StudySpec(
        datasets=datasets, models=tuple(args.models), cv=args.cv, repeats=args.repeats,
        nested=args.nested, diagnostics=args.diagnostics, test_size=args.test_size,
        seed=args.seed, quick=args.quick, metrics=tuple(args.metrics) if args.metrics else None, n_jobs=args.n_jobs, out=args.out,
        cache_dir=None if args.no_cache else args.cache_dir, scheduler=args.scheduler,
    )


def main(argv: list | None = None) -> int:
    """Run the CLI; returns the exit status (0 ok, 1 some units failed, 2 usage or input error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    # TensorFlow's C++ log (CUDA probing on CPU machines, graph notes) is noise here; its errors
    # that matter surface as Python exceptions. TF_CPP_MIN_LOG_LEVEL=0 shows it again.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        spec = spec_from_args(args, parser).validate()
        from study.runner import load_datasets, run_study

        datasets = load_datasets(spec)  # every input error surfaces here, before any training
    except ValueError as exc:
        parser.print_usage(sys.stderr)
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE

    from study.compare import statistics_section
    from study.report import write_report

    result = run_study(spec, datasets=datasets)
    command = "python -m study.run" + ("" if argv is None and len(sys.argv) <= 1 else " " + " ".join(sys.argv[1:] if argv is None else argv))
    settings = dict(command=command, datasets=[d if isinstance(d, str) else d.label for d in spec.datasets],
                    models=list(spec.models), cv=spec.cv,
                    repeats=spec.repeats, nested=spec.use_nested, test_size=spec.test_size, seed=spec.seed,
                    quick=spec.quick, diagnostics=spec.use_diagnostics)
    sections = [statistics_section]
    if result.diagnostics:
        from study.diagnostics_report import diagnostics_sections

        sections.append(lambda results, predictions, fig_dir: diagnostics_sections(
            result.diagnostics, results, predictions, fig_dir))
    path = write_report(result.results, result.predictions, spec.out, settings, sections=sections,
                        tables=result.diagnostics)
    print(f"wrote {path}")
    if len(result.failed):
        print(f"{len(result.failed)} unit(s) failed; see the report's 'Failed units' section.", file=sys.stderr)
        return EXIT_FAILED_UNITS
    return 0


if __name__ == "__main__":
    sys.exit(main())
