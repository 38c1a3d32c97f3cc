"""Learning curves and validation curves (regularization paths) on the shared folds."""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass, field

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import learning_curve, validation_curve

from study.experiments.base import (FITTED, FROM_UNIT, Experiment, Job, experiment_folds, from_search, label, score_rows,
                                    unit_fits)
from study.results import LEARNING_CURVE_COLUMNS, VALIDATION_CURVE_COLUMNS

__all__ = ["LearningCurves", "ValidationCurves", "Sweep", "SWEEPS", "TRAIN_SIZES", "positions"]

TRAIN_SIZES = np.linspace(0.1, 1.0, 5)
"""Learning-curve sizes, as fractions of a fold's training part."""
QUICK_TRAIN_SIZES = np.array([0.2, 0.6, 1.0])
"""Learning-curve sizes in quick mode."""
QUICK_KERAS_TRAIN_SIZES = np.array([0.5, 1.0])
"""Learning-curve sizes of Keras models in quick mode."""


class LearningCurves(Experiment):
    """Train and CV scores of a model against the training-set size, on the shared folds.

    ``sklearn.model_selection.learning_curve`` on the training part with the shared folds as
    ``cv``: for each fold, a seeded random subset (``shuffle=True, random_state=seed``, so
    small subsets contain every class) of its training part is fitted and scored on itself and
    on the fold's validation part. As in scikit-learn, the sizes are fractions of the *first*
    fold's training part. Sizes: :data:`TRAIN_SIZES` (quick: :data:`QUICK_TRAIN_SIZES`, Keras
    :data:`QUICK_KERAS_TRAIN_SIZES`). The largest size (1.0) is each fold's whole training
    part: the very fits of the chosen candidate the unit's grid search made, taken from it
    (``source`` "unit's grid search") rather than fitted again. On a subsample of the training
    part (``Splits.subsample``, under a time budget) every size is fitted on the subsample's
    folds, and the unit's fits on the whole folds follow as the last point, so the curve ends
    at the rows the unit was fitted on.

    Rows (:data:`study.results.LEARNING_CURVE_COLUMNS`): ``train_size`` (training examples),
    ``train_fraction`` (of the first fold's training part), ``fold``, ``split`` ("train" |
    "validation"), ``score``, ``source``.
    """

    name = "learning_curves"
    columns = LEARNING_CURVE_COLUMNS

    def n_fits(self, job: Job) -> int:
        sizes = (QUICK_KERAS_TRAIN_SIZES if job.keras else QUICK_TRAIN_SIZES) if job.quick else TRAIN_SIZES
        taken = sizes[-1] == 1.0 and job.splits.whole is None  # the whole part: the unit's fits
        return (len(sizes) - taken) * len(experiment_folds(job))

    def run(self, job: Job) -> list:
        X, y = job.training_part()
        folds = experiment_folds(job)
        sizes = (QUICK_KERAS_TRAIN_SIZES if job.keras else QUICK_TRAIN_SIZES) if job.quick else TRAIN_SIZES
        whole = unit_fits(job, len(folds)) if sizes[-1] == 1.0 else None
        subsample = job.splits.whole is not None
        n_max = len(job.splits.whole.first_repetition[0][0]) if subsample else len(folds[0][0])
        base = dict(dataset=job.dataset.name, model=job.model.name, metric=job.metric)
        rows = []
        if whole is not None:  # each fold's whole training part: the unit's own fits
            sizes = sizes if subsample else sizes[:-1]
            rows += score_rows({**base, "train_size": n_max, "train_fraction": 1.0, "source": FROM_UNIT},
                               whole["train"], whole["validation"], range(len(folds)))
        sizes_abs, train_scores, val_scores = learning_curve(
            job.estimator(), X, y, train_sizes=sizes, cv=folds, scoring=job.metric, n_jobs=1,
            shuffle=True, random_state=job.seed, error_score="raise", params=job.fit_params(),
        )
        fitted = []
        for i, n in enumerate(sizes_abs):
            fitted += score_rows({**base, "train_size": int(n), "train_fraction": n / n_max, "source": FITTED},
                                 train_scores[i], val_scores[i], range(len(folds)))
        return fitted + rows


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
    stronger : {"higher", "lower"}, default="higher"
        Which direction of the knob regularizes more (smaller C, larger alpha, smaller depth).
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
    stronger: str = "higher"
    fixed: dict = field(default_factory=dict)
    note: str = ""


