"""Report sections of the generalization diagnostics: Markdown tables and seaborn figures.

Reads only the tables of ``study.diagnostics`` (and the main results and predictions tables);
never fits anything. Each figure is a function of its data decorated with
``study.report.figure`` (drawn only when its data or code changed), written into ``fig_dir``
and linked as ``figures/<name>.png``.

Two entry points:

- :func:`diagnostics_sections` ``(tables, results, predictions, fig_dir) -> str``: every
  section, concatenated;
- :func:`report_sections` ``(tables) -> list of callables`` for
  ``study.report.write_report(..., sections=...)``: one callable per ``## `` section, so each
  gets its own entry in the report's contents.

``tables`` is a dict of DataFrames with any of the keys "learning_curves",
"validation_curves", "histories", "ablation", "imbalance", "failures" (as returned by
``study.diagnostics.run_diagnostics``, concatenated over datasets, plus
``imbalance_table``), and optionally "per_class_recall" and "verdicts" (otherwise computed
here from ``predictions`` and ``results``).
"""

from __future__ import annotations

import re
from functools import partial
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from study.diagnostics import (  # noqa: E402
    SWEEPS, VERDICT_RULE, per_class_recall, verdict_table,
)
from study.report import METRIC_LABELS, figure  # noqa: E402

__all__ = ["diagnostics_sections", "report_sections", "SECTION_TITLES"]

SECTION_TITLES = {
    "learning_curves": "Learning curves",
    "validation_curves": "Validation curves (regularization paths)",
    "histories": "Keras training histories and early stopping",
    "ablation": "Regularization ablation (Keras)",
    "imbalance": "Class imbalance: class weighting off vs on",
    "per_class_recall": "Per-class recall on the hold-out test split",
    "verdicts": "Fit verdicts",
    "failures": "Failed diagnostics",
}
CURVE_SPLITS = {"train": "train (fold mean ± std)", "validation": "CV validation (fold mean ± std)"}
ABLATION_SPLITS = {"train": "train (CV folds)", "validation": "CV validation", "test": "hold-out test"}
PALETTE = {"train": "#1f77b4", "validation": "#ff7f0e", "test": "#2ca02c"}


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(text)).strip("_")


def _metric_label(metric: str) -> str:
    return METRIC_LABELS.get(metric, metric)


def _fmt(value, digits: int = 3) -> str:
    return "n/a" if value is None or pd.isna(value) else f"{value:.{digits}f}"


def _floor(values) -> float:
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if not len(values):
        return 0.0
    low = values.min()
    return max(0.0, np.floor((low - 0.02) * 20) / 20) if low > 0 else low - 0.05


def _mean_std(frame: pd.DataFrame, by: list) -> pd.DataFrame:
    return frame.groupby(by, sort=False)["score"].agg(["mean", "std", "count"]).reset_index()


def _pm(mean, std) -> str:
    """"mean ± std", or "mean (1 fold)" when there is no spread to report."""
    return f"{_fmt(mean)} (1 fold)" if pd.isna(std) and pd.notna(mean) else f"{_fmt(mean)} ± {_fmt(std)}"


def _table(header: list, rows: list) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _empty(title: str, what: str) -> str:
    return f"## {title}\n\nNo {what} in this study.\n"


# --------------------------------------------------------------------------- learning curves

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


@figure
def _learning_curves_figure(block: pd.DataFrame, dataset: str):
    metric = block["metric"].iloc[0]
    data = block.assign(split=block["split"].map(CURVE_SPLITS))
    models = list(dict.fromkeys(block["model"]))
    grid = sns.relplot(data=data, x="train_size", y="score", hue="split", style="split", col="model",
                       col_order=models, col_wrap=min(3, len(models)), kind="line", errorbar="sd",
                       estimator="mean", markers=True, dashes=False, height=3.0, aspect=1.25,
                       hue_order=list(CURVE_SPLITS.values()), style_order=list(CURVE_SPLITS.values()),
                       palette=[PALETTE["train"], PALETTE["validation"]], facet_kws={"sharex": False})
    grid.set_titles("{col_name}")
    grid.set_axis_labels("training examples (n)", _metric_label(metric))
    grid.set(ylim=(_floor(block["score"]), 1.01 if block["score"].max() <= 1.0 else None))
    _place_legend(grid, len(models), min(3, len(models)))
    grid.figure.suptitle(f"{dataset}: learning curves ({metric}; mean ± std over the shared CV folds)", y=1.03)
    return grid.figure


