"""Preprocessing steps that live inside the estimator's Pipeline (fitted per fold)."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data


class ImageScaler(TransformerMixin, BaseEstimator):
    """Scale pixel intensities to [0, 1] by the largest value seen in the training data.

    One global factor (not one per pixel), so a shifted or rotated image keeps its
    meaning; fitted inside each fold like any scaler.

    Attributes
    ----------
    scale_ : float
        The maximum absolute value of the training data (1.0 if it is all zeros).
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags

    def fit(self, X, y=None):
        """Learn ``scale_`` from ``X`` of shape (n_samples, n_features)."""
        X = validate_data(self, X, dtype=np.float32)
        peak = float(np.abs(X).max()) if X.size else 0.0
        self.scale_ = peak if peak > 0 else 1.0
        return self

    def transform(self, X):
        """Return ``X / scale_`` as float32, shape unchanged."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float32, reset=False)
        return X / np.float32(self.scale_)
