"""Preprocessing steps that live inside the estimator's Pipeline (fitted per fold).

- :class:`ImageScaler`: pixels to [0, 1] by one global factor.
- :class:`TabularPreprocessor`: imputation, scaling and one-hot encoding of tabular data
  (a pandas DataFrame of mixed column types, or a numeric array), decided from the column
  dtypes of the training fold and learned on it only.
- :func:`pipeline`: every model's Pipeline, ``preprocess -> model``, whose fits are counted
  (:class:`CountedPipeline`) by the counter :func:`counting_fits` makes current.
"""

from __future__ import annotations

import contextlib
import contextvars
from dataclasses import dataclass

import numpy as np
import pandas as pd
from joblib import parallel_config
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["ImageScaler", "TabularPreprocessor", "CountedPipeline", "FitCount", "counting_fits", "is_categorical",
           "pipeline", "MAX_CATEGORIES"]


MAX_CATEGORIES = 50
"""Most one-hot columns per categorical column (``OneHotEncoder(max_categories=...)``): the 49
most frequent categories of the training fold, and one column for all the others. Unbounded, a
string column with 10,000 distinct values in 20,000 rows encodes to a dense array of about 10,000
float64 columns (over a gigabyte per fit); 50 keeps every category of ordinary columns and
bounds the rest."""

_COUNTER: contextvars.ContextVar = contextvars.ContextVar("fit_counter", default=None)
"""The :class:`FitCount` of the innermost :func:`counting_fits` block of this context; None outside."""


@dataclass
class FitCount:
    """The fits of :class:`CountedPipeline` objects counted by one :func:`counting_fits` block.

    Attributes
    ----------
    fits : int, default=0
        ``CountedPipeline.fit`` calls that returned in the block's thread (a fit that raised is
        not counted, nor one in another thread or process).
    """

    fits: int = 0


@contextlib.contextmanager
def counting_fits():
    """Count the fits of :class:`CountedPipeline` objects made in this block (the work of one
    work item: ``study.store`` returns the count beside the item's value).

    The counter is current for this block's context only (a :class:`contextvars.ContextVar`): no
    state of the module or of the process, nothing in the environment or in a file. Blocks nest:
    an inner block's fits count in the outer one too when it ends (as it ends, exception or not).

    Yields
    ------
    FitCount
        Its ``fits`` grow as the block fits; read it after the block for the total.

    Examples
    --------
    >>> from sklearn.linear_model import LinearRegression
    >>> with counting_fits() as count:
    ...     _ = pipeline(LinearRegression()).fit([[0.0], [1.0]], [0.0, 1.0])
    >>> count.fits
    1
    """
    count = FitCount()
    token = _COUNTER.set(count)
    try:
        yield count
    finally:
        _COUNTER.reset(token)
        outer = _COUNTER.get()
        if outer is not None:
            outer.fits += count.fits


