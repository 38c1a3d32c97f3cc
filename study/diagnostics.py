"""Generalization diagnostics: learning and validation curves, Keras training histories,
regularization ablations, class imbalance, per-class recall and a fit verdict.

Every function here is pure computation and returns a tidy :class:`pandas.DataFrame` (one
row per dataset x model x ... x fold x split). The report (``study.diagnostics_report``)
reads only these tables.

The protocol rules (see ``study.protocol``) hold for every diagnostic:

- Everything is fitted on rows of ``splits.train`` only, through the shared folds
  ``splits.folds`` (positions into ``splits.train``), the same folds as the main comparison.
- ``splits.test`` is touched only to score a model refitted on the whole training part
  (:func:`ablation_table`, :func:`imbalance_table`), once per variant.
- Keras validation data (per-epoch ``val_loss``, early stopping) is an inner split of the
  data passed to ``fit`` (``validation_fraction``), never a fold's validation part.
- Every fit starts from a freshly built (or cloned) estimator seeded with ``seed``.
- With repeated k-fold (``splits.n_splits`` < ``len(splits.folds)``) the diagnostics use the
  first repetition's k folds (fold indices 0 .. k-1 of the results table).

Quick mode (``quick=True``) is a smoke test of the whole pipeline (about a minute for the
three default datasets): each model's ``quick_params`` (fewer epochs, trees), three values
per sweep, and only the first ``QUICK_FOLDS`` shared folds. A Keras fit costs 1-2 s of graph
tracing however small the data, so for Keras models quick mode also uses only the first
``QUICK_KERAS_FOLDS`` fold, two learning-curve sizes, no validation curves
(``QUICK_KERAS_SWEEPS = 0``; the quick ablation shows the regularizers' joint effect), and an
ablation of ``QUICK_ABLATION_VARIANTS`` without the hold-out refit (no test score).

Typical use, after the main study (:func:`run_study_diagnostics` does all of this)::

    splits = make_splits(dataset, cv, test_size, seed)           # the study's own splits
    best = best_params_from_results(results, dataset.name)       # GridSearchCV's choices
    tables = run_diagnostics(dataset, splits, best, models, seed=seed)
    tables["imbalance"] = imbalance_table(load_dataset("breast_cancer"), models, seed=seed,
                                          cv=cv, test_size=test_size)
    sections = study.diagnostics_report.report_sections(tables)  # for write_report(sections=...)
"""

from __future__ import annotations

import json
import math
import time
import warnings
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import get_scorer, make_scorer, recall_score
from sklearn.model_selection import cross_validate, learning_curve, validation_curve
from tqdm.auto import tqdm

from backends import get_model, make_estimator
from study.datasets import Dataset
from study.cache import cached
from study.protocol import Splits, make_splits, scoring_for, take_rows
from study.results import primary_metric
from study.tasks import Task, expected_cost, run_tasks

__all__ = [
    "Sweep", "SWEEPS", "VERDICT_RULE", "VERDICTS",
    "learning_curve_table", "validation_curve_table", "training_history_table", "ablation_table",
    "make_imbalanced", "imbalance_table", "per_class_recall", "verdict", "verdict_table",
    "best_params_from_results", "run_diagnostics", "run_study_diagnostics",
]

# --------------------------------------------------------------------------- settings

TRAIN_SIZES = np.linspace(0.1, 1.0, 5)
"""Learning-curve sizes, as fractions of a fold's training part."""
QUICK_TRAIN_SIZES = np.array([0.2, 0.6, 1.0])
"""Learning-curve sizes in quick mode."""
QUICK_KERAS_TRAIN_SIZES = np.array([0.5, 1.0])
"""Learning-curve sizes of Keras models in quick mode."""
QUICK_FOLDS = 2
"""Number of shared folds (the first ones) used in quick mode."""
QUICK_KERAS_FOLDS = 1
"""Number of shared folds (the first ones) used for Keras models in quick mode."""
QUICK_ABLATION_VARIANTS = ("baseline", "all combined")
"""Ablation variants in quick mode."""
QUICK_KERAS_SWEEPS = 0
"""Number of validation-curve sweeps (the first ones of :data:`SWEEPS`) of Keras models in quick mode."""
HISTORY_VALIDATION_FRACTION = 0.2
"""Inner validation fraction of the training histories and of early stopping in the ablation."""
PATIENCE, QUICK_PATIENCE = 10, 3
"""Early-stopping patience (epochs without a lower inner ``val_loss``), full and quick."""
HISTORY_EPOCHS = 100
"""Epochs of the training histories in a full study: long enough for the inner validation loss
to turn and early stopping to act (quick studies keep the model's quick epochs)."""
ABLATION_L2 = 1e-3
"""L2 factor of the ablation's "L2" variant when GridSearchCV did not choose a positive one."""
ABLATION_DROPOUT = 0.3
"""Dropout rate of the ablation's "dropout" variant when GridSearchCV did not choose one."""
HISTORY_CURVES = ("loss", "val_loss", "accuracy", "val_accuracy")
IMBALANCE_MODELS = ("logistic_regression", "ridge", "random_forest", "keras_dense")
"""Models of the class-imbalance study: those with a ``class_weight`` parameter."""

LEARNING_CURVE_COLUMNS = ["dataset", "model", "metric", "train_size", "train_fraction", "fold", "split", "score"]
VALIDATION_CURVE_COLUMNS = ["dataset", "model", "metric", "sweep", "param", "param_value", "param_label",
                            "log_scale", "chosen", "chosen_source", "fold", "split", "score"]
HISTORY_COLUMNS = ["dataset", "model", "fold", "variant", "epoch", "curve", "value", "stopped_epoch",
                   "best_epoch", "patience"]
ABLATION_COLUMNS = ["dataset", "model", "metric", "variant", "settings", "fold", "split", "score"]
IMBALANCE_COLUMNS = ["dataset", "model", "class_weight", "minority_class", "ratio", "metric", "fold",
                     "split", "score"]
