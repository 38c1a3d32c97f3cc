"""Fit verdicts: overfitting, underfitting, good fit or not enough data to tell, from the evidence.

The rule (:data:`VERDICT_RULE`) is written once, here, and printed in the report.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from study.results import VERDICT_COLUMNS, primary_metric

__all__ = ["VERDICTS", "VERDICT_RULE", "verdict", "verdict_table"]

VERDICTS = ("overfitting", "underfitting", "good fit", "not enough data to tell")
MIN_FOLDS = 3
"""Fewer paired folds than this: not enough data to tell."""
UNDERFIT_MARGIN = 0.05
"""Underfitting: mean training score below the dataset's best mean CV score minus this."""
MAX_GAP_SE = 0.025
"""Not enough data: standard error of the paired train-CV differences above this."""
GAP_MIN = 0.02
"""Smallest train-CV gap (metric points) called overfitting."""
GAP_T = 2.0
"""A gap is confirmed by the folds when gap_mean / gap_se reaches this."""
LC_RISING = 0.01
"""The learning curve is still rising when the CV score gained more than this between its two
largest training sizes."""

VERDICT_RULE = f"""\
For each dataset x model, from the primary metric of the main comparison (higher is better;
thresholds in points of a 0-1 metric such as accuracy). With k shared folds, d_k = train_k -
validation_k is the paired per-fold gap; gap = mean(d_k), se = std(d_k, ddof=1) / sqrt(k),
t = gap / se. best CV = the highest mean CV score of any model on the dataset. The learning
curve's last gain = its mean CV score at the largest training size minus at the second largest.
The first rule that matches decides:

1. fewer than {MIN_FOLDS} folds -> **not enough data to tell**;
2. mean train score < best CV - {UNDERFIT_MARGIN} (the model does not even fit its training data as
   well as the best model predicts unseen data) -> **underfitting**;
3. se > {MAX_GAP_SE} (the folds disagree too much to resolve a gap) -> **not enough data to tell**;
4. gap >= {GAP_MIN} and t >= {GAP_T} (a gap the folds confirm) -> **overfitting**;
5. gap >= {GAP_MIN} but t < {GAP_T} (a gap the folds do not confirm) -> **not enough data to tell**;
6. last gain > {LC_RISING} (small gap, but the CV score still grows with the training-set size, so
   the fit at the full size is not settled) -> **not enough data to tell**;
7. otherwise (small gap, flat learning curve) -> **good fit**.
"""


