"""scikeras adapters shared by every Keras model of the study (built-in and user-written).

Importing this module imports TensorFlow (about 4 s); the registry imports it only when a
Keras model is built. Over plain scikeras 0.13.0 (its last release):

- scikit-learn's tags and repr for the scikeras wrappers: ``backends.keras_estimator_api``.
- Keras' ``validation_split`` takes the *last* rows of the training data (one class only on
  data sorted by label). Here the validation data is a seeded, stratified inner split of the
  training data passed to ``fit``; nothing else is ever used for validation. For grouped or
  time-ordered data a caller may pass each row's group (``fit(..., validation_groups=...)``) or
  time (``validation_time=...``): the inner split then keeps each group on one side, or
  validates on the latest rows (the study passes them with every fit of a Keras model:
  ``study.protocol.Job.fit_params``).
- A fit costs what it computes: the training data is one seeded ``tf.data`` pipeline with one
  iterator for the whole fit (Keras' array adapter builds a new iterator every epoch), and fits
  of the same architecture in one process reuse one built model and its traced functions, its
  state reset to a freshly built model's (``backends.keras_pool``); the built-in networks are
  seeded without clearing TensorFlow's kernel cache, so those functions are not instantiated
  again for every fit (``backends.keras_seeding``); the inner validation split is evaluated
  after each epoch without Keras' per-epoch set-up (``backends.keras_validation``).
- A column-vector ``y`` is raveled with scikit-learn's ``DataConversionWarning``.
"""

from __future__ import annotations

import contextlib

from backends.quiet import start_tensorflow

keras, tf = start_tensorflow()

import math  # noqa: E402
from collections import defaultdict  # noqa: E402

import numpy as np  # noqa: E402
from scikeras.utils import metric_name  # noqa: E402
from scikeras.utils.transformers import RegressorTargetEncoder  # noqa: E402
from backends._compat import scikeras_wrappers  # noqa: E402  (checks scikeras' version: its private methods are overridden here)
KerasClassifier, KerasRegressor = scikeras_wrappers()  # re-exported to backends.keras
from sklearn.exceptions import NotFittedError  # noqa: E402
from sklearn.model_selection import GroupShuffleSplit, train_test_split  # noqa: E402
from sklearn.utils.validation import column_or_1d  # noqa: E402

from backends.keras_estimator_api import ClassifierTagsMixin, EstimatorApiMixin, RegressorTagsMixin  # noqa: E402
from backends.keras_pool import lease, lease_initialized  # noqa: E402
from backends.keras_seeding import seeded, stateless_network  # noqa: E402
from backends.keras_validation import ValidationPass  # noqa: E402

__all__ = ["KerasBuildFnClassifier", "KerasBuildFnRegressor", "StandardizedTarget", "ClassifierTagsMixin",
           "RegressorTagsMixin", "EstimatorApiMixin", "InnerValidationMixin", "StandardizedTargetMixin",
           "STEPS_PER_EXECUTION", "KerasClassifier", "KerasRegressor", "keras"]

tf.get_logger().setLevel("ERROR")  # retracing notes

STEPS_PER_EXECUTION = 8
"""Training steps per call of the traced train function of the built-in models fitted without
an inner validation split (fewer round trips from Python; the same steps as one at a time)."""

PREDICT_ROWS = 8192
"""Rows per call of the traced predict function."""

GRAPH_NEUTRAL = frozenset({"random_state", "epochs", "batch_size", "early_stopping", "patience",
                           "validation_fraction", "class_weight", "verbose", "shuffle", "callbacks",
                           "validation_batch_size"})
"""Parameters that do not change a model's graph: fits differing only in them share a pooled model."""


_ONE_HOT_LOSSES = frozenset({"categorical_crossentropy", "categorical_focal_crossentropy", "categorical_hinge"})


def _loss_kind(loss) -> tuple:
    """``(one_hot, from_logits)`` of a compiled loss: whether it takes one-hot targets, and
    whether the network's outputs are logits."""
    name = loss if isinstance(loss, str) else getattr(loss, "name", None) or getattr(loss, "__name__", "")
    return str(name) in _ONE_HOT_LOSSES, bool(getattr(loss, "from_logits", False))


def _class_labels(y: np.ndarray) -> np.ndarray:
    """Class index per row of an encoded target: ordinal (n,) / (n, 1) or one-hot (n, k)."""
    y = np.asarray(y).reshape(len(y), -1)
    return y.argmax(1) if y.shape[1] > 1 else y.ravel()