PER_CLASS_COLUMNS = ["dataset", "model", "class", "recall", "support"]
FAILURE_COLUMNS = ["dataset", "model", "diagnostic", "error"]
TIMING_COLUMNS = ["dataset", "model", "diagnostic", "seconds"]
DATASET_TABLES = {"learning_curves": LEARNING_CURVE_COLUMNS, "validation_curves": VALIDATION_CURVE_COLUMNS,
                  "histories": HISTORY_COLUMNS, "ablation": ABLATION_COLUMNS}
"""The per-dataset tables of :func:`run_diagnostics` and their columns."""


@dataclass(frozen=True)
class Sweep:
    """One regularization path of a validation curve.

    Parameters
    ----------
    label : str
        Name of the sweep in tables and figures, e.g. ``"C, L2 penalty"``.
    param : str
        Routed parameter swept, e.g. ``"model__C"``.
    values : tuple
        Values of the full study (``None`` allowed, e.g. ``max_depth=None``).
    quick_values : tuple
        Three values for quick mode.
    log : bool, default=False
        Plot on a log axis.
    axis_label : str, default=""
        x-axis label with units.
    fixed : dict, default={}
        Other routed parameters set for this sweep only (e.g. the L1 solver).
    note : str, default=""
        How the GridSearchCV choice relates to this sweep (shown with the marked value).
    """

    label: str
    param: str
    values: tuple
    quick_values: tuple
    log: bool = False
    axis_label: str = ""
    fixed: dict = field(default_factory=dict)
    note: str = ""


SWEEPS = {
    "logistic_regression": (
        Sweep("C, L2 penalty", "model__C", (1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0), (0.1, 1.0, 10.0), log=True,
              axis_label="C (inverse penalty strength, log scale)"),
        # scikit-learn 1.8 deprecated ``penalty``; L1 is ``l1_ratio=1`` with the saga solver.
        # tol=1e-3 keeps a digits fit near 1 s (saga needs ~300 epochs; ~2500 at the default 1e-4);
        # a ConvergenceWarning at large C is silenced: the curve shows the score actually reached.
        Sweep("C, L1 penalty (saga)", "model__C", (1e-2, 1e-1, 1.0, 10.0, 100.0), (0.1, 1.0, 10.0), log=True,
              axis_label="C (inverse penalty strength, log scale)",
              fixed={"model__solver": "saga", "model__l1_ratio": 1.0, "model__tol": 1e-3, "model__max_iter": 2000},
              note="tuned with the L2 penalty"),
    ),
    "ridge": (
        Sweep("alpha, L2 penalty", "model__alpha", (1e-2, 1e-1, 1.0, 10.0, 100.0, 1000.0), (1.0, 10.0, 100.0),
              log=True, axis_label="alpha (L2 penalty strength, log scale)"),
    ),
    "random_forest": (
        Sweep("max_depth", "model__max_depth", (1, 2, 4, 8, 16, None), (2, 8, None), log=True,
              axis_label="max_depth (tree levels, log scale; None = unlimited)"),
        Sweep("min_samples_leaf", "model__min_samples_leaf", (1, 3, 5, 10, 20), (1, 5, 20), log=True,
              axis_label="min_samples_leaf (training samples per leaf, log scale)"),
    ),
    "keras_dense": (
        Sweep("L2 weight penalty", "model__l2", (0.0, 1e-4, 1e-3, 1e-2, 1e-1), (0.0, 1e-4, 1e-2), log=True,
              axis_label="l2 (penalty factor on hidden kernels, log scale; 0 = none)"),
        Sweep("dropout", "model__dropout", (0.0, 0.15, 0.3, 0.45, 0.6), (0.0, 0.3, 0.6),
              axis_label="dropout rate (fraction of hidden units dropped)"),
    ),
    "keras_cnn": (
        Sweep("dropout", "model__dropout", (0.0, 0.25, 0.5), (0.0, 0.25, 0.5),
              axis_label="dropout rate (fraction of units dropped)"),
        Sweep("L2 weight penalty", "model__l2", (0.0, 1e-4, 1e-3, 1e-2), (0.0, 1e-3, 1e-2), log=True,
              axis_label="l2 (penalty factor on kernels, log scale; 0 = none)"),
    ),
}
"""Validation-curve sweeps per model. GridSearchCV's chosen value is added to a sweep if
missing, so the choice is always a computed point. Plot positions (``param_value``): ``None``
(unlimited depth) sits at twice the largest finite value (one octave right of it on the log
axis), and 0 on a log axis at a tenth of the smallest positive value; ``param_label`` keeps
the true value ("None", "0")."""

# --------------------------------------------------------------------------- the verdict

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
        A :func:`learning_curve_table` (several datasets allowed); its validation rows of the
        same metric give each model's last learning-curve gain.
    metric : str or None, default=None
        Default: ``study.results.primary_metric(results)``.

    Returns
    -------
    pandas.DataFrame
        Columns dataset, model, metric, verdict, reason, and the evidence of :func:`verdict`.
    """
    metric = metric or primary_metric(results)
    ok = results[(results["status"] == "ok") & (results["metric"] == metric)
                 & results["split"].isin(["train", "validation"])]
    columns = ["dataset", "model", "metric", "verdict", "reason", "n_folds", "train_mean", "validation_mean",
               "validation_std", "gap_mean", "gap_se", "gap_t", "best_validation", "train_deficit", "lc_last_gain"]
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


# --------------------------------------------------------------------------- helpers

def _route(params) -> dict:
    if params is None:
        return {}
    if isinstance(params, str):
        params = json.loads(params) if params else {}
    return {k if "__" in k else f"model__{k}": v for k, v in dict(params).items()}


def _check_applies(dataset: Dataset, model: str):
    spec = get_model(model)
    if not spec.supports(dataset.task, dataset.image_shape):
        raise ValueError(f"Model {model!r} does not apply to dataset {dataset.name!r} (task {dataset.task!r}, "
                         f"image_shape {dataset.image_shape!r}); choose models with "
                         "get_model(name).supports(task, image_shape).")
    return spec


def _check_keras(dataset: Dataset, model: str, what: str):
    spec = _check_applies(dataset, model)
    if spec.framework != "keras":
        raise ValueError(f"{what} needs a Keras model; got {model!r} (framework {spec.framework!r}). "
                         "Use keras_dense or keras_cnn.")
    return spec


def _estimator(dataset: Dataset, model: str, params, *, seed: int, quick: bool, **overrides):
    """Fresh estimator: the model's quick parameters, then ``params``, then ``overrides``."""
    spec = get_model(model)
    routed = {**_route(spec.quick_params if quick else {}), **_route(params), **_route(overrides)}
    return make_estimator(model, dataset.task, random_state=seed, image_shape=dataset.image_shape, **routed)


