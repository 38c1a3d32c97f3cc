"""Paired comparison of models on the shared folds: the corrected resampled t-test, its interval
and posterior, and Holm's correction over the pairs of a dataset.

Sources
-------
- Nadeau, C. & Bengio, Y. (2003). Inference for the generalization error. Machine Learning
  52(3), 239-281 (corrected resampled t-test).
- scikit-learn example "Statistical comparison of models using grid search"
  (``examples/model_selection/plot_grid_search_stats.py``): the corrected standard deviation,
  the corrected t-test and the Bayesian posterior of the mean difference (Benavoli et al. 2017).
- Holm, S. (1979). A simple sequentially rejective multiple test procedure. Scandinavian
  Journal of Statistics 6(2), 65-70.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats

from study.results import without_baseline
from study.statistics.multiple_testing import holm
from study.statistics.rows import cv_split, fold_scores, resolve_metric, rows_of

__all__ = ["corrected_ttest", "corrected_interval", "posterior_probabilities", "holm_adjust",
           "pairwise_comparison"]

_ALTERNATIVES = ("two-sided", "greater", "less")


def _corrected_moments(differences, n_train, n_test):
    """Validate the inputs and return (mean, corrected std, degrees of freedom)."""
    d = np.asarray(differences, dtype=float).ravel()
    if d.size < 2:
        raise ValueError(
            f"Got {d.size} score difference(s); the corrected t-test needs at least 2 paired "
            "folds. Use a cross-validation with more folds or repeats."
        )
    if not np.all(np.isfinite(d)):
        raise ValueError(
            "The score differences contain NaN or infinite values; expected finite numbers. "
            "Drop folds where either model has no score before calling."
        )
    if not (n_train > 0 and n_test > 0):
        raise ValueError(
            f"Got n_train={n_train!r} and n_test={n_test!r}; expected both > 0 (the number of "
            "samples fitted on and scored on in one fold)."
        )
    kr = d.size
    # Exact check on the values: a constant vector has zero variance even when np.var
    # would return a rounding residue.
    variance = 0.0 if np.ptp(d) == 0 else np.var(d, ddof=1)
    return float(np.mean(d)), float(np.sqrt(variance * (1 / kr + n_test / n_train))), kr - 1


def corrected_ttest(differences, n_train, n_test, alternative="two-sided"):
    """Nadeau and Bengio's corrected resampled paired t-test.

    The variance of the ``k * r`` fold differences of a (repeated) k-fold cross-validation is
    underestimated by the naive paired t-test because the training sets overlap. The corrected
    variance is ``var(d, ddof=1) * (1 / (k*r) + n_test / n_train)``; the statistic
    ``mean(d) / sqrt(corrected_var)`` is referred to a Student t with ``k*r - 1`` degrees of
    freedom.

    Parameters
    ----------
    differences : array-like of shape (n_folds,)
        Paired score differences (model a minus model b), one per CV fold; n_folds >= 2.
    n_train : float
        Number of samples fitted on in one fold (> 0).
    n_test : float
        Number of samples scored on in one fold (> 0).
    alternative : {"two-sided", "greater", "less"}, default="two-sided"
        "greater" tests whether model a scores higher (p = ``t.sf(t, df)``), "less" whether it
        scores lower (p = ``t.cdf(t, df)``), "two-sided" gives ``2 * t.sf(|t|, df)``.
        The scikit-learn example reports ``t.sf(|t|, df)``, which equals the "greater"
        p-value whenever t >= 0.

    Returns
    -------
    t_statistic : float
        Corrected t statistic; ``+inf``/``-inf`` when all differences are equal and non-zero,
        0.0 when all differences are zero.
    p_value : float
        p-value for ``alternative``. Zero variance gives the limit of the test: p = 0 (or 1)
        for a constant non-zero difference, and p = 1 (two-sided) or 0.5 (one-sided) when
        every difference is exactly zero.

    Raises
    ------
    ValueError
        If there are fewer than 2 differences, a difference is not finite, ``n_train`` or
        ``n_test`` is not positive, or ``alternative`` is unknown.

    Notes
    -----
    Source: Nadeau & Bengio (2003), Machine Learning 52(3); implementation as in the
    scikit-learn example ``plot_grid_search_stats.py`` (``corrected_std`` and
    ``compute_corrected_ttest``).
    """
    if alternative not in _ALTERNATIVES:
        raise ValueError(
            f"Got alternative={alternative!r}; expected one of {_ALTERNATIVES}."
        )
    mean, std, df = _corrected_moments(differences, n_train, n_test)
    if std == 0:
        t_stat = 0.0 if mean == 0 else float(np.copysign(np.inf, mean))
    else:
        t_stat = mean / std
    if alternative == "greater":
        p_value = stats.t.sf(t_stat, df)
    elif alternative == "less":
        p_value = stats.t.cdf(t_stat, df)
    else:
        p_value = 2 * stats.t.sf(abs(t_stat), df)
    return float(t_stat), float(min(p_value, 1.0))


def corrected_interval(differences, n_train, n_test, confidence=0.95):
    """Interval for the mean score difference with the corrected standard deviation.

    The interval is ``mean +/- t_{(1+confidence)/2, kr-1} * corrected_std``; it equals the
    central credible interval of the Student-t posterior in the scikit-learn example
    ``plot_grid_search_stats.py`` (``t_post.interval(confidence)``).

    Parameters
    ----------
    differences : array-like of shape (n_folds,)
        Paired score differences (model a minus model b), one per CV fold; n_folds >= 2.
    n_train : float
        Number of samples fitted on in one fold (> 0).
    n_test : float
        Number of samples scored on in one fold (> 0).
    confidence : float, default=0.95
        Coverage of the interval, strictly between 0 and 1.

    Returns
    -------
    low, high : float
        Interval bounds, in units of the score. Both equal the mean when all differences are
        equal (zero variance).

    Raises
    ------
    ValueError
        As :func:`corrected_ttest`, or if ``confidence`` is not in (0, 1).

    Notes
    -----
    Source: Nadeau & Bengio (2003); Benavoli et al. (2017), JMLR 18; scikit-learn example
    ``plot_grid_search_stats.py``.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"Got confidence={confidence!r}; expected a fraction in (0, 1).")
    mean, std, df = _corrected_moments(differences, n_train, n_test)
    if std == 0:
        return mean, mean
    low, high = stats.t.interval(confidence, df, loc=mean, scale=std)
    return float(low), float(high)


