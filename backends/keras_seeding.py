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
calling ``tf.random.uniform``) needs the reset, so that each fit restarts their streams.
"""

from __future__ import annotations

import contextlib
import os
import random

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

__all__ = ["seeded"]


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
