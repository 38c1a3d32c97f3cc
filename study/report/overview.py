"""The main sections: the protocol in words, and per dataset the side-by-side table (train vs CV vs
hold-out test, the gaps) with its two figures."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from study.budget import duration_text
from study.names import figure_file
from study.report.figures import chance_line, figure
from study.report.format import axis_floor, escape, fmt, metric_label, params_text, pm, markdown_table
from study.results import BASELINE, summarize, without_baseline

__all__ = ["protocol_section", "dataset_sections", "summary_table", "gaps_figure"]

SPLIT_LABELS = {"train": "train (CV folds)", "validation": "validation (CV folds)", "test": "hold-out test"}


def protocol_section(settings: dict) -> str:
    """The protocol in words, from the study's settings (``StudySpec.settings``), and the notices
    about the data found before training (``settings["data_notes"]``, by dataset, when any)."""
    repeats = settings.get("repeats", 1)
    metrics = settings.get("metrics") or ["accuracy and balanced accuracy (classification), R^2 and -RMSE (regression)"]
    return (
        "## Protocol\n\n"
        f"Each dataset is split once into a training part and an untouched hold-out test split "
        f"({settings['test_size']:.0%}, stratified, seed {settings['seed']}). On the training "
        f"part, {settings['cv']} stratified shuffled folds"
        f"{f' (repeated {repeats} times with new shuffles)' if repeats > 1 else ''}"
        " are drawn once and shared by every model "
        "(paired comparison). "
        f"{_search_words(settings)}; "
        "scaling is inside each model's pipeline, so every fold fits its own. The best candidate is "
        "refit on the whole training part and scored once on the hold-out test split. Keras models "
        "never see validation or test data during training.\n\n"
        f"Metrics: {', '.join(escape(m) for m in metrics)}"
        "; the first is primary (GridSearchCV's refit metric, the statistics' metric)."
        f"{' Quick settings: small grids, few epochs, a smaller forest.' if settings.get('quick') else ''}\n\n"
        "- **train**: the best candidate's mean score on the training part of each fold "
        "(`mean_train_score`).\n"
        "- **CV**: its mean ± std over the validation folds (`mean_test_score`, GridSearchCV's "
        "`best_score_`; optimistic, as it chose the candidate).\n"
        "- **hold-out test**: the refit model on the untouched test split: the honest estimate.\n"
        "- **gap train-CV** = train - CV (overfitting shows here); **gap CV-test** = CV - test "
        "(selection optimism and sampling noise).\n"
        "- **fit time**: seconds to refit the best candidate on the whole training part.\n"
        + ("- **nested CV**: the shared folds as outer folds, the whole grid search repeated inside each "
           "outer training part; its mean is an estimate of the tuned model's performance that did not "
           "select on the same folds (Cawley & Talbot 2010).\n" if settings.get("nested") else "")
        + _budget_notes(settings.get("budget") or {})
        + _splits_notes(settings.get("splits") or {})
        + _data_notes(settings.get("data_notes") or {})
    )


def _search_words(settings: dict) -> str:
    """How the models are tuned, in words (the default: GridSearchCV over each model's grid)."""
    search, own = settings.get("search", "grid"), settings.get("searches") or {}
    words = {"grid": "GridSearchCV over its grid",
             "random": f"RandomizedSearchCV ({settings.get('n_iter', 10)} candidates sampled from its "
                       "distributions, or from its grid)",
             "halving": "successive halving (HalvingGridSearchCV, or HalvingRandomSearchCV over distributions; "
                        "factor 3, each round a larger share of every fold's rows)"}
    text = f"Each model is tuned by {words[search]} on those folds"
    overrides = [f"{escape(model)}: {escape(s.get('search', search))}" for model, s in own.items()
                 if s.get("search", search) != search or "n_iter" in s or "distributions" in s]
    if overrides:
        text += f" (own settings: {'; '.join(overrides)}; see the 'Hyperparameter search' section)"
    return text


def _budget_notes(budget: dict) -> str:
    """What a time budget reduced, in words (``study.budget.Reductions.lines``)."""
    seconds = budget.get("budget_seconds")
    lines = [f"- **time budget {duration_text(seconds)}**: {escape(line)}" for line in budget.get("lines", [])]
    return "\n" + "\n".join(lines) + "\n" if lines else ""


def _splits_notes(splits: dict) -> str:
    """The grouped or time-ordered datasets' splits in words (``study.splits.describe_splits``)."""
    lines = [f"- {escape(text)}" for text in splits.values()]
    return ("\nGrouped and time-ordered data (instead of the shuffled splits above):\n\n" + "\n".join(lines) + "\n"
            if lines else "")


def _data_notes(notes: dict) -> str:
    """The notices about the datasets (detected task, dropped columns, ...), as printed before training."""
    lines = [f"- {escape(note)}" for dataset_notes in notes.values() for note in dataset_notes]
    return "\nNotes on the data (also printed before training):\n\n" + "\n".join(lines) + "\n" if lines else ""


@figure
def _scores_figure(rows: pd.DataFrame, dataset: str, metric: str):
    chance = rows.loc[(rows["model"] == BASELINE) & (rows["split"] == "validation"), "score"].mean()
    rows = without_baseline(rows).assign(split=rows["split"].map(SPLIT_LABELS))
    fig, ax = plt.subplots(figsize=(max(8, 1.6 * rows["model"].nunique()), 4.2))
    sns.barplot(data=rows, x="model", y="score", hue="split", hue_order=list(SPLIT_LABELS.values()),
                errorbar="sd", capsize=0.1, ax=ax)
    floor = axis_floor([*rows["score"], chance])  # the chance line always on the axis
    ax.set_ylim(floor, 1.0 if rows["score"].max() <= 1.0 else None)
    where = chance_line(ax, chance, floor)
    ax.set_title(f"{dataset}: train vs cross-validation vs hold-out test (error bars: fold-to-fold std)"
                 + (f"\n{where}" if where else ""))
    ax.set_xlabel("model")
    ax.tick_params(axis="x", labelrotation=15)
    ax.set_ylabel(f"{metric_label(metric)}; axis starts at {floor:.2f}")
    ax.legend(title="split", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


@figure
def gaps_figure(block: pd.DataFrame, dataset: str, metric: str):
    gaps = block.melt(id_vars="model", value_vars=["gap_train_cv", "gap_cv_test"], var_name="gap", value_name="value")
    gaps["gap"] = gaps["gap"].map({"gap_train_cv": "train - CV", "gap_cv_test": "CV - hold-out test"})
    fig, ax = plt.subplots(figsize=(max(8, 1.6 * gaps["model"].nunique()), 3.8))
    sns.barplot(data=gaps, x="model", y="value", hue="gap", ax=ax)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_title(f"{dataset}: generalization gaps (positive: the later estimate is lower)")
    ax.set_xlabel("model")
    ax.tick_params(axis="x", labelrotation=15)
    ax.set_ylabel(f"difference in {metric} (points of the metric)")
    ax.legend(title="gap", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


def summary_table(block: pd.DataFrame) -> str:
    """The side-by-side Markdown table of one dataset's rows of ``study.results.summarize``."""
    rows = []
    for row in block.itertuples():
        if row.status != "ok":
            label = "FAILED" if row.status == "failed" else "skipped"
            rows.append([escape(row.model), escape(row.framework), f"{label}: {escape(row.error)}", "", "", "", "", "",
                         ""])
            continue
        rows.append([escape(row.model), escape(row.framework), escape(params_text(row.best_params)),
                     fmt(row.mean_train_score),
                     pm(row.mean_test_score, row.std_test_score), fmt(row.test_score), fmt(row.gap_train_cv),
                     fmt(row.gap_cv_test), fmt(row.fit_time, 2)])
    header = ["model", "framework", "best params", "train", "CV mean ± std", "hold-out test", "gap train-CV",
              "gap CV-test", "fit time (s)"]
    return markdown_table(header, rows)


def dataset_sections(results: pd.DataFrame, metric: str | None, fig_dir: Path) -> list:
    """One section per dataset: the side-by-side table on ``metric`` and its two figures.

    Parameters
    ----------
    results : pandas.DataFrame
        The tidy results table.
    metric : str or None
        The primary metric; None when no unit succeeded.
    fig_dir : pathlib.Path
        Where the figures go (linked as ``figures/<name>.png``).

    Returns
    -------
    list of str
        Markdown sections, in the results' dataset order.
    """
    summary = summarize(results, metric) if metric else results.drop_duplicates(["dataset", "model"])
    parts = []
    for dataset in summary["dataset"].unique():
        block = summary[summary["dataset"] == dataset]
        parts.append(f"## {escape(dataset)}\n\nPrimary metric: {escape(metric or 'none (no unit succeeded)')}.\n\n"
                     f"{summary_table(block)}\n")
        ok = block[block["status"] == "ok"]
        if len(ok):
            scored = results[(results["dataset"] == dataset) & (results["metric"] == metric)
                             & (results["status"] == "ok")]
            scores, gaps = figure_file("scores", dataset), figure_file("gaps", dataset)
            _scores_figure(scored, dataset, metric, path=fig_dir / scores)
            gaps_figure(ok, dataset, metric, path=fig_dir / gaps)
            parts.append(f"![{escape(dataset)} scores](figures/{scores})\n\n"
                         f"![{escape(dataset)} gaps](figures/{gaps})\n")
    return parts