def _folds(splits: Splits, model: str, quick: bool) -> list:
    """The shared folds a diagnostic uses: the first repetition's k folds (see the module notes)."""
    folds = list(splits.folds)[:getattr(splits, "n_splits", None) or len(splits.folds)]
    if quick:
        return folds[:QUICK_KERAS_FOLDS if get_model(model).framework == "keras" else QUICK_FOLDS]
    return folds


def _jobs(model: str, n_jobs):
    return 1 if get_model(model).framework == "keras" else n_jobs


def _train_part(dataset: Dataset, splits: Splits):
    return take_rows(dataset.X, splits.train), dataset.y[splits.train]


def _test_part(dataset: Dataset, splits: Splits):
    return take_rows(dataset.X, splits.test), dataset.y[splits.test]


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    try:
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=0.0)
    except (TypeError, ValueError):
        return a == b


def _positions(values, log: bool) -> list:
    """Numeric plot positions of sweep values (see :data:`SWEEPS` for None and 0)."""
    finite = [float(v) for v in values if v is not None]
    positive = [v for v in finite if v > 0]
    out = []
    for v in values:
        if v is None:
            top = max(finite) if finite else 1.0
            out.append(top * 2 if log else top + (top - min(finite) if len(finite) > 1 else 1.0) / max(len(finite) - 1, 1))
        elif log and float(v) <= 0:
            out.append(min(positive) / 10 if positive else 1e-6)
        else:
            out.append(float(v))
    return out


def _label(v) -> str:
    return "None" if v is None else f"{v:g}" if isinstance(v, (int, float, np.number)) else str(v)


def _score_rows(base: dict, train_scores, val_scores, fold_ids) -> list:
    rows = []
    for j, k in enumerate(fold_ids):
        rows.append({**base, "fold": k, "split": "train", "score": float(train_scores[j])})
        rows.append({**base, "fold": k, "split": "validation", "score": float(val_scores[j])})
    return rows


def _frame(rows: list, columns: list) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=columns)
    if "fold" in frame:
        frame["fold"] = frame["fold"].astype("Int64")
    return frame


# --------------------------------------------------------------------------- 1. learning curves

def learning_curve_table(dataset: Dataset, splits: Splits, model: str, params=None, *, metric: str,
                         seed: int = 0, train_sizes=None, quick: bool = False, n_jobs=None) -> pd.DataFrame:
    """Train and CV scores of ``model`` against the training-set size, on the shared folds.

    ``sklearn.model_selection.learning_curve`` on ``X[splits.train]`` with ``cv=splits.folds``:
    for each fold, a seeded random subset (``shuffle=True, random_state=seed``, so small
    subsets contain every class) of its training part is fitted and scored on itself and on
    the fold's validation part. As in scikit-learn, the sizes are fractions of the *first*
    fold's training part, so a fold one row larger (folds differ by at most one row) leaves one
    random row out at the largest size.

    Parameters
    ----------
    dataset : Dataset
    splits : Splits
        The comparison's splits; only ``splits.train`` and ``splits.folds`` are used.
    model : str
        Registered model name.
    params : dict, JSON str or None, default=None
        GridSearchCV's best parameters (``{"model__C": 1.0}``).
    metric : str
        scikit-learn scorer name (higher is better).
    seed : int, default=0
        The model's ``random_state`` and the subset shuffling seed.
    train_sizes : array-like of float in (0, 1] or None, default=None
        Fractions of each fold's training part; default :data:`TRAIN_SIZES`
        (``np.linspace(0.1, 1.0, 5)``), :data:`QUICK_TRAIN_SIZES` when quick
        (:data:`QUICK_KERAS_TRAIN_SIZES` for Keras models).
    quick : bool, default=False
        Quick parameters and the first :data:`QUICK_FOLDS` folds (Keras models:
        :data:`QUICK_KERAS_FOLDS`).
    n_jobs : int or None, default=None
        Parallel fits (Keras models always use 1).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`LEARNING_CURVE_COLUMNS`: ``train_size`` (absolute number of training
        examples), ``train_fraction`` (of the first fold's training part), ``fold`` (shared
        fold index), ``split`` ("train" | "validation"), ``score``.
    """
    _check_applies(dataset, model)
    X, y = _train_part(dataset, splits)
    folds = _folds(splits, model, quick)
    keras = get_model(model).framework == "keras"
    default = (QUICK_KERAS_TRAIN_SIZES if keras else QUICK_TRAIN_SIZES) if quick else TRAIN_SIZES
    sizes = np.asarray(train_sizes if train_sizes is not None else default)
    estimator = _estimator(dataset, model, params, seed=seed, quick=quick)
    sizes_abs, train_scores, val_scores = learning_curve(
        estimator, X, y, train_sizes=sizes, cv=folds, scoring=metric, n_jobs=_jobs(model, n_jobs),
        shuffle=True, random_state=seed, error_score="raise",
    )
    n_max = len(folds[0][0])
    rows = []
    for i, n in enumerate(sizes_abs):
        base = dict(dataset=dataset.name, model=model, metric=metric, train_size=int(n), train_fraction=n / n_max)
        rows += _score_rows(base, train_scores[i], val_scores[i], range(len(folds)))
    return _frame(rows, LEARNING_CURVE_COLUMNS)


