"""The "Statistical comparison" section: paired tests per dataset, hold-out intervals, nested versus
non-nested estimates, ranks over datasets, the Friedman test and the critical-difference diagram."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from study.report.figures import figure
from study.report.format import cell, fmt, fmt_signed, format_p, markdown_table
from study.statistics.holdout import nested_summary, test_score_intervals
from study.statistics.paired import pairwise_comparison
from study.statistics.ranks import friedman_test, nemenyi_cd, nemenyi_p_values, rank_models
from study.statistics.rows import ok_rows, resolve_metric, rows_of

__all__ = ["statistics_section"]


@figure(dpi=150)
def _critical_difference_figure(mean_ranks, p_values, n_datasets, metric, split, alpha):
    """Critical-difference diagram (Demsar 2006, section 3.2.2 and figure 1): mean ranks, bars
    joining models the Nemenyi test does not separate, and the Nemenyi critical difference;
    drawn with ``scikit_posthocs.critical_difference_diagram``."""
    import scikit_posthocs as sp
    from matplotlib.figure import Figure

    n_models = len(mean_ranks)
    fig = Figure(figsize=(7, 1.2 + 0.35 * n_models), layout="constrained")
    ax = fig.subplots()
    sp.critical_difference_diagram(
        mean_ranks, p_values, alpha=alpha, ax=ax,
        label_fmt_left="{label} ({rank:.2f})", label_fmt_right="({rank:.2f}) {label}",
    )
    cd = nemenyi_cd(n_models, n_datasets, alpha)
    ax.plot([1, 1 + cd], [1.4, 1.4], color="k", linewidth=2)  # Demsar's CD bar, from rank 1
    ax.text(1 + cd / 2, 1.6, f"CD = {cd:.2f}", ha="center", va="bottom")
    ax.set_xticks(range(1, n_models + 1))
    ax.set_ylim(top=2.2)
    ax.set_xlabel("mean rank over datasets (1 = best); CD = Nemenyi critical difference")
    ax.set_title(
        f"Critical difference diagram: {metric} on the {split} split, {n_datasets} datasets\n"
        f"(bars join models not significantly different, Nemenyi test, alpha = {alpha})",
        fontsize=10,
    )
    return fig


def _pair_sentence(r) -> str:
    if r.zero_variance:
        return (f"{r.model_a} vs {r.model_b}: the same difference ({fmt_signed(r.mean_difference)}) on every fold: "
                "no fold-to-fold variation to test it against; not tested.")
    if pd.isna(r.p_value):
        return f"{r.model_a} vs {r.model_b}: only {r.n_folds} paired fold(s); not tested."
    verdict = "significant" if r.significant else "not significant"
    return (
        f"{r.model_a} vs {r.model_b}: difference {fmt_signed(r.mean_difference)} "
        f"(95% CI {fmt_signed(r.ci_low)} to {fmt_signed(r.ci_high)}), "
        f"Holm-corrected p = {format_p(r.p_holm)}: {verdict}."
    )


def _pairs(results, metric, alpha) -> list:
    pairs = pairwise_comparison(results, metric, alpha)
    split = pairs["split"].iloc[0] if len(pairs) else "validation"
    validation = rows_of(results, split, metric)
    nested = ("nested cross-validation's outer-fold scores (each fold's candidate chosen by an inner search that "
              "never saw the fold), not GridSearchCV's, which chose the candidate on the same folds.")
    flat = ("GridSearchCV's per-fold validation scores of its chosen candidate (optimistic: the candidate was "
            "chosen on the same folds; run nested CV for unbiased ones).")
    out = ["", "The paired scores are " + (nested if split == "nested" else flat)]
    for dataset in pd.unique(ok_rows(results)["dataset"]):
        out += ["", f"### {dataset}", ""]
        block = pairs[pairs["dataset"].eq(dataset)]
        if block.empty:
            models = list(pd.unique(validation.loc[validation["dataset"].eq(dataset), "model"]))
            out.append(f"Fewer than two models have validation scores on this dataset "
                       f"({', '.join(models) or 'none'}); no pairwise comparison.")
            continue
        out.append(markdown_table(
            ["pair", "mean difference (95% CI)", "t", "p", "Holm p", "significant"],
            [(f"{r.model_a} - {r.model_b}",
              f"{fmt_signed(r.mean_difference)} ({fmt_signed(r.ci_low)} to {fmt_signed(r.ci_high)})",
              "zero variance" if r.zero_variance else fmt(r.t_statistic), format_p(r.p_value), format_p(r.p_holm),
             "yes" if r.significant else "no")
             for r in block.itertuples(index=False)],
        ))
        out += [""] + [_pair_sentence(r) for r in block.itertuples(index=False)]
    return out


def _hold_out(results, predictions, metric) -> list:
    scores = test_score_intervals(results, predictions, metric)
    out = ["", "### Hold-out test scores", ""]
    if scores.empty:
        return out + ["No successful test rows."]
    return out + [markdown_table(
        ["dataset", "model", f"test {metric}", "95% bootstrap CI"],
        [(r.dataset, r.model, fmt(r.score), "n/a" if pd.isna(r.low) else f"{fmt(r.low)} to {fmt(r.high)}")
         for r in scores.itertuples(index=False)],
    )]


def _nested(results, metric) -> list:
    nested = nested_summary(results, metric)
    if nested.empty:
        return []
    return [
        "", "### Nested versus non-nested cross-validation", "",
        "The non-nested estimate (GridSearchCV's best_score_) chose the hyper-parameters on "
        "the same folds it scores, so it is optimistic (Cawley & Talbot 2010).", "",
        markdown_table(["dataset", "model", "non-nested", "nested (mean ± std)", "optimism"],
              [(r.dataset, r.model, fmt(r.non_nested), f"{fmt(r.nested_mean)} ± {fmt(r.nested_std)}",
                fmt_signed(r.optimism)) for r in nested.itertuples(index=False)]),
    ]


def _ranks(results, metric, alpha, fig_dir: Path) -> list:
    ranking = rank_models(results, "test", metric)
    n_datasets, n_models = ranking.scores.shape
    note = (f"Ranks of {metric} on the test split over {n_datasets} dataset(s) and {n_models} model(s) "
            "present on every dataset (1 = best, ties averaged).")
    if ranking.excluded:
        note += f" Left out because they have no test score on some dataset: {', '.join(ranking.excluded)}."
    out = ["", "### Ranks over datasets", "", note]
    if len(ranking.mean_ranks):
        out += ["", markdown_table(["model", "mean rank"], [(m, fmt(v)) for m, v in ranking.mean_ranks.items()])]
    friedman = friedman_test(results, "test", metric)
    if friedman.reason:
        out += ["", f"Friedman test not run: {friedman.reason}."]
    else:
        k, n = friedman.n_models, friedman.n_datasets
        out += ["", f"Friedman test over {n} datasets and {k} models: chi-square = {friedman.statistic:.3f}, "
                    f"p = {format_p(friedman.p_value)}; Iman-Davenport F = {friedman.f_statistic:.3f} "
                    f"(df {k - 1}, {(k - 1) * (n - 1)}), p = {format_p(friedman.f_p_value)}. With {n} datasets "
                    "these tests have little power (Demsar 2006 compares classifiers over 10 or more): a "
                    "non-significant result does not show that the models are equally good, and the chi-square "
                    "approximation is poor, hence the F form next to it."]
    if n_models < 2 or n_datasets < 2:
        return out + ["", "No critical-difference diagram: it needs >= 2 models on >= 2 datasets."]
    _critical_difference_figure(ranking.mean_ranks, nemenyi_p_values(ranking), n_datasets, metric, "test", alpha,
                                path=fig_dir / "critical_difference.png")
    return out + ["", "![Critical difference diagram](figures/critical_difference.png)"]


def statistics_section(results: pd.DataFrame, predictions: pd.DataFrame, fig_dir: Path, metric=None,
                       alpha: float = 0.05) -> str:
    """The "Statistical comparison" section.

    Parameters
    ----------
    results : pandas.DataFrame
        Tidy results table.
    predictions : pandas.DataFrame or None
        Hold-out predictions and stored outputs, for the bootstrap intervals (None: none).
    fig_dir : pathlib.Path
        ``critical_difference.png`` is written there and linked as
        ``figures/critical_difference.png``.
    metric : str or None, default=None
        Metric; None picks the primary metric.
    alpha : float, default=0.05
        Family-wise significance level of the pairwise tests (Holm) and of the post-hoc test.

    Returns
    -------
    str
        Markdown: per dataset a pairwise table and one sentence per pair; test scores with
        95% bootstrap intervals; nested versus non-nested estimates (when nested rows exist);
        mean ranks, the Friedman result and the critical-difference figure.
    """
    metric = resolve_metric(results, metric)
    out = [
        "## Statistical comparison", "",
        f"Primary metric: **{metric}** (higher is better). Pairs of models are compared on the "
        "same cross-validation folds with the Nadeau & Bengio (2003) corrected resampled "
        "t-test (two-sided; interval from the t distribution with the corrected standard "
        f"deviation); p-values are Holm-corrected over the pairs of each dataset, alpha = {alpha}.",
    ]
    skipped = results[results["status"].ne("ok")].drop_duplicates(["dataset", "model"])
    if len(skipped):
        out += ["", "Left out of every statistic (failed or skipped units):"]
        out += [f"- {r.dataset} / {r.model}: {cell(r.error) or 'no reason recorded'}" for r in skipped.itertuples()]
    out += _pairs(results, metric, alpha) + _hold_out(results, predictions, metric) + _nested(results, metric)
    out += _ranks(results, metric, alpha, Path(fig_dir))
    return "\n".join(out) + "\n"
