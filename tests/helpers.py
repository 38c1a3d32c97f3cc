"""Estimators for tests that must be importable by the study's worker processes."""

from __future__ import annotations

from pathlib import Path

from sklearn.base import BaseEstimator, ClassifierMixin, clone


class CountingClassifier(ClassifierMixin, BaseEstimator):
    """Fits ``inner`` and appends one line ``tag`` to the file ``log`` per fit (any process).

    Parameters
    ----------
    log : str
        Path of the fit log.
    inner : classifier
    tag : str
        The line written per fit.
    """

    def __init__(self, log="", inner=None, tag="model"):
        self.log, self.inner, self.tag = log, inner, tag

    def fit(self, X, y):
        with open(self.log, "a", encoding="utf-8") as handle:
            handle.write(self.tag + "\n")
        self.inner_ = clone(self.inner).fit(X, y)
        self.classes_ = self.inner_.classes_
        return self

    def predict(self, X):
        return self.inner_.predict(X)


def fits(log) -> dict:
    """``{tag: number of fits}`` from a fit log (empty when there is none)."""
    path = Path(log)
    counts: dict = {}
    for line in path.read_text().splitlines() if path.exists() else []:
        counts[line] = counts.get(line, 0) + 1
    return counts