# --------------------------------------------------------------------------- 2. validation curves

def validation_curve_table(dataset: Dataset, splits: Splits, model: str, params=None, *, metric: str,
                           seed: int = 0, quick: bool = False, n_jobs=None) -> pd.DataFrame:
    """Regularization paths: train and CV scores along each sweep of :data:`SWEEPS`.

    ``sklearn.model_selection.validation_curve`` on ``X[splits.train]`` with
    ``cv=splits.folds``; all other parameters are GridSearchCV's choice ``params``.

    Parameters
    ----------
    dataset, splits, model, params, metric, seed, quick, n_jobs
        As :func:`learning_curve_table`. Quick mode sweeps each sweep's three ``quick_values``
        (Keras models: only the first :data:`QUICK_KERAS_SWEEPS` sweep(s)).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`VALIDATION_CURVE_COLUMNS`: ``sweep`` (label), ``param`` (routed name),
        ``param_value`` (plot position, float; see :data:`SWEEPS` for None and 0),
        ``param_label`` (the value as text), ``log_scale`` (bool), ``chosen`` (True at the value
        in use: GridSearchCV's choice if the parameter was tuned, else the estimator's
        value), ``chosen_source`` ("GridSearchCV", "GridSearchCV (<note>)" or
        "default (not tuned)"), ``fold``, ``split``, ``score``.
    """
    _check_applies(dataset, model)
    X, y = _train_part(dataset, splits)
    folds = _folds(splits, model, quick)
    routed = _route(params)
    rows = []
    sweeps = SWEEPS.get(model, ())
    if quick and get_model(model).framework == "keras":
        sweeps = sweeps[:QUICK_KERAS_SWEEPS]
    for sweep in sweeps:
        estimator = _estimator(dataset, model, routed, seed=seed, quick=quick, **sweep.fixed)
        tuned = sweep.param in routed
        chosen = routed[sweep.param] if tuned else estimator.get_params()[sweep.param]
        source = (f"GridSearchCV ({sweep.note})" if sweep.note else "GridSearchCV") if tuned else "default (not tuned)"
        values = list(sweep.quick_values if quick else sweep.values)
        if not any(_same(v, chosen) for v in values):
            values.append(chosen)
        positions = _positions(values, sweep.log)
        order = np.argsort(positions, kind="stable")
        values, positions = [values[i] for i in order], [positions[i] for i in order]
        with warnings.catch_warnings():
            if sweep.fixed.get("model__solver") == "saga":
                warnings.simplefilter("ignore", ConvergenceWarning)
            train_scores, val_scores = validation_curve(
                estimator, X, y, param_name=sweep.param, param_range=values, cv=folds, scoring=metric,
                n_jobs=_jobs(model, n_jobs), error_score="raise",
            )
        for i, (value, position) in enumerate(zip(values, positions)):
            base = dict(dataset=dataset.name, model=model, metric=metric, sweep=sweep.label, param=sweep.param,
                        param_value=float(position), param_label=_label(value), log_scale=sweep.log,
                        chosen=_same(value, chosen), chosen_source=source)
            rows += _score_rows(base, train_scores[i], val_scores[i], range(len(folds)))
    return _frame(rows, VALIDATION_CURVE_COLUMNS)


# --------------------------------------------------------------------------- 3. Keras histories

def training_history_table(dataset: Dataset, splits: Splits, model: str, params=None, *, seed: int = 0,
                           quick: bool = False, patience: int | None = None) -> pd.DataFrame:
    """Per-epoch loss and accuracy of a Keras model, without and with early stopping.

    Both fits run :data:`HISTORY_EPOCHS` epochs at most (the quick epochs when ``quick``) on the
    training part of shared fold 0 only (``X[splits.train][folds[0][0]]``),
    of which a stratified, seeded inner split of :data:`HISTORY_VALIDATION_FRACTION` gives the
    per-epoch ``val_loss``; the early-stopping fit monitors that ``val_loss`` and restores the
    best weights.

    Parameters
    ----------
    dataset, splits, model, params, seed, quick
        As :func:`learning_curve_table`.
    patience : int or None, default=None
        Epochs without improvement before stopping; default :data:`PATIENCE` (10), or
        :data:`QUICK_PATIENCE` (3) when quick.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`HISTORY_COLUMNS`: ``variant`` ("no early stopping" | "early stopping"),
        ``epoch`` (1-based), ``curve`` ("loss", "val_loss", "accuracy", "val_accuracy"),
        ``value``, ``stopped_epoch`` (last epoch run, 1-based), ``best_epoch`` (restored
        epoch, 1-based; NA without early stopping), ``patience``.

    Raises
    ------
    ValueError
        If ``model`` is not a Keras model or does not apply to the dataset.
    """
    _check_keras(dataset, model, "training_history_table")
    patience = patience if patience is not None else (QUICK_PATIENCE if quick else PATIENCE)
    X, y = _train_part(dataset, splits)
    fit = splits.folds[0][0]
    X, y = take_rows(X, fit), y[fit]
    rows = []
    for variant, stopping in (("no early stopping", False), ("early stopping", True)):
        longer = {} if quick else {"epochs": HISTORY_EPOCHS}
        estimator = _estimator(dataset, model, params, seed=seed, quick=quick, early_stopping=stopping,
                               validation_fraction=HISTORY_VALIDATION_FRACTION, patience=patience, **longer)
        estimator.fit(X, y)
        net = estimator[-1]
        best = net.best_epoch_ if stopping else None
        for curve in HISTORY_CURVES:
            for epoch, value in enumerate(net.history_.get(curve, []), start=1):
                rows.append(dict(dataset=dataset.name, model=model, fold=0, variant=variant, epoch=epoch,
                                 curve=curve, value=float(value), stopped_epoch=int(net.stopped_epoch_),
                                 best_epoch=best, patience=patience))
    frame = _frame(rows, HISTORY_COLUMNS)
    frame["best_epoch"] = frame["best_epoch"].astype("Int64")
    return frame


