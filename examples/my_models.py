"""Your own models, as you already write them; the study wraps them (see the TOML files here).

Run from the repository root, e.g. ``python -m study.run --config examples/custom_models.toml``.
"""

import keras
from sklearn.svm import SVC


def build_mlp():
    """The usual Keras code: Dense(128, relu) -> Dropout -> Dense(10, softmax).

    No input shape (Keras infers it from the data) and no need to compile: the study compiles
    an uncompiled model with Adam and sparse categorical cross-entropy. A model compiled with
    ``categorical_crossentropy`` is also accepted.
    """
    model = keras.Sequential([
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dropout(0.2),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def build_mlp_for(meta):
    """A build function may take scikeras' ``meta`` to size its output layer from the data."""
    return keras.Sequential([
        keras.Input((meta["n_features_in_"],)),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(meta["n_classes_"], activation="softmax"),
    ])


def make_svc():
    """Any scikit-learn estimator: an object, or a function returning one."""
    return SVC(kernel="rbf")
