"""Sections of the learning curves and the validation curves (regularization paths)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from study.names import figure_file
from study.report.figures import PALETTE, chance_line, figure
from study.report.format import (axis_floor, chance_levels, empty_section, escape, fmt, markdown_table, mean_std,
                                  metric_label, pm)

__all__ = ["learning_curves_section", "validation_curves_section"]

CURVE_SPLITS = {"train": "train (fold mean ± std)", "validation": "CV validation (fold mean ± std)"}


def _place_legend(grid, n_panels: int, ncol: int) -> None:
    """The facet legend in the first empty slot of a wrapped grid, else right of the panels."""
    nrow = -(-n_panels // ncol)
    empty = nrow * ncol - n_panels
    if empty:
        x = (ncol - empty + 0.5) / ncol
        y = 0.5 / nrow
        sns.move_legend(grid, "center", bbox_to_anchor=(x, y), title="split", frameon=True)
    else:
        sns.move_legend(grid, "upper left", bbox_to_anchor=(1.0, 0.95), title="split", frameon=True)


LOG_SPAN = 20
"""A learning curve whose largest size is more than this many times its smallest is drawn on a log
axis (under a time budget: the subsample's sizes, then the unit's fits on the whole folds)."""


@figure
def _learning_curves_figure(block: pd.DataFrame, dataset: str, chance=None):
    metric = block["metric"].iloc[0]
    data = block.assign(split=block["split"].map(CURVE_SPLITS))
    models = list(dict.fromkeys(block["model"]))
    grid = sns.relplot(data=data, x="train_size", y="score", hue="split", style="split", col="model",
                       col_order=models, col_wrap=min(3, len(models)), kind="line", errorbar="sd",
                       estimator="mean", markers=True, dashes=False, height=3.0, aspect=1.25,
                       hue_order=list(CURVE_SPLITS.values()), style_order=list(CURVE_SPLITS.values()),
                       palette=[PALETTE["train"], PALETTE["validation"]], facet_kws={"sharex": False})
    grid.set_titles("{col_name}")
    sizes = block["train_size"]
    wide = sizes.max() > LOG_SPAN * sizes.min()  # a time budget's subsample, then the unit's own rows
    if wide:
        grid.set(xscale="log")
    grid.set_axis_labels("training examples (n, log scale)" if wide else "training examples (n)", metric_label(metric))
    floor = axis_floor([*block["score"], chance if chance is not None else float("nan")])
    grid.set(ylim=(floor, 1.01 if block["score"].max() <= 1.0 else None))
    where = [chance_line(ax, chance, floor) for ax in grid.axes.flat][0]
    _place_legend(grid, len(models), min(3, len(models)))
    grid.figure.suptitle(f"{dataset}: learning curves ({metric}; mean ± std over the shared CV folds"
                         f"{'; ' + where if where else ''})", y=1.03)
    return grid.figure


def learning_curves_section(tables: dict, fig_dir: Path) -> str:
    """The "Learning curves" section and its figures."""
    title = "Learning curves"
    lc = tables.get("learning_curves")
    if lc is None or lc.empty:
        return empty_section(title, "learning curves")
    parts = [f"## {title}\n",
             "Train and CV scores against the number of training examples, on the shared folds: for each "
             "fold a seeded random subset of its training part is fitted and scored on itself and on the "
             "fold's validation part. Bands: ± one standard deviation over folds (none with a single fold). "
             "The largest size is each fold's whole training part: the comparison's own fits of the chosen "
             "candidate, not fitted again. A gap that narrows as n grows means more data would help (variance); "
             "two low curves that have met mean the model is too simple (bias).\n"]
    for dataset, block in lc.groupby("dataset", sort=False):
        metric = block["metric"].iloc[0]
        models = list(dict.fromkeys(block["model"]))
        name = figure_file("learning_curves", dataset)
        _learning_curves_figure(block, dataset, chance_levels(tables).get(dataset), path=fig_dir / name)
        last = block[block["train_size"] == block.groupby("model")["train_size"].transform("max")]
        stats = mean_std(last, ["model", "split"]).pivot(index="model", columns="split", values=["mean", "std"])
        rows = [[escape(m), int(last[last["model"] == m]["train_size"].iloc[0]), fmt(stats.loc[m, ("mean", "train")]),
                 pm(stats.loc[m, ('mean', 'validation')], stats.loc[m, ('std', 'validation')])]
                for m in models if m in stats.index]
        parts.append(f"### {escape(dataset)}\n\n![{escape(dataset)} learning curves](figures/{name})\n\n"
                     f"At the largest size ({escape(metric)}):\n\n"
                     + markdown_table(["model", "training examples", "train", "CV mean ± std"], rows) + "\n")
    return "\n".join(parts)


# --------------------------------------------------------------------------- validation curves

def _pad_x(ax, positions, log: bool, fraction: float = 0.08) -> None:
    """Leave room left and right of the outer points (a marked value at the edge stays visible)."""
    lo, hi = np.nanmin(positions), np.nanmax(positions)
    if log:
        span = np.log10(hi) - np.log10(lo) or 1.0
        ax.set_xlim(10 ** (np.log10(lo) - fraction * span), 10 ** (np.log10(hi) + fraction * span))
    else:
        span = (hi - lo) or 1.0
        ax.set_xlim(lo - fraction * span, hi + fraction * span)


@figure
def _validation_curve_figure(block: pd.DataFrame, dataset: str, model: str, chance=None):
    metric = block["metric"].iloc[0]
    sweeps = list(dict.fromkeys(block["sweep"]))
    n_folds = block["fold"].nunique()
    fig, axes = plt.subplots(1, len(sweeps), figsize=(5.2 * len(sweeps), 3.9), squeeze=False)
    floor = axis_floor(block["score"])
    for ax, sweep in zip(axes[0], sweeps):
        rows = block[block["sweep"] == sweep]
        stats = mean_std(rows, ["param_value", "param_label", "split"]).sort_values("param_value")
        for split, label in CURVE_SPLITS.items():
            line = stats[stats["split"] == split]
            ax.plot(line["param_value"], line["mean"], marker="o", color=PALETTE[split], label=label)
            spread = line["std"].fillna(0.0)
            ax.fill_between(line["param_value"], line["mean"] - spread, line["mean"] + spread,
                            color=PALETTE[split], alpha=0.2, linewidth=0)
        chosen = rows[rows["chosen"].astype(bool)]
        if len(chosen):
            value, text, source = chosen.iloc[0][["param_value", "param_label", "chosen_source"]]
            name = "GridSearchCV choice" if str(source).startswith("GridSearchCV") else "value in use (not tuned)"
            note = str(source)[len("GridSearchCV"):].strip() if name == "GridSearchCV choice" else ""
            ax.axvline(value, color="black", linestyle="--", linewidth=1.2,
                       label=f"{name}{' ' + note if note else ''}: {text}")
        if bool(rows["log_scale"].iloc[0]):
            ax.set_xscale("log")
        ticks = stats.drop_duplicates("param_value")
        ax.set_xticks(ticks["param_value"])
        ax.set_xticklabels(ticks["param_label"], rotation=0)
        ax.minorticks_off()
        _pad_x(ax, ticks["param_value"].to_numpy(dtype=float), bool(rows["log_scale"].iloc[0]))
        ax.set_ylim(floor, 1.01 if block["score"].max() <= 1.0 else None)
        where = chance_line(ax, chance, floor)
        ax.set_title(sweep + (f" ({where})" if where else ""))
        ax.set_xlabel(rows["axis_label"].iloc[0])
        ax.set_ylabel(metric_label(metric))
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), fontsize=8, frameon=True)  # below: no data hidden
    fig.suptitle(f"{dataset} / {model}: validation curves ({metric}; mean ± std over {n_folds} CV "
                 f"fold{'s' if n_folds != 1 else ''})", y=1.02)
    fig.tight_layout()
    return fig


def validation_curves_section(tables: dict, fig_dir: Path) -> str:
    """The "Validation curves" section and its figures."""
    title = "Validation curves (regularization paths)"
    vc = tables.get("validation_curves")
    if vc is None or vc.empty:
        return empty_section(title, "validation curves")
    parts = [f"## {title}\n",
             "Each sweep varies one regularization knob, all other parameters at GridSearchCV's choice, on the "
             "shared folds; the dashed line marks the value the main comparison used. On the weakly "
             "regularized side of the CV peak (large C, small alpha or l2 or dropout, deep trees) the model "
             "overfits: train far above CV; on the strongly regularized side it underfits: both fall. Points "
             "that are GridSearchCV candidates are the comparison's own fits (`source` in validation_curves.csv). "
             "`None` "
             "(unlimited tree depth) is drawn right of the largest depth, and 0 (no penalty) left of the "
             "smallest positive penalty on log axes.\n"]
    for (dataset, model), block in vc.groupby(["dataset", "model"], sort=False):
        name = figure_file("validation_curves", dataset, model)
        _validation_curve_figure(block, dataset, model, chance_levels(tables).get(dataset), path=fig_dir / name)
        stats = mean_std(block, ["sweep", "param_value", "param_label", "chosen", "split"])
        rows = []
        for sweep, s in stats.groupby("sweep", sort=False):
            val = s[s["split"] == "validation"]
            best = val.loc[val["mean"].idxmax()]
            used = val[val["chosen"].astype(bool)]
            used_text = f"{escape(used['param_label'].iloc[0])} ({fmt(used['mean'].iloc[0])})" if len(used) else "n/a"
            rows.append([escape(sweep), f"{escape(best['param_label'])} ({fmt(best['mean'])})", used_text])
        parts.append(f"### {escape(dataset)} / {escape(model)}\n\n"
                     f"![{escape(dataset)} {escape(model)} validation curves](figures/{name})\n\n"
                     + markdown_table(["sweep", "best CV value (CV mean)", "value used (CV mean)"], rows) + "\n")
    return "\n".join(parts)