# --------------------------------------------------------------------------- 4. ablation

def _ablation_variants(dataset: Dataset, model: str, params, quick: bool, available: set) -> list:
    """(name, routed settings) of each variant; techniques whose knob the model lacks are left out."""
    routed = _route(params)
    l2 = routed.get("model__l2") or ABLATION_L2
    dropout = routed.get("model__dropout") or ABLATION_DROPOUT
    patience = QUICK_PATIENCE if quick else PATIENCE
    off = {"model__l2": 0.0, "model__dropout": 0.0, "model__early_stopping": False,
           "model__validation_fraction": 0.0, "model__augment": False}
    techniques = {
        "L2": {"model__l2": l2},
        "dropout": {"model__dropout": dropout},
        "early stopping": {"model__early_stopping": True, "model__patience": patience,
                           "model__validation_fraction": HISTORY_VALIDATION_FRACTION},
        "augmentation": {"model__augment": True},
    }
    if dataset.image_shape is None:
        del techniques["augmentation"]
    techniques = {name: extra for name, extra in techniques.items() if set(extra) <= available}
    if not techniques:
        raise ValueError(f"Model {model!r} has none of the ablation's knobs (l2, dropout, early_stopping, "
                         "augment); nothing to ablate.")
    baseline = {k: v for k, v in off.items() if k in available}
    variants = [("baseline", baseline)] + [(name, {**baseline, **extra}) for name, extra in techniques.items()]
    combined = dict(baseline)
    for extra in techniques.values():
        combined.update(extra)
    return variants + [("all combined", combined)]


def _settings_text(settings: dict) -> str:
    out = [f"{k}={settings['model__' + k]:g}" for k in ("l2", "dropout") if f"model__{k}" in settings]
    if settings.get("model__early_stopping"):
        out.append(f"early stopping (patience {settings['model__patience']}, "
                   f"{settings['model__validation_fraction']:.0%} inner validation)")
    if settings.get("model__augment"):
        out.append("augmentation")
    return ", ".join(out)


def ablation_table(dataset: Dataset, splits: Splits, model: str, params=None, *, metric: str, seed: int = 0,
                   quick: bool = False) -> pd.DataFrame:
    """Regularization ablation of a Keras model: each technique alone and all combined.

    Variants (other parameters: GridSearchCV's ``params``): "baseline" (l2=0, dropout=0, no
    early stopping, no augmentation); "L2" (GridSearchCV's l2 if positive, else
    :data:`ABLATION_L2`); "dropout" (GridSearchCV's rate if positive, else
    :data:`ABLATION_DROPOUT`); "early stopping" (patience :data:`PATIENCE`, monitoring an
    inner :data:`HISTORY_VALIDATION_FRACTION` split of the data passed to ``fit``, which
    therefore trains on 80% of it); "augmentation" (``augment=True``; keras_cnn on image data
    only); "all combined". A technique whose parameter the model lacks (a user's Keras build
    function has no ``l2``) is left out. Each variant: ``cross_validate(cv=splits.folds,
    return_train_score=True)`` on the training part, then a refit on the whole training part
    scored once on ``splits.test``.

    Parameters
    ----------
    dataset, splits, model, params, metric, seed
        As :func:`learning_curve_table`.
    quick : bool, default=False
        Quick parameters, the first :data:`QUICK_KERAS_FOLDS` fold(s), only the variants
        :data:`QUICK_ABLATION_VARIANTS`, and no hold-out refit (no "test" rows).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`ABLATION_COLUMNS`: ``variant``, ``settings`` (text), ``fold`` (NA for
        test), ``split`` ("train" | "validation" | "test"), ``score``.

    Raises
    ------
    ValueError
        If ``model`` is not a Keras model or does not apply to the dataset.
    """
    _check_keras(dataset, model, "ablation_table")
    X, y = _train_part(dataset, splits)
    folds = _folds(splits, model, quick)
    scorer = get_scorer(metric)
    rows = []
    available = set(_estimator(dataset, model, params, seed=seed, quick=quick).get_params())
    for variant, settings in _ablation_variants(dataset, model, params, quick, available):
        if quick and variant not in QUICK_ABLATION_VARIANTS:
            continue
        estimator = _estimator(dataset, model, params, seed=seed, quick=quick, **settings)
        cv = cross_validate(estimator, X, y, cv=folds, scoring=metric, return_train_score=True, n_jobs=1,
                            error_score="raise")
        base = dict(dataset=dataset.name, model=model, metric=metric, variant=variant,
                    settings=_settings_text(settings))
        rows += _score_rows(base, cv["train_score"], cv["test_score"], range(len(folds)))
        if quick:
            continue  # quick: no hold-out refit (see the module docstring)
        refit = _estimator(dataset, model, params, seed=seed, quick=quick, **settings).fit(X, y)
        rows.append({**base, "fold": None, "split": "test", "score": float(scorer(refit, *_test_part(dataset, splits)))})
    return _frame(rows, ABLATION_COLUMNS)


# --------------------------------------------------------------------------- 5. class imbalance

def _class_name(dataset: Dataset, label) -> str:
    classes = np.unique(dataset.y)
    names = dataset.target_names
    if names is not None and len(names) == len(classes):
        return str(names[int(np.flatnonzero(classes == label)[0])])
    return str(label)


