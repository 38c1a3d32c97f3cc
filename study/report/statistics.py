"""The "Statistical comparison" section: paired tests per dataset, hold-out intervals, nested versus
non-nested estimates, ranks over datasets (on the cross-validated score, then on the hold-out test
score), the Friedman test and the critical-difference diagram.

The chance baseline (``study.results.BASELINE``) is a reference, not a contender: the pairwise tests
and the ranks leave it out (``study.statistics``); the hold-out table shows it. Every dataset,
model, metric or error text goes into the Markdown through ``study.report.format.escape``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from study.report.figures import figure
from study.report.format import escape, fmt, fmt_signed, format_p, markdown_table
from study.results import BASELINE, without_baseline
from study.statistics.holdout import nested_summary, test_score_intervals
from study.statistics.paired import pairwise_comparison
from study.statistics.ranks import friedman_test, nemenyi_cd, nemenyi_p_values, rank_models
from study.statistics.rows import cv_split, ok_rows, resolve_metric, rows_of

__all__ = ["statistics_section", "SCORE_LABELS"]

SCORE_LABELS = {
    "nested": "cross-validated score (nested CV's outer folds)",
    "validation": "cross-validated score (GridSearchCV's validation folds)",
    "test": "hold-out test score",
}
"""The score a ranking uses, by the split it was computed from (``Ranking.split``)."""


@figure(dpi=150)
def _critical_difference_figure(mean_ranks, p_values, n_datasets, metric, score, alpha):
    """Critical-difference diagram (Demsar 2006, section 3.2.2 and figure 1): mean ranks, bars
    joining models the Nemenyi test does not separate, and the Nemenyi critical difference;
    drawn with ``scikit_posthocs.critical_difference_diagram``. ``score`` names the score ranked
    (:data:`SCORE_LABELS`)."""
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
    ax.set_xlabel("mean rank over datasets (1 = highest score); CD = Nemenyi critical difference")
    ax.set_title(
        f"Critical difference diagram: {metric} over {n_datasets} datasets, {score}\n"
        f"(bars join models not significantly different, Nemenyi test, alpha = {alpha})",
        fontsize=10,
    )
    return fig


def _pair_decision(r) -> str:
    """The decision on one pair, at the Holm-adjusted p-value (or why it was not tested)."""
    if r.zero_variance:
        return "not tested: the same difference on every fold"
    if pd.isna(r.p_value):
        return f"not tested: {r.n_folds} paired fold(s)"
    return "significant" if r.significant else "not significant"


def _pair_row(r) -> list:
    """One pair of :func:`~study.statistics.paired.pairwise_comparison` as a table row."""
    interval = "n/a" if pd.isna(r.ci_low) else f"{fmt_signed(r.ci_low)} to {fmt_signed(r.ci_high)}"
    return [f"{escape(r.model_a)} vs {escape(r.model_b)}", fmt_signed(r.mean_difference), interval, format_p(r.p_value),
            format_p(r.p_holm), _pair_decision(r)]


def _pairs(results, metric, alpha) -> list:
    pairs = pairwise_comparison(results, metric, alpha)
    split = pairs["split"].iloc[0] if len(pairs) else cv_split(results, metric)
    scored = rows_of(without_baseline(results), split, metric)
    nested = ("nested cross-validation's outer-fold scores (each fold's candidate chosen by an inner search that "
              "never saw the fold), not GridSearchCV's, which chose the candidate on the same folds.")
    flat = ("GridSearchCV's per-fold validation scores of its chosen candidate (optimistic: the candidate was "
            "chosen on the same folds; run nested CV for unbiased ones).")
    out = ["", "The paired scores are " + (nested if split == "nested" else flat),
           "", "One row per pair of models a vs b: the mean difference a − b over the paired folds (positive: a "
               "scores higher), its unadjusted 95% CI (the corrected t interval of that pair alone, not adjusted "
               "for the dataset's several pairs), the unadjusted two-sided p-value, the Holm-adjusted one, and the "
               f"decision on the Holm-adjusted p-value at alpha = {alpha}. An unadjusted interval may exclude 0 "
               "while the adjusted decision is \"not significant\": the decision is the one that holds for all "
               "pairs at once."]
    header = ["pair (a vs b)", "mean difference (a − b)", "unadjusted 95% CI", "p (unadjusted)", "Holm-adjusted p",
              "decision (Holm)"]
    for dataset in pd.unique(ok_rows(results)["dataset"]):
        out += ["", f"### {escape(dataset)}", ""]
        block = pairs[pairs["dataset"].eq(dataset)]
        if block.empty:
            models = [escape(m) for m in pd.unique(scored.loc[scored["dataset"].eq(dataset), "model"])]
            out.append(f"Fewer than two models have {split} scores on this dataset "
                       f"({', '.join(models) or 'none'}); no pairwise comparison.")
            continue
        out.append(markdown_table(header, [_pair_row(r) for r in block.itertuples(index=False)]))
    return out


def _hold_out(results, predictions, metric) -> list:
    scores = test_score_intervals(results, predictions, metric)
    out = ["", "### Hold-out test scores", ""]
    if scores.empty:
        return out + ["No successful test rows."]
    return out + [markdown_table(
        ["dataset", "model", f"test {escape(metric)}", "95% bootstrap CI"],
        [(escape(r.dataset), escape(r.model), fmt(r.score),
          "n/a" if pd.isna(r.low) else f"{fmt(r.low)} to {fmt(r.high)}")
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
              [(escape(r.dataset), escape(r.model), fmt(r.non_nested), f"{fmt(r.nested_mean)} ± {fmt(r.nested_std)}",
                fmt_signed(r.optimism)) for r in nested.itertuples(index=False)]),
    ]


def _rank_note(ranking) -> str:
    """Which score a ranking ranks, over how many datasets and models, and who is left out."""
    n_datasets, n_models = ranking.scores.shape
    score = SCORE_LABELS[ranking.split]
    source = {"nested": "per dataset and model, the mean over the shared folds of the scores of the candidate that "
                        "an inner search chose on each outer fold's training part",
              "validation": "per dataset and model, the mean over the shared folds of the scores of the candidate "
                            "GridSearchCV chose on those same folds (optimistic; nested CV did not run)",
              "test": "per dataset and model, the one score of the refit model on the untouched hold-out test "
                      "split (a small test split gives equal scores, hence ties, often)"}[ranking.split]
    note = (f"Ranks of {escape(ranking.metric)} on the {score}: {source}. Over {n_datasets} dataset(s) and {n_models} "
            "model(s) present on every dataset; 1 = highest score, tied models share the average of their ranks "
            "(scipy.stats.rankdata, method \"average\").")
    if ranking.excluded:
        names = ", ".join(escape(m) for m in ranking.excluded)
        note += f" Left out because they have no {score} on some dataset: {names}."
    return note


def _mean_rank_table(ranking) -> list:
    """The mean ranks of a :class:`~study.statistics.ranks.Ranking`, lowest (highest-scoring) first."""
    if not len(ranking.mean_ranks):
        return []
    return ["", markdown_table(["model", "mean rank"], [(escape(m), fmt(v)) for m, v in ranking.mean_ranks.items()])]


def _friedman(results, split, metric) -> list:
    """The Friedman and Iman-Davenport tests on the ranks of ``split``'s score, or why they were not run."""
    friedman = friedman_test(results, split, metric)
    if friedman.reason:
        return ["", f"Friedman test not run: {escape(friedman.reason)}."]
    k, n = friedman.n_models, friedman.n_datasets
    return ["", f"Friedman test over {n} datasets and {k} models: chi-square = {friedman.statistic:.3f}, "
                f"p = {format_p(friedman.p_value)}; Iman-Davenport F = {friedman.f_statistic:.3f} "
                f"(df {k - 1}, {(k - 1) * (n - 1)}), p = {format_p(friedman.f_p_value)}. With {n} datasets "
                "these tests have little power (Demsar 2006 compares classifiers over 10 or more): a "
                "non-significant result does not show that the models are equally good, and the chi-square "
                "approximation is poor, hence the F form next to it."]


