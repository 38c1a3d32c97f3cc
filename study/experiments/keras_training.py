"""Keras training histories (with and without early stopping) and the regularization ablation."""

from __future__ import annotations

import json

from sklearn.metrics import get_scorer
from sklearn.model_selection import cross_validate

from study.data import take_rows
from study.experiments.base import (
    FITTED,
    FROM_UNIT,
    Experiment,
    Job,
    experiment_folds,
    from_search,
    score_rows,
    settings_key,
)
from study.results import ABLATION_COLUMNS, HISTORY_COLUMNS

__all__ = ["TrainingHistories", "Ablation", "early_stopping_epochs", "DERIVED"]

DERIVED = "derived from the run without early stopping"
"""``source`` of the early-stopping history: the same fit up to the epoch it stops."""
FROM_CURVES = "validation curves"
"""``source`` of an ablation variant that is a point of the model's validation curves."""

HISTORY_VALIDATION_FRACTION = 0.2
"""Inner validation fraction of the training histories and of early stopping in the ablation."""
PATIENCE, QUICK_PATIENCE = 10, 3
"""Early-stopping patience (epochs without a lower inner ``val_loss``), full and quick."""
HISTORY_EPOCHS = 100
"""Epochs of the training histories in a full study: long enough for the inner validation loss
to turn and early stopping to act (quick studies keep the model's quick epochs)."""
HISTORY_CURVES = ("loss", "val_loss", "accuracy", "val_accuracy")
ABLATION_L2 = 1e-3
"""L2 factor of the ablation's "L2" variant when GridSearchCV did not choose a positive one."""
ABLATION_DROPOUT = 0.3
"""Dropout rate of the ablation's "dropout" variant when GridSearchCV did not choose one."""
QUICK_ABLATION_VARIANTS = ("baseline", "all combined")
"""Ablation variants in quick mode."""
TECHNIQUES = ("L2", "dropout", "early stopping", "augmentation")
"""The ablation's techniques, in report order (augmentation: image data only); its variants are
"baseline", each technique alone, then "all combined"."""


def _techniques(image: bool) -> tuple:
    """The techniques that apply to image (or tabular) data."""
    return TECHNIQUES if image else tuple(t for t in TECHNIQUES if t != "augmentation")


def _patience(quick: bool) -> int:
    return QUICK_PATIENCE if quick else PATIENCE


def early_stopping_epochs(val_loss, patience: int) -> tuple:
    """``(stopped, best)``: the 1-based epoch at which Keras' ``EarlyStopping(monitor="val_loss",
    patience=patience, restore_best_weights=True)`` stops training with this validation-loss
    curve, and the epoch whose weights it restores (its rule, ``keras/callbacks/early_stopping.py``:
    an epoch improves when its loss is below the best so far; training stops once ``patience``
    epochs in a row have not improved). ``stopped`` is the last epoch when it never stops."""
    best, best_epoch, wait = float("inf"), 0, 0
    for epoch, loss in enumerate(val_loss):
        wait += 1
        if loss < best:
            best, best_epoch, wait = loss, epoch, 0
        elif wait >= patience and epoch > 0:
            return epoch + 1, best_epoch + 1
    return len(val_loss), best_epoch + 1


