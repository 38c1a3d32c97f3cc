"""The curves people read, from the stored hold-out outputs of every classifier.

Computed from the predictions table alone (``study.scoring.stored_outputs``), with
scikit-learn's functions: ROC curves (``roc_curve``, ``roc_auc_score``), precision-recall curves
(``precision_recall_curve``, ``average_precision_score``), the confusion matrix
(``confusion_matrix``) and the reliability diagram (``sklearn.calibration.calibration_curve``,
``brier_score_loss``). A binary task has one curve, for its second (positive) class; a
multiclass one has one curve per class, one-vs-rest (scikit-learn's "Multiclass
Receiver Operating Characteristic" example). The scores are the predicted probabilities, or the
decision scores of a model without probabilities (ROC and precision-recall only: decision
scores are not probabilities, so such a model has no reliability diagram).

The calibration table has two Brier scores: ``brier``, the model's Brier score over all classes
(:func:`multiclass_brier`, the same on every row of a dataset x model), and ``brier_ovr``, the
row's class's one-vs-rest Brier score (for a multiclass model each is a part of the multiclass score:
their sum over the classes is ``brier``, and the :data:`POOLED` row's is ``brier`` / k).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.calibration import calibration_curve
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    confusion_matrix,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
)

from study.results import CALIBRATION_COLUMNS, CONFUSION_COLUMNS, PR_COLUMNS, ROC_COLUMNS
from study.scoring import stored_outputs

__all__ = ["score_curves", "multiclass_brier", "CALIBRATION_BINS", "POOLED"]

CALIBRATION_BINS = 10
"""Bins of the reliability diagram: ``calibration_curve(n_bins=10, strategy="uniform")``."""
POOLED = "pooled"
"""``class`` of a multiclass model's pooled reliability diagram: the (probability, is that class)
pairs of every class together (one-vs-rest, micro-averaged); its ``brier_ovr`` is the multiclass
Brier score divided by the number of classes."""


def multiclass_brier(y_true, proba, classes) -> float:
    """The Brier score of class probabilities over all classes (lower is better).

    ``mean over rows i of sum over classes k of (p_ik - y_ik)^2``, with ``y_ik`` = 1 when row i
    is of class k, else 0 (Brier 1950; range [0, 2]). With two classes it is halved, as is
    customary, to the Brier score of the second class's probability (range [0, 1]). Computed by
    ``sklearn.metrics.brier_score_loss`` on the whole probability matrix (multiclass since
    scikit-learn 1.7, the project's minimum; ``scale_by_half="auto"``).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True classes.
    proba : array-like of shape (n_samples, n_classes)
        Predicted probabilities, column j for ``classes[j]`` (in the model's order, not
        necessarily sorted); clipped to [0, 1].
    classes : array-like of shape (n_classes,)
        The columns' classes. A true class missing from them is given probability 0.

    Returns
    -------
    float
        The Brier score.

    Notes
    -----
    Source: Brier, G. W. (1950). Verification of forecasts expressed in terms of probability.
    Monthly Weather Review 78(1), 1-3; scikit-learn User Guide, "Brier score loss".
    """
    y_true, classes = np.asarray(y_true), np.asarray(classes)
    proba = np.clip(np.asarray(proba, dtype=float), 0.0, 1.0)
    unseen = np.setdiff1d(np.unique(y_true), classes)
    labels = np.concatenate([classes, unseen])
    proba = np.hstack([proba, np.zeros((len(proba), len(unseen)))])
    codes = pd.Index(labels).get_indexer(y_true)  # class codes 0..k-1 in column order
    with warnings.catch_warnings():  # float32 (Keras) probabilities sum to 1 within 1e-7, not float64's 1.5e-8
        warnings.filterwarnings("ignore", "The y_prob values do not sum to one", UserWarning)
        return float(brier_score_loss(codes, proba, labels=np.arange(len(labels)), scale_by_half="auto"))


def _one_vs_rest(outputs: dict) -> list:
    """``(class, y_true == class, score of that class, is a probability)`` per curve."""
    y_true, classes = outputs["y_true"], outputs.get("classes")
    if classes is None:
        return []
    scores = outputs.get("proba", outputs.get("decision"))
    probability = "proba" in outputs
    if scores.ndim == 1:  # a binary decision score: of the second class
        return [(classes[-1], y_true == classes[-1], scores, False)]
    if len(classes) == 2:
        return [(classes[1], y_true == classes[1], scores[:, 1], probability)]
    return [(c, y_true == c, scores[:, i], probability) for i, c in enumerate(classes)]


def _roc_rows(base: dict, label, positive, score) -> list:
    if positive.all() or not positive.any():  # one class only among the hold-out rows: no curve
        return []
    fpr, tpr, thresholds = roc_curve(positive, score)
    area = float(roc_auc_score(positive, score))
    return [dict(base, **{"class": label}, fpr=f, tpr=t, threshold=h, auc=area)
            for f, t, h in zip(fpr, tpr, thresholds)]


def _pr_rows(base: dict, label, positive, score) -> list:
    if not positive.any():
        return []
    precision, recall, thresholds = precision_recall_curve(positive, score)
    ap = float(average_precision_score(positive, score))
    thresholds = np.append(thresholds, np.nan)  # the last point (recall 0) has no threshold
    return [dict(base, **{"class": label}, recall=r, precision=p, threshold=h, average_precision=ap)
            for r, p, h in zip(recall, precision, thresholds)]


def _calibration_rows(base: dict, label, positive, probability) -> list:
    """The reliability diagram's occupied bins of one class, with that class's one-vs-rest Brier score."""
    prob_true, prob_pred = calibration_curve(positive, probability, n_bins=CALIBRATION_BINS, strategy="uniform")
    edges = np.linspace(0.0, 1.0, CALIBRATION_BINS + 1)
    bins = np.searchsorted(edges[1:-1], probability)  # calibration_curve's own binning
    counts = np.bincount(bins, minlength=CALIBRATION_BINS)
    occupied = np.flatnonzero(counts)
    brier_ovr = float(brier_score_loss(positive, probability))
    return [dict(base, **{"class": label}, bin=int(b), mean_predicted=float(p), fraction_positive=float(t),
                 count=int(counts[b]), brier_ovr=brier_ovr) for b, p, t in zip(occupied, prob_pred, prob_true)]


def _confusion_rows(base: dict, outputs: dict, labels: np.ndarray) -> list:
    counts = confusion_matrix(outputs["y_true"], outputs["y_pred"], labels=labels)
    fractions = confusion_matrix(outputs["y_true"], outputs["y_pred"], labels=labels, normalize="true")
    return [dict(base, true_class=str(t), predicted_class=str(p), count=int(counts[i, j]),
                 fraction_of_true=float(fractions[i, j]))
            for i, t in enumerate(labels) for j, p in enumerate(labels)]


def score_curves(predictions: pd.DataFrame) -> dict:
    """The ROC, precision-recall, confusion and calibration tables of the classifiers' hold-out outputs.

    Parameters
    ----------
    predictions : pandas.DataFrame
        The predictions table (``study.results``) of classification datasets only: one block per
        dataset x model with ``y_true``, ``y_pred`` and the stored ``proba:<class>`` or
        ``decision`` columns.

    Returns
    -------
    dict of str to pandas.DataFrame
        ``"roc_curves"``, ``"pr_curves"``, ``"confusion"``, ``"calibration"`` with the columns
        of ``study.results`` (``class`` and the matrix's classes as text). A model with neither
        probabilities nor decision scores has a confusion matrix only; one with decision scores
        only has no calibration rows; a multiclass model's calibration also has the
        :data:`POOLED` class. Calibration's ``brier_ovr`` is the row's class's one-vs-rest Brier
        score, ``brier`` the model's :func:`multiclass_brier`.
    """
    rows: dict = {"roc_curves": [], "pr_curves": [], "confusion": [], "calibration": []}
    for (dataset, model), block in predictions.groupby(["dataset", "model"], sort=False):
        block = block.dropna(axis=1, how="all")
        outputs = stored_outputs(block)
        for key in ("y_true", "y_pred", "classes"):  # labels compared as text: the table may mix types
            if key in outputs:
                outputs[key] = np.asarray([str(v) for v in outputs[key]])
        base = dict(dataset=dataset, model=model)
        labels = np.unique(np.concatenate([outputs["y_true"], outputs["y_pred"]]))
        rows["confusion"] += _confusion_rows(base, outputs, labels)
        curves = _one_vs_rest(outputs)
        calibrated = base  # the calibration rows also carry the model's Brier score over all classes
        if "proba" in outputs:
            calibrated = dict(base, brier=multiclass_brier(outputs["y_true"], outputs["proba"], outputs["classes"]))
        for label, positive, score, probability in curves:
            rows["roc_curves"] += _roc_rows(base, label, positive, score)
            rows["pr_curves"] += _pr_rows(base, label, positive, score)
            if probability:
                rows["calibration"] += _calibration_rows(calibrated, label, positive, np.clip(score, 0.0, 1.0))
        if len(curves) > 1 and curves[0][3]:  # multiclass probabilities: every class's pairs pooled too
            positive, score = (np.concatenate([curve[i] for curve in curves]) for i in (1, 2))
            rows["calibration"] += _calibration_rows(calibrated, POOLED, positive, np.clip(score, 0.0, 1.0))
    columns = {"roc_curves": ROC_COLUMNS, "pr_curves": PR_COLUMNS, "confusion": CONFUSION_COLUMNS,
               "calibration": CALIBRATION_COLUMNS}
    return {name: pd.DataFrame(rows[name], columns=columns[name]) for name in rows}
