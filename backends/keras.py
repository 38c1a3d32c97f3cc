"""The built-in Keras networks: a dense network (MLP) and a small CNN, as scikit-learn estimators
through scikeras (``backends.keras_wrappers``).

Importing this module imports TensorFlow (about 4 s); the registry imports it only when a
Keras model is built.
"""

from __future__ import annotations

from backends.keras_wrappers import (  # first: it starts TensorFlow quietly
    ClassifierTagsMixin,
    InnerValidationMixin,
    KerasClassifier,
    KerasRegressor,
    RegressorTagsMixin,
    StandardizedTargetMixin,
    keras,
)

import numpy as np  # noqa: I001
from sklearn.pipeline import Pipeline
from backends.keras_layers import PenalizedConv2D, PenalizedDense, TunableDropout
from backends.keras_wrappers import GRAPH_NEUTRAL
from backends.preprocessing import ImageScaler, pipeline

__all__ = ["KerasDenseClassifier", "KerasCNNClassifier", "KerasDenseRegressor", "dense", "cnn"]


TUNABLE = GRAPH_NEUTRAL | {"l2", "dropout"}
"""The built-in networks' L2 factor and dropout rate are variables of the model
(``backends.keras_layers``): fits that differ only in them share one traced model."""


def _hidden_stack(hidden_units, l2: float, dropout: float) -> list:
    layers = []
    for units in hidden_units:
        layers += [PenalizedDense(units, activation="relu", l2=l2), TunableDropout(dropout)]
    return layers


def _augmentation(image_shape) -> list:
    """Small shifts, rotations and zoom; Keras preprocessing layers are active only in training."""
    return [
        keras.layers.RandomTranslation(0.1, 0.1, fill_mode="constant"),
        keras.layers.RandomRotation(0.05, fill_mode="constant"),
        keras.layers.RandomZoom(0.1, fill_mode="constant"),
    ]


def _compile(model, learning_rate: float, loss: str, metrics: list, steps_per_execution: int) -> keras.Model:
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss, metrics=metrics,
                  steps_per_execution=steps_per_execution)
    return model


class _KerasClassifierBase(ClassifierTagsMixin, InnerValidationMixin, KerasClassifier):
    _stratify_inner = True
    _graph_neutral = TUNABLE
    _random_kernels = False  # Keras' stateless dropout and augmentation, and the study's layers

    def _keras_build_fn(self, meta):
        head = keras.layers.Dense(meta["n_classes_"], activation="softmax")
        model = keras.Sequential([*self._body(meta), head])
        return _compile(model, self.learning_rate, "sparse_categorical_crossentropy", ["accuracy"],
                        self._steps_per_execution())


class KerasDenseClassifier(_KerasClassifierBase):
    """Dense network (MLP) classifier with L2 and dropout knobs.

    Input ``X`` of shape (n_samples, n_features); softmax output over ``n_classes_``,
    sparse categorical cross-entropy, Adam.

    Parameters
    ----------
    hidden_units : tuple of int, default=(128,)
        Units of each ReLU hidden layer.
    l2 : float, default=1e-4
        L2 penalty factor on every hidden kernel (Keras ``regularizers.L2``).
    dropout : float, default=0.0
        Dropout rate after each hidden layer, in [0, 1).
    learning_rate : float, default=1e-3
        Adam's learning rate.
    epochs : int, default=40
        Maximum number of passes over the training data.
    batch_size : int, default=64
    early_stopping : bool, default=False
        Stop when the inner validation loss has not improved for ``patience`` epochs and
        restore the best weights (``monitor="val_loss"``, ``restore_best_weights=True``).
    patience : int, default=10
    validation_fraction : float, default=0.0
        Fraction of the training data held out (stratified, seeded) as validation data for
        the per-epoch ``val_loss`` and early stopping. Required > 0 with early stopping.
    class_weight : dict, "balanced" or None, default=None
        Passed to scikeras, which turns it into sample weights.
    random_state : int or None, default=None
        Seeds weights, shuffling and the inner split (TensorFlow ops made deterministic).
    verbose : int, default=0
    **kwargs
        Other scikeras parameters (scikeras' subclassing convention), e.g. ``shuffle``.
    """

    def __init__(
        self,
        hidden_units=(128,),
        l2=1e-4,
        dropout=0.0,
        learning_rate=1e-3,
        epochs=40,
        batch_size=64,
        early_stopping=False,
        patience=10,
        validation_fraction=0.0,
        class_weight=None,
        random_state=None,
        verbose=0,
        **kwargs,
    ):
        super().__init__(
            epochs=epochs,
            batch_size=batch_size,
            class_weight=class_weight,
            random_state=random_state,
            verbose=verbose,
            **kwargs,
        )
        self.hidden_units = hidden_units
        self.l2 = l2
        self.dropout = dropout
        self.learning_rate = learning_rate
        self.early_stopping = early_stopping
        self.patience = patience
        self.validation_fraction = validation_fraction

    def _body(self, meta) -> list:
        return [keras.Input((meta["n_features_in_"],)), *_hidden_stack(self.hidden_units, self.l2, self.dropout)]