def posterior_probabilities(differences, n_train, n_test, rope):
    """Posterior probabilities that model a is better, equivalent, or worse than model b.

    The posterior of the mean difference is Student t with ``kr - 1`` degrees of freedom,
    location ``mean(d)`` and scale the corrected standard deviation (Benavoli et al. 2017,
    as in the scikit-learn example ``plot_grid_search_stats.py``).

    Parameters
    ----------
    differences : array-like of shape (n_folds,)
        Paired score differences (model a minus model b), one per CV fold; n_folds >= 2.
    n_train : float
        Number of samples fitted on in one fold (> 0).
    n_test : float
        Number of samples scored on in one fold (> 0).
    rope : float or (float, float)
        Region of practical equivalence in score units: ``r`` means ``(-r, r)``.

    Returns
    -------
    p_a_better : float
        P(mean difference > rope high).
    p_equivalent : float
        P(rope low <= mean difference <= rope high).
    p_b_better : float
        P(mean difference < rope low).

    Raises
    ------
    ValueError
        As :func:`corrected_ttest`, or if the rope is not ``low <= high``.
    """
    bounds = (-abs(float(rope)), abs(float(rope))) if np.isscalar(rope) else tuple(map(float, rope))
    if len(bounds) != 2 or bounds[0] > bounds[1]:
        raise ValueError(f"Got rope={rope!r}; expected a number or a pair (low, high), low <= high.")
    low, high = bounds
    mean, std, df = _corrected_moments(differences, n_train, n_test)
    if std == 0:  # point mass at the mean
        cdf_low, cdf_high = float(mean < low), float(mean <= high)
    else:
        cdf_low, cdf_high = stats.t.cdf([low, high], df, loc=mean, scale=std)
    return float(1 - cdf_high), float(cdf_high - cdf_low), float(cdf_low)


def holm_adjust(p_values):
    """Holm's step-down adjusted p-values.

    Parameters
    ----------
    p_values : array-like of shape (n_tests,)
        Raw p-values of one family of tests (may be empty).

    Returns
    -------
    ndarray of shape (n_tests,)
        Adjusted p-values, ``max_{j <= i} min(1, (m - j + 1) p_(j))`` in sorted order, returned
        in the input order. A hypothesis is rejected at level alpha when its adjusted p-value
        is <= alpha.

    Notes
    -----
    Source: Holm (1979), Scand. J. Statist. 6(2); computed with
    ``statsmodels.stats.multitest.multipletests(method="holm")``, without its full garbage
    collection (``study.statistics.multiple_testing.holm``).
    """
    return holm(p_values)[1]


