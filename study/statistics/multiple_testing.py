"""Holm's correction over one family of tests, by statsmodels, without its full garbage collection.

``statsmodels.stats.multitest.multipletests(method="holm")`` ends every Holm call with
``gc.collect()`` (statsmodels 0.14-0.15, ``stats/multitest.py``): a full pass of the garbage
collector over every object of the process. Measured on 2026-12-07: 0.11 s per call in the study's
process (about 200,000 objects), 0.27 s beside TensorFlow (440,000), and it was the largest single
line of the test suite's profile (7% of its samples): a notebook that imported Keras pays the same
at every report. :func:`holm` runs it with the objects alive before the call frozen
(``gc.freeze``, Python >= 3.7), which that pass leaves out, and thaws them after: same results, and
the garbage made meanwhile is still collected.

Source: Holm, S. (1979). A simple sequentially rejective multiple test procedure. Scandinavian
Journal of Statistics 6(2), 65-70.
"""

from __future__ import annotations

import contextlib
import gc

import numpy as np

__all__ = ["holm"]


def holm(p_values, alpha: float = 0.05) -> tuple:
    """Holm's step-down procedure over one family of tests.

    Parameters
    ----------
    p_values : array-like of shape (n_tests,)
        Raw p-values (may be empty).
    alpha : float, default=0.05
        Family-wise error rate.

    Returns
    -------
    reject : ndarray of bool of shape (n_tests,)
        Whether each hypothesis is rejected at ``alpha``.
    adjusted : ndarray of shape (n_tests,)
        Adjusted p-values, ``max_{j <= i} min(1, (m - j + 1) p_(j))`` in sorted order, in the
        input order.

    Notes
    -----
    Computed by ``statsmodels.stats.multitest.multipletests(p, alpha, method="holm")`` inside
    :func:`_frozen_heap` (see the module's docstring).
    """
    from statsmodels.stats.multitest import multipletests

    p = np.asarray(p_values, dtype=float).ravel()
    if p.size == 0:
        return np.zeros(0, dtype=bool), p
    with _frozen_heap():
        reject, adjusted, _, _ = multipletests(p, alpha=alpha, method="holm")
    return reject, adjusted


@contextlib.contextmanager
def _frozen_heap():
    """The objects alive now frozen (``gc.freeze``) for the block, thawed after; left as they are
    when some are frozen already (by the study's workers, ``study.workers``, or the user): thawing
    would thaw theirs too."""
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
