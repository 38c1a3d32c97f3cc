"""Sections of the class-imbalance experiment and of per-class recall on the hold-out split."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import seaborn as sns

from study.names import figure_file
from study.report.figures import figure
from study.report.format import empty_section, escape, fmt, markdown_table, mean_std, pm

__all__ = ["imbalance_section", "per_class_section"]


@figure
def _imbalance_figure(block: pd.DataFrame, dataset: str):
    metrics = list(dict.fromkeys(block["metric"]))
    minority, ratio = block["minority_class"].iloc[0], block["ratio"].iloc[0]
    data = block[block["split"].isin(["validation", "test"])].assign(
        split=lambda f: f["split"].map({"validation": "CV validation (mean ± std)", "test": "hold-out test"}),
        class_weight=lambda f: f["class_weight"].map({"off": "off (None)", "on": "on (balanced)"}))
    grid = sns.catplot(data=data, x="metric", y="score", hue="class_weight", col="model", row="split",
                       kind="bar", order=metrics, hue_order=["off (None)", "on (balanced)"],
                       row_order=["CV validation (mean ± std)", "hold-out test"], errorbar="sd",
                       capsize=0.08, height=3.0, aspect=1.3, palette=["#7f7f7f", "#9467bd"])
    grid.set(ylim=(0, 1.08))
    grid.set_titles("{col_name} | {row_name}")
    grid.set_axis_labels("metric", "score (fraction, 1 = perfect)")
    for ax in grid.axes.flat:
        ax.tick_params(axis="x", labelrotation=30)
    sns.move_legend(grid, "upper left", bbox_to_anchor=(1.0, 0.95), title="class weighting", frameon=True)
    grid.figure.suptitle(f"{dataset}: class weighting off vs on (minority class {minority!r}, ratio {ratio:g})",
                         y=1.02)
    return grid.figure


def imbalance_section(tables: dict, fig_dir: Path) -> str:
    """The "Class imbalance" section and its figure."""
    title = "Class imbalance: class weighting off vs on"
    im = tables.get("imbalance")
    if im is None or im.empty:
        return empty_section(title, "class-imbalance experiment")
    parts = [f"## {title}\n"]
    for dataset, block in im.groupby("dataset", sort=False):
        metrics = list(dict.fromkeys(block["metric"]))
        minority, ratio = block["minority_class"].iloc[0], block["ratio"].iloc[0]
        parts.append(f"### {escape(dataset)}\n\nClass {escape(repr(minority))} subsampled to {ratio:g} times the "
                     "size of the largest class (seeded), then its own stratified hold-out split and shared folds. "
                     "Each model with its default parameters, `class_weight=None` (off) vs `\"balanced\"` (on). "
                     "Cells: CV mean ± std over the folds (hold-out test score in parentheses).\n")
        held_out = block[block["split"].isin(["validation", "test"])]
        stats = mean_std(held_out, ["model", "class_weight", "metric", "split"])
        rows = []
        for (model, switch), s in stats.groupby(["model", "class_weight"], sort=False):
            s = s.set_index(["metric", "split"])
            cells = []
            for metric in metrics:
                cv = s.loc[(metric, "validation")] if (metric, "validation") in s.index else None
                test = s.loc[(metric, "test"), "mean"] if (metric, "test") in s.index else float("nan")
                cells.append(f"{pm(cv['mean'], cv['std']) if cv is not None else 'n/a'} ({fmt(test)})")
            rows.append([escape(model), escape(switch), *cells])
        parts.append(markdown_table(["model", "class weighting", *map(escape, metrics)], rows) + "\n")
        name = figure_file("imbalance", dataset)
        _imbalance_figure(block, dataset, path=fig_dir / name)
        parts.append(f"![{escape(dataset)} class weighting](figures/{name})\n")
    return "\n".join(parts)


# --------------------------------------------------------------------------- per-class recall

def per_class_section(tables: dict, fig_dir: Path) -> str:
    """The "Per-class recall" section."""
    title = "Per-class recall on the hold-out test split"
    table = tables.get("per_class_recall")
    if table is None or table.empty:
        return empty_section(title, "hold-out predictions")
    parts = [f"## {title}\n", "Recall of each class (fraction of its hold-out test rows predicted as it) for the "
             "refit models of the main comparison; n = its number of test rows.\n"]
    for dataset, block in table.groupby("dataset", sort=False):
        classes = list(dict.fromkeys(block["class"]))
        support = block.drop_duplicates("class").set_index("class")["support"]
        pivot = block.pivot_table(index="model", columns="class", values="recall", sort=False)
        header = ["model", *[f"{escape(c)} (n={int(support[c])})" for c in classes], "min"]
        rows = [[escape(model), *[fmt(pivot.loc[model, c]) for c in classes], fmt(pivot.loc[model].min())]
                for model in dict.fromkeys(block["model"])]
        parts.append(f"### {escape(dataset)}\n\n" + markdown_table(header, rows) + "\n")
    return "\n".join(parts)
