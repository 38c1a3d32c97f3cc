"""Silence file descriptor 2 while TensorFlow starts.

TensorFlow's C++ start-up lines ("oneDNN custom operations are on", "Could not find cuda
drivers") are written to the process's standard error before its logging is configured, so
neither ``TF_CPP_MIN_LOG_LEVEL`` nor Python's logging can stop them. Python exceptions are not
affected: an import that fails still raises.
"""

from __future__ import annotations

import contextlib
import os

__all__ = ["quiet_stderr", "start_tensorflow"]


@contextlib.contextmanager
def quiet_stderr():
    """Send file descriptor 2 to ``os.devnull`` for the duration of the block."""
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def start_tensorflow():
    """``(keras, tensorflow)``, imported with their start-up lines silenced (the first call in a
    process starts TensorFlow, about 4 s, and probes its devices; later calls are free). Every
    module of the project that uses them imports them through this function."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's C++ log after start-up
    with quiet_stderr():  # its start-up lines, and those of its first operation (device probing)
        import keras
        import tensorflow as tf

        tf.config.list_logical_devices()
    return keras, tf
