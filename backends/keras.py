"""Keras models through scikeras: a dense network (MLP) and a small CNN.

Importing this module imports TensorFlow (about 4 s); the registry imports it only when a
Keras model is built.

Two fixes over plain scikeras 0.13.0 (its last release):

- scikit-learn >= 1.6 reads estimator tags from ``__sklearn_tags__``; scikeras declares them
  with the old ``_more_tags`` and puts ``ClassifierMixin`` after ``BaseEstimator``, so
  ``is_classifier(KerasClassifier())`` is False and an integer ``cv`` silently gives plain
  KFold. The classes here declare their tags explicitly.
- Keras' ``validation_split`` takes the *last* rows of the training data (one class only on
  data sorted by label). Here the validation data is a seeded, stratified inner split of the
  training data passed to ``fit``; nothing else is ever used for validation.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from scikeras.utils.transformers import RegressorTargetEncoder  # noqa: E402
from scikeras.wrappers import KerasClassifier, KerasRegressor  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.utils import ClassifierTags, RegressorTags  # noqa: E402

from backends.preprocessing import ImageScaler, pipeline  # noqa: E402

tf.get_logger().setLevel("ERROR")  # retracing warnings: each fold builds a new model by design


def _class_labels(y: np.ndarray) -> np.ndarray:
    """Class index per row of an encoded target: ordinal (n,) / (n, 1) or one-hot (n, k)."""
    y = np.asarray(y).reshape(len(y), -1)
    return y.argmax(1) if y.shape[1] > 1 else y.ravel()


class _InnerValidationMixin:
    """Inner validation split, early stopping and the epochs it chose.

    Attributes set by ``fit``: ``history_`` (dict of per-epoch lists: ``loss``,
    ``val_loss``, ...), ``stopped_epoch_`` (1-based epoch where training stopped, or the
    last epoch), ``best_epoch_`` (1-based epoch whose weights were restored, or None
    without early stopping).
    """

    def _check_validation_params(self) -> None:
        if not 0.0 <= self.validation_fraction < 1.0:
            raise ValueError(
                f"validation_fraction must be in [0, 1); got {self.validation_fraction!r}. "
                "Use e.g. 0.1 to hold out 10% of the training data for validation."
            )
        if self.early_stopping and self.validation_fraction == 0.0:
            raise ValueError(
                "early_stopping=True needs an inner validation split, but "
                "validation_fraction=0.0. Set validation_fraction to e.g. 0.1."
            )

    def _initialize_callbacks(self) -> None:
        super()._initialize_callbacks()
        self._early_stopping = None
        if self.early_stopping:
            self._early_stopping = keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=self.patience, restore_best_weights=True
            )
            self._fit_callbacks = [*self._fit_callbacks, self._early_stopping]

    def _fit_keras_model(self, X, y, sample_weight, warm_start, epochs, initial_epoch, **kwargs):
        self._check_validation_params()
        if self.validation_fraction > 0.0:
            stratify = _class_labels(y) if self._stratify_inner else None
            parts = [X, y] + ([sample_weight] if sample_weight is not None else [])
            split = train_test_split(
                *parts,
                test_size=self.validation_fraction,
                random_state=self._random_state,
                stratify=stratify,
            )
            X, X_val, y, y_val = split[:4]
            sample_weight = split[4] if sample_weight is not None else None
            kwargs["validation_data"] = (X_val, y_val)
        super()._fit_keras_model(X, y, sample_weight, warm_start, epochs, initial_epoch, **kwargs)
        self.history_ = dict(self.history_)
        losses = np.asarray(self.history_.get("loss", []), dtype=float)
        if not np.all(np.isfinite(losses)):
            epoch = int(np.argmin(np.isfinite(losses))) + 1
            raise ValueError(
                f"Training diverged: the loss became {losses[epoch - 1]} at epoch {epoch}. "
                "Lower learning_rate, scale the inputs, or add regularization."
            )
        ran = len(self.history_.get("loss", []))
        stopper = self._early_stopping
        self.stopped_epoch_ = stopper.stopped_epoch + 1 if stopper and stopper.stopped_epoch else ran
        best = getattr(stopper, "best_epoch", None) if stopper else None
        self.best_epoch_ = None if best is None else best + 1


def _hidden_stack(hidden_units, l2: float, dropout: float) -> list:
    reg = keras.regularizers.L2(l2) if l2 else None
    layers = []
    for units in hidden_units:
        layers.append(keras.layers.Dense(units, activation="relu", kernel_regularizer=reg))
        if dropout:
            layers.append(keras.layers.Dropout(dropout))
    return layers


def _augmentation(image_shape) -> list:
    """Small shifts, rotations and zoom; Keras preprocessing layers are active only in training."""
    return [
        keras.layers.RandomTranslation(0.1, 0.1, fill_mode="constant"),
        keras.layers.RandomRotation(0.05, fill_mode="constant"),
        keras.layers.RandomZoom(0.1, fill_mode="constant"),
    ]


def _compile(model, learning_rate: float, loss: str, metrics: list) -> keras.Model:
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss, metrics=metrics)
    return model


class _ClassifierTagsMixin:
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.estimator_type = "classifier"
        tags.classifier_tags = ClassifierTags()
        tags.regressor_tags = None
        return tags


class _RegressorTagsMixin:
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.estimator_type = "regressor"
        tags.regressor_tags = RegressorTags()
        tags.classifier_tags = None
        return tags


class _KerasClassifierBase(_ClassifierTagsMixin, _InnerValidationMixin, KerasClassifier):
    _stratify_inner = True

    def _keras_build_fn(self, meta):
        head = keras.layers.Dense(meta["n_classes_"], activation="softmax")
        model = keras.Sequential([*self._body(meta), head])
        return _compile(model, self.learning_rate, "sparse_categorical_crossentropy", ["accuracy"])


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
        reg = keras.regularizers.L2(self.l2) if self.l2 else None
        conv = dict(kernel_size=3, padding="same", activation="relu", kernel_regularizer=reg)
        return [
            keras.Input((meta["n_features_in_"],)),
            keras.layers.Reshape(shape),
            *(_augmentation(shape) if self.augment else []),
            keras.layers.Conv2D(32, **conv),
            keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(64, **conv),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dropout(self.dropout),
            *_hidden_stack((128,), self.l2, self.dropout),
        ]


class StandardizedTarget(RegressorTargetEncoder):
    """scikeras target encoder that standardizes y (learned on the training data of each fit).

    A network regresses the standardized target and predictions are mapped back to the
    target's units; without it, MSE on raw targets (e.g. diabetes, 25..346) trains poorly.
    """

    def fit(self, y):
        super().fit(y)
        values = np.asarray(y, dtype=np.float64)
        self.mean_ = values.mean(axis=0)
        self.scale_ = np.where(values.std(axis=0) > 0, values.std(axis=0), 1.0)
        return self

    def transform(self, y):
        return (super().transform(y) - self.mean_) / self.scale_

    def inverse_transform(self, y):
        return super().inverse_transform(np.asarray(y) * self.scale_ + self.mean_)


class _StandardizedTargetMixin:
    @property
    def target_encoder(self):
        return StandardizedTarget()


class KerasDenseRegressor(_StandardizedTargetMixin, _RegressorTagsMixin, _InnerValidationMixin, KerasRegressor):
    """Dense network (MLP) regressor: the same body as :class:`KerasDenseClassifier`, a
    linear output and mean squared error loss on the standardized target
    (:class:`StandardizedTarget`). Parameters as the classifier, without ``class_weight``."""

    _stratify_inner = False

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
        return _compile(model, self.learning_rate, "mse", [])


def _built(model: keras.Model, n_features: int) -> keras.Model:
    """Build a model written without an input shape (Keras infers it) for ``n_features`` inputs."""
    if not model.built:
        model.build((None, n_features))
    return model


def _sparse_loss(model: keras.Model) -> keras.Model:
    """Recompile a model compiled with categorical cross-entropy with its sparse equivalent.

    scikeras encodes class labels as integers unless its own ``loss`` parameter says
    categorical cross-entropy; the sparse loss is the same quantity on integer labels.
    """
    loss = getattr(model, "loss", None)
    name = loss if isinstance(loss, str) else getattr(loss, "name", type(loss).__name__)
    if str(name).lower() in ("categorical_crossentropy", "categoricalcrossentropy"):
        model.compile(optimizer=model.optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


class KerasBuildFnClassifier(_ClassifierTagsMixin, _InnerValidationMixin, KerasClassifier):
    """A user's Keras build function as a classifier (see ``backends.custom.register_model``).

    Parameters
    ----------
    model : callable
        Returns a ``keras.Model``; may take scikeras' ``meta``. Uncompiled models are compiled
        with ``optimizer`` and ``loss``.
    epochs, batch_size, early_stopping, patience, validation_fraction, class_weight,
    random_state, verbose
        As :class:`KerasDenseClassifier`.
    optimizer : str, default="adam"
    loss : str, default="sparse_categorical_crossentropy"
    **kwargs
        Other scikeras parameters, e.g. ``model__units`` routed to the build function.
    """

    _stratify_inner = True

    def __init__(self, model=None, epochs=20, batch_size=32, early_stopping=False, patience=10,
                 validation_fraction=0.0, class_weight=None, random_state=None, verbose=0,
                 optimizer="adam", loss="sparse_categorical_crossentropy", **kwargs):
        super().__init__(model=model, epochs=epochs, batch_size=batch_size, class_weight=class_weight,
                         random_state=random_state, verbose=verbose, optimizer=optimizer, loss=loss, **kwargs)
        self.early_stopping = early_stopping
        self.patience = patience
        self.validation_fraction = validation_fraction

    def _build_keras_model(self):
        model = _sparse_loss(_built(super()._build_keras_model(), self.n_features_in_))
        outputs = model.output_shape[-1]
        if outputs != self.n_classes_ and not (outputs == 1 and self.n_classes_ == 2):
            name = getattr(self.model, "__name__", repr(self.model))
            raise ValueError(
                f"The Keras model built by {name} has {outputs} output units, but the data has "
                f"{self.n_classes_} classes; expected Dense({self.n_classes_}, activation='softmax') as the "
                "last layer. Take the number of classes from scikeras' meta: def build(meta): ... "
                "Dense(meta['n_classes_'], activation='softmax')."
            )
        return model


class KerasBuildFnRegressor(_StandardizedTargetMixin, _RegressorTagsMixin, _InnerValidationMixin, KerasRegressor):
    """A user's Keras build function as a regressor (MSE loss unless the model is compiled),
    trained on the standardized target (:class:`StandardizedTarget`)."""

    _stratify_inner = False

    def __init__(self, model=None, epochs=20, batch_size=32, early_stopping=False, patience=10,
                 validation_fraction=0.0, random_state=None, verbose=0, optimizer="adam", loss="mse",
                 **kwargs):
        super().__init__(model=model, epochs=epochs, batch_size=batch_size, random_state=random_state,
                         verbose=verbose, optimizer=optimizer, loss=loss, **kwargs)
        self.early_stopping = early_stopping
        self.patience = patience
        self.validation_fraction = validation_fraction

    def _build_keras_model(self):
        return _built(super()._build_keras_model(), self.n_features_in_)


def dense(task: str, random_state: int | None = None, image_shape=None) -> Pipeline:
    """Imputed, standardized, one-hot encoded features -> :class:`KerasDenseClassifier` or
    :class:`KerasDenseRegressor`."""
    cls = KerasDenseClassifier if task == "classification" else KerasDenseRegressor
    return pipeline(cls(random_state=random_state))


def cnn(task: str, random_state: int | None = None, image_shape=None) -> Pipeline:
    """Pixels scaled to [0, 1] -> :class:`KerasCNNClassifier` on ``image_shape`` images."""
    return pipeline(KerasCNNClassifier(image_shape=tuple(image_shape), random_state=random_state), ImageScaler())