class InnerValidationMixin:
    """Inner validation split, early stopping and the epochs it chose.

    Attributes set by ``fit``: ``history_`` (dict of per-epoch lists: ``loss``,
    ``val_loss``, ...), ``stopped_epoch_`` (1-based epoch where training stopped, or the
    last epoch), ``best_epoch_`` (1-based epoch whose weights were restored, or None
    without early stopping).
    """

    _single_output = True
    """The network has one output: a column-vector ``y`` is raveled (:meth:`fit`)."""

    def fit(self, X, y, sample_weight=None, **kwargs):
        """scikeras' ``fit``; a ``y`` of shape (n_samples, 1) is raveled first, with scikit-learn's
        ``DataConversionWarning`` (``column_or_1d``): the model of the 1-D ``y``."""
        shape = getattr(y, "shape", None)  # not np.shape: an array-like may refuse NumPy's functions
        if self._single_output and shape is not None and len(shape) == 2 and shape[1] == 1:
            y = column_or_1d(y, warn=True)
        return super().fit(X, y, sample_weight=sample_weight, **kwargs)

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

    _random_kernels = True
    """Whether the network may hold stateful random kernels (a user's network may): each seeded
    build resets TensorFlow's kernels, as scikeras does, and so does each fit unless the network
    is Keras' own layers only (``backends.keras_seeding.stateless_network``); the built-in
    networks, whose random ops are stateless, set it False and keep their instantiated functions
    (``backends.keras_seeding``)."""

    def _seeded(self, seed, model=None):
        """The seeding of a build, or of a fit of ``model`` (``backends.keras_seeding.seeded``; none
        without a seed): TensorFlow's kernels are reset when the network may hold stateful random
        kernels, unless ``model`` shows it cannot (``stateless_network``)."""
        if seed is None:
            return contextlib.nullcontext()
        reset = self._random_kernels and not (model is not None and stateless_network(model))
        return seeded(seed, reset_kernels=reset)

    def _build_keras_model(self):
        """A pooled model set to the initial state this build had in an earlier fit of this
        process (no model built), else a freshly built one (``backends.keras_pool``), seeded
        here (:meth:`_seeded`) rather than by scikeras."""
        model = lease_initialized(self, self._graph_key(), self._build_key())
        if model is not None:
            return model
        seed, self._random_state = self._random_state, None  # scikeras builds unseeded when it is None
        try:
            with self._seeded(seed):
                return super()._build_keras_model()
        finally:
            self._random_state = seed

    def _ensure_compiled_model(self) -> None:
        super()._ensure_compiled_model()
        self.model_ = lease(self, self._graph_key(), self.model_, self._build_key())

    def _build_key(self):
        """Everything that determines a freshly built model's initial values (the graph, every
        parameter, the integer seed); None without a seed (every build then differs)."""
        if not isinstance(self._random_state, (int, np.integer)):
            return None
        return self._graph_key(), tuple(sorted((k, repr(v)) for k, v in self.get_params().items()))

    def _graph_key(self) -> tuple:
        """Everything that determines the model's graph (see ``backends.keras_pool``)."""
        neutral = getattr(self, "_graph_neutral", GRAPH_NEUTRAL)
        params = tuple(sorted((k, repr(v)) for k, v in self.get_params().items() if k not in neutral))
        shapes = tuple(getattr(self, name, None) for name in ("n_features_in_", "n_classes_", "n_outputs_expected_"))
        return type(self).__qualname__, params, shapes, self._steps_per_execution()

    def _steps_per_execution(self) -> int:
        """Steps per call of the train function of a built-in model: one when the fit runs epoch
        by epoch (a validation pass or callbacks after each epoch, whose steps need not be a
        multiple of it), else :data:`STEPS_PER_EXECUTION`."""
        return 1 if self.validation_fraction > 0 or getattr(self, "callbacks", None) else STEPS_PER_EXECUTION

    def _model_input(self, X):
        """``X`` as the network takes it (flat rows; a user model declared image-only: images)."""
        shape = getattr(self, "image_input", None)
        return X if not shape else np.asarray(X).reshape(len(X), *shape)

    def _model_target(self, y):
        """``y`` as the network's loss takes it: one-hot rows for a categorical loss, so that a
        user's loss keeps its meaning (``from_logits``, ``label_smoothing``) instead of being
        replaced; class indices otherwise."""
        if not _loss_kind(self.model_.loss)[0]:
            return y
        return keras.utils.to_categorical(np.asarray(y).ravel(), num_classes=self.n_classes_).astype("float32")

    def _predict_raw(self, X, **kwargs):
        """The network's outputs for ``X``: its traced predict function called on whole chunks
        of rows (``predict_on_batch``), without the per-call data pipeline of ``Model.predict``,
        which costs more than the arithmetic on the study's data. A network trained on logits
        (``from_logits=True``) has its outputs turned into probabilities."""
        if not self.initialized_:
            raise NotFittedError("Estimator needs to be fit before `predict` can be called")
        X, _ = self._validate_data(X=X, y=None)
        X = self._model_input(self.feature_encoder_.transform(X))
        chunks = [self.model_.predict_on_batch(X[i:i + PREDICT_ROWS]) for i in range(0, max(len(X), 1), PREDICT_ROWS)]
        raw = np.concatenate([np.asarray(c) for c in chunks])
        if _loss_kind(self.model_.loss)[1]:
            raw = np.asarray(keras.ops.softmax(raw) if raw.shape[-1] > 1 else keras.ops.sigmoid(raw))
        return raw

    def _split_inner(self, X, y, sample_weight, groups=None, time=None) -> tuple:
        """``(X, y, sample_weight, validation)``: the seeded inner validation split of the data
        passed to ``fit``: the rows of the latest times when ``time`` is given (at least
        ``validation_fraction`` of them; rows sharing a time together), whole groups when
        ``groups`` is given (``GroupShuffleSplit``, a ``validation_fraction`` of the groups),
        else a stratified (classifiers) random split."""
        if self.validation_fraction == 0.0:
            return X, y, sample_weight, None
        parts = [X, y] + ([sample_weight] if sample_weight is not None else [])
        if time is not None or groups is not None:
            if time is not None:
                time = np.asarray(time)
                cut = np.sort(time, kind="stable")[len(time) - max(1, math.ceil(self.validation_fraction * len(time)))]
                fit, val = np.flatnonzero(time < cut), np.flatnonzero(time >= cut)
            else:
                fit, val = next(GroupShuffleSplit(n_splits=1, test_size=self.validation_fraction,
                                                  random_state=self._random_state).split(X, y, groups))
            split = [piece for part in parts for piece in (part[fit], part[val])]
        else:
            stratify = _class_labels(y) if self._stratify_inner else None
            split = train_test_split(*parts, test_size=self.validation_fraction, random_state=self._random_state,
                                     stratify=stratify)
        weights = split[4] if sample_weight is not None else None
        return split[0], split[2], weights, (split[1], split[3])

    def _dataset(self, X, y, sample_weight=None, shuffle=False, epochs=None) -> tuple:
        """A ``tf.data`` pipeline of batches, reshuffled (seeded) every epoch, repeated ``epochs``
        times (None: without end), and its steps per epoch: one iterator serves the whole fit."""
        X, y = self._model_input(X), self._model_target(y)
        tensors = (X, y) if sample_weight is None else (X, y, np.asarray(sample_weight, dtype="float32"))
        data = tf.data.Dataset.from_tensor_slices(tensors)
        if shuffle:
            data = data.shuffle(len(X), seed=self._random_state, reshuffle_each_iteration=True)
        return data.batch(self.batch_size).repeat(epochs), math.ceil(len(X) / self.batch_size)

    def _fit_keras_model(self, X, y, sample_weight, warm_start, epochs, initial_epoch, validation_groups=None,
                         validation_time=None, **kwargs):
        self._check_validation_params()
        X, y, sample_weight, validation = self._split_inner(X, y, sample_weight, validation_groups, validation_time)
        with self._seeded(self._random_state, self.model_):
            if validation is None and not self._fit_callbacks:
                # nothing to do between epochs: all of them as one pass over the repeated data,
                # the same batches in the same order (history_["loss"] is then their mean)
                train, _ = self._dataset(X, y, sample_weight, shuffle=True, epochs=epochs)
                history = self.model_.fit(train, epochs=1, verbose=self.verbose, shuffle=False)
            else:  # epoch by epoch, for the validation pass and the callbacks
                # one iterator without end, unless a call of the train function runs several steps
                # (Keras would then run whole calls past an epoch's last batch): an epoch's batches
                one_at_a_time = self.model_.steps_per_execution == 1
                train, steps = self._dataset(X, y, sample_weight, shuffle=True, epochs=None if one_at_a_time else 1)
                fit_args = dict(steps_per_epoch=steps if one_at_a_time else None, epochs=initial_epoch + epochs,
                                initial_epoch=initial_epoch, callbacks=self._fit_callbacks, verbose=self.verbose,
                                shuffle=False)
                if validation is not None and not getattr(self, "callbacks", None):
                    fit_args["callbacks"] = [ValidationPass(*self._dataset(*validation)), *fit_args["callbacks"]]
                elif validation is not None:  # a user's callbacks also see Keras' own evaluation calls
                    fit_args["validation_data"], fit_args["validation_steps"] = self._dataset(*validation)
                history = self.model_.fit(train, **fit_args)
        self.history_ = defaultdict(list)
        for key, values in history.history.items():
            if not (key == "loss" or key.startswith("val_")):
                with contextlib.suppress(ValueError):  # a user's custom metric keeps its name
                    key = metric_name(key)
            self.history_[key] += values
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


