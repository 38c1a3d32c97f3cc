"""Report: the tidy results table -> report.md, results.csv and seaborn figures.

Reads only the tables; never fits anything. Every file is written atomically (to a temporary
name, then renamed), so a report is never half-written. A figure is drawn only when its data,
or the code drawing it, changed (:func:`figure`), so an unchanged rerun redraws nothing.
"""

from __future__ import annotations

import functools
import json
import os
import re
import tempfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from joblib import hash as content_hash  # noqa: E402
from PIL import Image  # noqa: E402 (matplotlib's own PNG library)

from study.results import primary_metric, summarize  # noqa: E402

__all__ = ["write_report", "atomic_write_text", "save_figure", "figure"]

SPLIT_LABELS = {"train": "train (CV folds)", "validation": "validation (CV folds)", "test": "hold-out test"}
METRIC_LABELS = {
    "accuracy": "accuracy (fraction correct)",
    "balanced_accuracy": "balanced accuracy (mean per-class recall)",
    "r2": "R^2",
    "neg_root_mean_squared_error": "-RMSE (target units)",
}


FIGURE_KEY = "generalization-study inputs"
_PLOTTING_LIBRARIES = ("matplotlib", "seaborn", "pandas", "numpy", "pillow", "scikit-posthocs")


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    _publish(tmp, path)


def save_figure(fig, path: Path, key: str | None = None, dpi: int = 110) -> None:
    """Save a matplotlib figure as PNG atomically and close it.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : pathlib.Path
        The PNG file (its folder is created if missing).
    key : str or None, default=None
        Stored in the PNG's text metadata (see :func:`figure`).
    dpi : int, default=110
        Resolution (dots per inch of the figure's size in inches).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".png")
    os.close(fd)
    fig.savefig(tmp, dpi=dpi, bbox_inches="tight", metadata={FIGURE_KEY: key} if key else None)
    plt.close(fig)
    _publish(tmp, path)


@functools.cache
def _plotting_code_version() -> str:
    """Hash of the study's source (the figure code and the constants it uses) and of the
    plotting libraries' versions: a figure drawn by other code is drawn again."""
    def installed(name):
        try:
            return version(name)
        except PackageNotFoundError:
            return "none"
    sources = [path.read_bytes() for path in sorted(Path(__file__).parent.glob("*.py"))]
    return content_hash((sources, [installed(name) for name in _PLOTTING_LIBRARIES]))


def _input_key(value):
    """A value that hashes equal for equal content: a DataFrame by its columns, dtypes and
    pandas' row hashes (not by its pickle, which depends on its memory layout)."""
    if isinstance(value, (pd.DataFrame, pd.Series)):
        frame = value.to_frame() if isinstance(value, pd.Series) else value
        return ("frame", list(map(str, frame.columns)), list(map(str, frame.dtypes)),
                pd.util.hash_pandas_object(frame, index=True).to_numpy())
    return value


def _stored_key(path: Path) -> str | None:
    """The key in an existing PNG's metadata (None: no file, another file, or no key)."""
    try:
        with Image.open(path) as image:
            return image.info.get(FIGURE_KEY)
    except (OSError, SyntaxError, ValueError):
        return None


def figure(draw=None, *, dpi: int = 110):
    """Decorator for a figure function ``draw(*inputs) -> matplotlib.figure.Figure``.

    The decorated function is called as ``draw(*inputs, path=PNG path)``: it draws and saves
    the figure (:func:`save_figure`) unless ``path`` already holds the figure of the same
    inputs, drawn by the same code with the same plotting libraries (a content key stored in
    the PNG's metadata), so an unchanged rerun does not draw its figures again. Usable as
    ``@figure`` or ``@figure(dpi=150)``.
    """
    if draw is None:
        return functools.partial(figure, dpi=dpi)

    @functools.wraps(draw)
    def drawn(*inputs, path: Path) -> Path:
        path = Path(path)
        key = content_hash((draw.__module__, draw.__qualname__, _plotting_code_version(),
                            [_input_key(value) for value in inputs]))
        if _stored_key(path) != key:
            save_figure(draw(*inputs), path, key, dpi)
        return path

    return drawn


