"""Ranks of the models over datasets, the Friedman test and the Nemenyi post-hoc test.

The score ranked is, by default, the cross-validated one: per dataset x model the mean over the
shared folds of nested CV's outer-fold scores when the study ran nested CV, else of the
``validation`` rows (``study.statistics.rows.cv_split``). The chance baseline
(``study.results.BASELINE``) is never ranked.

Source: Demsar, J. (2006). Statistical comparisons of classifiers over multiple data sets.
JMLR 7, 1-30 (Friedman test, Nemenyi post-hoc test, critical-difference diagram).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from study.results import without_baseline
from study.statistics.rows import cv_split, resolve_metric, rows_of

__all__ = ["Ranking", "rank_within_datasets", "rank_models", "FriedmanResult", "friedman_test", "nemenyi_cd",
           "nemenyi_p_values"]


@dataclass(frozen=True)
class Ranking:
    """Ranks of the models over datasets (see :func:`rank_models`).

    Attributes
    ----------
    scores : pandas.DataFrame of shape (n_datasets, n_models)
        Score per dataset (rows) and model common to every dataset (columns).
    ranks : pandas.DataFrame of shape (n_datasets, n_models)
        Rank within each dataset, 1 = highest score, ties get the average rank
        (``scipy.stats.rankdata(method="average")``).
    mean_ranks : pandas.Series of shape (n_models,)
        Mean rank over datasets, sorted from the lowest (highest-scoring) mean rank up.
    excluded : list of str
        Models missing on some dataset, left out of the ranking.
    metric : str
        Metric ranked.
    split : {"nested", "validation", "test"}
        Rows whose score was ranked: nested CV's outer folds, GridSearchCV's validation folds
        (both averaged per dataset x model), or the one hold-out test score.
    """

    scores: pd.DataFrame
    ranks: pd.DataFrame
    mean_ranks: pd.Series
    excluded: list
    metric: str
    split: str


def rank_within_datasets(scores: pd.DataFrame) -> pd.DataFrame:
    """Rank the models within each dataset: 1 = highest score, ties get the average rank.

    Parameters
    ----------
    scores : pandas.DataFrame of shape (n_datasets, n_models)
        Higher is better; no NaN.

    Returns
    -------
    pandas.DataFrame of shape (n_datasets, n_models)
        ``scipy.stats.rankdata(-scores, axis=1, method="average")``: tied models share the mean
        of the ranks they span (Demsar 2006, section 3.2.2); only exactly equal scores tie.
    """
    ranks = stats.rankdata(-scores.to_numpy(dtype=float), axis=1, method="average")
    return pd.DataFrame(ranks, index=scores.index, columns=scores.columns)


def rank_models(results, split=None, metric=None):
    """Rank the models on every dataset and average the ranks over datasets.

    Only models with a score on every dataset are ranked: the ranks of a model that is
    missing somewhere (for example a CNN run only on image data, or a failed unit) would not
    be comparable, so it is left out and named in ``excluded``. The chance baseline
    (``study.results.BASELINE``) is not ranked at all (``study.results.without_baseline``).

    Parameters
    ----------
    results : pandas.DataFrame
        Tidy results table (``study.results``).
    split : {"nested", "validation", "test"} or None, default=None
        Rows to rank on; per-fold splits are averaged per dataset x model first (over the folds
        that model has). None: the cross-validated score, ``study.statistics.rows.cv_split``
        ("nested" when the study ran nested CV, else "validation"). "test" ranks the one
        hold-out test score per dataset x model.
    metric : str or None, default=None
        Metric; None picks the primary metric.

    Returns
    -------
    Ranking
        Scores, per-dataset ranks (:func:`rank_within_datasets`), mean ranks, excluded models,
        and the metric and split ranked.

    Raises
    ------
    ValueError
        If the table lacks a required column or the metric is absent.
    """
    metric = resolve_metric(results, metric)
    split = cv_split(results, metric) if split is None else split
    rows = rows_of(without_baseline(results), split, metric)
    wide = (
        rows.groupby(["dataset", "model"], sort=False)["score"].mean().unstack("model")
        .reindex(index=pd.unique(rows["dataset"]), columns=pd.unique(rows["model"]))
    )
    excluded = [m for m in wide.columns if wide[m].isna().any()]
    scores = wide.drop(columns=excluded)
    ranks = rank_within_datasets(scores)
    mean_ranks = ranks.mean().sort_values(kind="stable")
    return Ranking(scores, ranks, mean_ranks, excluded, metric, split)


@dataclass(frozen=True)
class FriedmanResult:
    """Result of :func:`friedman_test`.

    Attributes
    ----------
    statistic : float
        Friedman chi-square statistic (NaN when not computed).
    p_value : float
        p-value (NaN when not computed).
    n_datasets, n_models : int
        Size of the comparison (datasets = blocks, models = treatments).
    reason : str
        Why the test was not run; empty when it was.
    f_statistic, f_p_value : float
        Iman & Davenport's F statistic ``(N - 1) chi2 / (N (k - 1) - chi2)`` with ``k - 1`` and
        ``(k - 1)(N - 1)`` degrees of freedom, and its p-value: less conservative than the
        chi-square approximation, which is poor with few datasets (Demsar 2006, section 3.2.2;
        Iman & Davenport 1980). NaN when not computed (or infinite when the ranks agree perfectly).
    """

    statistic: float
    p_value: float
    n_datasets: int
    n_models: int
    reason: str = ""
    f_statistic: float = float("nan")
    f_p_value: float = float("nan")


def friedman_test(results, split=None, metric=None):
    """Friedman test that all models rank equally over datasets.

    Parameters
    ----------
    results : pandas.DataFrame
        Tidy results table (see module docstring).
    split : {"nested", "validation", "test"} or None, default=None
        Rows to rank on, as in :func:`rank_models` (None: the cross-validated score).
    metric : str or None, default=None
        Metric; None picks the primary metric.

    Returns
    -------
    FriedmanResult
        Statistic and p-value from ``scipy.stats.friedmanchisquare`` over the models common to
        all datasets (the baseline left out); NaN with a reason when there are fewer than 3
        models or fewer than 2 datasets.

    Raises
    ------
    ValueError
        If the table lacks a required column or the metric is absent.

    Notes
    -----
    Sources: Friedman (1937); Iman, R. L. & Davenport, J. M. (1980), Approximations of the
    critical region of the Friedman statistic, Communications in Statistics 9(6); Demsar (2006),
    JMLR 7, section 3.2.2.
    """
    scores = rank_models(results, split, metric).scores
    n_datasets, n_models = scores.shape
    if n_models < 3 or n_datasets < 2:
        return FriedmanResult(
            np.nan, np.nan, n_datasets, n_models,
            f"not enough datasets/models ({n_datasets} dataset(s), {n_models} model(s) on every dataset; "
            "it needs >= 2 datasets and >= 3 models)",
        )
    statistic, p_value = stats.friedmanchisquare(*(scores[m] for m in scores.columns))
    denominator = n_datasets * (n_models - 1) - statistic
    f_statistic = (n_datasets - 1) * statistic / denominator if denominator > 0 else np.inf
    f_p_value = stats.f.sf(f_statistic, n_models - 1, (n_models - 1) * (n_datasets - 1)) if denominator > 0 else 0.0
    return FriedmanResult(float(statistic), float(p_value), n_datasets, n_models, "", float(f_statistic),
                          float(f_p_value))


def nemenyi_cd(n_models, n_datasets, alpha):
    """Nemenyi critical difference ``q_alpha * sqrt(k (k + 1) / (6 N))`` (Demsar 2006, eq. 4).

    ``q_alpha`` is the studentized range quantile divided by sqrt(2), which reproduces
    Demsar (2006) Table 5(a) (k=3: 2.343, k=4: 2.569, ...).
    """
    q_alpha = stats.studentized_range.ppf(1 - alpha, n_models, np.inf) / np.sqrt(2)
    return float(q_alpha * np.sqrt(n_models * (n_models + 1) / (6 * n_datasets)))


def nemenyi_p_values(ranking: Ranking) -> pd.DataFrame:
    """Pairwise p-values of the Nemenyi post-hoc test after Friedman
    (``scikit_posthocs.posthoc_nemenyi_friedman``), models as index and columns."""
    import scikit_posthocs as sp

    p_values = sp.posthoc_nemenyi_friedman(ranking.scores.to_numpy())
    p_values.index = p_values.columns = ranking.scores.columns
    return p_values
