"""Fit verdicts: no better than chance, overfitting, not converged, underfitting, good fit or not
enough evidence, from the evidence, with a remedy only where the curves back it.

For each dataset x model the verdict weighs, all on the shared folds of the primary metric:

(a) the difference to the chance baseline (``backends.BASELINE``: a ``DummyClassifier`` /
    ``DummyRegressor`` on the same folds), with its corrected paired 95% interval;
(b) the train-validation gap, with its corrected paired 95% interval;
(c) the shortfall to the best model on the dataset (the baseline is never the best);
(d) the validation curves: whether a stronger setting of a regularization knob closes the gap;
(e) the learning curve's last gain, paired by fold, with its interval;
(f) for a Keras network, whether its training history was still improving at its end.

The evidence is read by ``study.statistics.evidence``; the rule (:data:`VERDICT_RULE`) is written
once, here, and printed in the report.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from study.results import BASELINE, VERDICT_COLUMNS, primary_metric, without_baseline
from study.statistics.evidence import (GAP_LARGE, GAP_MIN, LITTLE_COST, NO_INTERVAL, STILL_FALLING, closing_step,
                                       curve_evidence, gaining_step, interval, learning_curve_gain, narrowing_step,
                                       still_improving)

__all__ = ["VERDICTS", "VERDICT_RULE", "verdict", "verdict_table", "curve_evidence"]

VERDICTS = ("no better than chance", "overfitting", "not converged", "underfitting", "good fit",
            "not enough evidence")
MIN_FOLDS = 3
"""Fewer paired folds than this: not enough evidence."""
UNDERFIT_MARGIN = 0.01
"""Underfitting: the interval of the shortfall to the best model lies above this."""

VERDICT_RULE = f"""\
For each dataset x model, on the primary metric of the main comparison over the k shared folds
(higher is better; thresholds in points of a 0-1 metric such as accuracy). Each difference is the
mean of paired per-fold differences with its 95% interval corrected for the overlap of the folds'
training parts (Nadeau & Bengio 2003, as the pairwise tests): **vs chance** = this model's
validation score - the chance baseline's (`{BASELINE}`: the most frequent class's prior, or the
mean, on the same folds); **gap** = train - validation; **shortfall** = the best model's validation
score (highest mean CV, never `{BASELINE}`) - this one's. The first rule that matches decides:

1. fewer than {MIN_FOLDS} folds -> **not enough evidence**;
2. the vs-chance interval includes 0 or lies below it -> **no better than chance**, whatever the gap.
   When no model beats chance, a gap is fitted noise: no regularization setting and no more data
   of the same kind is advised. When another model beats chance, the remedy names it, and a
   confirmed gap gets the validation curves' evidence of rule 3 (a setting that closes it, or
   what the best one narrows);
3. the gap's interval lies above {GAP_MIN} -> **overfitting**. Remedy, in order: a stronger setting on
   the validation curves that closes the gap (its gap below {GAP_LARGE} and at most half the gap in
   use, at a CV cost of at most {LITTLE_COST}); else what the best setting achieves ("narrows ...; no
   setting closes it") and more training data if the learning curve's last gain is larger than
   its fold-to-fold uncertainty (its interval above 0), else a simpler model;
4. a Keras network whose shortfall's interval lies above {UNDERFIT_MARGIN} and whose training was still
   improving at its end (its inner validation loss fell by more than {STILL_FALLING:.0%} over the last fifth
   of the epochs without early stopping ever stopping it, or its learning curve's last gain is
   confirmed) -> **not converged** (remedy: train longer, more epochs or patience);
5. the shortfall's interval lies above {UNDERFIT_MARGIN} -> **underfitting** (remedy: a weaker setting that
   gains more than {LITTLE_COST} of CV, else a more flexible model or better features);
6. the gap's interval lies below {GAP_LARGE} -> **good fit** (within noise of the best or not, no
   confirmed gap, and no large gap possible; remedy: more data only when the learning curve's
   last gain is confirmed);
