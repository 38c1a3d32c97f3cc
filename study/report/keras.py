"""Sections of the Keras training histories (early stopping) and the regularization ablation."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from study.names import figure_file
from study.report.figures import PALETTE, figure
from study.report.format import axis_floor, empty_section, escape, fmt, markdown_table, mean_std, metric_label, pm

__all__ = ["histories_section", "ablation_section"]

ABLATION_SPLITS = {"train": "train (CV folds)", "validation": "CV validation", "test": "hold-out test"}


HISTORY_ROWS = (("loss", "val_loss", "loss (log scale)"),
                ("accuracy", "val_accuracy", "accuracy (fraction correct)"))


@figure
def _history_figure(block: pd.DataFrame, dataset: str, model: str):
    variants = [v for v in ("no early stopping", "early stopping") if v in set(block["variant"])]
    rows = [r for r in HISTORY_ROWS if r[0] in set(block["curve"])]
    max_epochs = int(block["epoch"].max())  # the no-early-stopping fit runs every epoch
    fig, axes = plt.subplots(len(rows), len(variants), figsize=(5.4 * len(variants), 3.3 * len(rows)),
                             squeeze=False, sharex=True, sharey="row")
    for j, variant in enumerate(variants):
        v = block[block["variant"] == variant]
        stopped = int(v["stopped_epoch"].iloc[0])
        best = v["best_epoch"].iloc[0]
        val_loss = v[v["curve"] == "val_loss"].set_index("epoch")["value"]
        for i, (train_curve, val_curve, ylabel) in enumerate(rows):
            ax = axes[i][j]
            for curve, label, color, style in ((train_curve, "training data (80% inner part)", PALETTE["train"], "-"),
                                               (val_curve, "inner validation (20%)", PALETTE["validation"], "--")):
                c = v[v["curve"] == curve].sort_values("epoch")
                if len(c):
                    ax.plot(c["epoch"], c["value"], linestyle=style, color=color, label=label)
            if variant == "early stopping":
                text = (f"early stop: epoch {stopped}" if stopped < max_epochs
                        else f"no early stop within {max_epochs} epochs")
                ax.axvline(stopped, color="#d62728", linestyle="-.", linewidth=1.2, label=text)
                if pd.notna(best):
                    ax.axvline(int(best), color="#2ca02c", linestyle=":", linewidth=1.8,
                               label=f"restored weights: epoch {int(best)}")
            elif len(val_loss):
                lowest = int(val_loss.idxmin())
                ax.axvline(lowest, color="grey", linestyle=":", linewidth=1.5,
                           label=f"lowest val_loss: epoch {lowest}")
            values = block.loc[block["curve"].isin([train_curve, val_curve]), "value"].to_numpy(dtype=float)
            if train_curve == "loss" and np.nanmin(values) > 0:
                ax.set_yscale("log")  # the late epochs, where overfitting shows, are not squashed
            elif train_curve == "accuracy":
                ax.set_ylim(axis_floor([np.nanpercentile(values, 10)]), 1.005)  # skip the first epochs' low values
            else:
                ylabel = ylabel.replace(" (log scale)", "")
            if j == 0:  # rows share their y axis
                ax.set_ylabel(ylabel)
            if i == len(rows) - 1:
                ax.set_xlabel("epoch (passes over the training data)")
            ax.set_title(f"{variant}: {train_curve} ({stopped} epochs run)")
            ax.legend(fontsize=8, loc="best", frameon=True)
    patience = block["patience"].iloc[0]
    fig.suptitle(f"{dataset} / {model}: training history on fold 0's training part "
                 f"(early stopping: patience {patience}, monitors val_loss)", y=1.01)
    fig.tight_layout()
    return fig


def histories_section(tables: dict, fig_dir: Path) -> str:
    """The "Keras training histories" section and its figures."""
    title = "Keras training histories and early stopping"
    hist = tables.get("histories")
    if hist is None or hist.empty:
        return empty_section(title, "Keras training histories")
    parts = [f"## {title}\n",
             "Each Keras model is fitted on the training part of shared fold 0, of which a stratified, "
             "seeded 20% inner split is the validation data (never the fold's validation part, never the "
             "test split), without early stopping; with early stopping (monitoring `val_loss`, restoring the "
             "best weights) the same seeded fit is that run up to the epoch at which Keras' `EarlyStopping` "
             "stops (its rule applied to the recorded `val_loss`), so it is not fitted again. Training loss "
             "and accuracy are running averages over each epoch's batches with dropout active, so they can "
             "sit below the validation curves early on. The loss is the training "
             "objective (cross-entropy, or MSE for regression, plus the L2 penalty), on a log scale; the "
             "accuracy axis starts above the first epochs' values. A validation loss that stops falling or "
             "rises while the training loss keeps falling is overfitting.\n"]
    rows = []
    for (dataset, model), block in hist.groupby(["dataset", "model"], sort=False):
        name = figure_file("history", dataset, model)
        _history_figure(block, dataset, model, path=fig_dir / name)
        parts.append(f"![{escape(dataset)} {escape(model)} training history](figures/{name})\n")
        for variant, v in block.groupby("variant", sort=False):
            val_loss = v[v["curve"] == "val_loss"].set_index("epoch")["value"]
            best = v["best_epoch"].iloc[0]
            rows.append([escape(dataset), escape(model), escape(variant), int(v["stopped_epoch"].iloc[0]),
                         "n/a" if pd.isna(best) else int(best),
                         int(val_loss.idxmin()) if len(val_loss) else "n/a",
                         fmt(val_loss.min()) if len(val_loss) else "n/a"])
    parts.insert(1, markdown_table(["dataset", "model", "variant", "epochs run", "restored epoch",
                            "lowest val_loss epoch", "lowest val_loss"], rows) + "\n")
    return "\n".join(parts)


# --------------------------------------------------------------------------- ablation

VARIANT_ORDER = ("baseline", "L2", "dropout", "early stopping", "augmentation", "all combined")


@figure
def _ablation_figure(block: pd.DataFrame, dataset: str):
    metric = block["metric"].iloc[0]
    models = list(dict.fromkeys(block["model"]))
    splits = [ABLATION_SPLITS[k] for k in ABLATION_SPLITS if k in set(block["split"])]
    floor = axis_floor(block["score"])
    fig, axes = plt.subplots(1, len(models), figsize=(6.2 * len(models), 4.0), squeeze=False, sharey=True)
    for ax, model in zip(axes[0], models):
        m = block[block["model"] == model]
        sns.barplot(data=m.assign(split=m["split"].map(ABLATION_SPLITS)), x="variant", y="score", hue="split",
                    order=[v for v in VARIANT_ORDER if v in set(m["variant"])], hue_order=splits,
                    palette=[PALETTE[k] for k in ABLATION_SPLITS if ABLATION_SPLITS[k] in splits],
                    errorbar="sd", capsize=0.08, ax=ax)
        ax.set_ylim(floor, 1.01 if block["score"].max() <= 1.0 else None)
        ax.set_title(model)
        ax.set_xlabel("variant")
        ax.set_ylabel(f"{metric_label(metric)}; axis starts at {floor:.2f}")
        ax.tick_params(axis="x", labelrotation=20)
        handles, labels = ax.get_legend_handles_labels()
        ax.get_legend().remove()
    fig.legend(handles, labels, title="split", loc="upper left", bbox_to_anchor=(1.0, 0.9), frameon=True)
    fig.suptitle(f"{dataset}: regularization ablation ({metric}; error bars: fold-to-fold std)", y=1.02)
    fig.tight_layout()
    return fig


def ablation_section(tables: dict, fig_dir: Path) -> str:
    """The "Regularization ablation" section and its figure."""
    title = "Regularization ablation (Keras)"
    ab = tables.get("ablation")
    if ab is None or ab.empty:
        return empty_section(title, "ablation")
    parts = [f"## {title}\n",
             "Each regularization technique alone on top of an unregularized baseline, then all combined; "
             "train and CV on the shared folds, hold-out test from a refit on the whole training part "
             "(absent in quick mode). Early stopping trains on 80% of the data it is given and watches the "
             "other 20%. A variant that is a GridSearchCV candidate or a validation-curve point reuses those fits "
             "(`source` in ablation.csv).\n"]
    for dataset, block in ab.groupby("dataset", sort=False):
        metric = block["metric"].iloc[0]
        for model, m in block.groupby("model", sort=False):
            stats = mean_std(m, ["variant", "settings", "split"])
            rows = []
            for variant in [v for v in VARIANT_ORDER if v in set(m["variant"])]:
                s = stats[stats["variant"] == variant].set_index("split")
                get = lambda split, col="mean": s.loc[split, col] if split in s.index else float("nan")  # noqa: E731
                rows.append([escape(variant), escape(s["settings"].iloc[0]), fmt(get("train")),
                             pm(get("validation"), get("validation", "std")), fmt(get("test")),
                             fmt(get("train") - get("validation"))])
            parts.append(f"### {escape(dataset)} / {escape(model)} ({escape(metric)})\n\n"
                         + markdown_table(["variant", "settings", "train", "CV mean ± std", "hold-out test",
                                   "gap train-CV"], rows) + "\n")
        name = figure_file("ablation", dataset)
        _ablation_figure(block, dataset, path=fig_dir / name)
        parts.append(f"![{escape(dataset)} ablation](figures/{name})\n")
    return "\n".join(parts)