def _learning_curves_section(tables: dict, fig_dir: Path) -> str:
    title = SECTION_TITLES["learning_curves"]
    lc = tables.get("learning_curves")
    if lc is None or lc.empty:
        return _empty(title, "learning curves")
    parts = [f"## {title}\n",
             "Train and CV scores against the number of training examples, on the shared folds: for each "
             "fold a seeded random subset of its training part is fitted and scored on itself and on the "
             "fold's validation part. Bands: ± one standard deviation over folds (none with a single fold). "
             "A gap that narrows as n grows means more data would help (variance); two low curves that "
             "have met mean the model is too simple (bias).\n"]
    for dataset, block in lc.groupby("dataset", sort=False):
        metric = block["metric"].iloc[0]
        models = list(dict.fromkeys(block["model"]))
        name = f"learning_curves_{_slug(dataset)}"
        _learning_curves_figure(block, dataset, path=fig_dir / f"{name}.png")
        last = block[block["train_size"] == block.groupby("model")["train_size"].transform("max")]
        stats = _mean_std(last, ["model", "split"]).pivot(index="model", columns="split", values=["mean", "std"])
        rows = [[m, int(last[last["model"] == m]["train_size"].iloc[0]), _fmt(stats.loc[m, ("mean", "train")]),
                 _pm(stats.loc[m, ('mean', 'validation')], stats.loc[m, ('std', 'validation')])]
                for m in models if m in stats.index]
        parts.append(f"### {dataset}\n\n![{dataset} learning curves](figures/{name}.png)\n\n"
                     f"At the largest size ({metric}):\n\n"
                     + _table(["model", "training examples", "train", "CV mean ± std"], rows) + "\n")
    return "\n".join(parts)


# --------------------------------------------------------------------------- validation curves

def _axis_label(model: str, sweep: str, param: str) -> str:
    for s in SWEEPS.get(model, ()):
        if s.label == sweep and s.axis_label:
            return s.axis_label
    return param.removeprefix("model__")


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
def _validation_curve_figure(block: pd.DataFrame, dataset: str, model: str):
    metric = block["metric"].iloc[0]
    sweeps = list(dict.fromkeys(block["sweep"]))
    n_folds = block["fold"].nunique()
    fig, axes = plt.subplots(1, len(sweeps), figsize=(5.2 * len(sweeps), 3.9), squeeze=False)
    floor = _floor(block["score"])
    for ax, sweep in zip(axes[0], sweeps):
        rows = block[block["sweep"] == sweep]
        stats = _mean_std(rows, ["param_value", "param_label", "split"]).sort_values("param_value")
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
        ax.set_title(sweep)
        ax.set_xlabel(_axis_label(model, sweep, rows["param"].iloc[0]))
        ax.set_ylabel(_metric_label(metric))
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), fontsize=8, frameon=True)  # below: no data hidden
    fig.suptitle(f"{dataset} / {model}: validation curves ({metric}; mean ± std over {n_folds} CV "
                 f"fold{'s' if n_folds != 1 else ''})", y=1.02)
    fig.tight_layout()
    return fig