7. otherwise (the gap's interval reaches {GAP_LARGE}: the folds disagree too much) -> **not enough
   evidence** (remedy: more data, or more folds and repeats).
"""


def _not_closing(curves: list) -> str:
    """What the validation curves show when no setting closes the gap: the best one's narrowing."""
    narrowing = narrowing_step(curves)
    knobs = " or ".join(sweep["knob"] for sweep in curves)
    return f"no setting of {knobs} closes it" + (f" (the best, {narrowing.text()}, narrows it)" if narrowing else "")


def _overfitting_remedy(curves, lc) -> tuple:
    """(advice, remedy) of a confirmed gap: a closing setting, else the narrowest one and the next remedy."""
    closing = closing_step(curves or [])
    if closing is not None:
        return (f"regularize more: {closing.knob} {closing.new}",
                f"regularize more: {closing.text()} closes the gap (validation curve)")
    parts = [_not_closing(curves)] if curves else []
    if lc is not None and lc.confirmed:
        return "more training data", "; ".join([*parts, f"more training data: {lc.text()}"])
    return "a simpler model", "; ".join([*parts, "a simpler model, or features with more signal"])


def _chance_remedy(best_model: str, best_beats_chance: bool, history, curves, gap_confirmed: bool) -> tuple:
    """(advice, remedy) of a model no better than chance. Where another model beats chance (there is
    a signal) and this one has a confirmed gap, what its validation curves show about that gap."""
    if not best_beats_chance:
        advice, remedy = "no signal found", ("no model beats chance: the features carry no signal these models can "
                                             "find; check the target and the features (no regularization setting "
                                             "or more rows of the same kind is advised)")
    else:
        advice, remedy = f"use {best_model}", (f"{best_model} beats chance on these features: this model does not "
                                              "find the signal it finds")
        closing = closing_step(curves or []) if gap_confirmed else None
        if closing is not None:
            advice = f"regularize more: {closing.knob} {closing.new}"
            remedy += f"; its gap: regularize more: {closing.text()} closes it (validation curve)"
        elif gap_confirmed and curves:
            remedy += f"; its gap: {_not_closing(curves)}"
    if history is not None and history.improving:
        remedy += f"; {history.text()}: train longer first"
    return advice, remedy


def verdict(train_scores, validation_scores, *, n_train: float, n_test: float, best_scores=None,
            best_model: str = "", chance_scores=None, best_beats_chance: bool = True, learning_curve=None,
            curves=None, history=None, keras: bool = False) -> dict:
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
    chance_scores : array-like of shape (n_folds,) or None, default=None
        The chance baseline's per-fold validation scores; None: no chance rule.
    best_beats_chance : bool, default=True
        Whether the best model on the dataset is above chance (for the chance rule's remedy).
    learning_curve : study.statistics.evidence.CurveGain or None, default=None
        The learning curve's last gain.
    curves : list of dict or None, default=None
        ``study.statistics.evidence.curve_evidence`` of the model's validation curves.
    history : study.statistics.evidence.History or None, default=None
        How the model's Keras training history ended.
    keras : bool, default=False
        The model is a Keras network (rule 4).

    Returns
    -------
    dict
        ``verdict`` (one of :data:`VERDICTS`), ``advice`` (the remedy in a few words),
        ``reason`` (the rule that fired, with its numbers), ``remedy`` (with its evidence), and
        the evidence: ``n_folds``, ``train_mean``, ``validation_mean``, ``gap_*``,
        ``shortfall_*``, ``chance_mean``, ``chance_diff_*`` (``mean``, ``low``, ``high``),
        ``lc_last_gain``, ``lc_gain_low``, ``lc_gain_high`` (NaN where absent).

    Raises
    ------
    ValueError
        ``train_scores`` and ``validation_scores`` of different shapes.
    """
    train, val = np.asarray(train_scores, dtype=float), np.asarray(validation_scores, dtype=float)
    if train.shape != val.shape:
        raise ValueError(f"train_scores and validation_scores must pair fold by fold; got shapes "
                         f"{train.shape} and {val.shape}.")
    best = val if best_scores is None else np.asarray(best_scores, dtype=float)
    chance = np.full_like(val, np.nan) if chance_scores is None else np.asarray(chance_scores, dtype=float)
    keep = np.isfinite(train) & np.isfinite(val) & np.isfinite(best)
    train, val, best, chance = train[keep], val[keep], best[keep], chance[keep]
    k, nan = len(train), float("nan")
    gap, short = interval(train - val, n_train, n_test), interval(best - val, n_train, n_test)
    vs_chance = interval(val - chance, n_train, n_test) if np.isfinite(chance).all() and k else NO_INTERVAL
    lc = learning_curve.gain if learning_curve is not None else NO_INTERVAL
    evidence = dict(n_folds=k, train_mean=float(train.mean()) if k else nan,
                    validation_mean=float(val.mean()) if k else nan,
                    gap_mean=gap.mean, gap_low=gap.low, gap_high=gap.high, shortfall_mean=short.mean,
                    shortfall_low=short.low, shortfall_high=short.high,
                    chance_mean=float(chance.mean()) if k else nan, chance_diff_mean=vs_chance.mean,
                    chance_diff_low=vs_chance.low, chance_diff_high=vs_chance.high,
                    lc_last_gain=lc.mean, lc_gain_low=lc.low, lc_gain_high=lc.high)

    def decide(number, name, reason, advice, remedy):
        return dict(verdict=name, advice=advice, reason=f"{number}: {reason}", remedy=remedy, **evidence)

    if k < MIN_FOLDS:
        return decide(1, "not enough evidence", f"{k} paired fold(s) < {MIN_FOLDS}", "more folds", "more folds (--cv)")
    gap_text = f"gap {gap.mean:.3f} (95% CI {gap.low:.3f} to {gap.high:.3f})"
    short_text = (f"shortfall to the best ({best_model}) {short.mean:.3f} (95% CI {short.low:.3f} to "
                  f"{short.high:.3f})" if best_scores is not None else "the best CV on the dataset")
    if np.isfinite(vs_chance.low) and vs_chance.low <= 0:
        where = "includes 0" if vs_chance.high >= 0 else "lies below 0"
        gap_words = (f"; its {gap_text}" + ("" if best_beats_chance else " is fitted noise")
                     if gap.low > GAP_MIN else "")
        return decide(2, "no better than chance", f"CV {val.mean():.3f} vs chance ({BASELINE}) {chance.mean():.3f}: "
                      f"difference {vs_chance.text()} {where}{gap_words}",
                      *_chance_remedy(best_model, best_beats_chance, history, curves, gap.low > GAP_MIN))
    if gap.low > GAP_MIN:
        return decide(3, "overfitting", f"{gap_text} above {GAP_MIN}", *_overfitting_remedy(curves, learning_curve))
    underfit = short.low > UNDERFIT_MARGIN
    rising = ([history.text()] if history is not None and history.improving else []) + (
        [learning_curve.text()] if learning_curve is not None and learning_curve.confirmed else [])
    if underfit and keras and rising:
        return decide(4, "not converged", f"{short_text} above {UNDERFIT_MARGIN}; {'; '.join(rising)}", "train longer",
                      "train longer (more epochs, or more patience with early stopping): " + "; ".join(rising))
    if underfit:
        gaining = gaining_step(curves or [])
        advice, remedy = ((f"regularize less: {gaining.knob} {gaining.new}",
                           f"regularize less: {gaining.text()} (validation curve)") if gaining
                          else ("a more flexible model", "a more flexible model or better features"))
        return decide(5, "underfitting", f"{short_text} above {UNDERFIT_MARGIN}; {gap_text}", advice, remedy)
    if gap.high < GAP_LARGE:
        more = learning_curve is not None and learning_curve.confirmed
        return decide(6, "good fit", f"{gap_text}; {short_text}", "more data may help" if more else "none",
                      f"more data may still help: {learning_curve.text()}" if more else "none")
    return decide(7, "not enough evidence", f"the {gap_text} reaches {GAP_LARGE}: the folds disagree too much",
                  "more data or folds",
                  "more data, or more folds and repeats (--cv, --repeats)")


def _by_model(table, metric, read) -> dict:
    """``read(block)`` of each dataset x model of an experiment's table (``{}`` when it is absent)."""
    if table is None or not len(table):
        return {}
    if "metric" in table:
        table = table[table["metric"] == metric]
    return {key: read(block) for key, block in table.groupby(["dataset", "model"], sort=False)}


def _paired(results: pd.DataFrame, metric: str) -> tuple:
    """(per-fold train/validation scores by dataset x model x fold, fold sizes, frameworks)."""
    ok = results[(results["status"] == "ok") & (results["metric"] == metric)
                 & results["split"].isin(["train", "validation"])]
    paired = ok.pivot_table(index=["dataset", "model", "fold"], columns="split", values="score", aggfunc="mean")
    sizes = ok[ok["split"] == "validation"].groupby(["dataset", "model"])[["n_train", "n_test"]].mean()
    frameworks = ok.groupby(["dataset", "model"])["framework"].first()
    return paired, sizes, frameworks


def _above_chance(paired, sizes, dataset: str, model: str) -> bool:
    """Whether ``model``'s vs-chance interval on ``dataset`` lies above 0 (True without a baseline)."""
    if (dataset, BASELINE) not in sizes.index:
        return True
    val = paired.loc[(dataset, model)]["validation"]
    chance = paired.loc[(dataset, BASELINE)]["validation"].reindex(val.index)
    n_train, n_test = sizes.loc[(dataset, model)]
    return bool(interval((val - chance).to_numpy(), n_train, n_test).low > 0)


def verdict_table(results: pd.DataFrame, learning_curves: pd.DataFrame | None = None,
                  validation_curves: pd.DataFrame | None = None, metric: str | None = None,
                  histories: pd.DataFrame | None = None, subsamples: dict | None = None) -> pd.DataFrame:
    """Apply :func:`verdict` to every dataset x model of the main results table but the baseline.

    Parameters
    ----------
    results : pandas.DataFrame
        The tidy results table; its "train" and "validation" rows of ``metric`` with status
        "ok" are paired by ``fold``; the chance baseline's rows (``backends.BASELINE``) are the
        chance reference, never "best" and given no verdict.
    learning_curves, validation_curves, histories : pandas.DataFrame or None, default=None
        The experiments' tables (``study.experiments``), for the evidence (d), (e) and (f).
    metric : str or None, default=None
        Default: ``study.results.primary_metric(results)``.
    subsamples : dict of str to int or None, default=None
        Training rows of the subsample each dataset's diagnostics were fitted on (a time budget's,
        ``study.budget``), by dataset: a remedy resting on a validation curve says so (a gap there
        is larger than on the whole training part).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`study.results.VERDICT_COLUMNS`, in report order.
    """
    metric = metric or primary_metric(results)
    paired, sizes, frameworks = _paired(results, metric)
    if paired.empty:
        return pd.DataFrame(columns=VERDICT_COLUMNS)
    means = without_baseline(paired.groupby(level=["dataset", "model"])["validation"].mean().reset_index())
    means = means.set_index(["dataset", "model"])["validation"]
    lc_rows = None if learning_curves is None else learning_curves[learning_curves["split"] == "validation"]
    lcs = _by_model(lc_rows, metric, lambda block: block)
    vcs = _by_model(validation_curves, metric, curve_evidence)
    histories = _by_model(histories, metric, still_improving)
    rows = []
    for dataset, model in without_baseline(results[["dataset", "model"]].drop_duplicates()).itertuples(index=False):
        if (dataset, model) not in means.index:
            continue
        best_model = means.loc[dataset].idxmax()
        block = paired.loc[(dataset, model)]
        n_train, n_test = (float(v) for v in sizes.loc[(dataset, model)])
        best = None if best_model == model else paired.loc[(dataset, best_model)]["validation"].reindex(block.index)
        chance = (paired.loc[(dataset, BASELINE)]["validation"].reindex(block.index)
                  if (dataset, BASELINE) in sizes.index else None)
        lc = lcs.get((dataset, model))
        result = verdict(block["train"].to_numpy(dtype=float), block["validation"].to_numpy(dtype=float),
                         n_train=n_train, n_test=n_test, best_model=best_model,
                         best_scores=None if best is None else best.to_numpy(dtype=float),
                         chance_scores=None if chance is None else chance.to_numpy(dtype=float),
                         best_beats_chance=_above_chance(paired, sizes, dataset, best_model),
                         learning_curve=None if lc is None else learning_curve_gain(lc, n_train, n_test),
                         curves=vcs.get((dataset, model)), history=histories.get((dataset, model)),
                         keras=frameworks.get((dataset, model)) == "keras")
        rows.append(dict(dataset=dataset, model=model, metric=metric, best_model=best_model, **result))
        rows[-1]["remedy"] = _on_subsample(rows[-1]["remedy"], (subsamples or {}).get(dataset))
    return pd.DataFrame(rows, columns=VERDICT_COLUMNS)


def _on_subsample(remedy: str, rows: int | None) -> str:
    """``remedy``, saying that its validation curves were fitted on a subsample of ``rows`` rows."""
    if rows is None or not ("validation curve" in remedy or "no setting of" in remedy):
        return remedy
    return f"{remedy} (validation curves on a {rows:,}-row subsample of the training part: the time budget's)"
