"""Keras' validation pass after every epoch of a fit, at the cost of its computation
(``backends.keras_wrappers`` uses it for the inner validation split of every Keras fit)."""

from __future__ import annotations

from backends.quiet import start_tensorflow

keras, _ = start_tensorflow()

from backends._compat import evaluation_logs  # noqa: E402  (the logs Model.evaluate returns, per Keras version)

__all__ = ["ValidationPass"]


class ValidationPass(keras.callbacks.Callback):
    """Keras' validation pass at the end of every epoch, without its per-epoch set-up.

    ``Model.fit(validation_data=...)`` calls ``Model.evaluate`` after each epoch, which resets
    its data iterator (a new one every epoch) and builds a list of callbacks around the same
    computation: on the study's small datasets that set-up costs a third of a fit with early
    stopping. This callback, placed first, does what ``evaluate`` computes (the model's metrics
    reset, its traced test function called ``steps`` times, the results read) on one iterator
    over the repeated validation batches for the whole fit, and adds them to the epoch's logs
    as ``val_<name>`` before the other callbacks (early stopping, the history) read them: the
    same values (tested against Keras' own pass).

    Parameters
    ----------
    data : tf.data.Dataset
        The validation batches, repeated without end.
    steps : int
        Batches per pass.
    """

    def __init__(self, data, steps: int):
        super().__init__()
        self._batches, self._steps = iter(data), steps

    def on_epoch_end(self, epoch, logs=None):
        model = self.model
        model.make_test_function()
        model.reset_metrics()
        outputs = {}
        for _ in range(self._steps):
            outputs = model.test_function(self._batches)
        results = evaluation_logs(model, outputs)
        logs.update({f"val_{name}": value for name, value in results.items()})