def make_imbalanced(dataset: Dataset, minority_class=None, ratio: float = 0.1, seed: int = 0) -> Dataset:
    """A copy of a classification dataset in which one class is made rare.

    A seeded random subset of ``minority_class`` is kept, ``round(ratio * n_majority)`` rows,
    where ``n_majority`` is the size of the largest other class; the other classes are kept
    whole and the row order is preserved.

    Parameters
    ----------
    dataset : Dataset
        A classification dataset.
    minority_class : label, class name or None, default=None
        The class to subsample, as a value of ``dataset.y`` or a name of
        ``dataset.target_names``. Default: the least frequent class (for binary data the
        smaller class; ties go to the first in ``np.unique(y)`` order).
    ratio : float in (0, 1], default=0.1
        Target minority/majority size ratio.
    seed : int, default=0
        Seed of the subsample.

    Returns
    -------
    Dataset
        Named ``f"{dataset.name}_imbalanced"``; same task, image shape and names; a
        predefined ``test_index`` is mapped to the kept rows.

    Raises
    ------
    ValueError
        Regression data, a ratio outside (0, 1], an unknown class, or a ratio that needs more
        rows than the class has or rounds to zero rows.
    """
    if dataset.task != "classification":
        raise ValueError(f"make_imbalanced needs a classification dataset; {dataset.name!r} has task "
                         f"{dataset.task!r}.")
    if not (isinstance(ratio, (int, float, np.number)) and 0 < ratio <= 1):
        raise ValueError(f"ratio must be a number in (0, 1] (minority/majority class size); got {ratio!r}. "
                         "Use e.g. 0.1 for one minority row per ten majority rows.")
    classes, counts = np.unique(dataset.y, return_counts=True)
    label = _resolve_minority(dataset, minority_class)
    shown = label.item() if isinstance(label, np.generic) else label  # plain repr in messages
    n_have = int(counts[classes == label][0])
    n_majority = int(counts[classes != label].max())
    n_keep = int(round(ratio * n_majority))
    if n_keep < 1:
        raise ValueError(f"ratio={ratio!r} keeps round({ratio!r} * {n_majority}) = 0 rows of class {shown!r}; "
                         f"use ratio >= {0.5 / n_majority:.4f}.")
    if n_keep > n_have:
        raise ValueError(f"ratio={ratio!r} needs {n_keep} rows of class {shown!r} ({ratio!r} * {n_majority} "
                         f"majority rows) but it has only {n_have}; use ratio <= {n_have / n_majority:.4f}.")
    rng = np.random.default_rng(seed)
    members = np.flatnonzero(dataset.y == label)
    kept = np.sort(np.concatenate([np.flatnonzero(dataset.y != label), rng.choice(members, n_keep, replace=False)]))
    X = take_rows(dataset.X, kept)
    if isinstance(X, pd.DataFrame):
        X = X.reset_index(drop=True)
    test_index = getattr(dataset, "test_index", None)
    extra = {} if test_index is None else {"test_index": np.flatnonzero(np.isin(kept, test_index))}
    return replace(dataset, name=f"{dataset.name}_imbalanced", X=X, y=dataset.y[kept], **extra)


def _resolve_minority(dataset: Dataset, minority_class):
    """The label of ``minority_class`` (a label or a class name); default the rarest class."""
    classes, counts = np.unique(dataset.y, return_counts=True)
    if minority_class is None:
        return classes[int(np.argmin(counts))]
    for label in classes:
        if isinstance(label, str) == isinstance(minority_class, str) and label == minority_class:
            return label
    names = list(dataset.target_names or [])
    if isinstance(minority_class, str) and minority_class in names and len(names) == len(classes):
        return classes[names.index(minority_class)]
    hint = f" or one of the names {names}" if names else ""
    raise ValueError(f"Unknown minority_class {minority_class!r} for dataset {dataset.name!r}; "
                     f"expected one of the labels {classes.tolist()}{hint}.")


def imbalance_table(dataset: Dataset, models, *, seed: int = 0, cv: int = 5, test_size: float = 0.2,
                    quick: bool = False, n_jobs=None, ratio: float = 0.1, minority_class=None) -> pd.DataFrame:
    """Class weighting off vs on, on an imbalanced copy of ``dataset``.

    :func:`make_imbalanced` (``ratio``, ``minority_class``, ``seed``) then its own
    :func:`study.protocol.make_splits` (``cv``, ``test_size``, ``seed``). For every model of
    ``models`` in :data:`IMBALANCE_MODELS` that applies, with its default parameters (plus
    quick parameters) and ``class_weight`` None ("off") or "balanced" ("on"):
    ``cross_validate`` on the shared folds of the training part, then a refit on the whole
    training part scored once on the hold-out test split.

    Parameters
    ----------
    dataset : Dataset
        A classification dataset (breast_cancer is the natural choice).
    models : iterable of str
    seed, cv, test_size : int, int, float
        As the main study.
    quick : bool, default=False
        Quick parameters and the first :data:`QUICK_FOLDS` folds (Keras: :data:`QUICK_KERAS_FOLDS`);
        the hold-out refit is kept.
    n_jobs : int or None, default=None
        Parallel fold fits of scikit-learn models.
    ratio : float, default=0.1
    minority_class : label, name or None, default=None

    Returns
    -------
    pandas.DataFrame
        Columns :data:`IMBALANCE_COLUMNS`: ``dataset`` (the imbalanced name),
        ``class_weight`` ("off" | "on"), ``minority_class`` (name), ``ratio``, ``metric``
        ("accuracy", "balanced_accuracy", ``"recall[<class name>]"`` per class), ``fold``,
        ``split`` ("train" | "validation" | "test"), ``score``.
    """
    data = make_imbalanced(dataset, minority_class=minority_class, ratio=ratio, seed=seed)
    splits = make_splits(data, cv, test_size, seed)
    minority = _resolve_minority(dataset, minority_class)
    scoring = {"accuracy": get_scorer("accuracy"), "balanced_accuracy": get_scorer("balanced_accuracy")}
    for label in np.unique(data.y):
        scoring[f"recall[{_class_name(data, label)}]"] = make_scorer(
            recall_score, labels=[label], average="macro", zero_division=0.0)
    X, y = _train_part(data, splits)
    rows = []
    for model in models:
        if model not in IMBALANCE_MODELS or not get_model(model).supports(data.task, data.image_shape):
            continue
        for switch, weight in (("off", None), ("on", "balanced")):
            folds = _folds(splits, model, quick)
            estimator = _estimator(data, model, {}, seed=seed, quick=quick, class_weight=weight)
            result = cross_validate(estimator, X, y, cv=folds, scoring=scoring, return_train_score=True,
                                    n_jobs=_jobs(model, n_jobs), error_score="raise")
            refit = _estimator(data, model, {}, seed=seed, quick=quick, class_weight=weight).fit(X, y)
            for metric, scorer in scoring.items():
                base = dict(dataset=data.name, model=model, class_weight=switch,
                            minority_class=_class_name(data, minority), ratio=ratio, metric=metric)
                rows += _score_rows(base, result[f"train_{metric}"], result[f"test_{metric}"],
                                    range(len(folds)))
                rows.append({**base, "fold": None, "split": "test", "score": float(scorer(refit, *_test_part(data, splits)))})
    return _frame(rows, IMBALANCE_COLUMNS)


