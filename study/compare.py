"""Statistics on the tidy results table: corrected paired tests, intervals, ranks.

Everything here reads the results table (and, for bootstrap intervals, the hold-out
predictions table) and never fits a model. The layout of both tables is the one described in
``study/results.py``; the columns used here are:

``results``
    ``dataset``, ``model``, ``split`` ("train" | "validation" | "test" | "nested"),
    ``fold`` (shared CV fold index, NA on test rows), ``metric``, ``score`` (higher is better),
    ``n_train``, ``n_test`` (samples fitted on / scored on for that row), ``status``
    ("ok" | "failed") and ``error``.
``predictions``
    ``dataset``, ``model``, ``index``, ``y_true``, ``y_pred`` (hold-out test split).

Only rows with ``status == "ok"`` and a finite score are used. The primary metric is the
explicit ``metric`` argument, else "accuracy" when the table has it, else the first metric
found in the table.

Sources
-------
- Nadeau, C. & Bengio, Y. (2003). Inference for the generalization error. Machine Learning
  52(3), 239-281 (corrected resampled t-test).
- scikit-learn example "Statistical comparison of models using grid search"
  (``examples/model_selection/plot_grid_search_stats.py``): the corrected standard deviation,
  the corrected t-test and the Bayesian posterior of the mean difference (Benavoli et al. 2017).
- Holm, S. (1979). A simple sequentially rejective multiple test procedure. Scandinavian
  Journal of Statistics 6(2), 65-70.
- Cawley, G. C. & Talbot, N. L. C. (2010). On over-fitting in model selection and subsequent
  selection bias in performance evaluation. JMLR 11, 2079-2107; scikit-learn example
  "Nested versus non-nested cross-validation".
- Demsar, J. (2006). Statistical comparisons of classifiers over multiple data sets.
  JMLR 7, 1-30 (Friedman test, Nemenyi post-hoc test, critical-difference diagram).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from study.results import primary_metric

__all__ = [
    "corrected_ttest",
    "corrected_interval",
    "posterior_probabilities",
    "holm_adjust",
    "pairwise_comparison",
    "bootstrap_interval",
    "test_score_intervals",
    "nested_summary",
    "Ranking",
    "rank_models",
    "FriedmanResult",
    "friedman_test",
    "plot_critical_difference",
    "statistics_section",
]

_ALTERNATIVES = ("two-sided", "greater", "less")
_RESULT_COLUMNS = ("dataset", "model", "split", "fold", "metric", "score", "n_train", "n_test")
_PREDICTION_COLUMNS = ("dataset", "model", "y_true", "y_pred")


# ---------------------------------------------------------------------------------------------
# Corrected resampled t-test (Nadeau & Bengio 2003) and its interval / posterior
# ---------------------------------------------------------------------------------------------


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
    ``statsmodels.stats.multitest.multipletests(method="holm")``.
    """
    from statsmodels.stats.multitest import multipletests

    p = np.asarray(p_values, dtype=float).ravel()
    if p.size == 0:
        return p
    return multipletests(p, method="holm")[1]


# ---------------------------------------------------------------------------------------------
# Reading the results table
# ---------------------------------------------------------------------------------------------


def _require_columns(table, columns, name):
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(
            f"The {name} table has no column(s) {missing}; found {list(table.columns)}. "
            "Pass the tidy table described in study/results.py."
        )


def _ok_rows(results):
    """Rows of successful units with a finite score."""
    _require_columns(results, _RESULT_COLUMNS, "results")
    ok = results["score"].notna()
    if "status" in results.columns:
        ok &= results["status"].eq("ok")
    return results[ok]


def _primary_metric(results, metric=None):
    """The explicit metric, else the table's primary metric (``study.results.primary_metric``)."""
    found = list(pd.unique(_ok_rows(results)["metric"].dropna()))
    if metric is not None:
        if metric not in found:
            raise ValueError(
                f"Got metric={metric!r}, which has no successful rows; the table has {found}. "
                "Pass one of those or metric=None."
            )
        return metric
    if not found:
        raise ValueError("The results table has no successful rows with a metric; nothing to compare.")
    return primary_metric(_ok_rows(results))


def _rows(results, split, metric):
    rows = _ok_rows(results)
    return rows[rows["split"].eq(split) & rows["metric"].eq(metric)]


