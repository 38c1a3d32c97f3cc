"""Preprocessing inside the estimator: TabularPreprocessor fitted per fold, on real-world-shaped data."""

import pickle
import re
import threading
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from backends.preprocessing import MAX_CATEGORIES, FitCount, ImageScaler, TabularPreprocessor, counting_fits, pipeline

CUSTOMERS = Path(__file__).parent / "data" / "customers.csv"


def fold_a():
    """Training fold: numeric with a NaN, a string category with a missing value, a bool."""
    return pd.DataFrame({
        "age": [20.0, 30.0, np.nan, 50.0],
        "plan": pd.Series(["basic", None, "premium", "basic"], dtype="str"),
        "paperless": [True, False, True, True],
    })


def fold_b():
    """Another fold: a missing age, an unseen plan ("platinum") and a missing plan."""
    return pd.DataFrame({
        "age": [np.nan, 40.0],
        "plan": pd.Series(["platinum", None], dtype="str"),
        "paperless": [False, True],
    })


NAMES = ["age", "plan_basic", "plan_premium", "paperless_False", "paperless_True"]


def test_fit_on_one_fold_transform_another_with_an_unseen_category():
    pre = TabularPreprocessor().fit(fold_a())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = pre.transform(fold_b())
    assert out.dtype == np.float32 and out.shape == (2, 5) and not np.isnan(out).any()
    assert pre.get_feature_names_out().tolist() == NAMES
    assert pre.numeric_features_ == ["age"] and pre.categorical_features_ == ["plan", "paperless"]
    # age: median 30 imputed in fold A -> [20, 30, 30, 50], mean 32.5, std sqrt(118.75)
    std = np.sqrt(118.75)
    expected = np.array([
        [(30 - 32.5) / std, 0, 0, 1, 0],   # age imputed with fold A's median; unseen plan -> all zeros
        [(40 - 32.5) / std, 1, 0, 0, 1],   # missing plan -> fold A's most frequent, "basic"
    ])
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    train = pre.transform(fold_a())
    np.testing.assert_allclose(train[:, 0].mean(), 0.0, atol=1e-7)
    np.testing.assert_allclose(train[:, 1:], [[1, 0, 0, 1], [1, 0, 1, 0], [0, 1, 0, 1], [1, 0, 0, 1]])


def test_scale_false_imputes_and_encodes_but_leaves_numbers_in_their_units():
    pre = TabularPreprocessor(scale=False).fit(fold_a())
    np.testing.assert_array_equal(pre.transform(fold_a())[:, 0], [20, 30, 30, 50])
    np.testing.assert_array_equal(pre.transform(fold_b()), [[30, 0, 0, 1, 0], [40, 1, 0, 0, 1]])
    assert pre.get_feature_names_out().tolist() == NAMES


def test_customers_folds_give_dense_float32_without_nan():
    df = pd.read_csv(CUSTOMERS)
    X, y = df.drop(columns=["customer_id", "churned"]), df["churned"].to_numpy()
    folds = StratifiedKFold(5, shuffle=True, random_state=0).split(X, y)
    for k, (fit, val) in enumerate(folds):
        X_val = X.iloc[val].copy()
        X_val.iloc[0, X_val.columns.get_loc("region")] = "atlantis"  # unseen in the training fold
        pre = TabularPreprocessor().fit(X.iloc[fit])
        out = pre.transform(X_val)
        # 3 numeric + 3 plans + 4 regions + 2 paperless values
        assert out.shape == (len(val), 12) and out.dtype == np.float32
        assert not np.isnan(out).any()
        assert out[0, 6:10].tolist() == [0, 0, 0, 0]  # the unseen region row
    assert pre.get_feature_names_out().tolist() == [
        "age", "income", "tenure_months", "plan_basic", "plan_premium", "plan_standard",
        "region_east", "region_north", "region_south", "region_west",
        "paperless_billing_False", "paperless_billing_True"]


def test_in_a_pipeline_each_fold_fits_its_own_preprocessing_and_beats_the_majority():
    df = pd.read_csv(CUSTOMERS)
    X, y = df.drop(columns=["customer_id", "churned"]), df["churned"].to_numpy()
    model = Pipeline([("preprocess", TabularPreprocessor()), ("model", LogisticRegression())])
    scores = cross_val_score(model, X, y, cv=StratifiedKFold(5, shuffle=True, random_state=0))
    majority = max(np.mean(y), 1 - np.mean(y))
    assert scores.mean() > majority + 0.1
    assert clone(model).set_params(preprocess__scale=False).get_params()["preprocess__scale"] is False


def test_pandas_extension_dtypes_and_mixed_missing_markers():
    X = pd.DataFrame({
        "visits": pd.array([1, None, 3, 4], dtype="Int64"),
        "tier": pd.Categorical(["gold", "silver", None, "gold"]),
        "newsletter": [True, None, False, True],           # bool-like object with a missing value
        "code": pd.Series(["a", pd.NA, "b", "a"], dtype="string"),
    })
    pre = TabularPreprocessor().fit(X)
    out = pre.transform(X)
    assert out.shape == (4, 1 + 2 + 2 + 2) and not np.isnan(out).any()
    assert pre.get_feature_names_out().tolist() == [
        "visits", "tier_gold", "tier_silver", "newsletter_False", "newsletter_True", "code_a", "code_b"]