def pairwise_comparison(results, metric=None, alpha=0.05, rope=None, split=None):
    """Corrected paired t-tests for every pair of models on every dataset.

    Model a and model b are paired on the folds (same fold index, hence the same train/test
    indices) where both have a successful score: the ``nested`` rows when the study ran nested
    cross-validation (their scores did not select the candidate on the same folds), else the
    ``validation`` rows (GridSearchCV's chosen candidate: optimistic). A pair whose per-fold
    differences are all equal has no variance to test against: it is reported as such
    (``zero_variance``), without a t statistic or p-value. The chance baseline
    (``study.results.BASELINE``) is a reference, not a contender: it is in no pair
    (``study.results.without_baseline``), so it neither enters a Holm family nor decides the split.

    Parameters
    ----------
    results : pandas.DataFrame
        Tidy results table (see module docstring).
    metric : str or None, default=None
        Metric to compare; None picks the primary metric.
    alpha : float, default=0.05
        Family-wise significance level, applied to the Holm-adjusted p-values of the pairs
        of one dataset.
    rope : float or (float, float) or None, default=None
        Region of practical equivalence (score units). When given, the columns
        ``p_a_better``, ``p_equivalent`` and ``p_b_better`` are added.
    split : {"nested", "validation"} or None, default=None
        Rows to pair; None: ``study.statistics.rows.cv_split`` ("nested" when every unit but the
        baseline with validation rows of the metric has nested rows too, else "validation").

    Returns
    -------
    pandas.DataFrame
        One row per dataset x pair (pairs in order of first appearance of the models), with
        columns ``dataset, model_a, model_b, metric, n_folds, n_train, n_test, mean_a, mean_b,
        mean_difference`` (a - b; positive means a scores higher), ``ci_low, ci_high``
        (95% corrected interval, not adjusted for the several pairs), ``t_statistic, p_value``
        (two-sided, unadjusted), ``p_holm`` (Holm-adjusted over the dataset's tested pairs),
        ``significant`` (``p_holm < alpha``), ``zero_variance`` and ``split`` (the rows
        paired). ``n_train``/``n_test`` are the means of the
        fold-level values over the paired rows. Pairs with fewer than 2 paired folds have NaN
        statistics and are left out of the Holm family.

    Raises
    ------
    ValueError
        If the table lacks a required column, the metric is absent, or a fold is duplicated.
    """
    metric = resolve_metric(results, metric)
    split = cv_split(results, metric) if split is None else split
    rows = rows_of(without_baseline(results), split, metric)
    records = []
    for dataset, data in rows.groupby("dataset", sort=False):
        scores = fold_scores(data)
        family = []
        for a, b in combinations(scores.columns, 2):
            paired = scores[[a, b]].dropna()
            sizes = data[data["model"].isin([a, b]) & data["fold"].isin(paired.index)]
            record = {
                "dataset": dataset, "model_a": a, "model_b": b, "metric": metric,
                "n_folds": len(paired), "n_train": sizes["n_train"].mean(),
                "n_test": sizes["n_test"].mean(), "mean_a": paired[a].mean(),
                "mean_b": paired[b].mean(), "mean_difference": np.nan, "ci_low": np.nan,
                "ci_high": np.nan, "t_statistic": np.nan, "p_value": np.nan, "zero_variance": False,
                "split": split,
            }
            if len(paired) >= 2:
                d = (paired[a] - paired[b]).to_numpy()
                args = (d, record["n_train"], record["n_test"])
                record["mean_difference"] = float(np.mean(d))
                record["ci_low"], record["ci_high"] = corrected_interval(*args)
                record["zero_variance"] = bool(np.ptp(d) == 0)
                if not record["zero_variance"]:  # else: nothing to test the difference against
                    record["t_statistic"], record["p_value"] = corrected_ttest(*args)
                if rope is not None:
                    keys = ("p_a_better", "p_equivalent", "p_b_better")
                    record.update(zip(keys, posterior_probabilities(*args, rope)))
            family.append(record)
        p = np.array([r["p_value"] for r in family], dtype=float)
        p_holm = np.full(p.shape, np.nan)
        p_holm[~np.isnan(p)] = holm_adjust(p[~np.isnan(p)])
        for record, adjusted in zip(family, p_holm):
            record["p_holm"] = adjusted
            record["significant"] = bool(adjusted < alpha)
        records.extend(family)
    columns = [
        "dataset", "model_a", "model_b", "metric", "n_folds", "n_train", "n_test", "mean_a",
        "mean_b", "mean_difference", "ci_low", "ci_high", "t_statistic", "p_value", "p_holm",
        "significant", "zero_variance", "split",
    ]
    if rope is not None:
        columns += ["p_a_better", "p_equivalent", "p_b_better"]
    return pd.DataFrame(records, columns=columns)
