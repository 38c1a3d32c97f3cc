"""The evidence a fit verdict weighs, each read from one table: paired intervals of the shared folds,
the validation curves' settings, the learning curve's last gain and a Keras training history.

Every interval is Nadeau & Bengio's corrected resampled t interval of paired per-fold
differences (``study.statistics.paired.corrected_interval``): the folds' training parts overlap,
so the naive interval is too narrow. Sources: Nadeau, C. & Bengio, Y. (2003), Machine Learning
52(3); the reading of validation and learning curves as in scikit-learn's user guide
("Validation curves: plotting scores to evaluate models").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from study.statistics.paired import corrected_interval

__all__ = ["Interval", "Step", "interval", "curve_evidence", "closing_step", "narrowing_step", "gaining_step",
           "learning_curve_gain", "still_improving", "GAP_LARGE", "GAP_MIN", "LITTLE_COST", "STILL_FALLING"]

GAP_MIN = 0.02
"""A gap is confirmed when its interval lies above this (points of the metric)."""
GAP_LARGE = 0.10
"""A confirmed gap this large is overfitting; a setting "closes" a gap when its gap is below this
(and at most half the gap it started from)."""
LITTLE_COST = 0.01
"""A setting's cost in CV score is "little" when the CV score drops by at most this."""
STILL_FALLING = 0.01
"""A training history is still improving at its end when its validation loss fell by more than
this fraction over the last fifth of its epochs, and early stopping never stopped it."""


@dataclass(frozen=True)
class Interval:
    """A paired mean difference over the folds and its corrected 95% interval (points of the metric)."""

    mean: float
    low: float
    high: float

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2

    def text(self) -> str:
        return f"{self.mean:+.3f} (95% CI {self.low:.3f} to {self.high:.3f})"


NO_INTERVAL = Interval(float("nan"), float("nan"), float("nan"))


def interval(differences, n_train: float, n_test: float) -> Interval:
    """The mean of paired per-fold ``differences`` with its corrected 95% interval.

    Parameters
    ----------
    differences : array-like of shape (n_folds,)
    n_train, n_test : float
        Samples fitted on / scored on in one fold.

    Returns
    -------
    Interval
        A zero-width interval when every fold has the same difference (no variance to test
        against); :data:`NO_INTERVAL` (NaN) for fewer than two folds.
    """
    d = np.asarray(differences, dtype=float)
    d = d[np.isfinite(d)]
    if len(d) < 2:
        return NO_INTERVAL
    if np.ptp(d) == 0:
        return Interval(float(d[0]), float(d[0]), float(d[0]))
    low, high = corrected_interval(d, n_train, n_test)
    return Interval(float(d.mean()), float(low), float(high))


@dataclass(frozen=True)
class Step:
    """A change of one regularization knob read off its validation curve: from the setting in use
    (``old``) to ``new``, with the gaps (train - CV) before and after and the CV change."""

    knob: str
    old: str
    new: str
    gap_before: float
    gap_after: float
    cv_change: float

    def text(self) -> str:
        return (f"{self.knob} {self.old} -> {self.new} (gap {self.gap_before:.3f} -> {self.gap_after:.3f}, "
                f"CV {self.cv_change:+.3f})")


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


def _steps(curves: list, stronger: bool) -> list:
    """Every step from the setting in use to a stronger (or weaker) one, as :class:`Step`."""
    steps = []
    for sweep in curves:
        old, cv, gap = sweep["points"][sweep["chosen"]]
        others = sweep["points"][sweep["chosen"] + 1:] if stronger else sweep["points"][:sweep["chosen"]]
        steps += [Step(sweep["knob"], old, value, gap, gap_after, cv_after - cv)
                  for value, cv_after, gap_after in others]
    return steps


