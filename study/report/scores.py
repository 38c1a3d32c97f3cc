"""Sections of the hyperparameter searches and of the hold-out scores' curves (ROC,
precision-recall, confusion matrix, reliability diagram), drawn with scikit-learn's Displays from
the tables alone (``searches``, ``roc_curves``, ``pr_curves``, ``confusion``, ``calibration``)."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.calibration import CalibrationDisplay
from sklearn.metrics import ConfusionMatrixDisplay, PrecisionRecallDisplay, RocCurveDisplay

from study.names import figure_file
from study.report.figures import figure
from study.report.format import escape, fmt, markdown_table
from study.statistics.threshold_curves import POOLED

__all__ = ["search_section", "score_curves_section"]

PANEL = 3.3
"""Width and height (inches) of one model's panel."""
MAX_COLUMNS = 5
"""Panels per row of a figure."""


def search_section(tables: dict) -> str:
    """The "Hyperparameter search" section: which search tuned each model, its rounds and fits."""
    searches = tables.get("searches")
    if searches is None or searches.empty:
        return ""
    rows = []
    for (dataset, model), block in searches.groupby(["dataset", "model"], sort=False):
        rounds = " → ".join(f"{r.candidates}" + (f" on {r.rows} rows" if not pd.isna(r.rows) else "")
                            for r in block.itertuples())
        rows.append([escape(dataset), escape(model), escape(block["search"].iloc[0]), len(block), rounds,
                     int(block["fits"].sum())])
    header = ["dataset", "model", "search", "rounds", "candidates per round", "fits on the folds"]
    halving = (" Successive halving fits its candidates on a subsample of the training part's rows (each fold on "
               "its share of them) and keeps the best third for the next round, on three times the rows; its chosen "
               "candidate's train and CV scores are refits on the whole folds."
               if searches["search"].str.startswith("Halving").any() else "")
    return ("## Hyperparameter search\n\n"
            f"Every search ran on the shared folds with train scores (`searches.csv`).{halving} Fits exclude the final "
            "refit on the whole training part.\n\n"
            f"{markdown_table(header, rows)}\n")


def _panels(n: int):
    columns = min(n, MAX_COLUMNS)
    rows = math.ceil(n / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(PANEL * columns, PANEL * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:n])


def _which(block: pd.DataFrame) -> str:
    """The curves' classes in words: one-vs-rest (multiclass) or the positive class (binary)."""
    classes = list(dict.fromkeys(block["class"]))
    return "one-vs-rest per class" if len(classes) > 1 else f"positive class {classes[0]}"


def _small_legend(ax, n_lines: int) -> None:
    ax.legend(fontsize=6 if n_lines > 4 else 7, loc="lower right", frameon=True)


def _by_model(block: pd.DataFrame, title: str, panel):
    """A figure of one panel per model of ``block`` (``panel(ax, rows)`` draws one), titled ``title``."""
    models = list(dict.fromkeys(block["model"]))
    fig, axes = _panels(len(models))
    for ax, model in zip(axes, models):
        panel(ax, block[block["model"] == model])
        ax.set_title(model, fontsize=9)
    fig.suptitle(title, y=1.0)
    fig.tight_layout()
    return fig


@figure
def _roc_figure(block: pd.DataFrame, dataset: str):
    def panel(ax, rows):
        for i, (label, curve) in enumerate(rows.groupby("class", sort=False)):
            RocCurveDisplay(fpr=curve["fpr"].to_numpy(), tpr=curve["tpr"].to_numpy(), roc_auc=curve["auc"].iloc[0],
                            name=f"class {label}").plot(ax=ax, plot_chance_level=i == 0)
        _small_legend(ax, rows["class"].nunique())

    return _by_model(block, f"{dataset}: ROC curves on the hold-out test split ({_which(block)})", panel)


@figure
def _pr_figure(block: pd.DataFrame, dataset: str):
    def panel(ax, rows):
        for label, curve in rows.groupby("class", sort=False):
            PrecisionRecallDisplay(precision=curve["precision"].to_numpy(), recall=curve["recall"].to_numpy(),
                                   average_precision=curve["average_precision"].iloc[0],
                                   name=f"class {label}").plot(ax=ax)
        ax.set_ylim(0.0, 1.05)
        _small_legend(ax, rows["class"].nunique())

    return _by_model(block, f"{dataset}: precision-recall curves on the hold-out test split ({_which(block)})", panel)


@figure
def _confusion_figure(block: pd.DataFrame, dataset: str):
    def panel(ax, rows):
        labels = list(dict.fromkeys(rows["true_class"]))
        matrix = rows.pivot(index="true_class", columns="predicted_class", values="fraction_of_true")
        matrix = matrix.loc[labels, labels].to_numpy()
        small = len(labels) > 5
        ConfusionMatrixDisplay(matrix, display_labels=labels).plot(
            ax=ax, colorbar=False, values_format=".2f", cmap="Blues", im_kw=dict(vmin=0.0, vmax=1.0),
            text_kw=dict(fontsize=5 if small else 8))
        ax.tick_params(labelsize=6 if small else 8)

    return _by_model(block, f"{dataset}: confusion matrices on the hold-out test split (each row: fraction of its "
                            "true class)", panel)


