"""Layers whose regularization strength is a variable of the model, not a constant of its graph.

Keras bakes a ``Dropout`` rate and an ``L2`` factor into the traced training function, so every
value swept by a validation curve or an ablation would trace a new model. Here the dropout rate
and the L2 factor are non-trainable variables of the layer: the same traced model serves every
value (``backends.keras_pool`` sets them, like the weights, from a freshly built model). The
computation is Keras' own: its TensorFlow dropout (``stateless_dropout`` with a seed drawn from
the layer's seed generator), and the L2 penalty ``factor * sum(kernel ** 2)`` added to the loss
in training, as ``keras.regularizers.L2`` does. Both are saved and loaded with the model in
Keras' ``.keras`` format (``study.model_store``).
"""

from __future__ import annotations

from backends.quiet import start_tensorflow

keras, tf = start_tensorflow()
ops = keras.ops

__all__ = ["TunableDropout", "PenalizedDense", "PenalizedConv2D"]


def _scalar(layer, name: str, value: float):
    return layer.add_weight(shape=(), initializer=keras.initializers.Constant(float(value)), trainable=False,
                            name=name)


@keras.saving.register_keras_serializable(package="generalization_study")
class TunableDropout(keras.layers.Layer):
    """Dropout whose rate is a non-trainable variable (in [0, 1)); inactive at inference.

    Parameters
    ----------
    rate : float
        Fraction of the inputs dropped in training.
    seed : int or None, default=None
    """

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.initial_rate, self.seed = float(rate), seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.supports_masking = True

    def build(self, input_shape):
        self.rate = _scalar(self, "rate", self.initial_rate)
        self.built = True

    def call(self, inputs, training=False):
        if not training:
            return inputs
        # Keras' TensorFlow dropout (keras/src/backend/tensorflow/random.py) with a rate that is a
        # tensor: its Python test of rate == 0 cannot read one (rate 0 keeps every input anyway)
        seed = tf.cast(tf.math.floormod(self.seed_generator.next(), tf.int32.max - 1), "int32")
        return tf.nn.experimental.stateless_dropout(inputs, rate=tf.cast(self.rate.value, inputs.dtype), seed=seed)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.initial_rate, "seed": self.seed}


class _Penalized:
    """A layer with a kernel whose L2 penalty factor (>= 0) is a non-trainable variable."""

    def __init__(self, *args, l2=0.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial_l2 = float(l2)

    def build(self, input_shape):
        super().build(input_shape)
        self.l2 = _scalar(self, "l2", self.initial_l2)

    def call(self, inputs, training=False):
        if training:
            self.add_loss(self.l2.value * ops.sum(ops.square(self.kernel)))
        return super().call(inputs)

    def save_own_variables(self, store):
        """Keras' ``.keras`` format: the layer's own variables (Dense and Conv2D save only their
        kernel and bias), then the factor, so that a saved model loads with its ``l2``."""
        super().save_own_variables(store)
        if self.built:
            store["l2"] = self.l2

    def load_own_variables(self, store):
        super().load_own_variables(store)
        if self.built:
            self.l2.assign(store["l2"])

    def get_config(self):
        return {**super().get_config(), "l2": self.initial_l2}


@keras.saving.register_keras_serializable(package="generalization_study")
class PenalizedDense(_Penalized, keras.layers.Dense):
    """``keras.layers.Dense`` with an L2 penalty on its kernel whose factor ``l2`` is a variable."""


@keras.saving.register_keras_serializable(package="generalization_study")
class PenalizedConv2D(_Penalized, keras.layers.Conv2D):
    """``keras.layers.Conv2D`` with an L2 penalty on its kernel whose factor ``l2`` is a variable."""