def _validation_curves_section(tables: dict, fig_dir: Path) -> str:
    title = SECTION_TITLES["validation_curves"]
    vc = tables.get("validation_curves")
    if vc is None or vc.empty:
        return _empty(title, "validation curves")
    parts = [f"## {title}\n",
             "Each sweep varies one regularization knob, all other parameters at GridSearchCV's choice, on the "
             "shared folds; the dashed line marks the value the main comparison used. Left of the CV peak the "
             "model overfits (train far above CV); right of it, it underfits (both fall). `None` "
             "(unlimited tree depth) is drawn right of the largest depth, and 0 (no penalty) left of the "
             "smallest positive penalty on log axes.\n"]
    for (dataset, model), block in vc.groupby(["dataset", "model"], sort=False):
        name = f"validation_curves_{_slug(dataset)}_{_slug(model)}"
        _validation_curve_figure(block, dataset, model, path=fig_dir / f"{name}.png")
        stats = _mean_std(block, ["sweep", "param_value", "param_label", "chosen", "split"])
        rows = []
        for sweep, s in stats.groupby("sweep", sort=False):
            val = s[s["split"] == "validation"]
            best = val.loc[val["mean"].idxmax()]
            used = val[val["chosen"].astype(bool)]
            used_text = f"{used['param_label'].iloc[0]} ({_fmt(used['mean'].iloc[0])})" if len(used) else "n/a"
            rows.append([sweep, f"{best['param_label']} ({_fmt(best['mean'])})", used_text])
        parts.append(f"### {dataset} / {model}\n\n![{dataset} {model} validation curves](figures/{name}.png)\n\n"
                     + _table(["sweep", "best CV value (CV mean)", "value used (CV mean)"], rows) + "\n")
    return "\n".join(parts)


# --------------------------------------------------------------------------- histories

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
                ax.set_ylim(_floor([np.nanpercentile(values, 10)]), 1.005)  # skip the first epochs' low values
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


def _histories_section(tables: dict, fig_dir: Path) -> str:
    title = SECTION_TITLES["histories"]
    hist = tables.get("histories")
    if hist is None or hist.empty:
        return _empty(title, "Keras training histories")
    parts = [f"## {title}\n",
             "Each Keras model is fitted twice on the training part of shared fold 0, of which a stratified, "
             "seeded 20% inner split is the validation data (never the fold's validation part, never the "
             "test split): without and with early stopping (monitoring `val_loss`, restoring the best "
             "weights). Training loss and accuracy are running averages over each epoch's batches with "
             "dropout active, so they can sit below the validation curves early on. The loss is the training "
             "objective (cross-entropy, or MSE for regression, plus the L2 penalty), on a log scale; the "
             "accuracy axis starts above the first epochs' values. A validation loss that stops falling or "
             "rises while the training loss keeps falling is overfitting.\n"]
    rows = []
    for (dataset, model), block in hist.groupby(["dataset", "model"], sort=False):
        name = f"history_{_slug(dataset)}_{_slug(model)}"
        _history_figure(block, dataset, model, path=fig_dir / f"{name}.png")
        parts.append(f"![{dataset} {model} training history](figures/{name}.png)\n")
        for variant, v in block.groupby("variant", sort=False):
            val_loss = v[v["curve"] == "val_loss"].set_index("epoch")["value"]
            best = v["best_epoch"].iloc[0]
            rows.append([dataset, model, variant, int(v["stopped_epoch"].iloc[0]),
                         "n/a" if pd.isna(best) else int(best),
                         int(val_loss.idxmin()) if len(val_loss) else "n/a",
                         _fmt(val_loss.min()) if len(val_loss) else "n/a"])
    parts.insert(1, _table(["dataset", "model", "variant", "epochs run", "restored epoch",
                            "lowest val_loss epoch", "lowest val_loss"], rows) + "\n")
    return "\n".join(parts)


# --------------------------------------------------------------------------- ablation

VARIANT_ORDER = ("baseline", "L2", "dropout", "early stopping", "augmentation", "all combined")


@figure
def _ablation_figure(block: pd.DataFrame, dataset: str):
    metric = block["metric"].iloc[0]
    models = list(dict.fromkeys(block["model"]))
    splits = [ABLATION_SPLITS[k] for k in ABLATION_SPLITS if k in set(block["split"])]
    floor = _floor(block["score"])
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
        ax.set_ylabel(f"{_metric_label(metric)}; axis starts at {floor:.2f}")
        ax.tick_params(axis="x", labelrotation=20)
        handles, labels = ax.get_legend_handles_labels()
        ax.get_legend().remove()
    fig.legend(handles, labels, title="split", loc="upper left", bbox_to_anchor=(1.0, 0.9), frameon=True)
    fig.suptitle(f"{dataset}: regularization ablation ({metric}; error bars: fold-to-fold std)", y=1.02)
    fig.tight_layout()
    return fig


