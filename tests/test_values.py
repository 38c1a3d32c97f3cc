"""Numbers the models can hold: inf and huge values refused in features, targets and images;
degenerate image shapes refused; exact messages."""

import re
import warnings

import numpy as np
import pandas as pd
import pytest

from backends.sklearn import random_forest, ridge
from study.data import MAX_ABS_VALUE, Dataset, check_dataset, from_dataframe, load_npz


def raises(message):
    return pytest.raises(ValueError, match=f"^{re.escape(message)}$")


def check(dataset):
    return check_dataset(dataset, n_splits=3, test_size=0.2)


def table(n=30, **columns):
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "plan": ["x", "y", "z"] * (n // 3),
                       "y": np.arange(n) % 2})
    for name, values in columns.items():
        df[name] = values
    return from_dataframe(df, "y", name="t", task="classification")


def test_infinite_features_are_refused_by_column_with_their_rows():
    a = np.zeros(30)
    a[[3, 7]] = [np.inf, -np.inf]
    b = np.zeros(30)
    b[5] = np.inf
    with raises("Column(s) 'a' (2 rows), 'b' (1 row) of dataset 't' hold infinite values (inf or -inf); expected "
                "finite numbers (missing values may be NaN or empty: they are imputed). Replace them with NaN "
                "(df.replace([np.inf, -np.inf], np.nan)) or drop those rows."):
        check(table(a=a, b=b))


def test_huge_features_are_refused_and_the_bound_itself_is_fine():
    a = np.zeros(30)
    a[[1, 2]] = [MAX_ABS_VALUE, -MAX_ABS_VALUE]
    assert check(table(a=a)).X.shape == (30, 3)
    a[4] = -3e35
    b = np.full(30, 2e200)
    with raises("Column(s) 'a' (1 row, largest 3e+35), 'b' (30 rows, largest 2e+200) of dataset 't' hold values "
                "beyond +-1e+30; expected magnitudes up to 1e+30, which the models' float32 arithmetic can hold. "
                "Rescale the column(s) (other units, or a log) or drop those rows."):
        check(table(a=a, b=b))