class CountedPipeline(Pipeline):
    """A :class:`sklearn.pipeline.Pipeline` whose fits are counted: each ``fit`` that returns adds
    one to the counter of the :func:`counting_fits` block it runs in (none outside a block).
    Parameters and behaviour are Pipeline's.

    Its tags are Pipeline's, and ``input_tags.allow_nan`` is True when the first step is a
    :class:`TabularPreprocessor`, which imputes every missing value (scikit-learn's Pipeline
    takes no input tag from its steps, so ``check_estimator`` would expect NaN to be refused)."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        try:
            first = self.steps[0][1]
        except (TypeError, IndexError, KeyError):  # steps not validated yet: fit says what is wrong
            first = None
        tags.input_tags.allow_nan = isinstance(first, TabularPreprocessor)
        return tags

    def fit(self, X, y=None, **params):
        super().fit(X, y, **params)
        count = _COUNTER.get()
        if count is not None:
            count.fits += 1
        return self


def pipeline(model, preprocess=None) -> CountedPipeline:
    """Every model's Pipeline: ``preprocess`` (default :class:`TabularPreprocessor`), then the
    estimator as step ``model`` (the step :mod:`backends.routing` routes parameters to)."""
    from backends.routing import STEPS

    return CountedPipeline(list(zip(STEPS, (TabularPreprocessor() if preprocess is None else preprocess, model))))


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


def _is_numeric(dtype) -> bool:
    """Numeric for the preprocessor: int or float (numpy or pandas nullable), not bool."""
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


def is_categorical(dtype) -> bool:
    """Encoded one-hot: bool, pandas ``category``, string and object columns."""
    return (
        pd.api.types.is_bool_dtype(dtype)
        or isinstance(dtype, pd.CategoricalDtype)
        or pd.api.types.is_string_dtype(dtype)
        or pd.api.types.is_object_dtype(dtype)
    )


def _as_categories(column: pd.Series) -> np.ndarray:
    """Object array of ``str`` values with ``np.nan`` for every kind of missing value.

    One representation for bool, category, ``str`` and object columns (mixed Python
    types included), which ``SimpleImputer`` and ``OneHotEncoder`` both accept.
    """
    missing = column.isna().to_numpy()
    values = column.astype(object).to_numpy()
    out = np.array([str(v) for v in values], dtype=object)
    out[missing] = np.nan
    return out


class TabularPreprocessor(TransformerMixin, BaseEstimator):
    """Impute, scale and one-hot encode tabular data; output a dense float32 array.

    The column roles are read in ``fit`` from the dtypes of the training data:

    - numeric columns (int, float, pandas nullable ``Int64``/``Float64``; not bool) ->
      ``SimpleImputer(strategy="median")`` -> ``StandardScaler`` (the scaler only with
      ``scale=True``);
    - bool, ``category``, string and object columns -> ``SimpleImputer(strategy="most_frequent")``
      -> ``OneHotEncoder(max_categories=MAX_CATEGORIES, handle_unknown="infrequent_if_exist",
      sparse_output=False)``: a column with more than :data:`MAX_CATEGORIES` (50) categories in
      the training fold keeps its 49 most frequent ones and groups the others in one
      ``<column>_infrequent_sklearn`` column, which also receives categories not seen in the
      training fold; without such a group, an unseen category is encoded as all zeros.
      (``study.data.check_dataset`` announces each column so bounded.)

    A numeric array (anything that is not a DataFrame) is all numeric columns. Assembled
    with :class:`sklearn.compose.ColumnTransformer` in ``fit``, so every fold learns its
    own medians, modes, means, scales and categories. A column that is entirely missing
    in the training fold is dropped by the imputer (scikit-learn's ``SimpleImputer``
    behaviour, with its warning).

    Parameters
    ----------
    scale : bool, default=True
        Standardize the numeric columns (zero mean, unit variance, learned on the training
        fold). ``False`` for tree models, which are invariant to scaling: numeric columns
        are then only imputed and keep their units.

    Attributes
    ----------
    numeric_features_ : list
        Names (DataFrame input) or positions (array input) of the numeric columns.
    categorical_features_ : list
        Names of the one-hot encoded columns (empty for array input).
    column_transformer_ : sklearn.compose.ColumnTransformer
        The fitted transformer.
    n_features_in_ : int
        Number of input columns.
    feature_names_in_ : ndarray of str of shape (n_features_in_,)
        Input column names, set when ``X`` is a DataFrame with string column names.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> X = pd.DataFrame({"age": [20.0, np.nan, 40.0], "plan": ["a", "b", None]})
    >>> pre = TabularPreprocessor().fit(X)
    >>> pre.get_feature_names_out().tolist()
    ['age', 'plan_a', 'plan_b']
    >>> pre.transform(pd.DataFrame({"age": [30.0], "plan": ["c"]}))
    array([[0., 0., 0.]], dtype=float32)
    """

    def __init__(self, *, scale=True):
        self.scale = scale

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags

    def _numeric_pipeline(self) -> Pipeline:
        steps = [("impute", SimpleImputer(strategy="median"))]
        if self.scale:
            steps.append(("scale", StandardScaler()))
        return Pipeline(steps)

    @staticmethod
    def _categorical_pipeline() -> Pipeline:
        return Pipeline([
            ("impute", SimpleImputer(strategy="most_frequent")),
            ("onehot", OneHotEncoder(max_categories=MAX_CATEGORIES, handle_unknown="infrequent_if_exist",
                                     sparse_output=False)),
        ])

    def _prepare(self, X: pd.DataFrame) -> pd.DataFrame:
        """Float64 numeric columns (NaN for missing) and str/NaN object categorical ones."""
        categorical = set(self.categorical_features_)
        columns = {}
        for position, name in enumerate(X.columns):
            column = X.iloc[:, position]
            if name in categorical:
                columns[position] = _as_categories(column)
            else:
                columns[position] = column.to_numpy(dtype=np.float64, na_value=np.nan)
        out = pd.DataFrame(columns, index=X.index)
        out.columns = X.columns
        return out

    def fit(self, X, y=None):
        """Choose each column's steps from its dtype and fit them on ``X``.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_samples, n_features)
            Training data; NaN / None / ``pd.NA`` mark missing values.
        y : ignored

        Returns
        -------
        self : TabularPreprocessor

        Raises
        ------
        ValueError
            If a DataFrame column has a dtype that is neither numeric nor categorical
            (e.g. datetime); the message names the columns.
        """
        if isinstance(X, pd.DataFrame):
            validate_data(self, X, skip_check_array=True)
            dtypes = X.dtypes.tolist()
            names = list(X.columns)
            unsupported = [f"{n!r} ({d})" for n, d in zip(names, dtypes)
                           if not _is_numeric(d) and not is_categorical(d)]
            if unsupported:
                raise ValueError(
                    f"TabularPreprocessor cannot encode column(s) {', '.join(unsupported)}; "
                    "expected numeric, bool, string or category columns. Convert them to "
                    "numbers (e.g. a date to its year and month) or drop them."
                )
            numeric = [i for i, d in enumerate(dtypes) if _is_numeric(d)]
            categorical = [i for i, d in enumerate(dtypes) if not _is_numeric(d)]
            self.numeric_features_ = [names[i] for i in numeric]
            self.categorical_features_ = [names[i] for i in categorical]
            self._columns = names
            data = self._prepare(X)
        else:
            data = validate_data(self, X, dtype=[np.float64, np.float32], ensure_all_finite="allow-nan")
            numeric, categorical = list(range(data.shape[1])), []
            self.numeric_features_, self.categorical_features_ = list(numeric), []
            self._columns = None
        transformers = []
        if numeric:
            transformers.append(("num", self._numeric_pipeline(), numeric))
        if categorical:
            transformers.append(("cat", self._categorical_pipeline(), categorical))
        self.column_transformer_ = ColumnTransformer(
            transformers, remainder="drop", sparse_threshold=0.0, verbose_feature_names_out=False
        ).fit(data)
        return self

    def transform(self, X):
        """Impute, scale and encode ``X`` with what ``fit`` learned.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_samples, n_features)
            The same columns as in ``fit`` (same names and order for a DataFrame).

        Returns
        -------
        ndarray of float32 of shape (n_samples, n_features_out)
            Dense, without NaN; ``n_features_out == len(get_feature_names_out())``.
        """
        check_is_fitted(self)
        if self._columns is not None:  # fitted on a DataFrame: columns by name and dtype
            validate_data(self, X, reset=False, skip_check_array=True)
            if not isinstance(X, pd.DataFrame):
                X = pd.DataFrame(np.asarray(X, dtype=object), columns=self._columns)
            data = self._prepare(X)
        else:
            data = validate_data(
                self, X, dtype=[np.float64, np.float32], ensure_all_finite="allow-nan", reset=False
            )
        # the columns in this process, also in a task of joblib's Dask backend (else each column group
        # is a task of its own; scikit-learn 1.8 then gets its params Bunch back as a dict: "'dict'
        # object has no attribute 'transform'", fixed in 1.9)
        with parallel_config(backend="sequential"):
            return np.asarray(self.column_transformer_.transform(data), dtype=np.float32)

    def get_feature_names_out(self, input_features=None):
        """Output column names: numeric names, then ``<column>_<category>`` per category.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Input names; defaults to ``feature_names_in_`` (or ``x0, x1, ...``).

        Returns
        -------
        ndarray of str objects of shape (n_features_out,)
        """
        check_is_fitted(self)
        return self.column_transformer_.get_feature_names_out(input_features)
