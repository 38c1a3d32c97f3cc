"""Seeding a Keras build or fit as scikeras does, without making TensorFlow start over.

scikeras seeds every build and fit of a seeded estimator with ``tensorflow_random_state(seed)``
(``scikeras/utils/random_state.py``): Python's, NumPy's and TensorFlow's global seeds and op
determinism, all restored afterwards. Setting TensorFlow's global seed (``tf.random.set_seed``)
also clears the eager context's kernel cache, "to reset any existing seeds" of stateful random
kernels (``tensorflow/python/eager/context.py``, ``Context._set_global_seed``), so every traced
function called afterwards is instantiated and optimized again: on the study's small datasets
that costs more than the training itself (a wine fit of keras_dense: 0.20 CPU-s with the cache
cleared on entry and exit, 0.05 without, measured 2026-12-01).

:func:`seeded` sets the same state; TensorFlow's global seed as ``tf.random.set_seed`` sets it
(the context's seed and its generator of operation seeds), without clearing the cache unless
``reset_kernels`` (``backends._compat.set_global_seed``: the private names it sets are checked
there, per TensorFlow version). A network whose random ops are all stateless (Keras 3's layers: dropout,
noise and augmentation draw from seed generators, whose state is a variable that
``backends.keras_pool`` resets) trains the same either way: tested against scikeras' context
(``tests/test_backends.py``). A network that may hold stateful random kernels (a user's layer
calling ``tf.random.uniform``) needs the reset, so that each fit restarts their streams. A user's
network is fitted without it only when :func:`stateless_network` shows it cannot hold them
(measured 2026-12-07: a 128-unit dense network with dropout from a user's build function, the
same seed, 20 epochs, one thread: 0.231 -> 0.117 CPU-s a fit on 180 digits rows, 0.658 -> 0.586
on 1,150; the same predictions whatever the order of the fits).
"""

from __future__ import annotations

import contextlib
import os
import random
import types

from backends.quiet import start_tensorflow

start_tensorflow()

import numpy as np  # noqa: E402
from scikeras.utils.random_state import tensorflow_random_state  # noqa: E402

from backends._compat import (  # noqa: E402  (TensorFlow's private seed and determinism switches)
    disable_op_determinism,
    enable_op_determinism,
    global_seed,
    op_determinism_enabled,
    set_global_seed,
)

__all__ = ["seeded", "stateless_network"]


@contextlib.contextmanager
def seeded(seed: int, reset_kernels: bool = True):
    """Seed what a Keras build or fit draws from, for the duration of the block.

    Parameters
    ----------
    seed : int
        Seeds Python's ``random``, NumPy's global generator and TensorFlow's global seed; op
        determinism is on (``TF_DETERMINISTIC_OPS=1``). Everything is restored on exit.
    reset_kernels : bool, default=True
        True: scikeras' ``tensorflow_random_state`` itself (TensorFlow's kernel cache cleared on
        entry and exit, so stateful random kernels restart). False: the same seeds with the
        cache kept; only for networks whose random ops are stateless.
    """
    if reset_kernels:
        with tensorflow_random_state(seed):
            yield
        return
    saved_env = os.environ.get("TF_DETERMINISTIC_OPS")
    saved_random, saved_numpy, saved_seed = random.getstate(), np.random.get_state(), global_seed()
    was_deterministic = op_determinism_enabled()
    try:
        os.environ["TF_DETERMINISTIC_OPS"] = "1"
        random.seed(seed)
        np.random.seed(seed)
        set_global_seed(seed)
        enable_op_determinism()
        yield
    finally:
        if saved_env is None:
            os.environ.pop("TF_DETERMINISTIC_OPS", None)
        else:
            os.environ["TF_DETERMINISTIC_OPS"] = saved_env
        random.setstate(saved_random)
        np.random.set_state(saved_numpy)
        set_global_seed(saved_seed)
        if not was_deterministic:
            disable_op_determinism()


def _from_keras(obj) -> bool:
    """Whether ``obj`` (a function, or an instance of a class) is defined in Keras' own modules."""
    if obj is None:
        return False
    function = isinstance(obj, (types.FunctionType, types.BuiltinFunctionType))
    module = getattr(obj, "__module__", None) if function else type(obj).__module__
    return isinstance(module, str) and (module == "keras" or module.startswith("keras."))


def _layers(model):
    """Every layer of ``model``, nested models' layers included."""
    for layer in getattr(model, "layers", []):
        yield layer
        yield from _layers(layer)


def stateless_network(model) -> bool:
    """Whether every random op a compiled Keras network runs is stateless, so that it trains the
    same with TensorFlow's kernel cache kept (``seeded(..., reset_kernels=False)``).

    True only for a model of Keras' own classes (``Sequential``, a functional ``Model``: no
    subclass with its own ``call`` or ``train_step``) made of Keras' own layers (nested models
    included) other than ``Lambda``, compiled with Keras' own optimizer and with a loss that is a
    name or Keras' own: Keras 3 draws every random number of its layers from seed generators with
    stateless ops (``keras/src/backend/tensorflow/random.py``). Anything else (a custom layer, a
    ``Lambda``, a loss function of the user's) may call ``tf.random.uniform``: False. Metrics are
    not inspected (they do not draw random numbers in training).

    Parameters
    ----------
    model : keras.Model
        Compiled.

    Returns
    -------
    bool
    """
    import keras

    if not _from_keras(model) or not _from_keras(getattr(model, "optimizer", None)):
        return False
    loss = getattr(model, "loss", None)
    if not (isinstance(loss, str) or _from_keras(loss)):
        return False
    return all(_from_keras(layer) and not isinstance(layer, keras.layers.Lambda) for layer in _layers(model))
