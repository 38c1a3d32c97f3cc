"""The "What each model learned" section: permutation importance on the hold-out test split.

Reads the ``importance`` table (``study.statistics.importance``) and, for each model's fit
verdict, the ``verdicts`` table. Per dataset: one figure (models side by side, each model's top
features with their spread over the repeats), a compact table of each model's top features and,
where the dataset knows which columns carry signal (``Dataset.signal_features``, e.g. ``wide``),
per model how many of its top features carry signal and whether it leans on the noise columns.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from study.names import figure_file
from study.report.figures import figure
from study.report.format import empty_section, escape, fmt, markdown_table
from study.statistics.importance import NOISE_SHARE, TOP_K, signal_summary

__all__ = ["importance_section", "TOP_TABLE", "TOP_FIGURE"]

TOP_TABLE = 5
"""Features per model in the section's table."""
TOP_FIGURE = 10
"""Features per model in the figure."""
PANELS_PER_ROW = 3
"""Models side by side in one row of the figure."""
_KINDS = {True: "carries signal", False: "no known signal", None: "signal unknown"}
_COLOURS = {"carries signal": "#2ca02c", "no known signal": "#7f7f7f", "signal unknown": "#1f77b4"}


def _kind(value) -> str:
    return _KINDS[None if pd.isna(value) else bool(value)]


@figure
def _importance_figure(block: pd.DataFrame, dataset: str, metric: str):
    """One panel per model: its :data:`TOP_FIGURE` features, mean drop of the score with the
    standard deviation over the repeats as the error bar."""
    models = list(dict.fromkeys(block["model"]))
    n_cols = min(len(models), PANELS_PER_ROW)
    n_rows = -(-len(models) // n_cols)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(3.6 * n_cols, (0.3 * TOP_FIGURE + 1.2) * n_rows + 0.6),
                             squeeze=False)
    for ax in axes.flat[len(models):]:
        ax.set_visible(False)
    for ax, model in zip(axes.flat, models):
        top = block[block["model"] == model].sort_values("rank", kind="stable").head(TOP_FIGURE)
        top = top.assign(kind=top["signal"].map(_kind), label=top["feature"].astype(str))
        sns.barplot(data=top, x="importance_mean", y="label", hue="kind", palette=_COLOURS, dodge=False,
                    errorbar=None, ax=ax, legend=False)
        ax.errorbar(top["importance_mean"], range(len(top)), xerr=top["importance_std"], fmt="none",
                    ecolor="black", elinewidth=0.8, capsize=2)
        ax.axvline(0.0, color="black", linewidth=0.6)
        ax.set_title(model, fontsize=10)
        ax.set_xlabel(f"drop in {metric} when shuffled")
        ax.set_ylabel("input column" if ax in axes[:, 0] else "")
    present = set(block["signal"].map(_kind))
    kinds = [kind for kind in _COLOURS if kind in present]
    handles = [plt.Rectangle((0, 0), 1, 1, color=_COLOURS[k]) for k in kinds]
    fig.legend(handles, kinds, loc="lower center", ncol=len(kinds), frameon=False)
    fig.suptitle(f"{dataset}: permutation importance on the hold-out test split (top {TOP_FIGURE} per model; "
                 "bars: mean over the repeats, lines: ± std)", fontsize=10)
    fig.tight_layout(rect=(0, 0.04, 1, 0.96))
    return fig


def _top_table(block: pd.DataFrame) -> str:
    """Each model's :data:`TOP_TABLE` best-ranked features, ``name mean ± std``."""
    rows = []
    for model, rows_of in block.groupby("model", sort=False):
        top = rows_of.sort_values("rank", kind="stable").head(TOP_TABLE)
        cells = [f"{escape(r.feature)}: {fmt(r.importance_mean)} ± {fmt(r.importance_std)}" for r in top.itertuples()]
        rows.append([escape(model), *cells, *[""] * (TOP_TABLE - len(cells))])
    return markdown_table(["model", *[f"#{k}" for k in range(1, TOP_TABLE + 1)]], rows)