class TrainingHistories(Experiment):
    """Per-epoch loss and accuracy of a Keras model, without and with early stopping.

    One fit of :data:`HISTORY_EPOCHS` epochs (the quick epochs when quick) on the training part
    of shared fold 0 only, of which a stratified, seeded inner split of
    :data:`HISTORY_VALIDATION_FRACTION` gives the per-epoch ``val_loss``. The early-stopping run
    (monitoring that ``val_loss``, patience :data:`PATIENCE`, quick :data:`QUICK_PATIENCE`,
    restoring the best weights) is the same seeded fit up to the epoch at which it stops, so
    its curves are that fit's first epochs (:func:`early_stopping_epochs`; ``source``
    "derived from the run without early stopping") rather than a second fit.

    Rows (:data:`study.results.HISTORY_COLUMNS`): ``variant`` ("no early stopping" | "early
    stopping"), ``epoch`` (1-based), ``curve`` ("loss", "val_loss", "accuracy",
    "val_accuracy"), ``value``, ``stopped_epoch`` (last epoch run), ``best_epoch`` (restored
    epoch; NA without early stopping), ``patience``, ``source``.
    """

    name = "histories"
    columns = HISTORY_COLUMNS

    def applies(self, model, dataset, quick) -> bool:
        return model.framework == "keras"

    fit_weight = HISTORY_EPOCHS / 40 * 4
    """2.5 times the epochs, each run apart with a validation pass (no steps fused): measured on
    the default study, a cost unit of the histories took 4 to 4.5 times one of the unit."""

    def n_fits(self, job: Job) -> int:
        return 1

    def run(self, job: Job) -> list:
        patience = _patience(job.quick)
        X, y = job.training_part()
        fit = job.splits.folds[0][0]
        longer = {} if job.quick else {"epochs": HISTORY_EPOCHS}
        estimator = job.estimator(validation_fraction=HISTORY_VALIDATION_FRACTION, **longer)
        history = estimator.fit(take_rows(X, fit), y[fit], **job.fit_params(fit))[-1].history_
        ran = len(history.get("loss", []))
        stopped, best = early_stopping_epochs(history.get("val_loss", []), patience)
        base = dict(dataset=job.dataset.name, model=job.model.name, fold=0, patience=patience)
        rows = []
        for variant, epochs, restored, source in (("no early stopping", ran, None, FITTED),
                                                   ("early stopping", stopped, best, DERIVED)):
            for curve in HISTORY_CURVES:
                for epoch, value in enumerate(history.get(curve, [])[:epochs], start=1):
                    rows.append(dict(base, variant=variant, epoch=epoch, curve=curve, value=float(value),
                                     stopped_epoch=epochs, best_epoch=restored, source=source))
        return rows