def _ranks(results, metric, alpha, fig_dir: Path) -> list:
    """Ranks on the cross-validated score (with the Friedman test and the diagram), then on the test score."""
    ranking = rank_models(results, None, metric)
    n_datasets, n_models = ranking.scores.shape
    out = ["", "### Ranks over datasets: cross-validated score", "", _rank_note(ranking)]
    if results["model"].eq(BASELINE).any():
        out[-1] += f" The chance baseline ({escape(BASELINE)}) is not ranked."
    out += _mean_rank_table(ranking) + _friedman(results, ranking.split, metric)
    if n_models < 2 or n_datasets < 2:
        out += ["", "No critical-difference diagram: it needs >= 2 models on >= 2 datasets."]
    else:
        _critical_difference_figure(ranking.mean_ranks, nemenyi_p_values(ranking), n_datasets, metric,
                                    SCORE_LABELS[ranking.split], alpha, path=fig_dir / "critical_difference.png")
        out += ["", "![Critical difference diagram](figures/critical_difference.png)"]
    return out + _test_ranks(results, metric)


def _test_ranks(results, metric) -> list:
    """The second ranking, on the hold-out test score: shown, not tested."""
    ranking = rank_models(results, "test", metric)
    note = _rank_note(ranking) + " Shown beside the cross-validated ranks; the Friedman test and the diagram use those."
    return ["", "### Ranks over datasets: hold-out test score", "", note] + _mean_rank_table(ranking)


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
        Markdown: per dataset a table of one row per pair (mean difference, unadjusted 95% CI,
        unadjusted and Holm-adjusted p, decision); test scores with 95% bootstrap intervals;
        nested versus non-nested estimates (when nested rows exist); mean ranks on the
        cross-validated score with the Friedman result and the critical-difference figure; mean
        ranks on the hold-out test score. The chance baseline is in no test and no ranking.
    """
    metric = resolve_metric(results, metric)
    out = [
        "## Statistical comparison", "",
        f"Primary metric: **{escape(metric)}** (higher is better). Pairs of models are compared on the "
        "same cross-validation folds with the Nadeau & Bengio (2003) corrected resampled "
        "t-test (two-sided; interval from the t distribution with the corrected standard "
        f"deviation); p-values are Holm-corrected over the pairs of each dataset, alpha = {alpha}.",
    ]
    if results["model"].eq(BASELINE).any():
        out[-1] += (f" The chance baseline ({escape(BASELINE)}) is a reference, not a contender: it is in no pairwise "
                    "test and no ranking (its scores are in the tables).")
    skipped = results[results["status"].ne("ok")].drop_duplicates(["dataset", "model"])
    if len(skipped):
        out += ["", "Left out of every statistic (failed or skipped units):"]
        out += [f"- {escape(r.dataset)} / {escape(r.model)}: {escape(r.error) or 'no reason recorded'}"
                for r in skipped.itertuples()]
    out += _pairs(results, metric, alpha) + _hold_out(results, predictions, metric) + _nested(results, metric)
    out += _ranks(results, metric, alpha, Path(fig_dir))
    return "\n".join(out) + "\n"