def _ablation_section(tables: dict, fig_dir: Path) -> str:
    title = SECTION_TITLES["ablation"]
    ab = tables.get("ablation")
    if ab is None or ab.empty:
        return _empty(title, "ablation")
    parts = [f"## {title}\n",
             "Each regularization technique alone on top of an unregularized baseline, then all combined; "
             "train and CV on the shared folds, hold-out test from a refit on the whole training part "
             "(absent in quick mode). Early stopping trains on 80% of the data it is given and watches the "
             "other 20%.\n"]
    for dataset, block in ab.groupby("dataset", sort=False):
        metric = block["metric"].iloc[0]
        for model, m in block.groupby("model", sort=False):
            stats = _mean_std(m, ["variant", "settings", "split"])
            rows = []
            for variant in [v for v in VARIANT_ORDER if v in set(m["variant"])]:
                s = stats[stats["variant"] == variant].set_index("split")
                get = lambda split, col="mean": s.loc[split, col] if split in s.index else float("nan")  # noqa: E731
                rows.append([variant, s["settings"].iloc[0], _fmt(get("train")),
                             _pm(get("validation"), get("validation", "std")), _fmt(get("test")),
                             _fmt(get("train") - get("validation"))])
            parts.append(f"### {dataset} / {model} ({metric})\n\n"
                         + _table(["variant", "settings", "train", "CV mean ± std", "hold-out test",
                                   "gap train-CV"], rows) + "\n")
        name = f"ablation_{_slug(dataset)}"
        _ablation_figure(block, dataset, path=fig_dir / f"{name}.png")
        parts.append(f"![{dataset} ablation](figures/{name}.png)\n")
    return "\n".join(parts)


# --------------------------------------------------------------------------- imbalance

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


def _imbalance_section(tables: dict, fig_dir: Path) -> str:
    title = SECTION_TITLES["imbalance"]
    im = tables.get("imbalance")
    if im is None or im.empty:
        return _empty(title, "class-imbalance experiment")
    parts = [f"## {title}\n"]
    for dataset, block in im.groupby("dataset", sort=False):
        metrics = list(dict.fromkeys(block["metric"]))
        minority, ratio = block["minority_class"].iloc[0], block["ratio"].iloc[0]
        parts.append(f"### {dataset}\n\nClass {minority!r} subsampled to {ratio:g} times the size of the "
                     "largest class (seeded), then its own stratified hold-out split and shared folds. Each "
                     "model with its default parameters, `class_weight=None` (off) vs `\"balanced\"` (on). "
                     "Cells: CV mean ± std over the folds (hold-out test score in parentheses).\n")
        stats = _mean_std(block[block["split"].isin(["validation", "test"])], ["model", "class_weight", "metric", "split"])
        rows = []
        for (model, switch), s in stats.groupby(["model", "class_weight"], sort=False):
            s = s.set_index(["metric", "split"])
            cells = []
            for metric in metrics:
                cv = s.loc[(metric, "validation")] if (metric, "validation") in s.index else None
                test = s.loc[(metric, "test"), "mean"] if (metric, "test") in s.index else float("nan")
                cells.append(f"{_pm(cv['mean'], cv['std']) if cv is not None else 'n/a'} ({_fmt(test)})")
            rows.append([model, switch, *cells])
        parts.append(_table(["model", "class weighting", *metrics], rows) + "\n")
        name = f"imbalance_{_slug(dataset)}"
        _imbalance_figure(block, dataset, path=fig_dir / f"{name}.png")
        parts.append(f"![{dataset} class weighting](figures/{name}.png)\n")
    return "\n".join(parts)


# --------------------------------------------------------------------------- per-class recall

def _per_class_section(tables: dict, predictions: pd.DataFrame) -> str:
    title = SECTION_TITLES["per_class_recall"]
    table = tables.get("per_class_recall")
    if table is None and predictions is not None and len(predictions):
        table = per_class_recall(predictions)
    if table is None or table.empty:
        return _empty(title, "hold-out predictions")
    parts = [f"## {title}\n", "Recall of each class (fraction of its hold-out test rows predicted as it) for the "
             "refit models of the main comparison; n = its number of test rows.\n"]
    for dataset, block in table.groupby("dataset", sort=False):
        classes = list(dict.fromkeys(block["class"]))
        support = block.drop_duplicates("class").set_index("class")["support"]
        pivot = block.pivot_table(index="model", columns="class", values="recall", sort=False)
        header = ["model", *[f"{c} (n={int(support[c])})" for c in classes], "min"]
        rows = [[model, *[_fmt(pivot.loc[model, c]) for c in classes], _fmt(pivot.loc[model].min())]
                for model in dict.fromkeys(block["model"])]
        parts.append(f"### {dataset}\n\n" + _table(header, rows) + "\n")
    return "\n".join(parts)