SWEEPS = {
    "logistic_regression": (
        Sweep("C, L2 penalty", "model__C", (1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0), (0.1, 1.0, 10.0), log=True,
              axis_label="C (inverse penalty strength, log scale)", stronger="lower"),
        # scikit-learn 1.8 deprecated ``penalty``; L1 is ``l1_ratio=1`` with the saga solver.
        # tol=1e-3 keeps a digits fit near 1 s (saga needs ~300 epochs; ~2500 at the default 1e-4);
        # a ConvergenceWarning at large C is silenced: the curve shows the score actually reached.
        Sweep("C, L1 penalty (saga)", "model__C", (1e-2, 1e-1, 1.0, 10.0, 100.0), (0.1, 1.0, 10.0), log=True,
              axis_label="C (inverse penalty strength, log scale)", stronger="lower",
              fixed={"model__solver": "saga", "model__l1_ratio": 1.0, "model__tol": 1e-3, "model__max_iter": 2000},
              note="tuned with the L2 penalty"),
    ),
    "ridge": (
        Sweep("alpha, L2 penalty", "model__alpha", (1e-2, 1e-1, 1.0, 10.0, 100.0, 1000.0), (1.0, 10.0, 100.0),
              log=True, axis_label="alpha (L2 penalty strength, log scale)"),
    ),
    "random_forest": (
        Sweep("max_depth", "model__max_depth", (1, 2, 4, 8, 16, None), (2, 8, None), log=True,
              axis_label="max_depth (tree levels, log scale; None = unlimited)", stronger="lower"),
        Sweep("min_samples_leaf", "model__min_samples_leaf", (1, 3, 5, 10, 20), (1, 5, 20), log=True,
              axis_label="min_samples_leaf (training samples per leaf, log scale)"),
    ),
    "hist_gradient_boosting": (
        # the grid tunes learning_rate; 20 (the default) comes from the unit's grid search, so 5 and 80
        # are the only new fits (2 x 5 folds per dataset); 80 leaves few splits on wine (~114 rows a fold)
        Sweep("min_samples_leaf", "model__min_samples_leaf", (5, 20, 80), (5, 20, 80), log=True,
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
"""Validation-curve sweeps of the built-in models. GridSearchCV's chosen value is added to a
sweep if missing, so the choice is always a computed point. Plot positions (``param_value``):
``None`` (unlimited depth) sits at twice the largest finite value (one octave right of it on the
log axis), and 0 on a log axis at a tenth of the smallest positive value; ``param_label`` keeps
the true value ("None", "0")."""


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    try:
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=0.0)
    except (TypeError, ValueError):
        return a == b


def positions(values, log: bool) -> list:
    """Numeric plot positions of sweep values (see :data:`SWEEPS` for None and 0)."""
    finite = [float(v) for v in values if v is not None]
    positive = [v for v in finite if v > 0]
    out = []
    for v in values:
        if v is None:
            top = max(finite) if finite else 1.0
            step = (top - min(finite) if len(finite) > 1 else 1.0) / max(len(finite) - 1, 1)
            out.append(top * 2 if log else top + step)
        elif log and float(v) <= 0:
            out.append(min(positive) / 10 if positive else 1e-6)
        else:
            out.append(float(v))
    return out


class ValidationCurves(Experiment):
    """Regularization paths: train and CV scores along each sweep of :data:`SWEEPS`.

    ``sklearn.model_selection.validation_curve`` on the training part with the shared folds;
    all other parameters are GridSearchCV's choice. Quick mode sweeps each sweep's three
    ``quick_values``; Keras models have no validation curves in quick mode.

    Rows (:data:`study.results.VALIDATION_CURVE_COLUMNS`): ``sweep`` (label), ``param`` (routed
    name), ``param_value`` (plot position; see :data:`SWEEPS` for None and 0), ``param_label``
    (the value as text), ``params`` (JSON of the point's parameters set on top of GridSearchCV's
    choice: the swept one and the sweep's fixed ones), ``axis_label``, ``log_scale``, ``chosen``
    (True at the value in use: GridSearchCV's choice if the parameter was tuned, else the
    estimator's value),
    ``chosen_source`` ("GridSearchCV", "GridSearchCV (<note>)" or "default (not tuned)"),
    ``fold``, ``split``, ``score``, ``source`` (a point that is one of the unit's grid-search
    candidates, on the same folds, is taken from the unit's fits: "unit's grid search").
    """

    name = "validation_curves"
    fit_weight = 1.3
    """The curves reach each knob's costliest settings (weakest regularization, deepest trees):
    measured on the default study, a cost unit of the curves took 1.2 to 1.5 times one of the unit."""
    columns = VALIDATION_CURVE_COLUMNS

    def options(self, model) -> dict:
        return {"sweeps": SWEEPS.get(model.name, ())}

    def applies(self, model, dataset, quick) -> bool:
        return bool(SWEEPS.get(model.name)) and not (quick and model.framework == "keras")

    def parts(self, job: Job) -> list:
        """One part per sweep (each its own fits; the scores of a point that is a grid candidate come
        from the unit's search in any part)."""
        sweeps = tuple(job.options.get("sweeps", ()))
        return [(sweep.label, {"sweeps": (sweep,)}) for sweep in sweeps] if len(sweeps) > 1 else [("", {})]

    def n_fits(self, job: Job) -> int:
        """The sweeps' values that are not grid candidates (those come from the unit), per fold."""
        grid = job.model.grid_for(job.quick)
        grid = grid if isinstance(grid, dict) else {}
        fits = 0
        for sweep in job.options.get("sweeps", ()):
            candidates = () if sweep.fixed else grid.get(sweep.param, ())
            values = sweep.quick_values if job.quick else sweep.values
            fits += sum(not any(_same(v, c) for c in candidates) for v in values)
        return fits * len(experiment_folds(job))

    def run(self, job: Job) -> list:
        X, y = job.training_part()
        folds = experiment_folds(job)
        rows = []
        for sweep in job.options["sweeps"]:
            estimator = job.estimator(**sweep.fixed)
            tuned = sweep.param in job.params
            chosen = job.params[sweep.param] if tuned else estimator.get_params()[sweep.param]
            source = ((f"GridSearchCV ({sweep.note})" if sweep.note else "GridSearchCV") if tuned
                      else "default (not tuned)")
            values = list(sweep.quick_values if job.quick else sweep.values)
            if not any(_same(v, chosen) for v in values):
                values.append(chosen)
            places = positions(values, sweep.log)
            order = np.argsort(places, kind="stable")
            values, places = [values[i] for i in order], [places[i] for i in order]
            scores = {i: from_search(job, len(folds), **sweep.fixed, **{sweep.param: v}) for i, v in enumerate(values)}
            todo = [i for i, found in scores.items() if found is None]
            if todo:
                with warnings.catch_warnings():
                    if sweep.fixed.get("model__solver") == "saga":
                        warnings.simplefilter("ignore", ConvergenceWarning)
                    train_scores, val_scores = validation_curve(
                        estimator, X, y, param_name=sweep.param, param_range=[values[i] for i in todo], cv=folds,
                        scoring=job.metric, n_jobs=1, error_score="raise", params=job.fit_params(),
                    )
                scores.update({i: dict(train=train_scores[j], validation=val_scores[j], fitted=True)
                               for j, i in enumerate(todo)})
            for i, (value, place) in enumerate(zip(values, places)):
                base = dict(dataset=job.dataset.name, model=job.model.name, metric=job.metric, sweep=sweep.label,
                            param=sweep.param, param_value=float(place), param_label=label(value),
                            params=json.dumps({**sweep.fixed, sweep.param: value}),
                            axis_label=sweep.axis_label or sweep.param, log_scale=sweep.log, stronger=sweep.stronger,
                            chosen=_same(value, chosen), chosen_source=source,
                            source=FITTED if scores[i].get("fitted") else FROM_UNIT)
                rows += score_rows(base, scores[i]["train"], scores[i]["validation"], range(len(folds)))
        return rows