def verdict(train_scores, validation_scores, *, best_validation: float | None = None,
            learning_curve_validation=None) -> dict:
    """Classify a model's fit from paired per-fold scores (rule: :data:`VERDICT_RULE`).

    Parameters
    ----------
    train_scores, validation_scores : array-like of shape (n_folds,)
        Scores (higher is better) of the same model on the training and validation parts of
        each shared fold, paired by position. Non-finite pairs are dropped.
    best_validation : float or None, default=None
        The best mean validation score of any model on the dataset; default: this model's own.
    learning_curve_validation : array-like of shape (n_sizes,) or None, default=None
        Mean validation scores of the learning curve by increasing training size; only the
        last two are used. ``None``: no learning-curve evidence (treated as flat).

    Returns
    -------
    dict
        ``verdict`` (one of :data:`VERDICTS`), ``reason`` (the rule that fired), and the
        evidence: ``n_folds``, ``train_mean``, ``validation_mean``, ``validation_std``,
        ``gap_mean``, ``gap_se``, ``gap_t``, ``best_validation``, ``train_deficit`` (best
        validation - train mean), ``lc_last_gain`` (NaN without a learning curve).

    Notes
    -----
    The paired-difference statistic follows the paired t-test on per-fold scores; with
    overlapping training folds its standard error is optimistic (Nadeau & Bengio, 2003,
    "Inference for the generalization error"), hence the practical floor ``GAP_MIN``.
    """
    train = np.asarray(train_scores, dtype=float)
    val = np.asarray(validation_scores, dtype=float)
    if train.shape != val.shape:
        raise ValueError(f"train_scores and validation_scores must pair fold by fold; got shapes "
                         f"{train.shape} and {val.shape}.")
    keep = np.isfinite(train) & np.isfinite(val)
    train, val = train[keep], val[keep]
    k = len(train)
    diff = train - val
    nan = float("nan")
    gap = float(diff.mean()) if k else nan
    se = float(diff.std(ddof=1) / math.sqrt(k)) if k >= 2 else nan
    t = nan if k < 2 else (gap / se if se > 0 else (math.inf if gap > 0 else 0.0))
    train_mean = float(train.mean()) if k else nan
    val_mean = float(val.mean()) if k else nan
    best = val_mean if best_validation is None else float(best_validation)
    lc = None if learning_curve_validation is None else np.asarray(learning_curve_validation, dtype=float)
    gain = float(lc[-1] - lc[-2]) if lc is not None and len(lc) >= 2 and np.all(np.isfinite(lc[-2:])) else nan
    evidence = dict(n_folds=k, train_mean=train_mean, validation_mean=val_mean,
                    validation_std=float(val.std(ddof=1)) if k >= 2 else nan, gap_mean=gap, gap_se=se,
                    gap_t=t, best_validation=best, train_deficit=best - train_mean, lc_last_gain=gain)
    if k < MIN_FOLDS:
        outcome = ("not enough data to tell", f"1: {k} < {MIN_FOLDS} folds")
    elif train_mean < best - UNDERFIT_MARGIN:
        outcome = ("underfitting", f"2: train {train_mean:.3f} < best CV {best:.3f} - {UNDERFIT_MARGIN}")
    elif se > MAX_GAP_SE:
        outcome = ("not enough data to tell", f"3: se {se:.3f} > {MAX_GAP_SE}")
    elif gap >= GAP_MIN and t >= GAP_T:
        outcome = ("overfitting", f"4: gap {gap:.3f} >= {GAP_MIN}, t {t:.1f} >= {GAP_T}")
    elif gap >= GAP_MIN:
        outcome = ("not enough data to tell", f"5: gap {gap:.3f} >= {GAP_MIN}, t {t:.1f} < {GAP_T}")
    elif gain > LC_RISING:
        outcome = ("not enough data to tell", f"6: gap {gap:.3f} < {GAP_MIN}, CV still rising (+{gain:.3f})")
    else:
        outcome = ("good fit", f"7: gap {gap:.3f} < {GAP_MIN}, learning curve flat"
                   + (" (no learning curve)" if not np.isfinite(gain) else ""))
    return {"verdict": outcome[0], "reason": outcome[1], **evidence}


def verdict_table(results: pd.DataFrame, learning_curves: pd.DataFrame | None = None,
                  metric: str | None = None) -> pd.DataFrame:
    """Apply :func:`verdict` to every dataset x model of the main results table.

    Parameters
    ----------
    results : pandas.DataFrame
        The tidy results table (``study.results``); its "train" and "validation" rows of
        ``metric`` with status "ok" are paired by ``fold``.
    learning_curves : pandas.DataFrame or None, default=None
        The learning-curves table (``study.experiments.LearningCurves``); its validation rows of the
        same metric give each model's last learning-curve gain.
    metric : str or None, default=None
        Default: ``study.results.primary_metric(results)``.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`study.results.VERDICT_COLUMNS`: dataset, model, metric, verdict, reason,
        and the evidence of :func:`verdict`.
    """
    metric = metric or primary_metric(results)
    ok = results[(results["status"] == "ok") & (results["metric"] == metric)
                 & results["split"].isin(["train", "validation"])]
    columns = VERDICT_COLUMNS
    if ok.empty:
        return pd.DataFrame(columns=columns)
    paired = ok.pivot_table(index=["dataset", "model", "fold"], columns="split", values="score", aggfunc="mean")
    means = paired.groupby(level=["dataset", "model"])["validation"].mean()
    best = means.groupby(level="dataset").max()
    lc_means = {}
    if learning_curves is not None and len(learning_curves):
        lc = learning_curves[(learning_curves["split"] == "validation") & (learning_curves["metric"] == metric)]
        for (dataset, model), block in lc.groupby(["dataset", "model"]):
            lc_means[(dataset, model)] = block.groupby("train_size")["score"].mean().sort_index().to_numpy()
    rows = []
    units = results[["dataset", "model"]].drop_duplicates().itertuples(index=False)  # report order
    for dataset, model in units:
        if (dataset, model) not in means.index:
            continue
        block = paired.loc[(dataset, model)]
        result = verdict(block.get("train", pd.Series(dtype=float)).to_numpy(dtype=float),
                         block.get("validation", pd.Series(dtype=float)).to_numpy(dtype=float),
                         best_validation=float(best[dataset]),
                         learning_curve_validation=lc_means.get((dataset, model)))
        rows.append(dict(dataset=dataset, model=model, metric=metric, **result))
    return pd.DataFrame(rows, columns=columns)
