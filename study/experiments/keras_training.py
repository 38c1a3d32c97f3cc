"""Keras training histories (with and without early stopping) and the regularization ablation."""

from __future__ import annotations

from sklearn.metrics import get_scorer
from sklearn.model_selection import cross_validate

from study.data import take_rows
from study.experiments.base import Experiment, Job, experiment_folds, score_rows
from study.results import ABLATION_COLUMNS, HISTORY_COLUMNS

__all__ = ["TrainingHistories", "Ablation"]

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


def _patience(quick: bool) -> int:
    return QUICK_PATIENCE if quick else PATIENCE


class TrainingHistories(Experiment):
    """Per-epoch loss and accuracy of a Keras model, without and with early stopping.

    Both fits run :data:`HISTORY_EPOCHS` epochs at most (the quick epochs when quick) on the
    training part of shared fold 0 only, of which a stratified, seeded inner split of
    :data:`HISTORY_VALIDATION_FRACTION` gives the per-epoch ``val_loss``; the early-stopping
    fit monitors that ``val_loss`` (patience :data:`PATIENCE`, quick :data:`QUICK_PATIENCE`)
    and restores the best weights.

    Rows (:data:`study.results.HISTORY_COLUMNS`): ``variant`` ("no early stopping" | "early
    stopping"), ``epoch`` (1-based), ``curve`` ("loss", "val_loss", "accuracy",
    "val_accuracy"), ``value``, ``stopped_epoch`` (last epoch run), ``best_epoch`` (restored
    epoch; NA without early stopping), ``patience``.
    """

    name = "histories"
    columns = HISTORY_COLUMNS

    def applies(self, model, dataset, quick) -> bool:
        return model.framework == "keras"

    def cost(self, model, dataset) -> float:
        return 2 * HISTORY_EPOCHS / 40

    def run(self, job: Job) -> list:
        patience = _patience(job.quick)
        X, y = job.training_part()
        fit = job.splits.folds[0][0]
        X, y = take_rows(X, fit), y[fit]
        rows = []
        for variant, stopping in (("no early stopping", False), ("early stopping", True)):
            longer = {} if job.quick else {"epochs": HISTORY_EPOCHS}
            estimator = job.estimator(early_stopping=stopping, validation_fraction=HISTORY_VALIDATION_FRACTION,
                                      patience=patience, **longer)
            net = estimator.fit(X, y)[-1]
            best = net.best_epoch_ if stopping else None
            for curve in HISTORY_CURVES:
                for epoch, value in enumerate(net.history_.get(curve, []), start=1):
                    rows.append(dict(dataset=job.dataset.name, model=job.model.name, fold=0, variant=variant,
                                     epoch=epoch, curve=curve, value=float(value),
                                     stopped_epoch=int(net.stopped_epoch_), best_epoch=best, patience=patience))
        return rows


def _variants(job: Job, available: set) -> list:
    """(name, routed settings) of each variant; techniques whose knob the model lacks are left out."""
    l2 = job.params.get("model__l2") or ABLATION_L2
    dropout = job.params.get("model__dropout") or ABLATION_DROPOUT
    off = {"model__l2": 0.0, "model__dropout": 0.0, "model__early_stopping": False,
           "model__validation_fraction": 0.0, "model__augment": False}
    techniques = {
        "L2": {"model__l2": l2},
        "dropout": {"model__dropout": dropout},
        "early stopping": {"model__early_stopping": True, "model__patience": _patience(job.quick),
                           "model__validation_fraction": HISTORY_VALIDATION_FRACTION},
        "augmentation": {"model__augment": True},
    }
    if job.dataset.image_shape is None:
        del techniques["augmentation"]
    techniques = {name: extra for name, extra in techniques.items() if set(extra) <= available}
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
    split. Quick mode: only :data:`QUICK_ABLATION_VARIANTS`, and no hold-out refit.

    Rows (:data:`study.results.ABLATION_COLUMNS`): ``variant``, ``settings`` (text), ``fold``
    (NA for test), ``split`` ("train" | "validation" | "test"), ``score``.
    """

    name = "ablation"
    columns = ABLATION_COLUMNS

    def applies(self, model, dataset, quick) -> bool:
        return model.framework == "keras"

    def cost(self, model, dataset) -> float:
        return 6 * 6

    def run(self, job: Job) -> list:
        X, y = job.training_part()
        folds = experiment_folds(job)
        scorer = get_scorer(job.metric)
        available = set(job.estimator().get_params())
        rows = []
        for variant, settings in _variants(job, available):
            if job.quick and variant not in QUICK_ABLATION_VARIANTS:
                continue
            cv = cross_validate(job.estimator(**settings), X, y, cv=folds, scoring=job.metric,
                                return_train_score=True, n_jobs=1, error_score="raise")
            base = dict(dataset=job.dataset.name, model=job.model.name, metric=job.metric, variant=variant,
                        settings=_settings_text(settings))
            rows += score_rows(base, cv["train_score"], cv["test_score"], range(len(folds)))
            if not job.quick:
                refit = job.estimator(**settings).fit(X, y)
                rows.append({**base, "fold": None, "split": "test", "score": float(scorer(refit, *job.test_part()))})
        return rows