def _variants(job: Job, available: set) -> list:
    """(name, routed settings) of each variant; techniques whose knob the model lacks are left out."""
    l2 = job.params.get("model__l2") or ABLATION_L2
    dropout = job.params.get("model__dropout") or ABLATION_DROPOUT
    off = {"model__l2": 0.0, "model__dropout": 0.0, "model__early_stopping": False,
           "model__validation_fraction": 0.0, "model__augment": False}
    knobs = {
        "L2": {"model__l2": l2},
        "dropout": {"model__dropout": dropout},
        "early stopping": {"model__early_stopping": True, "model__patience": _patience(job.quick),
                           "model__validation_fraction": HISTORY_VALIDATION_FRACTION},
        "augmentation": {"model__augment": True},
    }
    techniques = {name: knobs[name] for name in _techniques(job.dataset.image_shape is not None)
                  if set(knobs[name]) <= available}
    if not techniques:
        raise ValueError(f"Model {job.model.name!r} has none of the ablation's knobs (l2, dropout, early_stopping, "
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


class Ablation(Experiment):
    """Regularization ablation of a Keras model: each technique alone and all combined.

    Variants (other parameters: GridSearchCV's choice): "baseline" (l2=0, dropout=0, no early
    stopping, no augmentation); "L2" (GridSearchCV's l2 if positive, else :data:`ABLATION_L2`);
    "dropout" (GridSearchCV's rate if positive, else :data:`ABLATION_DROPOUT`); "early stopping"
    (monitoring an inner :data:`HISTORY_VALIDATION_FRACTION` split of the data passed to
    ``fit``, which therefore trains on 80% of it); "augmentation" (``augment=True``; image data
    only); "all combined". A technique whose parameter the model lacks (a user's Keras build
    function has no ``l2``) is left out. Each variant: ``cross_validate`` on the shared folds
    with train scores, then a refit on the whole training part scored once on the hold-out test
    split; a variant that is one of the unit's grid-search candidates takes the unit's own fits
    instead (and, for the chosen candidate, its hold-out score), and one that is a point of the
    model's validation curves (the ablation runs after them) takes theirs. Quick mode: only
    :data:`QUICK_ABLATION_VARIANTS`, and no hold-out refit.

    Rows (:data:`study.results.ABLATION_COLUMNS`): ``variant``, ``settings`` (text), ``fold``
    (NA for test), ``split`` ("train" | "validation" | "test"), ``score``, ``source``.
    """

    name = "ablation"
    columns = ABLATION_COLUMNS
    after = "validation_curves"
    fit_weight = 1.5
    """The early-stopping variants train epoch by epoch with a validation pass: measured on the
    default study, a cost unit of the ablation took 1.4 to 1.6 times one of the unit."""

    def applies(self, model, dataset, quick) -> bool:
        return model.framework == "keras"

    @staticmethod
    def _names(job: Job) -> tuple:
        """The variants of a model that has every knob (a built-in one), in report order."""
        if job.quick:
            return QUICK_ABLATION_VARIANTS
        return ("baseline", *_techniques(job.dataset.image_shape is not None), "all combined")

    def n_fits(self, job: Job) -> int:
        """Each variant's fits, at most (some come from the unit or the validation curves; a user
        model may lack some knobs). Planned in the study's process: no Keras estimator is built."""
        variants = 1 if job.options.get("variant") else len(self._names(job))
        return variants * (len(experiment_folds(job)) + (not job.quick))

    def parts(self, job: Job) -> list:
        """One part per variant for a built-in model (its builder a ``"module:function"`` string: its
        knobs are known here, without building it); one part, every variant, for a user's model
        (which may lack some knobs)."""
        if not isinstance(job.model.builder, str):  # a user's model gives its builder itself
            return [("", {})]
        return [(name, {"variant": name}) for name in self._names(job)]

    @staticmethod
    def _curve_points(job: Job, n_folds: int) -> dict:
        """The validation curves' points by estimator settings: ``{key: {"train": [...], "validation": [...]}}``."""
        points: dict = {}
        for row in job.options.get("earlier", []):
            if row["metric"] != job.metric or row["fold"] >= n_folds:
                continue
            scores = points.setdefault(settings_key(job, **json.loads(row["params"])),
                                       {"train": [None] * n_folds, "validation": [None] * n_folds, "test": None,
                                        "curves": True})
            scores[row["split"]][row["fold"]] = row["score"]
        return {k: v for k, v in points.items() if None not in v["train"] + v["validation"]}

    def run(self, job: Job) -> list:
        X, y = job.training_part()
        folds = experiment_folds(job)
        scorer = get_scorer(job.metric)
        available = set(job.estimator().get_params())
        curve_points = self._curve_points(job, len(folds))
        rows = []
        part = job.options.get("variant")  # one variant (a part, see parts), or every one
        for variant, settings in _variants(job, available):
            if (job.quick and variant not in QUICK_ABLATION_VARIANTS) or part not in (None, variant):
                continue
            base = dict(dataset=job.dataset.name, model=job.model.name, metric=job.metric, variant=variant,
                        settings=_settings_text(settings))
            # the unit's own fits of this very estimator, or its validation curves' (same folds)
            unit = from_search(job, len(folds), **settings) or curve_points.get(settings_key(job, **settings))
            if unit is None:
                cv = cross_validate(job.estimator(**settings), X, y, cv=folds, scoring=job.metric,
                                    return_train_score=True, n_jobs=1, error_score="raise", params=job.fit_params())
                unit = dict(train=cv["train_score"], validation=cv["test_score"], test=None, fitted=True)
            source = FITTED if unit.get("fitted") else FROM_CURVES if unit.get("curves") else FROM_UNIT
            rows += score_rows({**base, "source": source}, unit["train"], unit["validation"], range(len(folds)))
            if job.quick:
                continue
            test = unit["test"]
            if test is None:
                test = float(scorer(job.estimator(**settings).fit(X, y, **job.fit_params()), *job.test_part()))
            rows.append({**base, "fold": None, "split": "test", "score": test,
                         "source": FROM_UNIT if unit["test"] is not None else FITTED})
        return rows