def _fold_scores(rows):
    """Wide table of scores: index fold, columns model (in order of appearance)."""
    if rows.duplicated(["model", "fold"]).any():
        raise ValueError(
            "Found more than one score for the same dataset, model, split, fold and metric; "
            "expected one. Deduplicate the results table before comparing."
        )
    models = list(pd.unique(rows["model"]))
    return rows.pivot(index="fold", columns="model", values="score")[models]


# ---------------------------------------------------------------------------------------------
# Pairwise comparison on the shared CV folds
# ---------------------------------------------------------------------------------------------


def pairwise_comparison(results, metric=None, alpha=0.05, rope=None):
    """Corrected paired t-tests for every pair of models on every dataset.

    Uses the ``validation`` rows: model a and model b are paired on the folds (same fold
    index, hence the same train/test indices) where both have a successful score.

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

    Returns
    -------
    pandas.DataFrame
        One row per dataset x pair (pairs in order of first appearance of the models), with
        columns ``dataset, model_a, model_b, metric, n_folds, n_train, n_test, mean_a, mean_b,
        mean_difference`` (a - b; positive means a scores higher), ``ci_low, ci_high``
        (95% corrected interval), ``t_statistic, p_value`` (two-sided), ``p_holm`` and
        ``significant`` (``p_holm < alpha``). ``n_train``/``n_test`` are the means of the
        fold-level values over the paired rows. Pairs with fewer than 2 paired folds have NaN
        statistics and are left out of the Holm family.

    Raises
    ------
    ValueError
        If the table lacks a required column, the metric is absent, or a fold is duplicated.
    """
    metric = _primary_metric(results, metric)
    rows = _rows(results, "validation", metric)
    records = []
    for dataset, data in rows.groupby("dataset", sort=False):
        scores = _fold_scores(data)
        family = []
        for a, b in combinations(scores.columns, 2):
            paired = scores[[a, b]].dropna()
            sizes = data[data["model"].isin([a, b]) & data["fold"].isin(paired.index)]
            record = {
                "dataset": dataset, "model_a": a, "model_b": b, "metric": metric,
                "n_folds": len(paired), "n_train": sizes["n_train"].mean(),
                "n_test": sizes["n_test"].mean(), "mean_a": paired[a].mean(),
                "mean_b": paired[b].mean(), "mean_difference": np.nan, "ci_low": np.nan,
                "ci_high": np.nan, "t_statistic": np.nan, "p_value": np.nan,
            }
            if len(paired) >= 2:
                d = (paired[a] - paired[b]).to_numpy()
                args = (d, record["n_train"], record["n_test"])
                record["mean_difference"] = float(np.mean(d))
                record["ci_low"], record["ci_high"] = corrected_interval(*args)
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
        "significant",
    ]
    if rope is not None:
        columns += ["p_a_better", "p_equivalent", "p_b_better"]
    return pd.DataFrame(records, columns=columns)


# ---------------------------------------------------------------------------------------------
# Hold-out test scores with bootstrap intervals
# ---------------------------------------------------------------------------------------------


def _accuracy(y_true, y_pred, axis=-1):
    return np.mean(y_true == y_pred, axis=axis)


def _balanced_accuracy(y_true, y_pred, axis=-1):
    # Mean recall over the classes present in y_true (classes with no support in a resample
    # are ignored, as sklearn.metrics.balanced_accuracy_score does).
    classes = np.unique(np.concatenate([np.ravel(y_true), np.ravel(y_pred)]))
    with np.errstate(invalid="ignore", divide="ignore"):
        recalls = [
            np.sum((y_true == c) & (y_pred == c), axis=axis) / np.sum(y_true == c, axis=axis)
            for c in classes
        ]
    return np.nanmean(np.stack(recalls), axis=0)


