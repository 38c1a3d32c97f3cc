"""Reuse of built, traced Keras models within one process.

A Keras fit on the study's small datasets is mostly fixed cost: tracing the train, evaluation
and predict functions of each new model costs more than the arithmetic of all its epochs. Fits
of the same architecture (the same build parameters and input/output shapes: the folds and
candidates of a grid search that differ only in data, seed or graph-neutral settings) can use
one model whose traced functions stay valid, provided its state is reset completely:

- every variable of the model (weights, and the states of the seed generators that drive
  dropout and augmentation) is set to the values of a freshly built model seeded with the fit's
  seed, so a fit starts where a new model would; those initial values are kept per build (the
  estimator's class, parameters, seed and data shapes), so the fits of a grid search's folds,
  which share all of them, build one model between them, not one each;
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

__all__ = ["lease", "lease_initialized", "MAX_MODELS", "MAX_INITIAL", "pool_size"]

MAX_MODELS = 6
"""Idle models kept per process (each holds its traced functions)."""

MAX_INITIAL = 16
"""Initial variable values kept per process (one set per build: parameters, seed, shapes)."""

_IDLE: OrderedDict = OrderedDict()  # graph key -> list of (model, optimizer snapshot)
_INITIAL: OrderedDict = OrderedDict()  # build key -> the initial values of a fresh model's variables
_LEASED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model -> weak reference to its owner


def _snapshot(model) -> list:
    """The optimizer's variables before any training (the optimizer is built if it is not)."""
    optimizer = model.optimizer
    if not optimizer.built:
        optimizer.build(model.trainable_variables)
    return [np.array(v.numpy(), copy=True) for v in optimizer.variables]


def _shapes(values) -> tuple:
    return tuple(tuple(v.shape) for v in values)


def _give_back(key, entry) -> None:
    models = _IDLE.setdefault(key, [])
    models.append(entry)
    _IDLE.move_to_end(key)
    while sum(len(v) for v in _IDLE.values()) > MAX_MODELS:
        oldest = next(iter(_IDLE))
        _IDLE[oldest].pop(0)
        if not _IDLE[oldest]:
            del _IDLE[oldest]


def _remember(build_key, fresh) -> list:
    values = [np.array(v.numpy(), copy=True) for v in fresh.variables]
    if build_key is not None:
        _INITIAL[build_key] = values
        _INITIAL.move_to_end(build_key)
        while len(_INITIAL) > MAX_INITIAL:
            _INITIAL.popitem(last=False)
    return values


def _reuse(owner, key, initial):
    """An idle model of ``key`` whose variables match ``initial``, reset to it and leased to
    ``owner``; None if there is none."""
    for entry in _IDLE.get(key, []):
        model, optimizer_state = entry
        if _shapes(model.variables) == _shapes(initial):
            _IDLE[key].remove(entry)
            if not _IDLE[key]:  # no empty list stays behind (_give_back trims from the oldest key)
                del _IDLE[key]
            for variable, value in zip(model.variables, initial):
                variable.assign(value)
            for variable, value in zip(model.optimizer.variables, optimizer_state):
                variable.assign(value)
            return _hold(owner, key, entry)
    return None


def _hold(owner, key, entry):
    weakref.finalize(owner, _give_back, key, entry)
    _LEASED[entry[0]] = weakref.ref(owner)
    return entry[0]


def lease_initialized(owner, key, build_key):
    """An idle pooled model of graph ``key`` set to the initial state of build ``build_key``,
    leased to ``owner``, when both are known in this process (no model is built); else None.

    Parameters
    ----------
    owner : object
        The estimator that will hold the model (a weak reference is kept).
    key : hashable
        Everything that determines the model's graph (architecture, shapes, loss, optimizer).
    build_key : hashable or None
        Everything that determines a fresh model's initial values (``key``, every parameter,
        the seed); None when they are not determined (no seed): then None is returned.

    Returns
    -------
    keras.Model or None
    """
    initial = _INITIAL.get(build_key) if build_key is not None else None
    return None if initial is None else _reuse(owner, key, initial)


def lease(owner, key, fresh, build_key=None):
    """The model ``owner`` trains: an idle pooled model of the same ``key`` reset to ``fresh``'s
    initial state, else ``fresh`` itself; it returns to the pool when ``owner`` is collected.
    A model ``owner`` already holds (a warm start) is returned as it is.

    Parameters
    ----------
    owner : object
        The estimator that will hold the model (a weak reference is kept).
    key : hashable
        Everything that determines the model's graph (architecture, shapes, loss, optimizer).
    fresh : keras.Model
        A freshly built and compiled model, seeded with the fit's seed.
    build_key : hashable or None, default=None
        Everything that determines ``fresh``'s initial values (see :func:`lease_initialized`):
        they are kept for the next fit of the same build.

    Returns
    -------
    keras.Model
    """
    holder = _LEASED.get(fresh)
    if holder is not None and holder() is owner:
        return fresh
    initial = _remember(build_key, fresh)
    model = _reuse(owner, key, initial)
    return model if model is not None else _hold(owner, key, (fresh, _snapshot(fresh)))


def pool_size() -> int:
    """Idle models in this process's pool."""
    return sum(len(v) for v in _IDLE.values())