def test_the_bound_is_where_the_models_start_failing():
    """Beyond float32's range an unscaled random forest fails; within MAX_ABS_VALUE both fit."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    y = (X["b"] > 0).astype(int)
    for magnitude, fits in ((MAX_ABS_VALUE, True), (1e39, False)):
        big = X.assign(a=np.sign(X["a"]) * magnitude)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # the overflow itself
                random_forest("classification", 0).fit(big, y)
                ridge("regression", 0).fit(X, X["b"] * magnitude)
            ok = True
        except ValueError:
            ok = False
        assert ok is fits, magnitude


def test_nan_features_stay_allowed_and_ndarray_columns_are_named():
    a = np.zeros(30)
    a[::5] = np.nan
    assert check(table(a=a)).X["a"].isna().sum() == 6
    X = np.zeros((30, 3))
    X[2, 1], X[0, 0] = np.inf, np.nan
    data = Dataset("arr", X, np.arange(30) % 2, "classification", feature_names=["p", "q", "r"])
    with raises("Column(s) 'q' (1 row) of dataset 'arr' hold infinite values (inf or -inf); expected finite numbers "
                "(missing values may be NaN or empty: they are imputed). Replace them with NaN "
                "(df.replace([np.inf, -np.inf], np.nan)) or drop those rows."):
        check(data)
    X[2, 1] = 1e31
    with raises("Column(s) 'q' (1 row, largest 1e+31) of dataset 'arr' hold values beyond +-1e+30; expected "
                "magnitudes up to 1e+30, which the models' float32 arithmetic can hold. Rescale the column(s) "
                "(other units, or a log) or drop those rows."):
        check(data)


def test_regression_targets_must_be_finite_and_in_range():
    y = np.linspace(0, 1, 30)
    y[[4, 9]] = [np.inf, -np.inf]
    data = Dataset("reg", np.zeros((30, 1)), y, "regression")
    with raises("The target of dataset 'reg' is infinite (inf or -inf) in 2 of 30 rows (row positions 4, 9); "
                "expected finite numbers. Drop those rows or fill in a finite target."):
        check(data)
    y[[4, 9]] = [5e30, 1.0]
    with raises("The target of dataset 'reg' is beyond +-1e+30 in 1 of 30 rows (row positions 4); expected finite "
                "numbers. Rescale the target (other units, or a log); the models' float32 arithmetic holds "
                "magnitudes up to 1e+30."):
        check(data)


def test_an_infinite_target_is_detected_as_regression_then_refused():
    df = pd.DataFrame({"x": np.arange(30.0), "y": [0.0, 1.0, np.inf] * 10})
    data = from_dataframe(df, "y", name="d")
    assert data.task == "regression"
    assert any("target 'y' has infinite values: treated as regression" in note for note in data.notes)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # refused in one message: no notice before it
        with raises("The target of dataset 'd' is infinite (inf or -inf) in 10 of 30 rows (row positions 2, 5, 8, "
                    "11, 14, ...); expected finite numbers. Drop those rows or fill in a finite target."):
            check(data)


def test_missing_regression_target_keeps_its_message():
    df = pd.DataFrame({"x": np.arange(30.0), "y": np.r_[np.nan, np.linspace(0, 1, 29)]})
    with raises("The target of dataset 'd' is missing in 1 of 30 rows (row positions 0); expected a value in every "
                "row. Drop those rows (df.dropna(subset=[target])) or fill in their target."):
        check(from_dataframe(df, "y", name="d", task="regression"))


def images(**changes):
    X = np.zeros((30, 4))
    for (row, col), value in changes.get("at", {}).items():
        X[row, col] = value
    return Dataset("img", X, np.arange(30) % 2, "classification", image_shape=changes.get("shape", (2, 2, 1)))


def test_image_values_inf_and_huge_are_refused():
    with raises("Image data of dataset 'img' has 2 infinite (inf or -inf) pixel values; expected finite numbers. "
                "Replace them (e.g. with 0 or the largest valid intensity) before loading."):
        check(images(at={(0, 0): np.inf, (3, 1): -np.inf}))
    with raises("Image data of dataset 'img' has 1 pixel value beyond +-1e+30 (largest 1e+300); expected magnitudes "
                "up to 1e+30, which float32 pixels can hold. Rescale the images (e.g. to [0, 1]) before loading."):
        check(images(at={(0, 0): 1e300}))


@pytest.mark.parametrize("shape", [(2, 2), (4, 1, 1, 1), (4, 0, 1), (-2, -2, 1), (2.0, 2, 1), "2x2"])
def test_image_shape_must_be_three_positive_integers(shape):
    X = np.zeros((30, 4))
    with raises(f"image_shape {shape!r} of dataset 'img' is not (height, width, channels) with each an integer of "
                "at least 1; expected e.g. (28, 28, 1). Fix image_shape (images with a dimension of 0 hold no "
                "pixels)."):
        check(Dataset("img", X, np.arange(30) % 2, "classification", image_shape=shape))


def test_x_must_be_two_dimensional():
    with raises("X of dataset 'flat' has shape (30,); expected 2-D (n_samples, n_features), images flattened "
                "row-major with image_shape set. Reshape it, e.g. X.reshape(len(X), -1)."):
        check(Dataset("flat", np.zeros(30), np.arange(30) % 2, "classification"))
    with raises("X of dataset 'cube' has shape (30, 2, 2); expected 2-D (n_samples, n_features), images flattened "
                "row-major with image_shape set. Reshape it, e.g. X.reshape(len(X), -1)."):
        check(Dataset("cube", np.zeros((30, 2, 2)), np.arange(30) % 2, "classification", image_shape=(2, 2, 1)))


@pytest.mark.parametrize("shape", [(30, 8, 0), (30, 0, 8), (30, 8, 8, 0), (30, 0, 0, 3)])
def test_npz_images_with_an_empty_dimension_are_refused(tmp_path, shape):
    path = tmp_path / "empty.npz"
    np.savez(path, X=np.zeros(shape), y=np.arange(30) % 2)
    with raises(f"X in '{path}' has shape {shape}: images with a dimension of size 0 hold no pixels; expected "
                "(n_samples, height, width) or (n_samples, height, width, channels) with every dimension at least "
                "1. Check how the images were built before saving."):
        load_npz(path)


def test_npz_images_with_inf_or_beyond_float32_are_refused_by_the_check(tmp_path):
    X = np.random.default_rng(0).random((30, 4, 4))
    X[1, 2, 3] = 1e300  # beyond float32: kept as float64, so the check can name it rather than see inf
    np.savez(tmp_path / "big.npz", X=X, y=np.arange(30) % 2)
    data = load_npz(tmp_path / "big.npz", task="classification")
    assert data.X.dtype == np.float64 and data.X.max() == 1e300
    with raises("Image data of dataset 'big' has 1 pixel value beyond +-1e+30 (largest 1e+300); expected magnitudes "
                "up to 1e+30, which float32 pixels can hold. Rescale the images (e.g. to [0, 1]) before loading."):
        check(data)
    X[1, 2, 3] = -np.inf
    np.savez(tmp_path / "inf.npz", X=X, y=np.arange(30) % 2)
    data = load_npz(tmp_path / "inf.npz", task="classification")
    assert data.X.dtype == np.float32
    with raises("Image data of dataset 'inf' has 1 infinite (inf or -inf) pixel value; expected finite numbers. "
                "Replace them (e.g. with 0 or the largest valid intensity) before loading."):
        check(data)


def test_mnist_layout_with_mismatched_image_shapes(tmp_path):
    path = tmp_path / "mixed.npz"
    np.savez(path, x_train=np.zeros((10, 28, 28)), y_train=np.zeros(10), x_test=np.zeros((5, 32, 32)),
             y_test=np.zeros(5))
    with raises(f"x_train and x_test in '{path}' have rows of shapes (28, 28) and (32, 32); expected the same "
                "shape. Save training and test images of the same size."):
        load_npz(path)