def _publish(tmp: str, path: Path) -> None:
    """Rename a finished temporary file onto ``path``, readable by all as an ordinary file
    (``mkstemp`` creates it readable by its owner only)."""
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def _axis_floor(scores: pd.Series) -> float:
    low = np.nanmin(scores.to_numpy(dtype=float))
    return max(0.0, np.floor((low - 0.02) * 20) / 20) if low > 0 else low - 0.05


@figure
def _scores_figure(rows: pd.DataFrame, dataset: str, metric: str):
    rows = rows.assign(split=rows["split"].map(SPLIT_LABELS))
    fig, ax = plt.subplots(figsize=(8, 4.2))
    sns.barplot(data=rows, x="model", y="score", hue="split", hue_order=list(SPLIT_LABELS.values()),
                errorbar="sd", capsize=0.1, ax=ax)
    floor = _axis_floor(rows["score"])
    ax.set_ylim(floor, 1.0 if metric in ("accuracy", "balanced_accuracy", "r2") else None)
    ax.set_title(f"{dataset}: train vs cross-validation vs hold-out test (error bars: fold-to-fold std)")
    ax.set_xlabel("model")
    ax.set_ylabel(f"{METRIC_LABELS.get(metric, metric)}; axis starts at {floor:.2f}")
    ax.legend(title="split", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


@figure
def _gaps_figure(table: pd.DataFrame, dataset: str, metric: str):
    gaps = table[table["dataset"] == dataset].melt(
        id_vars="model", value_vars=["gap_train_cv", "gap_cv_test"], var_name="gap", value_name="value"
    )
    gaps["gap"] = gaps["gap"].map({"gap_train_cv": "train - CV", "gap_cv_test": "CV - hold-out test"})
    fig, ax = plt.subplots(figsize=(8, 3.8))
    sns.barplot(data=gaps, x="model", y="value", hue="gap", ax=ax)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_title(f"{dataset}: generalization gaps (positive: the later estimate is lower)")
    ax.set_xlabel("model")
    ax.set_ylabel(f"difference in {metric} (points of the metric)")
    ax.legend(title="gap", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


def _anchor(heading: str) -> str:
    """GitHub's anchor of a Markdown heading: lower case, punctuation dropped, spaces to '-'."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _fmt(value: float, digits: int = 3) -> str:
    return "n/a" if pd.isna(value) else f"{value:.{digits}f}"


def _params(best_params: str) -> str:
    if not best_params:
        return ""
    params = json.loads(best_params)
    return ", ".join(f"{k.removeprefix('model__')}={v}" for k, v in params.items())


def _summary_markdown(table: pd.DataFrame) -> str:
    lines = [
        "| model | framework | best params | train | CV mean +/- std | hold-out test | gap train-CV | gap CV-test | fit time (s) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in table.itertuples():
        if row.status != "ok":
            label = "FAILED" if row.status == "failed" else "skipped"
            lines.append(f"| {row.model} | {row.framework} | {label}: {row.error} | | | | | | |")
            continue
        lines.append(
            f"| {row.model} | {row.framework} | {_params(row.best_params)} | {_fmt(row.mean_train_score)} | "
            f"{_fmt(row.mean_test_score)} +/- {_fmt(row.std_test_score)} | {_fmt(row.test_score)} | "
            f"{_fmt(row.gap_train_cv)} | {_fmt(row.gap_cv_test)} | {_fmt(row.fit_time, 2)} |"
        )
    return "\n".join(lines)


def _protocol_markdown(settings: dict) -> str:
    return (
        "## Protocol\n\n"
        f"Each dataset is split once into a training part and an untouched hold-out test split "
        f"({settings.get('test_size', 0.2):.0%}, stratified, seed {settings.get('seed', 0)}). On the training "
        f"part, {settings.get('cv', 5)} stratified shuffled folds"
        f"{' (repeated %d times with new shuffles)' % settings['repeats'] if settings.get('repeats', 1) > 1 else ''}"
        " are drawn once and shared by every model "
        "(paired comparison). Each model is tuned by GridSearchCV over its grid on those folds; "
        "scaling is inside each model's pipeline, so every fold fits its own. The best candidate is "
        "refit on the whole training part and scored once on the hold-out test split. Keras models "
        "never see validation or test data during training.\n\n"
        "- **train**: the best candidate's mean score on the training part of each fold "
        "(`mean_train_score`).\n"
        "- **CV**: its mean +/- std over the validation folds (`mean_test_score`, GridSearchCV's "
        "`best_score_`; optimistic, as it chose the candidate).\n"
        "- **hold-out test**: the refit model on the untouched test split: the honest estimate.\n"
        "- **gap train-CV** = train - CV (overfitting shows here); **gap CV-test** = CV - test "
        "(selection optimism and sampling noise).\n"
        "- **fit time**: seconds to refit the best candidate on the whole training part.\n"
        + ("- **nested CV**: the shared folds as outer folds, the whole grid search repeated inside each "
           "outer training part; its mean is an estimate of the tuned model's performance that did not "
           "select on the same folds (Cawley & Talbot 2010).\n" if settings.get("nested") else "")
    )


def write_report(
    results: pd.DataFrame,
    predictions: pd.DataFrame,
    out: Path,
    settings: dict | None = None,
    sections: list | None = None,
    tables: dict | None = None,
) -> Path:
    """Write ``report.md``, ``results.csv``, ``predictions.csv`` and ``figures/*.png`` to ``out``.

    Parameters
    ----------
    results : pandas.DataFrame
        The tidy results table.
    predictions : pandas.DataFrame
        Hold-out test predictions.
    out : pathlib.Path
        Output directory (created if missing).
    settings : dict or None, default=None
        The study's settings (cv, seed, test_size, quick, command), printed in the report
        and written to ``study.json``.
    sections : list of callables or None, default=None
        Extra report sections: each is called as ``section(results, predictions, fig_dir)``
        and returns Markdown that starts with a ``## `` heading.
    tables : dict of str to pandas.DataFrame or None, default=None
        Further tidy tables behind the sections (e.g. the diagnostics), each written as
        ``<name>.csv``.

    Returns
    -------
    pathlib.Path
        The path of ``report.md``.
    """
    out = Path(out)
    fig_dir = out / "figures"
    settings = settings or {}
    atomic_write_text(out / "results.csv", results.to_csv(index=False))
    atomic_write_text(out / "predictions.csv", predictions.to_csv(index=False))
    atomic_write_text(out / "study.json", json.dumps(settings, indent=2, default=str) + "\n")
    for name, frame in (tables or {}).items():
        atomic_write_text(out / f"{name}.csv", frame.to_csv(index=False))

    scored = results["metric"].notna().any()
    metric = primary_metric(results) if scored else None
    table = summarize(results, metric) if scored else results.drop_duplicates(["dataset", "model"])
    parts = [_protocol_markdown(settings)]
    for dataset in table["dataset"].unique():
        block = table[table["dataset"] == dataset]
        parts.append(f"## {dataset}\n\nPrimary metric: {metric or 'none (no unit succeeded)'}.\n\n"
                     f"{_summary_markdown(block)}\n")
        if (block["status"] == "ok").any():
            scored_rows = results[(results["dataset"] == dataset) & (results["metric"] == metric)
                                  & (results["status"] == "ok")]
            _scores_figure(scored_rows, dataset, metric, path=fig_dir / f"scores_{dataset}.png")
            _gaps_figure(block[block["status"] == "ok"], dataset, metric, path=fig_dir / f"gaps_{dataset}.png")
            parts.append(f"![{dataset} scores](figures/scores_{dataset}.png)\n\n"
                         f"![{dataset} gaps](figures/gaps_{dataset}.png)\n")
    parts += [section(results, predictions, fig_dir) for section in sections or []]
    failed = table[table["status"] == "failed"]
    if len(failed):
        parts.append("## Failed units\n\n" + "\n".join(
            f"- {r.model} on {r.dataset}: {r.error}" for r in failed.itertuples()) + "\n")
    headings = [line[3:] for part in parts for line in part.splitlines() if line.startswith("## ")]
    toc = "\n".join(f"- [{h}](#{_anchor(h)})" for h in headings)
    header = (
        "# Generalization report\n\n"
        f"Generated by `{settings.get('command', 'python -m study.run')}`. "
        "Tables and figures come from `results.csv` (one row per dataset x model x split x fold x metric).\n\n"
        f"## Contents\n\n{toc}\n"
    )
    path = out / "report.md"
    atomic_write_text(path, "\n".join([header, *parts]))
    return path