def test_numeric_array_is_imputed_and_scaled():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 3))
    np.testing.assert_allclose(TabularPreprocessor().fit_transform(X), StandardScaler().fit_transform(X), rtol=1e-5)
    X[2, 1] = np.nan
    pre = TabularPreprocessor(scale=False).fit(X)
    assert pre.transform(X)[2, 1] == np.float32(np.nanmedian(X[:, 1]))
    assert pre.get_feature_names_out().tolist() == ["x0", "x1", "x2"]
    assert pre.categorical_features_ == [] and pre.numeric_features_ == [0, 1, 2]


def test_unsupported_column_dtype_is_named():
    # the unit given: pandas 2 parses to datetime64[ns], pandas 3 to datetime64[us]
    X = pd.DataFrame({"signup": pd.to_datetime(["2020-01-01", "2021-06-30"]).as_unit("us"), "age": [30, 40]})
    message = ("TabularPreprocessor cannot encode column(s) 'signup' (datetime64[us]); expected numeric, bool, "
               "string or category columns. Convert them to numbers (e.g. a date to its year and month) or drop them.")
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        TabularPreprocessor().fit(X)


def test_columns_must_match_the_training_fold():
    pre = TabularPreprocessor().fit(fold_a())
    message = "The feature names should match those that were passed during fit."
    with pytest.raises(ValueError, match=re.escape(message)):
        pre.transform(fold_b().rename(columns={"plan": "tier"}))


def test_clone_and_pickle_round_trip():
    pre = TabularPreprocessor(scale=False)
    assert clone(pre).get_params() == {"scale": False}
    fitted = TabularPreprocessor().fit(fold_a())
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(fitted)).transform(fold_b()), fitted.transform(fold_b()))


def test_pandas_output_uses_the_feature_names():
    pre = TabularPreprocessor().set_output(transform="pandas").fit(fold_a())
    out = pre.transform(fold_b())
    assert list(out.columns) == NAMES and out.shape == (2, 5)


def many_cities(n=2000, seed=0):
    """A string column of 1,000 cities seen twice each, and 10 cities seen 30 times each."""
    rng = np.random.default_rng(seed)
    cities = [f"rare{k}" for k in np.repeat(np.arange(1000), 2)] + [f"big{k}" for k in np.repeat(np.arange(10), 30)]
    cities = list(rng.permutation(np.array(cities, dtype=object)))
    return pd.DataFrame({"x": rng.normal(size=len(cities)), "city": cities}), rng.integers(0, 2, len(cities))


def test_a_high_cardinality_column_is_bounded_to_max_categories():
    X, _ = many_cities()
    pre = TabularPreprocessor().fit(X)
    encoder = pre.column_transformer_.named_transformers_["cat"]["onehot"]
    assert (encoder.max_categories, encoder.handle_unknown) == (MAX_CATEGORIES, "infrequent_if_exist") == (
        50, "infrequent_if_exist")
    names = pre.get_feature_names_out().tolist()
    assert len(names) == 1 + MAX_CATEGORIES and names[-1] == "city_infrequent_sklearn"
    assert {f"city_big{k}" for k in range(10)} <= set(names)  # the frequent cities keep their column
    out = pre.transform(pd.DataFrame({"x": [0.0, 0.0], "city": ["big3", "never seen"]}))
    assert out.shape == (2, 51)
    assert out[0, names.index("city_big3")] == 1 and out[0, 1:].sum() == 1
    assert out[1, names.index("city_infrequent_sklearn")] == 1 and out[1, 1:].sum() == 1  # unseen: infrequent


def test_a_model_on_a_high_cardinality_column_and_its_notice():
    from backends.sklearn import logistic_regression
    from study.data import check_dataset, from_dataframe

    X, y = many_cities()
    model = logistic_regression("classification", 0).fit(X, y)
    assert model[:-1].transform(X).shape == (len(X), 51)
    data = from_dataframe(X.assign(y=y), "y", name="shops", task="classification")
    notice = ("Column 'city' of dataset 'shops' has 1010 distinct values; its one-hot encoding is bounded to 50 "
              "columns (OneHotEncoder max_categories=50: the 49 most frequent values of each training fold, one "
              "column for all the others). To use it otherwise, encode it yourself (e.g. as counts) or drop it.")
    with pytest.warns(UserWarning) as record:
        checked = check_dataset(data, n_splits=5, test_size=0.2)
    assert [str(w.message) for w in record] == [notice] and checked.notes == (notice,)
    few = from_dataframe(X.assign(city=X["city"].str[:4], y=y), "y", task="classification")  # "rare", "big0".."big9"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_dataset(few, n_splits=5, test_size=0.2).notes == ()


def test_fits_are_counted_by_the_block_they_run_in_and_an_inner_block_counts_in_the_outer_one():
    from sklearn.linear_model import LinearRegression

    X, y = [[0.0], [1.0]], [0.0, 1.0]
    model = pipeline(LinearRegression())
    model.fit(X, y)  # outside a block: counted nowhere
    with counting_fits() as outer:
        model.fit(X, y)
        with counting_fits() as inner:
            model.fit(X, y).fit(X, y)
            with pytest.raises(ValueError):
                model.fit([[0.0], [np.inf]], y)  # a fit that raised is not counted
        assert (inner.fits, outer.fits) == (2, 3)
        worker = threading.Thread(target=model.fit, args=(X, y))  # another thread: its own context
        worker.start()
        worker.join()
    assert (inner, outer) == (FitCount(2), FitCount(3))


def test_docstring_examples():
    import doctest

    import backends.preprocessing

    assert doctest.testmod(backends.preprocessing, raise_on_error=False).failed == 0


@parametrize_with_checks([TabularPreprocessor(), TabularPreprocessor(scale=False), ImageScaler()])
def test_scikit_learn_estimator_api(estimator, check):
    check(estimator)
