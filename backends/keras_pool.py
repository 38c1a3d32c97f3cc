"""Reuse of built, traced Keras models within one process.

A Keras fit on the study's small datasets is mostly fixed cost: tracing the train, evaluation
and predict functions of each new model costs more than the arithmetic of all its epochs. Fits
of the same architecture (the same build parameters and input/output shapes: the folds and
candidates of a grid search that differ only in data, seed or graph-neutral settings) can use
one model whose traced functions stay valid, provided its state is reset completely:

- every variable of the model (weights, and the states of the seed generators that drive
  dropout and augmentation) is set to the values of a freshly built model seeded with the fit's
  seed, so a fit starts where a new model would;
- the optimizer's variables (iteration count, moments) are set back to their values before any
  training.

So a fit gives the same result whether it runs first in a process or after others (tested).
A model is leased by one estimator for that estimator's lifetime (a refit model keeps its
weights while it is used for predictions) and returns to the pool when the estimator is
garbage-collected; the pool keeps at most :data:`MAX_MODELS` idle models per process, the least
recently used are dropped (and with them their traced functions' memory).
"""

from __future__ import annotations

import weakref
from collections import OrderedDict

import numpy as np

__all__ = ["lease", "MAX_MODELS", "pool_size"]

MAX_MODELS = 6
"""Idle models kept per process (each holds its traced functions)."""

_IDLE: OrderedDict = OrderedDict()  # key -> list of (model, optimizer snapshot)


def _snapshot(model) -> list:
    """The optimizer's variables before any training (the optimizer is built if it is not)."""
    optimizer = model.optimizer
    if not optimizer.built:
        optimizer.build(model.trainable_variables)
    return [np.array(v.numpy(), copy=True) for v in optimizer.variables]


def _same_structure(a, b) -> bool:
    return len(a.variables) == len(b.variables) and all(
        tuple(x.shape) == tuple(y.shape) for x, y in zip(a.variables, b.variables))


def _give_back(key, entry) -> None:
    models = _IDLE.setdefault(key, [])
    models.append(entry)
    _IDLE.move_to_end(key)
    while sum(len(v) for v in _IDLE.values()) > MAX_MODELS:
        oldest = next(iter(_IDLE))
        _IDLE[oldest].pop(0)
        if not _IDLE[oldest]:
            del _IDLE[oldest]


def lease(owner, key, fresh):
    """The model ``owner`` trains: an idle pooled model of the same ``key`` reset to ``fresh``'s
    initial state, else ``fresh`` itself; it returns to the pool when ``owner`` is collected.

    Parameters
    ----------
    owner : object
        The estimator that will hold the model (a weak reference is kept).
    key : hashable
        Everything that determines the model's graph (architecture, shapes, loss, optimizer).
    fresh : keras.Model
        A freshly built and compiled model, seeded with the fit's seed.

    Returns
    -------
    keras.Model
    """
    entry = None
    for candidate in _IDLE.get(key, []):
        if _same_structure(candidate[0], fresh):
            entry = candidate
            _IDLE[key].remove(candidate)
            break
    if entry is None:
        entry = (fresh, _snapshot(fresh))
    else:
        model, optimizer_state = entry
        for variable, value in zip(model.variables, fresh.variables):
            variable.assign(value)
        for variable, value in zip(model.optimizer.variables, optimizer_state):
            variable.assign(value)
    weakref.finalize(owner, _give_back, key, entry)
    return entry[0]


def pool_size() -> int:
    """Idle models in this process's pool."""
    return sum(len(v) for v in _IDLE.values())