def _signal_lines(summary: pd.DataFrame, verdicts: dict) -> str:
    """Per model: its signal columns among its top features and whether it leans on the noise."""
    first = summary.iloc[0]
    n_noise = int(first.n_features - first.n_signal)
    lines = [f"This dataset knows which of its {int(first.n_features)} columns carry signal "
             f"({int(first.n_signal)}; the other {n_noise}, {n_noise / first.n_features:.0%} of the columns, are noise "
             "here). A model leans on the noise columns "
             f"when they hold more than {NOISE_SHARE:.0%} of its positive importance (the sum over columns of the "
             "mean drop, negative drops counted as 0); per column: the mean drop of a signal and of a noise "
             "column.\n"]
    for r in summary.itertuples():
        verdict = verdicts.get(r.model)
        said = f" ({escape(verdict)})" if verdict else ""
        if pd.isna(r.noise_share):
            leaning = "no column changes its hold-out score"
        else:
            leaning = (f"{r.noise_share:.0%} of its positive importance is on the noise columns: "
                       + ("it leans on the noise" if r.leans_on_noise else "it does not lean on the noise"))
        lines.append(f"- **{escape(r.model)}**{said}: {r.signal_in_top} of its top {r.top} features carry signal "
                     f"({r.expected_in_top:.1f} if the ranks were random); {leaning}; per column: signal "
                     f"{fmt(r.signal_per_column)}, noise {fmt(r.noise_per_column)}.")
    overfitting = [r for r in summary.itertuples() if verdicts.get(r.model) == "overfitting"]
    if overfitting:
        leaning = [escape(r.model) for r in overfitting if r.leans_on_noise]
        steady = [escape(r.model) for r in overfitting if not r.leans_on_noise]
        said = [f"{_names(leaning)} {'leans' if len(leaning) == 1 else 'lean'} on the noise columns"] if leaning else []
        said += [f"{_names(steady)} {'does' if len(steady) == 1 else 'do'} not"] if steady else []
        lines.append(f"\nOf the overfitting models, {'; '.join(said)}.")
    return "\n".join(lines) + "\n"


def _names(names: list) -> str:
    """``a``, ``a and b``, ``a, b and c`` (names already escaped)."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def importance_section(tables: dict, fig_dir: Path) -> str:
    """The "What each model learned" section: per dataset a figure, the top features of each
    model and, where the dataset knows its signal columns, what the models leaned on.

    Parameters
    ----------
    tables : dict of str to pandas.DataFrame
        The study's tables; reads ``importance`` and ``verdicts``.
    fig_dir : pathlib.Path
        The report's ``figures/`` folder.

    Returns
    -------
    str
        Markdown; says there is nothing to show when the table is missing or empty.
    """
    title = "What each model learned: permutation importance"
    table = tables.get("importance")
    if table is None or table.empty:
        return empty_section(title, "permutation importance (no successful unit besides the chance baseline)")
    first = table.iloc[0]
    parts = [f"## {title}\n", "How much each model's hold-out score drops when one input column is shuffled "
             "(scikit-learn's `permutation_importance` on the refit best estimator and the untouched hold-out "
             f"test split, the primary metric, {int(first.n_repeats)} shuffles per column seeded by the study's "
             "seed; preprocessing included, so the columns are the dataset's own). Mean ± std over the shuffles, "
             "in the metric's units; near 0: the model does not need the column on new data. Columns that carry "
             "the same information share it: shuffling one of two correlated columns costs little. The chance "
             "baseline has none.\n"]
    verdict_table = tables.get("verdicts")
    summary = signal_summary(table, TOP_K)
    for dataset, block in table.groupby("dataset", sort=False):
        metric = str(block["metric"].iloc[0])
        name = figure_file("importance", dataset)
        _importance_figure(block, dataset, metric, path=fig_dir / name)
        parts.append(f"### {escape(dataset)}\n\nMetric: {escape(metric)}; {int(block['n_test'].iloc[0])} hold-out "
                     "rows.\n")
        parts.append(f"![{escape(dataset)} permutation importance](figures/{name})\n")
        parts.append(_top_table(block) + "\n")
        known = summary[summary["dataset"] == dataset]
        if not known.empty:
            verdicts = {} if verdict_table is None or verdict_table.empty else dict(
                verdict_table.loc[verdict_table["dataset"] == dataset, ["model", "verdict"]].itertuples(index=False))
            parts.append(_signal_lines(known, verdicts))
    return "\n".join(parts)