# --------------------------------------------------------------------------- 6. per-class recall

def per_class_recall(predictions: pd.DataFrame, class_names: dict | None = None) -> pd.DataFrame:
    """Recall of every class on the hold-out test predictions, per dataset x model.

    Parameters
    ----------
    predictions : pandas.DataFrame
        Columns dataset, model, index, y_true, y_pred (``study.results.PREDICTION_COLUMNS``).
    class_names : dict or None, default=None
        ``{dataset: names}`` with ``names`` a list (indexed by integer label, as
        ``Dataset.target_names``) or a dict ``{label: name}``; default: the labels as text.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`PER_CLASS_COLUMNS`: ``class`` (name), ``recall`` (fraction of the
        class's test rows predicted as it; NaN if it has none), ``support`` (its test rows).
    """
    rows = []
    for (dataset, model), block in predictions.groupby(["dataset", "model"], sort=False):
        truth, pred = block["y_true"].to_numpy(), block["y_pred"].to_numpy()
        names = (class_names or {}).get(dataset)
        for label in np.unique(truth):
            mask = truth == label
            if isinstance(names, dict):
                name = names.get(label, str(label))
            elif names is not None and isinstance(label, (int, np.integer)) and 0 <= label < len(names):
                name = names[int(label)]
            else:
                name = str(label)
            rows.append(dict(dataset=dataset, model=model, **{"class": str(name)},
                             recall=float((pred[mask] == label).mean()), support=int(mask.sum())))
    return pd.DataFrame(rows, columns=PER_CLASS_COLUMNS)


# --------------------------------------------------------------------------- 8. runner

def best_params_from_results(results: pd.DataFrame, dataset: str) -> dict:
    """GridSearchCV's best parameters per model of ``dataset``, from the results table.

    Returns
    -------
    dict
        ``{model: {"model__C": 1.0, ...}}`` for the units with status "ok".
    """
    rows = results[(results["dataset"] == dataset) & (results["status"] == "ok")]
    return {m: _route(p) for m, p in rows.drop_duplicates("model")[["model", "best_params"]].itertuples(index=False)}


def run_diagnostics(dataset: Dataset, splits: Splits, best_params: dict, models, *, seed: int = 0,
                    quick: bool = False, n_jobs=None, metric: str | None = None, progress: bool = True) -> dict:
    """All per-dataset diagnostics of every applicable model; failures are recorded, not raised.

    Learning and validation curves for every model of ``models`` that applies to the dataset;
    training histories and the ablation for Keras models.

    Parameters
    ----------
    dataset : Dataset
    splits : Splits
        The comparison's splits of ``dataset``.
    best_params : dict
        ``{model: params}`` (dict or JSON string), GridSearchCV's choices; a missing model
        uses its default parameters.
    models : iterable of str
    seed : int, default=0
    quick : bool, default=False
    n_jobs : int or None, default=None
        Parallel fits of scikit-learn models.
    metric : str or None, default=None
        scikit-learn scorer name; default the task's primary metric
        (``study.protocol.scoring_for(task)[0]``); pass the study's first metric if it has its own.
    progress : bool, default=True
        Show a tqdm progress bar.

    Returns
    -------
    dict of str to pandas.DataFrame
        "learning_curves", "validation_curves", "histories", "ablation" (columns as the
        functions above), "failures" (:data:`FAILURE_COLUMNS`: a diagnostic that raised, with
        ``"Type: message"``; a ``RuntimeWarning`` is issued too) and "timings"
        (:data:`TIMING_COLUMNS`, wall seconds per diagnostic).
    """
    metric = metric or scoring_for(dataset.task)[0]
    jobs = []
    for model in models:
        spec = get_model(model)
        if not spec.supports(dataset.task, dataset.image_shape):
            continue
        params = _route((best_params or {}).get(model))
        common = dict(seed=seed, quick=quick)
        jobs.append(("learning_curves", model, lambda m=model, p=params: learning_curve_table(
            dataset, splits, m, p, metric=metric, n_jobs=n_jobs, **common)))
        if SWEEPS.get(model) and not (quick and spec.framework == "keras" and not QUICK_KERAS_SWEEPS):
            jobs.append(("validation_curves", model, lambda m=model, p=params: validation_curve_table(
                dataset, splits, m, p, metric=metric, n_jobs=n_jobs, **common)))
        if spec.framework == "keras":
            jobs.append(("histories", model, lambda m=model, p=params: training_history_table(
                dataset, splits, m, p, **common)))
            jobs.append(("ablation", model, lambda m=model, p=params: ablation_table(
                dataset, splits, m, p, metric=metric, **common)))
    parts = {key: [] for key in DATASET_TABLES}
    failures, timings = [], []
    bar = tqdm(jobs, desc=f"diagnostics {dataset.name}", unit="diag", disable=not progress)
    for key, model, job in bar:
        bar.set_postfix_str(f"{model} / {key}")
        start = time.perf_counter()
        try:
            parts[key].append(job())
        except Exception as exc:  # a failing diagnostic is recorded; the study goes on
            reason = f"{type(exc).__name__}: {exc}"
            warnings.warn(f"diagnostic {key} of {model} on {dataset.name} failed: {reason}", RuntimeWarning,
                          stacklevel=2)
            failures.append(dict(dataset=dataset.name, model=model, diagnostic=key, error=reason))
        timings.append(dict(dataset=dataset.name, model=model, diagnostic=key,
                            seconds=time.perf_counter() - start))
    tables = {key: (pd.concat(frames, ignore_index=True) if frames else _frame([], DATASET_TABLES[key]))
              for key, frames in parts.items()}
    tables["failures"] = pd.DataFrame(failures, columns=FAILURE_COLUMNS)
    tables["timings"] = pd.DataFrame(timings, columns=TIMING_COLUMNS)
    return tables