def closing_step(curves: list):
    """The stronger setting that closes the gap, or None.

    It closes the gap when its gap is below :data:`GAP_LARGE` and at most half the gap in use, at
    a CV cost of at most :data:`LITTLE_COST`; of several, the one with the highest CV score
    (then the smallest gap).
    """
    closing = [s for s in _steps(curves, stronger=True)
               if s.gap_after < GAP_LARGE and s.gap_after <= s.gap_before / 2 and s.cv_change >= -LITTLE_COST]
    return max(closing, key=lambda s: (s.cv_change, -s.gap_after)) if closing else None


def narrowing_step(curves: list):
    """The stronger setting with the smallest gap below the one in use, within :data:`LITTLE_COST`
    of CV if any is, else at any cost (its CV change says what it costs); None if none narrows it."""
    narrowing = [s for s in _steps(curves, stronger=True) if s.gap_after < s.gap_before]
    cheap = [s for s in narrowing if s.cv_change >= -LITTLE_COST]
    pool = cheap or narrowing
    return min(pool, key=lambda s: (s.gap_after, -s.cv_change)) if pool else None


def gaining_step(curves: list):
    """The weaker setting with the highest CV gain above :data:`LITTLE_COST`, or None."""
    gaining = [s for s in _steps(curves, stronger=False) if s.cv_change > LITTLE_COST]
    return max(gaining, key=lambda s: s.cv_change) if gaining else None


@dataclass(frozen=True)
class CurveGain:
    """The learning curve's CV gain between its two largest training sizes, paired by fold."""

    gain: Interval
    size_before: int
    size_after: int

    @property
    def confirmed(self) -> bool:
        """The gain's interval lies above 0: larger than its fold-to-fold uncertainty."""
        return bool(self.gain.low > 0)

    def text(self) -> str:
        return (f"the CV score rose {self.gain.text()} from {self.size_before} to {self.size_after} training rows "
                "(learning curve)")


def learning_curve_gain(block: pd.DataFrame, n_train: float, n_test: float):
    """The :class:`CurveGain` of one model's learning curve, or None (fewer than two sizes).

    Parameters
    ----------
    block : pandas.DataFrame
        The "validation" rows of one dataset x model and metric of the learning-curve table
        (columns ``train_size``, ``fold``, ``score``).
    n_train, n_test : float
        Samples fitted on / scored on in one fold of the main comparison (the interval's
        overlap correction).
    """
    scores = block.pivot_table(index="fold", columns="train_size", values="score", aggfunc="mean")
    if scores.shape[1] < 2:
        return None
    before, after = scores.columns[-2], scores.columns[-1]
    return CurveGain(interval((scores[after] - scores[before]).to_numpy(), n_train, n_test), int(before), int(after))


@dataclass(frozen=True)
class History:
    """How a Keras training history ended: the inner validation loss's relative fall over the last
    fifth of the epochs, and whether early stopping (same run) would have stopped it."""

    epochs: int
    last_epochs: int
    relative_fall: float
    stopped: bool

    @property
    def improving(self) -> bool:
        return not self.stopped and self.relative_fall > STILL_FALLING

    def text(self) -> str:
        return (f"its inner validation loss still fell {self.relative_fall:.1%} over the last {self.last_epochs} of "
                f"{self.epochs} epochs and early stopping never stopped it (training history)")


def still_improving(block: pd.DataFrame):
    """The :class:`History` of one Keras model's training-history rows, or None (no history).

    Parameters
    ----------
    block : pandas.DataFrame
        Rows of the histories table (``study.experiments.TrainingHistories``) of one dataset x
        model: ``variant``, ``epoch``, ``curve``, ``value``, ``stopped_epoch``.
    """
    run = block[(block["variant"] == "no early stopping") & (block["curve"] == "val_loss")].sort_values("epoch")
    stopping = block[block["variant"] == "early stopping"]
    if len(run) < 5 or stopping.empty:
        return None
    loss = run["value"].to_numpy(dtype=float)
    last = max(1, len(loss) // 5)
    fall = (loss[-last - 1] - loss[-1]) / abs(loss[-last - 1]) if loss[-last - 1] else 0.0
    return History(len(loss), last, float(fall), bool(stopping["stopped_epoch"].iloc[0] < len(loss)))