def _calibration_label(label, curve: pd.DataFrame) -> str:
    """Legend of one reliability curve, with the model's Brier score over all classes (``brier``): a
    multiclass model's pooled curve says it is the multiclass score, not its one-vs-rest ``brier_ovr``."""
    if label == POOLED:
        return f"all classes pooled (multiclass Brier {curve['brier'].iloc[0]:.3f})"
    return f"class {label} (Brier {curve['brier'].iloc[0]:.3f})"


@figure
def _calibration_figure(block: pd.DataFrame, dataset: str):
    pooled = (block["class"] == POOLED).any()  # multiclass: one curve of every class's pairs, not k curves
    block = block[block["class"] == POOLED] if pooled else block

    def panel(ax, rows):
        for i, (label, curve) in enumerate(rows.groupby("class", sort=False)):
            CalibrationDisplay(curve["fraction_positive"].to_numpy(), curve["mean_predicted"].to_numpy(),
                               None).plot(ax=ax, name=_calibration_label(label, curve), ref_line=i == 0)
        ax.set_xlim(0.0, 1.0)
        ax.set_ylim(0.0, 1.0)
        ax.legend(fontsize=6 if rows["class"].nunique() > 4 else 7, loc="upper left", frameon=True)

    which = "every class's one-vs-rest pairs pooled" if pooled else _which(block)
    return _by_model(block, f"{dataset}: reliability diagrams on the hold-out test split ({which}; 10 bins of "
                            "predicted probability)", panel)


FIGURES = (("roc_curves", _roc_figure, "roc", "ROC curves"),
           ("pr_curves", _pr_figure, "pr", "precision-recall curves"),
           ("confusion", _confusion_figure, "confusion", "confusion matrices"),
           ("calibration", _calibration_figure, "calibration", "reliability diagrams"))
"""(table, figure function, file prefix, alt text) of the section's figures."""


def _summary(tables: dict, dataset: str) -> str:
    """Per model: mean ROC AUC and average precision over the curves' classes, and the Brier score
    over all classes (``brier``, not the mean of the one-vs-rest ``brier_ovr``)."""
    parts = {}
    for name, column in (("roc_curves", "auc"), ("pr_curves", "average_precision")):
        table = tables[name]
        block = table[(table["dataset"] == dataset) & (table["class"] != POOLED)].drop_duplicates(["model", "class"])
        parts[name] = block.groupby("model", sort=False)[column].mean()
    calibration = tables["calibration"]
    parts["calibration"] = calibration[calibration["dataset"] == dataset].groupby("model", sort=False)["brier"].first()
    models = list(dict.fromkeys(tables["confusion"].query("dataset == @dataset")["model"]))
    rows = [[escape(model), *(fmt(parts[name].get(model, np.nan)) for name in parts)] for model in models]
    header = ["model", "ROC AUC", "average precision", "Brier score, all classes (lower is better)"]
    return markdown_table(header, rows)


def score_curves_section(tables: dict, fig_dir: Path) -> str:
    """The "Hold-out scores" section: per classification dataset, a table and four figures, one
    panel per model (their data: ``roc_curves.csv``, ``pr_curves.csv``, ``confusion.csv``,
    ``calibration.csv``)."""
    confusion = tables.get("confusion")
    if confusion is None or confusion.empty:
        return ""
    parts = ["## Hold-out scores: ROC, precision-recall, confusion, calibration\n\n"
             "From each classifier's stored hold-out probabilities (`proba:<class>` columns of `predictions.csv`), "
             "or its decision scores when it has no probabilities (those have no reliability diagram). Binary "
             "tasks: the curve of the second class; multiclass: one curve per class against the rest (the "
             "reliability diagram pools every class's pairs; `calibration.csv` also has each class's). "
             "The table gives the mean over those curves (ROC AUC, average precision) and the Brier score of the "
             "probabilities over all classes: the mean over test rows of the squared errors summed over the classes "
             "(Brier 1950; 0 is perfect, 2 the worst; halved for two classes, as is customary, to the Brier score of "
             "the second class's probability). `calibration.csv` holds it as `brier`, and each class's one-vs-rest "
             "Brier score as `brier_ovr` (for a multiclass model they sum to `brier`).\n"]
    for dataset in dict.fromkeys(confusion["dataset"]):
        parts.append(f"### {escape(dataset)}\n\n{_summary(tables, dataset)}\n")
        for table, draw, prefix, alt in FIGURES:
            block = tables[table][tables[table]["dataset"] == dataset].reset_index(drop=True)
            if block.empty:
                continue
            name = figure_file(prefix, dataset)
            draw(block, dataset, path=fig_dir / name)
            parts.append(f"![{escape(dataset)} {alt}](figures/{name})\n")
    return "\n".join(parts)