# --------------------------------------------------------------------------- study level

IMBALANCE_DATASET = "breast_cancer"
"""Dataset of the class-imbalance experiment when the study has it; else its first binary
classification dataset (none: no imbalance table)."""


def _concat(frames: dict) -> dict:
    """One table per key; empty parts are left out, so they cannot turn a float column into object."""
    return {key: pd.concat([part for part in parts if len(part)] or parts[:1], ignore_index=True)
            for key, parts in frames.items()}


def run_study_diagnostics(spec, datasets: list, results: pd.DataFrame, predictions: pd.DataFrame, *,
                          progress: bool = True, memory=None) -> dict:
    """Every diagnostic of a finished study, as the tables ``study.diagnostics_report`` reads.

    For each dataset, the study's own splits (``make_splits`` with the spec's cv, test_size,
    seed and repeats: the same folds as the comparison) and GridSearchCV's choices from
    ``results``, then :func:`run_diagnostics` for each model whose unit succeeded. Plus
    :func:`imbalance_table` on :data:`IMBALANCE_DATASET` (or the first binary classification
    dataset), and :func:`per_class_recall` of ``predictions`` with the datasets' class names.
    Each (dataset, model) and each imbalance model is one task of ``study.tasks.run_tasks``:
    with ``spec.n_jobs != 1`` they run on joblib workers, the Keras ones first.

    Parameters
    ----------
    spec : study.spec.StudySpec
        Uses ``models``, ``cv``, ``repeats``, ``test_size``, ``seed``, ``quick``, ``n_jobs``,
        ``metrics``.
    datasets : list of Dataset
        The study's loaded datasets.
    results, predictions : pandas.DataFrame
        The study's tidy results and hold-out predictions.
    progress : bool, default=True
    memory : joblib.Memory or None, default=None
        Stores each task's tables as it finishes, so an unchanged rerun or a resumed study
        recomputes nothing that finished.

    Returns
    -------
    dict of str to pandas.DataFrame
        The keys of :func:`run_diagnostics` (concatenated over datasets and models), plus
        "imbalance" and "per_class_recall". A failing imbalance experiment is a row of
        "failures".
    """
    metric = spec.metrics[0] if getattr(spec, "metrics", None) else None
    diagnose = cached(memory, run_diagnostics, lambda tables: len(tables["failures"]) > 0, ("n_jobs", "progress"))
    tasks = []
    for dataset in datasets:
        splits = make_splits(dataset, spec.cv, spec.test_size, spec.seed, getattr(spec, "repeats", 1))
        best = best_params_from_results(results, dataset.name)
        for model in spec.models:
            if model in best and get_model(model).supports(dataset.task, dataset.image_shape):
                tasks.append(Task(f"{dataset.name} / {model}", expected_cost(model, dataset.n_samples), diagnose,
                                  (dataset, splits, {model: best[model]}, [model]),
                                  dict(seed=spec.seed, quick=spec.quick, metric=metric, progress=False)))
    chosen = _imbalance_dataset(datasets)
    imbalance_models = [m for m in spec.models if chosen is not None and m in IMBALANCE_MODELS
                        and get_model(m).supports(chosen.task, chosen.image_shape)]
    imbalance = cached(memory, imbalance_table, lambda table: False)
    tasks += [Task(f"imbalance / {m}", expected_cost(m, chosen.n_samples), _recorded,
                   (imbalance, chosen, [m]), dict(seed=spec.seed, cv=spec.cv, test_size=spec.test_size,
                                                  quick=spec.quick)) for m in imbalance_models]
    outputs = run_tasks(tasks, spec.n_jobs, desc="diagnostics", progress=progress)
    n_diagnose = len(tasks) - len(imbalance_models)
    frames: dict = {}
    for tables in outputs[:n_diagnose]:
        for key, frame in tables.items():
            frames.setdefault(key, []).append(frame)
    tables = _concat(frames) if frames else _empty_tables()
    imbalance_parts = []
    for model, (table, failure) in zip(imbalance_models, outputs[n_diagnose:]):
        if failure is None:
            imbalance_parts.append(table)
        else:
            warnings.warn(f"diagnostic imbalance of {model} on {chosen.name} failed: {failure}", RuntimeWarning,
                          stacklevel=2)
            row = pd.DataFrame([dict(dataset=chosen.name, model=model, diagnostic="imbalance", error=failure)])
            tables["failures"] = pd.concat([tables["failures"], row], ignore_index=True)
    if imbalance_parts:
        tables.update(_concat({"imbalance": imbalance_parts}))
    tables["per_class_recall"] = per_class_recall(
        predictions, {d.name: d.target_names for d in datasets if d.target_names})
    return tables


def _imbalance_dataset(datasets: list):
    """:data:`IMBALANCE_DATASET` if the study has it, else its first binary classification dataset."""
    binary = [d for d in datasets if d.task == "classification" and len(np.unique(d.y)) == 2]
    return next((d for d in datasets if d.name == IMBALANCE_DATASET), binary[0] if binary else None)


def _recorded(function, *args, **kwargs) -> tuple:
    """``(function(*args, **kwargs), None)``, or ``(None, "Type: message")`` if it raised."""
    try:
        return function(*args, **kwargs), None
    except Exception as exc:  # recorded like any failing diagnostic
        return None, f"{type(exc).__name__}: {exc}"


def _empty_tables() -> dict:
    columns = {**DATASET_TABLES, "failures": FAILURE_COLUMNS, "timings": TIMING_COLUMNS}
    return {key: _frame([], cols) for key, cols in columns.items()}