def _r2(y_true, y_pred, axis=-1):
    residual = np.sum((y_true - y_pred) ** 2, axis=axis)
    total = np.sum((y_true - np.mean(y_true, axis=axis, keepdims=True)) ** 2, axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        # sklearn.metrics.r2_score's force_finite: constant y_true gives 1 (perfect) or 0.
        return np.where(total > 0, 1 - residual / total, np.where(residual == 0, 1.0, 0.0))


def _neg_rmse(y_true, y_pred, axis=-1):
    return -np.sqrt(np.mean((y_true - y_pred) ** 2, axis=axis))


# Vectorized versions of the sklearn.metrics scores of the same names (scorer sign: higher is
# better), so that scipy.stats.bootstrap can score all resamples of a batch at once.
_METRICS = {
    "accuracy": _accuracy,
    "balanced_accuracy": _balanced_accuracy,
    "r2": _r2,
    "neg_root_mean_squared_error": _neg_rmse,
}


def bootstrap_interval(
    y_true, y_pred, metric="accuracy", confidence=0.95, n_resamples=2000, random_state=0
):
    """Percentile bootstrap interval of a hold-out test score.

    Test samples are resampled with replacement, keeping each ``(y_true, y_pred)`` pair
    together (``scipy.stats.bootstrap(..., paired=True)``), and the score is recomputed on
    every resample.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels (any hashable values) or numeric targets of the hold-out test split.
    y_pred : array-like of shape (n_samples,)
        Predictions of the refit model on the same samples.
    metric : {"accuracy", "balanced_accuracy", "r2", "neg_root_mean_squared_error"}, \
default="accuracy"
        Score, with the names and sign of ``sklearn.metrics.get_scorer`` (higher is better);
        computed by vectorized equivalents of ``accuracy_score``, ``balanced_accuracy_score``,
        ``r2_score`` and ``-root_mean_squared_error``.
    confidence : float, default=0.95
        Coverage of the interval, in (0, 1).
    n_resamples : int, default=2000
        Number of bootstrap resamples.
    random_state : int, default=0
        Seed of the resampling; the same seed gives the same interval.

    Returns
    -------
    low, high : float
        Interval bounds in score units.

    Raises
    ------
    ValueError
        If the metric is not supported, or the arrays are not 1-D of the same length >= 2.

    Notes
    -----
    The percentile method is used rather than SciPy's default BCa because BCa returns NaN
    when the bootstrap distribution is degenerate (for example a perfect test accuracy).
    Source: Efron & Tibshirani (1993), An Introduction to the Bootstrap;
    ``scipy.stats.bootstrap``.
    """
    if metric not in _METRICS:
        raise ValueError(
            f"Got metric={metric!r}; bootstrap intervals support {sorted(_METRICS)}. "
            "Pick one of those (higher is better, as in sklearn.metrics.get_scorer)."
        )
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.ndim != 1 or y_true.size < 2:
        raise ValueError(
            f"Got y_true of shape {y_true.shape} and y_pred of shape {y_pred.shape}; expected "
            "two 1-D arrays of the same length >= 2."
        )
    if metric in ("accuracy", "balanced_accuracy"):  # integer codes: fast, any label type
        codes = np.unique(np.concatenate([y_true, y_pred]), return_inverse=True)[1]
        y_true, y_pred = codes[: y_true.size], codes[y_true.size:]
    else:
        y_true, y_pred = y_true.astype(float), y_pred.astype(float)
    result = stats.bootstrap(
        (y_true, y_pred), _METRICS[metric], paired=True, vectorized=True, batch=250,
        n_resamples=n_resamples, confidence_level=confidence, method="percentile",
        rng=np.random.default_rng(random_state),
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def test_score_intervals(
    results, predictions, metric=None, confidence=0.95, n_resamples=2000, random_state=0
):
    """Hold-out test score of every dataset x model with its bootstrap interval.

    Parameters
    ----------
    results : pandas.DataFrame
        Tidy results table (see module docstring); its ``test`` rows give the scores.
    predictions : pandas.DataFrame or None
        Hold-out predictions (``dataset, model, y_true, y_pred``). Models without
        predictions (or ``predictions=None``) get NaN bounds.
    metric : str or None, default=None
        Metric; None picks the primary metric.
    confidence, n_resamples, random_state
        Passed to :func:`bootstrap_interval`.

    Returns
    -------
    pandas.DataFrame
        Columns ``dataset, model, metric, score, low, high``; one row per successful test row.

    Raises
    ------
    ValueError
        If a table lacks a required column or the metric is absent or not supported.
    """
    metric = _primary_metric(results, metric)
    tests = _rows(results, "test", metric)
    order = {d: i for i, d in enumerate(pd.unique(tests["dataset"]))}
    tests = tests.sort_values("dataset", key=lambda s: s.map(order), kind="stable")
    if predictions is not None:
        _require_columns(predictions, _PREDICTION_COLUMNS, "predictions")
        groups = dict(list(predictions.groupby(["dataset", "model"], sort=False)))
    else:
        groups = {}
    records = []
    for row in tests.itertuples(index=False):
        low = high = np.nan
        pred = groups.get((row.dataset, row.model))
        if pred is not None and len(pred) >= 2:
            low, high = bootstrap_interval(
                pred["y_true"], pred["y_pred"], metric, confidence, n_resamples, random_state
            )
        records.append((row.dataset, row.model, metric, row.score, low, high))
    return pd.DataFrame(records, columns=["dataset", "model", "metric", "score", "low", "high"])


test_score_intervals.__test__ = False  # not a pytest test despite its name


# ---------------------------------------------------------------------------------------------
# Nested versus non-nested cross-validation
# ---------------------------------------------------------------------------------------------


def nested_summary(results, metric=None):
    """Non-nested (``best_score_``) versus nested cross-validation estimates.

    Parameters
    ----------
    results : pandas.DataFrame
        Tidy results table (see module docstring).
    metric : str or None, default=None
        Metric; None picks the primary metric.

    Returns
    -------
    pandas.DataFrame
        One row per dataset x model that has ``nested`` rows, with columns ``dataset, model,
        metric, non_nested`` (mean of the ``validation`` rows, i.e. GridSearchCV's
        ``best_score_``), ``nested_mean``, ``nested_std`` (population std, ddof=0, like
        ``std_test_score``), ``n_outer_folds`` and ``optimism = non_nested - nested_mean``
        (positive: the non-nested estimate is optimistic). Empty (same columns) when there
        are no nested rows.

    Raises
    ------
    ValueError
        If the table lacks a required column or the metric is absent.

    Notes
    -----
    Source: Cawley & Talbot (2010), JMLR 11; scikit-learn example "Nested versus non-nested
    cross-validation".
    """
    metric = _primary_metric(results, metric)
    keys = ["dataset", "model"]
    nested = _rows(results, "nested", metric).groupby(keys, sort=False)["score"].agg(
        nested_mean="mean", nested_std=lambda s: float(np.std(s)), n_outer_folds="size"
    )
    flat = _rows(results, "validation", metric).groupby(keys, sort=False)["score"].mean()
    table = nested.join(flat.rename("non_nested"), how="left").reset_index()
    table["metric"] = metric
    table["optimism"] = table["non_nested"] - table["nested_mean"]
    return table[
        ["dataset", "model", "metric", "non_nested", "nested_mean", "nested_std",
         "n_outer_folds", "optimism"]
    ]


# ---------------------------------------------------------------------------------------------
# Ranks over datasets, Friedman test, critical-difference diagram
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ranking:
    """Ranks of the models over datasets (see :func:`rank_models`).

    Attributes
    ----------
    scores : pandas.DataFrame of shape (n_datasets, n_models)
        Score per dataset (rows) and model common to every dataset (columns).
    ranks : pandas.DataFrame of shape (n_datasets, n_models)
        Rank within each dataset, 1 = best, ties get the average rank.
    mean_ranks : pandas.Series of shape (n_models,)
        Mean rank over datasets, sorted from best to worst.
    excluded : list of str
        Models missing on some dataset, left out of the ranking.
    note : str
        Plain-words note on what was ranked and what was left out.
    """

    scores: pd.DataFrame
    ranks: pd.DataFrame
    mean_ranks: pd.Series
    excluded: list
    note: str


def rank_models(results, split="test", metric=None):
    """Rank the models on every dataset and average the ranks over datasets.

    Only models with a score on every dataset are ranked: the ranks of a model that is
    missing somewhere (for example a CNN run only on image data, or a failed unit) would not
    be comparable, so it is left out and named in ``note``.

    Parameters
    ----------
    results : pandas.DataFrame
        Tidy results table (see module docstring).
    split : {"test", "validation", "nested"}, default="test"
        Rows to rank on; per-fold splits are averaged per dataset x model first.
    metric : str or None, default=None
        Metric; None picks the primary metric.

    Returns
    -------
    Ranking
        Scores, per-dataset ranks (1 = best, ties averaged), mean ranks, excluded models, note.

    Raises
    ------
    ValueError
        If the table lacks a required column or the metric is absent.
    """
    metric = _primary_metric(results, metric)
    rows = _rows(results, split, metric)
    wide = (
        rows.groupby(["dataset", "model"], sort=False)["score"].mean().unstack("model")
        .reindex(index=pd.unique(rows["dataset"]), columns=pd.unique(rows["model"]))
    )
    excluded = [m for m in wide.columns if wide[m].isna().any()]
    scores = wide.drop(columns=excluded)
    ranks = scores.rank(axis=1, ascending=False, method="average")
    mean_ranks = ranks.mean().sort_values()
    note = (
        f"Ranks of {metric} on the {split} split over {len(scores)} dataset(s) and "
        f"{scores.shape[1]} model(s) present on every dataset (1 = best, ties averaged)."
    )
    if excluded:
        note += (
            f" Left out because they have no {split} score on some dataset: "
            f"{', '.join(excluded)}."
        )
    return Ranking(scores, ranks, mean_ranks, excluded, note)


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
    note : str
        Plain-words result, or why the test was not run.
    """

    statistic: float
    p_value: float
    n_datasets: int
    n_models: int
    note: str


def friedman_test(results, split="test", metric=None):
    """Friedman test that all models rank equally over datasets.

    Parameters
    ----------
    results : pandas.DataFrame
        Tidy results table (see module docstring).
    split : str, default="test"
        Rows to rank on, as in :func:`rank_models`.
    metric : str or None, default=None
        Metric; None picks the primary metric.

    Returns
    -------
    FriedmanResult
        Statistic and p-value from ``scipy.stats.friedmanchisquare`` over the models common to
        all datasets; NaN with a "not enough datasets/models" note when there are fewer than
        3 models or fewer than 2 datasets.

    Raises
    ------
    ValueError
        If the table lacks a required column or the metric is absent.

    Notes
    -----
    Source: Friedman (1937); Demsar (2006), JMLR 7, section 3.2.2.
    """
    scores = rank_models(results, split, metric).scores
    n_datasets, n_models = scores.shape
    if n_models < 3 or n_datasets < 2:
        return FriedmanResult(
            np.nan, np.nan, n_datasets, n_models,
            f"Friedman test not run: not enough datasets/models ({n_datasets} dataset(s), "
            f"{n_models} model(s) on every dataset; it needs >= 2 datasets and >= 3 models).",
        )
    statistic, p_value = stats.friedmanchisquare(*(scores[m] for m in scores.columns))
    return FriedmanResult(
        float(statistic), float(p_value), n_datasets, n_models,
        f"Friedman test over {n_datasets} datasets and {n_models} models: "
        f"chi-square = {statistic:.3f}, p = {_format_p(p_value)}.",
    )


def _nemenyi_cd(n_models, n_datasets, alpha):
    """Nemenyi critical difference ``q_alpha * sqrt(k (k + 1) / (6 N))`` (Demsar 2006, eq. 4).

    ``q_alpha`` is the studentized range quantile divided by sqrt(2), which reproduces
    Demsar (2006) Table 5(a) (k=3: 2.343, k=4: 2.569, ...).
    """
    q_alpha = stats.studentized_range.ppf(1 - alpha, n_models, np.inf) / np.sqrt(2)
    return float(q_alpha * np.sqrt(n_models * (n_models + 1) / (6 * n_datasets)))


def plot_critical_difference(results, path, split="test", metric=None, alpha=0.05):
    """Write a critical-difference diagram (mean ranks, Nemenyi post-hoc test) as a PNG.

    Models joined by a bar are not significantly different (Nemenyi test after Friedman,
    ``scikit_posthocs.posthoc_nemenyi_friedman``); the "CD" bar shows the Nemenyi critical
    difference of mean ranks. Drawn with ``scikit_posthocs.critical_difference_diagram``.

    Parameters
    ----------
    results : pandas.DataFrame
        Tidy results table (see module docstring).
    path : str or pathlib.Path
        Output PNG file; parent directories are created.
    split : str, default="test"
        Rows to rank on, as in :func:`rank_models`.
    metric : str or None, default=None
        Metric; None picks the primary metric.
    alpha : float, default=0.05
        Significance level of the post-hoc test.

    Returns
    -------
    pathlib.Path or None
        The written file, or None (nothing written) when fewer than 2 models or 2 datasets
        can be ranked. A file already drawn from the same ranks and p-values is kept as it is
        (``study.report.figure``).

    Raises
    ------
    ValueError
        If the table lacks a required column or the metric is absent.

    Notes
    -----
    Source: Demsar (2006), JMLR 7, section 3.2.2 and figure 1.
    """
    import scikit_posthocs as sp

    from study.report import figure

    ranking = rank_models(results, split, metric)
    n_datasets, n_models = ranking.scores.shape
    if n_models < 2 or n_datasets < 2:
        return None
    p_values = sp.posthoc_nemenyi_friedman(ranking.scores.to_numpy())
    p_values.index = p_values.columns = ranking.scores.columns
    draw = figure(dpi=150)(_critical_difference_figure)
    return draw(ranking.mean_ranks, p_values, n_datasets, _primary_metric(results, metric), split, alpha,
                path=path)


def _critical_difference_figure(mean_ranks, p_values, n_datasets, metric_name, split, alpha):
    """The diagram of :func:`plot_critical_difference`, as a matplotlib Figure."""
    import scikit_posthocs as sp
    from matplotlib.figure import Figure

    n_models = len(mean_ranks)
    fig = Figure(figsize=(7, 1.2 + 0.35 * n_models), layout="constrained")
    ax = fig.subplots()
    sp.critical_difference_diagram(
        mean_ranks, p_values, alpha=alpha, ax=ax,
        label_fmt_left="{label} ({rank:.2f})", label_fmt_right="({rank:.2f}) {label}",
    )
    cd = _nemenyi_cd(n_models, n_datasets, alpha)
    ax.plot([1, 1 + cd], [1.4, 1.4], color="k", linewidth=2)  # Demsar's CD bar, from rank 1
    ax.text(1 + cd / 2, 1.6, f"CD = {cd:.2f}", ha="center", va="bottom")
    ax.set_xticks(range(1, n_models + 1))
    ax.set_ylim(top=2.2)
    ax.set_xlabel("mean rank over datasets (1 = best); CD = Nemenyi critical difference")
    ax.set_title(
        f"Critical difference diagram: {metric_name} on the {split} split, {n_datasets} datasets\n"
        f"(bars join models not significantly different, Nemenyi test, alpha = {alpha})",
        fontsize=10,
    )
    return fig


# ---------------------------------------------------------------------------------------------
# Markdown for the report
# ---------------------------------------------------------------------------------------------


def _format_p(p):
    return "n/a" if pd.isna(p) else ("< 0.001" if p < 0.001 else f"{p:.3f}")


def _format(x, sign=False):
    return "n/a" if pd.isna(x) else (f"{x:+.3f}" if sign else f"{x:.3f}")


def _markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _pair_sentence(r):
    if pd.isna(r.p_value):
        return f"{r.model_a} vs {r.model_b}: only {r.n_folds} paired fold(s); not tested."
    verdict = "significant" if r.significant else "not significant"
    return (
        f"{r.model_a} vs {r.model_b}: difference {_format(r.mean_difference, sign=True)} "
        f"(95% CI {_format(r.ci_low, sign=True)} to {_format(r.ci_high, sign=True)}), "
        f"Holm-corrected p = {_format_p(r.p_holm)}: {verdict}."
    )


def statistics_section(results, predictions, fig_dir, metric=None, alpha=0.05):
    """Markdown "Statistical comparison" section of the report.

    Parameters
    ----------
    results : pandas.DataFrame
        Tidy results table (see module docstring).
    predictions : pandas.DataFrame or None
        Hold-out predictions, for the bootstrap intervals of test scores (None: no intervals).
    fig_dir : str or pathlib.Path
        Directory of the report's figures; ``critical_difference.png`` is written there and
        linked as ``figures/critical_difference.png`` (the report sits beside ``figures/``).
    metric : str or None, default=None
        Metric; None picks the primary metric.
    alpha : float, default=0.05
        Family-wise significance level of the pairwise tests (Holm) and of the post-hoc test.

    Returns
    -------
    str
        Markdown: per dataset a pairwise table and one sentence per pair; test scores with
        95% bootstrap intervals; nested versus non-nested estimates (when nested rows exist);
        mean ranks, the Friedman result and the critical-difference figure. Numbers have 3
        decimals; p-values below 0.001 print as "< 0.001".

    Raises
    ------
    ValueError
        If the table lacks a required column or the metric is absent.
    """
    metric = _primary_metric(results, metric)
    out = [
        "## Statistical comparison",
        "",
        f"Primary metric: **{metric}** (higher is better). Pairs of models are compared on the "
        "same cross-validation folds with the Nadeau & Bengio (2003) corrected resampled "
        "t-test (two-sided; interval from the t distribution with the corrected standard "
        f"deviation); p-values are Holm-corrected over the pairs of each dataset, alpha = {alpha}.",
    ]
    if "status" in results.columns:
        failed = results[results["status"].ne("ok")]
        if len(failed):
            out += ["", "Failed units (left out of every statistic):"]
            for r in failed.drop_duplicates(["dataset", "model"]).itertuples(index=False):
                reason = getattr(r, "error", None)
                reason = reason if isinstance(reason, str) and reason else "no reason recorded"
                out.append(f"- {r.dataset} / {r.model}: {reason}")

    pairs = pairwise_comparison(results, metric, alpha)
    validation = _rows(results, "validation", metric)
    for dataset in pd.unique(_ok_rows(results)["dataset"]):
        out += ["", f"### {dataset}", ""]
        table = pairs[pairs["dataset"].eq(dataset)]
        if table.empty:
            models = list(pd.unique(validation.loc[validation["dataset"].eq(dataset), "model"]))
            out.append(
                f"Fewer than two models have validation scores on this dataset "
                f"({', '.join(models) or 'none'}); no pairwise comparison."
            )
            continue
        out.append(_markdown_table(
            ["pair", "mean difference (95% CI)", "t", "p", "Holm p", "significant"],
            [
                (f"{r.model_a} - {r.model_b}",
                 f"{_format(r.mean_difference, True)} ({_format(r.ci_low, True)} to "
                 f"{_format(r.ci_high, True)})",
                 _format(r.t_statistic), _format_p(r.p_value), _format_p(r.p_holm),
                 "yes" if r.significant else "no")
                for r in table.itertuples(index=False)
            ],
        ))
        out += [""] + [_pair_sentence(r) for r in table.itertuples(index=False)]

    scores = test_score_intervals(results, predictions, metric)
    out += ["", "### Hold-out test scores", ""]
    if scores.empty:
        out.append("No successful test rows.")
    else:
        out.append(_markdown_table(
            ["dataset", "model", f"test {metric}", "95% bootstrap CI"],
            [(r.dataset, r.model, _format(r.score),
              "n/a" if pd.isna(r.low) else f"{_format(r.low)} to {_format(r.high)}")
             for r in scores.itertuples(index=False)],
        ))

    nested = nested_summary(results, metric)
    if not nested.empty:
        out += [
            "", "### Nested versus non-nested cross-validation", "",
            "The non-nested estimate (GridSearchCV's best_score_) chose the hyper-parameters on "
            "the same folds it scores, so it is optimistic (Cawley & Talbot 2010).", "",
            _markdown_table(
                ["dataset", "model", "non-nested", "nested (mean +/- std)", "optimism"],
                [(r.dataset, r.model, _format(r.non_nested),
                  f"{_format(r.nested_mean)} +/- {_format(r.nested_std)}",
                  _format(r.optimism, True)) for r in nested.itertuples(index=False)],
            ),
        ]

    ranking = rank_models(results, "test", metric)
    out += ["", "### Ranks over datasets", "", ranking.note]
    if len(ranking.mean_ranks):
        out += ["", _markdown_table(
            ["model", "mean rank"],
            [(m, _format(v)) for m, v in ranking.mean_ranks.items()],
        )]
    out += ["", friedman_test(results, "test", metric).note]
    figure = plot_critical_difference(
        results, Path(fig_dir) / "critical_difference.png", "test", metric, alpha
    )
    if figure is not None:
        out += ["", "![Critical difference diagram](figures/critical_difference.png)"]
    else:
        out += ["", "No critical-difference diagram: it needs >= 2 models on >= 2 datasets."]
    return "\n".join(out) + "\n"
