"""Fit verdicts: overfitting, underfitting, good fit or not enough evidence, from the evidence.

For each dataset x model the verdict weighs four pieces of evidence, all on the shared folds of
the primary metric, and names the numbers it used and the remedy they point to:

(a) the train-validation gap, with its corrected paired 95% interval;
(b) the model's validation score relative to the best model on the dataset, with the corrected
    interval of their paired difference;
(c) the validation curves: whether a stronger setting of a regularization knob closes the gap at
    little cost in CV score (or, for a model below the best, whether a weaker one gains);
(d) the learning curve's last gain: whether the CV score still grows with more training data.

The intervals are Nadeau & Bengio's corrected resampled t intervals, the same as the pairwise
tests' (``study.statistics.paired.corrected_interval``): the folds' training parts overlap, so
the naive interval is too narrow. The rule (:data:`VERDICT_RULE`) is written once, here, and
printed in the report.

Sources: Nadeau, C. & Bengio, Y. (2003), Machine Learning 52(3); the bias-variance reading of
validation and learning curves as in scikit-learn's user guide ("Validation curves: plotting
scores to evaluate models").
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from study.results import VERDICT_COLUMNS, primary_metric
from study.statistics.paired import corrected_interval

__all__ = ["VERDICTS", "VERDICT_RULE", "verdict", "verdict_table", "curve_evidence"]

VERDICTS = ("overfitting", "underfitting", "good fit", "not enough evidence")
MIN_FOLDS = 3
"""Fewer paired folds than this: not enough evidence."""
GAP_MIN = 0.02
"""A gap is confirmed when its interval lies above this (points of the metric)."""
GAP_LARGE = 0.10
"""A confirmed gap this large is overfitting whatever the validation curves say."""
UNDERFIT_MARGIN = 0.01
"""Underfitting: the interval of the shortfall to the best model lies above this."""
MAX_HALF_WIDTH = 0.05
"""A good fit needs both intervals no wider than +/- this; wider ones are not enough evidence."""
LITTLE_COST = 0.01
"""A stronger setting "closes the gap at little cost" when the CV score drops by at most this
while the gap shrinks by at least GAP_MIN."""
LC_RISING = 0.01
"""The learning curve still rises when the CV score gained more than this between its two
largest training sizes."""

VERDICT_RULE = f"""\
For each dataset x model, on the primary metric of the main comparison over the k shared folds
(higher is better; thresholds in points of a 0-1 metric such as accuracy). gap = mean of the
per-fold train - validation differences; shortfall = mean of the per-fold differences between the
best model on the dataset (highest mean CV) and this one (0 for the best); each with its 95%
interval corrected for the overlap of the folds' training parts (Nadeau & Bengio 2003, as the
pairwise tests). From the validation curves: a setting of a regularization knob stronger than the
one in use "closes the gap" when its gap is at least {GAP_MIN} smaller at a CV cost of at most
{LITTLE_COST}. From the learning curve: its CV gain between the two largest training sizes. The first
rule that matches decides:

1. fewer than {MIN_FOLDS} folds -> **not enough evidence**;
2. the gap's interval lies above {GAP_MIN}, and the gap is at least {GAP_LARGE} or a stronger setting
   closes it -> **overfitting** (remedy: that setting, else more data if the learning curve still
   rises, else a simpler or more regularized model);
3. the shortfall's interval lies above {UNDERFIT_MARGIN} and the gap is below {GAP_LARGE} ->
   **underfitting** (remedy: a weaker setting that gains CV, else a more flexible model);
4. both intervals are at most +/- {MAX_HALF_WIDTH} wide -> **good fit** (within noise of the best,
   no confirmed gap to close; remedy: more data if the learning curve still rises by more than
   {LC_RISING});
5. otherwise (the folds disagree too much to tell) -> **not enough evidence** (remedy: more data,
   or more folds and repeats).