class KerasCNNClassifier(_KerasClassifierBase):
    """Small convnet for images given as flat rows (Keras ``mnist_convnet`` style).

    ``X`` has shape (n_samples, h*w*c) and is reshaped inside the model to ``image_shape``;
    then [augmentation] -> Conv2D(32, 3) -> MaxPooling2D -> Conv2D(64, 3) -> MaxPooling2D ->
    Flatten -> Dropout -> Dense(128) -> Dropout -> softmax.

    Parameters
    ----------
    image_shape : tuple of int (h, w, c)
        Shape of one image; ``h*w*c`` must equal ``n_features``.
    augment : bool, default=False
        Random shifts (10%), rotations (0.05 turn) and zoom (10%) of training batches, with
        Keras preprocessing layers, which are inactive at inference (predict, evaluation).
    dropout : float, default=0.25
    l2 : float, default=0.0
    epochs : int, default=25
    batch_size : int, default=64
    Other parameters as :class:`KerasDenseClassifier`.
    """

    def __init__(
        self,
        image_shape=None,
        augment=False,
        l2=0.0,
        dropout=0.25,
        learning_rate=1e-3,
        epochs=25,
        batch_size=64,
        early_stopping=False,
        patience=10,
        validation_fraction=0.0,
        class_weight=None,
        random_state=None,
        verbose=0,
        **kwargs,
    ):
        super().__init__(
            epochs=epochs,
            batch_size=batch_size,
            class_weight=class_weight,
            random_state=random_state,
            verbose=verbose,
            **kwargs,
        )
        self.image_shape = image_shape
        self.augment = augment
        self.l2 = l2
        self.dropout = dropout
        self.learning_rate = learning_rate
        self.early_stopping = early_stopping
        self.patience = patience
        self.validation_fraction = validation_fraction

    def _body(self, meta) -> list:
        shape = tuple(self.image_shape or ())
        if len(shape) != 3 or int(np.prod(shape)) != meta["n_features_in_"]:
            raise ValueError(
                f"image_shape={self.image_shape!r} does not match X with "
                f"{meta['n_features_in_']} features; expected (height, width, channels) "
                "with height*width*channels == n_features."
            )
        conv = dict(kernel_size=3, padding="same", activation="relu", l2=self.l2)
        return [
            keras.Input((meta["n_features_in_"],)),
            keras.layers.Reshape(shape),
            *(_augmentation(shape) if self.augment else []),
            PenalizedConv2D(32, **conv),
            keras.layers.MaxPooling2D(2),
            PenalizedConv2D(64, **conv),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            TunableDropout(self.dropout),
            *_hidden_stack((128,), self.l2, self.dropout),
        ]


class KerasDenseRegressor(StandardizedTargetMixin, RegressorTagsMixin, InnerValidationMixin, KerasRegressor):
    """Dense network (MLP) regressor: the same body as :class:`KerasDenseClassifier`, a
    linear output and mean squared error loss on the standardized target
    (:class:`StandardizedTarget`). Parameters as the classifier, without ``class_weight``."""

    _stratify_inner = False
    _graph_neutral = TUNABLE
    _random_kernels = False

    def __init__(
        self,
        hidden_units=(128,),
        l2=1e-4,
        dropout=0.0,
        learning_rate=1e-3,
        epochs=40,
        batch_size=64,
        early_stopping=False,
        patience=10,
        validation_fraction=0.0,
        random_state=None,
        verbose=0,
        **kwargs,
    ):
        super().__init__(
            epochs=epochs, batch_size=batch_size, random_state=random_state, verbose=verbose, **kwargs
        )
        self.hidden_units = hidden_units
        self.l2 = l2
        self.dropout = dropout
        self.learning_rate = learning_rate
        self.early_stopping = early_stopping
        self.patience = patience
        self.validation_fraction = validation_fraction

    def _keras_build_fn(self, meta):
        body = [keras.Input((meta["n_features_in_"],)), *_hidden_stack(self.hidden_units, self.l2, self.dropout)]
        model = keras.Sequential([*body, keras.layers.Dense(1)])
        return _compile(model, self.learning_rate, "mse", [], self._steps_per_execution())


def dense(task: str, random_state: int | None = None, image_shape=None) -> Pipeline:
    """Imputed, standardized, one-hot encoded features -> :class:`KerasDenseClassifier` or
    :class:`KerasDenseRegressor`."""
    cls = KerasDenseClassifier if task == "classification" else KerasDenseRegressor
    return pipeline(cls(random_state=random_state))


def cnn(task: str, random_state: int | None = None, image_shape=None) -> Pipeline:
    """Pixels scaled to [0, 1] -> :class:`KerasCNNClassifier` on ``image_shape`` images."""
    return pipeline(KerasCNNClassifier(image_shape=tuple(image_shape), random_state=random_state), ImageScaler())
