"""Diagnostic experiments: why validation trails training.

Each is an :class:`~study.experiments.base.Experiment` object the runner schedules: learning
and validation curves (:mod:`~study.experiments.learning_validation`), Keras training histories and the
regularization ablation (:mod:`~study.experiments.keras_training`), and class weighting on an
imbalanced copy of a dataset (:mod:`~study.experiments.imbalance`).
"""

from study.experiments.base import Experiment, Job
from study.experiments.learning_validation import LearningCurves, ValidationCurves
from study.experiments.imbalance import ClassImbalance
from study.experiments.keras_training import Ablation, TrainingHistories

EXPERIMENTS = (LearningCurves(), ValidationCurves(), TrainingHistories(), Ablation(), ClassImbalance())
"""The diagnostics of a study, in report order."""

__all__ = ["Experiment", "Job", "EXPERIMENTS", "LearningCurves", "ValidationCurves", "TrainingHistories",
           "Ablation", "ClassImbalance"]