# --------------------------------------------------------------------------- verdicts

def _verdicts_section(tables: dict, results: pd.DataFrame) -> str:
    title = SECTION_TITLES["verdicts"]
    table = tables.get("verdicts")
    if table is None and results is not None and len(results):
        table = verdict_table(results, tables.get("learning_curves"))
    if table is None or table.empty:
        return _empty(title, "scored units")
    rows = [[r.dataset, r.model, f"**{r.verdict}**", _fmt(r.train_mean), _fmt(r.validation_mean),
             _fmt(r.gap_mean), _fmt(r.gap_se), _fmt(r.gap_t, 1), _fmt(r.best_validation), _fmt(r.lc_last_gain),
             r.reason] for r in table.itertuples()]
    header = ["dataset", "model", "verdict", "train", "CV", "gap", "se(gap)", "t", "best CV", "LC last gain",
              "rule"]
    return f"## {title}\n\n{VERDICT_RULE}\n" + _table(header, rows) + "\n"


def _failures_section(tables: dict) -> str:
    failures = tables.get("failures")
    if failures is None or failures.empty:
        return ""
    return f"## {SECTION_TITLES['failures']}\n\n" + "\n".join(
        f"- {r.diagnostic} of {r.model} on {r.dataset}: {r.error}" for r in failures.itertuples()) + "\n"


# --------------------------------------------------------------------------- entry points

def _section(key: str, tables: dict, results, predictions, fig_dir) -> str:
    fig_dir = Path(fig_dir)
    if key == "learning_curves":
        return _learning_curves_section(tables, fig_dir)
    if key == "validation_curves":
        return _validation_curves_section(tables, fig_dir)
    if key == "histories":
        return _histories_section(tables, fig_dir)
    if key == "ablation":
        return _ablation_section(tables, fig_dir)
    if key == "imbalance":
        return _imbalance_section(tables, fig_dir)
    if key == "per_class_recall":
        return _per_class_section(tables, predictions)
    if key == "verdicts":
        return _verdicts_section(tables, results)
    return _failures_section(tables)


def report_sections(tables: dict) -> list:
    """Section callables for ``study.report.write_report(..., sections=report_sections(tables))``.

    Parameters
    ----------
    tables : dict of str to pandas.DataFrame
        See the module docstring.

    Returns
    -------
    list of callables
        Each is ``section(results, predictions, fig_dir) -> str`` (Markdown starting with
        ``## ``), in report order: verdicts, learning curves, validation curves, histories,
        ablation, imbalance, per-class recall, failures (only if any failed).
    """
    keys = ["verdicts", "learning_curves", "validation_curves", "histories", "ablation", "imbalance",
            "per_class_recall"]
    if tables.get("failures") is not None and len(tables["failures"]):
        keys.append("failures")
    return [partial(_section, key, tables) for key in keys]


def diagnostics_sections(tables: dict, results: pd.DataFrame, predictions: pd.DataFrame, fig_dir) -> str:
    """All diagnostics sections as one Markdown string; writes the figures into ``fig_dir``.

    Parameters
    ----------
    tables : dict of str to pandas.DataFrame
        See the module docstring; missing or empty tables give a short "No ..." section.
    results : pandas.DataFrame
        The main tidy results table (for the verdicts).
    predictions : pandas.DataFrame
        The hold-out predictions (for per-class recall).
    fig_dir : path-like
        Where the PNGs go; the Markdown links them as ``figures/<name>.png``.

    Returns
    -------
    str
        Markdown with one ``## `` section per diagnostic.
    """
    return "\n".join(section(results, predictions, fig_dir) for section in report_sections(tables))
