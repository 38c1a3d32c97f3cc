"""The pilot of a time budget: one model's fit timed on a subsample of a dataset's training part.

``study.budget`` predicts a study's seconds from these: :func:`time_fits` runs in a worker (the
study's workers time every model at once), fits the model's estimator (its default parameters,
seeded) on seeded, stratified subsamples of :data:`PILOT_ROWS` rows at most and a quarter of
that, and returns their seconds; the first fit, in a fresh worker, also pays for imports and
graph tracing, so the small size is fitted twice and its first time is dropped, and the large
size is fitted twice and the faster time kept (a Keras fit of 4,000 rows took 1.4 to 2.6 s in
repeated runs on a quiet machine, and the extrapolation to a large table multiplies that spread).
"""

from __future__ import annotations

import time

from study.data import take_rows
from study.folds import subsample_positions

__all__ = ["time_fits", "pilot_sizes", "PILOT_ROWS", "MIN_ROWS"]

PILOT_ROWS = 4_000
"""Rows of the pilot's larger fit (fewer when a fold's fitting part has fewer)."""
MIN_ROWS = 100
"""Rows of the pilot's smaller fit, at least (a quarter of the larger one otherwise). The larger the
two, the smaller the error the extrapolation to a large table multiplies: on a 50,000-row CSV,
fits of 500 and 2,000 rows predicted a Keras fit 1.8 times longer than it took."""


def pilot_sizes(fold_rows: int) -> tuple:
    """``(small, large)`` rows of the pilot's fits for a fold's fitting part of ``fold_rows`` rows."""
    large = min(PILOT_ROWS, fold_rows)
    return min(max(large // 4, MIN_ROWS), large), large


def time_fits(job, sizes: tuple) -> tuple | None:
    """Seconds of one fit of ``job``'s estimator on ``sizes[0]`` and on ``sizes[1]`` training rows.

    Parameters
    ----------
    job : study.protocol.Job
    sizes : (int, int)
        Rows of the two fits (:func:`pilot_sizes`).

    Returns
    -------
    (float, float) or None
        Wall seconds of a fit of each size (after one untimed fit of ``sizes[0]`` rows: imports,
        tracing; of ``sizes[1]`` rows the faster of two);
        None when a fit raised (the unit will fail the same way, and report why).
    """
    X, y = job.training_part()
    classification = job.dataset.task == "classification"
    seconds = []
    for n in (sizes[0], sizes[0], sizes[1], sizes[1]):
        rows = subsample_positions(y, n, job.seed, classification)
        start = time.perf_counter()
        try:
            job.estimator().fit(take_rows(X, rows), y[rows], **job.fit_params(rows))
        except Exception:  # the unit fails the same way and says why; the budget counts it as free
            return None
        seconds.append(time.perf_counter() - start)
    return seconds[1], min(seconds[2:])