"""


def curve_evidence(block: pd.DataFrame) -> list:
    """The knob settings of one model's validation curves, weakest to strongest regularization.

    Parameters
    ----------
    block : pandas.DataFrame
        Rows of the validation-curve table of one dataset x model and metric.

    Returns
    -------
    list of dict
        One per sweep: ``knob`` (sweep label), ``points``: ``[(value label, CV mean, gap
        mean), ...]`` from the weakest to the strongest setting, ``chosen``: the index of the
        value in use.
    """
    sweeps = []
    for label, sweep in block.groupby("sweep", sort=False):
        means = sweep.pivot_table(index=["param_value", "param_label", "chosen"], columns="split", values="score",
                                  aggfunc="mean").reset_index().sort_values("param_value")
        if sweep["stronger"].iloc[0] == "lower":
            means = means.iloc[::-1]
        points = [(r.param_label, float(r.validation), float(r.train - r.validation)) for r in means.itertuples()]
        chosen = [i for i, c in enumerate(means["chosen"]) if bool(c)]
        if chosen:
            sweeps.append(dict(knob=label, points=points, chosen=chosen[0]))
    return sweeps


def _closing_step(curves: list):
    """The stronger setting that closes the gap at little cost (the smallest gap), or None."""
    steps = []
    for sweep in curves:
        _, cv, gap = sweep["points"][sweep["chosen"]]
        for value, cv_after, gap_after in sweep["points"][sweep["chosen"] + 1:]:
            if gap_after <= gap - GAP_MIN and cv_after >= cv - LITTLE_COST:
                steps.append((gap_after, sweep["knob"], sweep["points"][sweep["chosen"]][0], value, gap, gap_after,
                              cv_after - cv))
    return min(steps)[1:] if steps else None


def _gaining_step(curves: list):
    """The weaker setting with the highest CV gain above LITTLE_COST, or None."""
    steps = []
    for sweep in curves:
        _, cv, _ = sweep["points"][sweep["chosen"]]
        for value, cv_after, _ in sweep["points"][:sweep["chosen"]]:
            if cv_after > cv + LITTLE_COST:
                steps.append((-(cv_after - cv), sweep["knob"], sweep["points"][sweep["chosen"]][0], value,
                              cv_after - cv))
    return min(steps)[1:] if steps else None


def _interval(differences, n_train, n_test) -> tuple:
    if np.ptp(differences) == 0:
        value = float(np.mean(differences))
        return value, value
    return corrected_interval(differences, n_train, n_test)


def verdict(train_scores, validation_scores, *, n_train: float, n_test: float, best_scores=None,
            best_model: str = "", learning_curve=None, curves=None) -> dict:
    """Classify a model's fit from paired per-fold scores and its curves (rule: :data:`VERDICT_RULE`).

    Parameters
    ----------
    train_scores, validation_scores : array-like of shape (n_folds,)
        Scores (higher is better) of the model on the training and validation parts of each
        shared fold, paired by position. Non-finite pairs are dropped.
    n_train, n_test : float
        Samples fitted on / scored on in one fold (for the corrected intervals).
    best_scores : array-like of shape (n_folds,) or None, default=None
        The per-fold validation scores of the best model on the dataset, paired with these;
        None: this model is the best.
    best_model : str, default=""
        Its name, for the reason text.
    learning_curve : array-like of shape (n_sizes,) or None, default=None
        Mean validation scores of the learning curve by increasing training size.
    curves : list of dict or None, default=None
        :func:`curve_evidence` of the model's validation curves.

    Returns
    -------
    dict
        ``verdict`` (one of :data:`VERDICTS`), ``reason`` (the rule that fired, with its
        numbers), ``remedy``, and the evidence: ``n_folds``, ``train_mean``,
        ``validation_mean``, ``gap_mean``, ``gap_low``, ``gap_high``, ``shortfall_mean``,
        ``shortfall_low``, ``shortfall_high``, ``lc_last_gain`` (NaN without a learning curve).
    """
    train = np.asarray(train_scores, dtype=float)
    val = np.asarray(validation_scores, dtype=float)
    if train.shape != val.shape:
        raise ValueError(f"train_scores and validation_scores must pair fold by fold; got shapes "
                         f"{train.shape} and {val.shape}.")
    best = val if best_scores is None else np.asarray(best_scores, dtype=float)
    keep = np.isfinite(train) & np.isfinite(val) & np.isfinite(best)
    train, val, best = train[keep], val[keep], best[keep]
    k, nan = len(train), float("nan")
    lc = None if learning_curve is None else np.asarray(learning_curve, dtype=float)
    gain = float(lc[-1] - lc[-2]) if lc is not None and len(lc) >= 2 and np.all(np.isfinite(lc[-2:])) else nan
    evidence = dict(n_folds=k, train_mean=float(train.mean()) if k else nan,
                    validation_mean=float(val.mean()) if k else nan, lc_last_gain=gain)
    if k < MIN_FOLDS:
        return {"verdict": "not enough evidence", "reason": f"1: {k} paired fold(s) < {MIN_FOLDS}",
                "remedy": "more folds (--cv)", **evidence, **dict.fromkeys(
                    ["gap_mean", "gap_low", "gap_high", "shortfall_mean", "shortfall_low", "shortfall_high"], nan)}
    gap, shortfall = train - val, best - val
    (gap_low, gap_high), (short_low, short_high) = (_interval(gap, n_train, n_test),
                                                    _interval(shortfall, n_train, n_test))
    evidence.update(gap_mean=float(gap.mean()), gap_low=gap_low, gap_high=gap_high,
                    shortfall_mean=float(shortfall.mean()), shortfall_low=short_low, shortfall_high=short_high)
    gap_text = f"gap {gap.mean():.3f} (95% CI {gap_low:.3f} to {gap_high:.3f})"
    short_text = (f"shortfall to the best ({best_model}) {shortfall.mean():.3f} (95% CI {short_low:.3f} to "
                  f"{short_high:.3f})" if best_scores is not None else "the best CV on the dataset")
    rising = np.isfinite(gain) and gain > LC_RISING
    closing = _closing_step(curves or [])
    if gap_low > GAP_MIN and (gap.mean() >= GAP_LARGE or closing):
        if closing:
            knob, old, new, before, after, cost = closing
            remedy = f"regularize more: {knob} {old} -> {new} (gap {before:.3f} -> {after:.3f}, CV {cost:+.3f})"
        else:
            remedy = (f"more training data (the CV score still rose {gain:+.3f} at the largest size)" if rising
                      else "a simpler or more regularized model")
        why = f"at least {GAP_LARGE}" if gap.mean() >= GAP_LARGE else "a stronger setting closes it"
        return {"verdict": "overfitting", "reason": f"2: {gap_text} above {GAP_MIN}; {why}", "remedy": remedy,
                **evidence}
    if short_low > UNDERFIT_MARGIN and gap.mean() < GAP_LARGE:
        gaining = _gaining_step(curves or [])
        remedy = (f"regularize less: {gaining[0]} {gaining[1]} -> {gaining[2]} (CV {gaining[3]:+.3f})" if gaining
                  else "a more flexible model or better features")
        return {"verdict": "underfitting", "reason": f"3: {short_text} above {UNDERFIT_MARGIN}; {gap_text}",
                "remedy": remedy, **evidence}
    widths = max(gap_high - gap_low, short_high - short_low) / 2
    if widths <= MAX_HALF_WIDTH:
        remedy = f"more data may still help (the CV score rose {gain:+.3f} at the largest size)" if rising else "none"
        return {"verdict": "good fit", "reason": f"4: {gap_text}; {short_text}", "remedy": remedy, **evidence}
    return {"verdict": "not enough evidence",
            "reason": f"5: intervals +/- {widths:.3f} wider than {MAX_HALF_WIDTH} ({gap_text}; {short_text})",
            "remedy": "more data, or more folds and repeats (--cv, --repeats)", **evidence}


def _learning_curves(table, metric) -> dict:
    if table is None or not len(table):
        return {}
    lc = table[(table["split"] == "validation") & (table["metric"] == metric)]
    return {key: block.groupby("train_size")["score"].mean().sort_index().to_numpy()
            for key, block in lc.groupby(["dataset", "model"])}


def _validation_curves(table, metric) -> dict:
    if table is None or not len(table):
        return {}
    vc = table[table["metric"] == metric]
    return {key: curve_evidence(block) for key, block in vc.groupby(["dataset", "model"], sort=False)}


def verdict_table(results: pd.DataFrame, learning_curves: pd.DataFrame | None = None,
                  validation_curves: pd.DataFrame | None = None, metric: str | None = None) -> pd.DataFrame:
    """Apply :func:`verdict` to every dataset x model of the main results table.

    Parameters
    ----------
    results : pandas.DataFrame
        The tidy results table; its "train" and "validation" rows of ``metric`` with status
        "ok" are paired by ``fold``.
    learning_curves, validation_curves : pandas.DataFrame or None, default=None
        The experiments' tables (``study.experiments``), for evidence (c) and (d).
    metric : str or None, default=None
        Default: ``study.results.primary_metric(results)``.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`study.results.VERDICT_COLUMNS`.
    """
    metric = metric or primary_metric(results)
    ok = results[(results["status"] == "ok") & (results["metric"] == metric)
                 & results["split"].isin(["train", "validation"])]
    if ok.empty:
        return pd.DataFrame(columns=VERDICT_COLUMNS)
    paired = ok.pivot_table(index=["dataset", "model", "fold"], columns="split", values="score", aggfunc="mean")
    sizes = ok[ok["split"] == "validation"].groupby(["dataset", "model"])[["n_train", "n_test"]].mean()
    means = paired.groupby(level=["dataset", "model"])["validation"].mean()
    lcs, vcs = _learning_curves(learning_curves, metric), _validation_curves(validation_curves, metric)
    rows = []
    for dataset, model in results[["dataset", "model"]].drop_duplicates().itertuples(index=False):  # report order
        if (dataset, model) not in means.index:
            continue
        best_model = means.loc[dataset].idxmax()
        block = paired.loc[(dataset, model)]
        best = None if best_model == model else paired.loc[(dataset, best_model)]["validation"].reindex(block.index)
        result = verdict(block["train"].to_numpy(dtype=float), block["validation"].to_numpy(dtype=float),
                         n_train=float(sizes.loc[(dataset, model), "n_train"]),
                         n_test=float(sizes.loc[(dataset, model), "n_test"]),
                         best_scores=None if best is None else best.to_numpy(dtype=float), best_model=best_model,
                         learning_curve=lcs.get((dataset, model)), curves=vcs.get((dataset, model)))
        rows.append(dict(dataset=dataset, model=model, metric=metric, best_model=best_model, **result))
    return pd.DataFrame(rows, columns=VERDICT_COLUMNS)