class StandardizedTargetMixin:
    @property
    def target_encoder(self):
        return StandardizedTarget()


def _built(model: keras.Model, input_shape: tuple, build_fn=None) -> keras.Model:
    """Build a model written without an input shape (Keras infers it) for ``input_shape`` rows.

    Raises
    ------
    ValueError
        If the build function returned something that is not a Keras model.
    """
    if not isinstance(model, keras.Model):
        name = getattr(build_fn, "__name__", repr(build_fn))
        raise ValueError(f"The Keras build function {name} returned {type(model).__name__} ({model!r:.60}); "
                         "expected a keras.Model. End it with `return model`.")
    if not model.built:
        model.build((None, *input_shape))
    return model


class KerasBuildFnClassifier(ClassifierTagsMixin, InnerValidationMixin, KerasClassifier):
    """A user's Keras build function as a classifier (see ``backends.custom.keras_model``).

    The user's model is trained as written: a compiled loss and metrics are kept (targets are
    one-hot rows for a categorical loss, class indices otherwise; logits are turned into
    probabilities for ``predict_proba``).

    Parameters
    ----------
    model : callable
        Returns a ``keras.Model``; may take scikeras' ``meta``. Uncompiled models are compiled
        with ``optimizer`` and ``loss``.
    epochs, batch_size, early_stopping, patience, validation_fraction, class_weight,
    random_state, verbose
        As ``backends.keras.KerasDenseClassifier``.
    optimizer : str, default="adam"
    loss : str, default="sparse_categorical_crossentropy"
    image_input : tuple of int (h, w, c) or None, default=None
        Feed the network images of this shape (rows of ``h*w*c`` values reshaped), for a model
        written for image input; None: flat rows.
    **kwargs
        Other scikeras parameters, e.g. ``model__units`` routed to the build function.
    """

    _stratify_inner = True

    def __init__(self, model=None, epochs=20, batch_size=32, early_stopping=False, patience=10,
                 validation_fraction=0.0, class_weight=None, random_state=None, verbose=0,
                 optimizer="adam", loss="sparse_categorical_crossentropy", image_input=None, **kwargs):
        super().__init__(model=model, epochs=epochs, batch_size=batch_size, class_weight=class_weight,
                         random_state=random_state, verbose=verbose, optimizer=optimizer, loss=loss, **kwargs)
        self.early_stopping = early_stopping
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.image_input = image_input

    def _build_keras_model(self):
        model = _built(super()._build_keras_model(), self.image_input or (self.n_features_in_,), self.model)
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


class KerasBuildFnRegressor(StandardizedTargetMixin, RegressorTagsMixin, InnerValidationMixin, KerasRegressor):
    """A user's Keras build function as a regressor (MSE loss unless the model is compiled),
    trained on the standardized target (:class:`StandardizedTarget`)."""

    _stratify_inner = False
    _single_output = False  # the user's network may have several outputs (2-D y)

    def __init__(self, model=None, epochs=20, batch_size=32, early_stopping=False, patience=10,
                 validation_fraction=0.0, random_state=None, verbose=0, optimizer="adam", loss="mse",
                 image_input=None, **kwargs):
        super().__init__(model=model, epochs=epochs, batch_size=batch_size, random_state=random_state,
                         verbose=verbose, optimizer=optimizer, loss=loss, **kwargs)
        self.early_stopping = early_stopping
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.image_input = image_input

    def _build_keras_model(self):
        return _built(super()._build_keras_model(), self.image_input or (self.n_features_in_,), self.model)
