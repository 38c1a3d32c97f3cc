"""Data in: every loader, task detection, ID-like columns and every bad input's exact message.

No test touches the network: OpenML is either monkeypatched or read from a fake cache
written to ``tmp_path`` with ``urlopen`` replaced by a function that raises.
"""

import dataclasses
import gzip
import hashlib
import json
import re
import warnings
from pathlib import Path
from urllib.error import URLError

import numpy as np
import pandas as pd
import pytest
from sklearn.utils import Bunch

import study.data.checks
import study.data.dataset
import study.data.loaders
import study.data.tables
import study.data.targets
import study.data.values
from study.data import (
    BUNDLED,
    Dataset,
    check_dataset,
    detect_task,
    from_dataframe,
    is_id_like,
    load_data,
    load_dataset,
    load_npz,
    load_openml,
    load_table,
)

DATA = Path(__file__).parent / "data"
CUSTOMERS = DATA / "customers.csv"


def raises(message):
    """``pytest.raises(ValueError)`` matching the whole message exactly."""
    return pytest.raises(ValueError, match=f"^{re.escape(message)}$")


def frame(n=30, seed=0, **extra):
    """A small classification table: two features, a string target with 2 classes."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n), "label": ["a", "b"] * (n // 2)})
    for name, values in extra.items():
        df[name] = values
    return df


def checked(dataset, n_splits=5, test_size=0.2):
    """check_dataset with every warning but the detected task's note (tested on its own) turned
    into an error (so unexpected drops fail)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", r"dataset '[^']*': target '[^']*' .*: treated as ", UserWarning)
        return check_dataset(dataset, n_splits=n_splits, test_size=test_size)


# --------------------------------------------------------------------------------------
# Bundled datasets (unchanged API)


def test_bundled_datasets_load_and_pass_the_checks_unchanged():
    digits = load_dataset("digits")
    assert digits.X.shape == (1797, 64) and digits.image_shape == (8, 8, 1)
    assert digits.test_index is None and not digits.predefined_test
    assert checked(digits) is digits
    for name in BUNDLED:
        dataset = load_data(name)
        assert dataset.name == name and isinstance(dataset.X, np.ndarray)
        assert checked(dataset) is dataset


def test_unknown_bundled_name_keeps_its_message():
    with raises(f"Unknown dataset 'mnist'. Expected one of {sorted(BUNDLED)}."):
        load_dataset("mnist")


# --------------------------------------------------------------------------------------
# Tables


def test_load_table_csv_keeps_a_dataframe_with_proper_dtypes():
    data = load_table(CUSTOMERS, "churned")
    assert data.name == "customers" and data.task == "classification"
    assert isinstance(data.X, pd.DataFrame) and data.X.shape == (300, 7)
    assert isinstance(data.X.index, pd.RangeIndex)
    assert data.feature_names == ["customer_id", "age", "income", "tenure_months", "plan", "region",
                                  "paperless_billing"]
    dtypes = data.X.dtypes
    assert dtypes["customer_id"] == np.int64 and dtypes["age"] == np.float64
    assert pd.api.types.is_string_dtype(dtypes["plan"]) and dtypes["paperless_billing"] == bool
    assert int(data.X["plan"].isna().sum()) == 10 and int(data.X["income"].isna().sum()) == 25
    assert isinstance(data.y, np.ndarray) and data.y.dtype == np.int64
    assert data.target_names == ["0", "1"] and int(data.y.sum()) == 112
    assert data.test_index is None and data.image_shape is None


def test_customers_fixture_is_reproducible_from_its_generator():
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_customers", DATA / "make_customers.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.make_customers().to_csv(index=False) == CUSTOMERS.read_text()


def test_load_table_parquet_round_trip(tmp_path):
    pytest.importorskip("pyarrow")
    df = pd.read_csv(CUSTOMERS)
    df["plan"] = df["plan"].astype("category")
    path = tmp_path / "customers.parquet"
    df.to_parquet(path)
    data = load_table(path, "churned", drop=["customer_id"])
    assert data.name == "customers" and data.X.shape == (300, 6)
    assert isinstance(data.X["plan"].dtype, pd.CategoricalDtype)
    pd.testing.assert_frame_equal(data.X.drop(columns="plan"),
                                  df.drop(columns=["churned", "customer_id", "plan"]))
    np.testing.assert_array_equal(data.y, df["churned"].to_numpy())


def test_from_dataframe_splits_off_a_string_target_and_drops_columns():
    df = frame(n=6, notes=list("uvwxyz"))
    df.index = [10, 11, 12, 13, 14, 15]
    data = from_dataframe(df, "label", name="toy", drop=("notes",))
    assert data.name == "toy" and data.task == "classification"
    assert list(data.X.columns) == ["x1", "x2"] == data.feature_names
    assert list(data.X.index) == [0, 1, 2, 3, 4, 5]
    assert data.y.tolist() == ["a", "b", "a", "b", "a", "b"]
    assert data.target_names == ["a", "b"]
    assert from_dataframe(df, "label").name == "dataframe"


def test_from_dataframe_target_names_are_the_sorted_distinct_labels():
    df = pd.DataFrame({"x": range(6), "y": ["zebra", "ant", "cat", "ant", None, "zebra"]})
    data = from_dataframe(df, "y")
    assert data.target_names == ["ant", "cat", "zebra"]
    assert pd.isna(data.y[4]) and data.y.dtype == object


@pytest.mark.parametrize(("values", "task"), [
    (["yes", "no", "yes"], "classification"),
    ([True, False, True], "classification"),
    (pd.Categorical(["lo", "hi", "lo"]), "classification"),
    ([0, 1, 1, 0], "classification"),
    ([0.0, 1.0, 1.0, np.nan], "classification"),
    (list(range(20)), "classification"),        # 20 distinct whole numbers: classes
    (list(range(21)), "regression"),            # 21 distinct: values
    ([0.5, 1.0, 2.0], "regression"),
    (np.arange(30) * 1000.0, "regression"),     # whole numbers, but 30 distinct
])
def test_detect_task_rule(values, task):
    assert detect_task(pd.Series(values)) == task


def test_task_detection_both_ways_and_override():
    df = pd.DataFrame({"x": np.arange(30.0), "rating": np.arange(30) % 5 + 1, "price": np.linspace(1, 9, 30)})
    assert from_dataframe(df, "rating").task == "classification"
    assert from_dataframe(df, "price").task == "regression"
    as_regression = from_dataframe(df, "rating", task="regression")
    assert as_regression.task == "regression" and as_regression.target_names is None
    as_classes = from_dataframe(df.assign(price=np.round(df["price"])), "price", task="classification")
    assert as_classes.target_names == ["1.0", "2.0", "3.0", "4.0", "5.0", "6.0", "7.0", "8.0", "9.0"]


def test_task_errors():
    df = frame(n=4)
    with raises("task must be 'classification', 'regression' or None (detect it); got 'clustering'."):
        from_dataframe(df, "label", task="clustering")
    # the target's dtype as pandas loads it: str from pandas 3, object before
    with raises("task='regression' needs a numeric target, but target 'label' of dataset 'toy' has dtype "
                f"{df['label'].dtype}. Use task='classification', or convert the target to numbers."):
        from_dataframe(df, "label", name="toy", task="regression")


def test_target_and_column_errors():
    df = frame(n=4)
    with raises("No target column given for dataset 'toy'; expected one of its columns: "
                "['x1', 'x2', 'label']. Pass target='<column>' (--target on the command line)."):
        from_dataframe(df, None, name="toy")
    with raises("Target column 'Label' not found in dataset 'toy'; available columns: "
                "['x1', 'x2', 'label']. Pass one of them as target (--target); names are case-sensitive."):
        from_dataframe(df, "Label", name="toy")
    with raises("Cannot drop column(s) ['x3'] of dataset 'toy': not found; available columns: "
                "['x1', 'x2', 'label']. Check the spelling of drop."):
        from_dataframe(df, "label", name="toy", drop=["x1", "x3"])
    duplicated = pd.DataFrame([[1, 2, 3]], columns=["a", "a", "label"])
    with raises("Dataset 'toy' has duplicate column names ['a']; expected unique names. "
                "Rename the columns before loading."):
        from_dataframe(duplicated, "label", name="toy")
    with pytest.raises(TypeError, match=re.escape("df must be a pandas DataFrame; got ndarray.")):
        from_dataframe(np.zeros((2, 2)), "label")


def test_unknown_target_column_of_a_file_lists_its_columns():
    columns = ["customer_id", "age", "income", "tenure_months", "plan", "region", "paperless_billing", "churned"]
    with raises(f"Target column 'churn' not found in dataset 'customers'; available columns: {columns}. "
                "Pass one of them as target (--target); names are case-sensitive."):
        load_table(CUSTOMERS, "churn")


def test_file_errors(tmp_path):
    with raises(f"Data file '{tmp_path / 'nope.csv'}' does not exist; expected a path to an existing "
                ".csv, .parquet or .npz file. Check the path and the working directory."):
        load_table(tmp_path / "nope.csv", "y")
    xlsx = tmp_path / "table.xlsx"
    xlsx.write_bytes(b"PK")
    with raises(f"Cannot read '{xlsx}' as a table: unsupported file type '.xlsx'; expected .csv or "
                ".parquet. Convert the table to one of these (e.g. DataFrame.to_csv)."):
        load_table(xlsx, "y")


def test_unreadable_csv_wraps_the_parser_error(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n3,4,5,6\n")
    with raises(f"Could not read '{bad}' as CSV (ParserError: Error tokenizing data. C error: Expected 2 "
                "fields in line 3, saw 4). Expected a valid CSV file; check that the file is complete "
                "and really is CSV, or re-export it."):
        load_table(bad, "a")


def test_unreadable_parquet_wraps_the_reader_error(tmp_path):
    pytest.importorskip("pyarrow")
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet at all")
    with pytest.raises(ValueError, match=re.escape(f"Could not read '{bad}' as Parquet (ArrowInvalid: ")) as info:
        load_table(bad, "a")
    assert str(info.value).endswith("Expected a valid Parquet file; check that the file is complete and "
                                    "really is Parquet, or re-export it.")


def test_parquet_without_an_engine_says_what_to_install(tmp_path, monkeypatch):
    path = tmp_path / "t.parquet"
    path.write_bytes(b"PAR1")

    def no_engine(*args, **kwargs):
        raise ImportError("Unable to find a usable engine; tried using: 'pyarrow', 'fastparquet'.")

    monkeypatch.setattr(pd, "read_parquet", no_engine)
    with raises(f"Reading the Parquet file '{path}' needs pyarrow (or fastparquet), which is not installed. "
                "Install it with `pip install pyarrow`, or save the table as .csv."):
        load_table(path, "y")


def test_empty_csv_is_unreadable_and_a_header_only_csv_is_empty(tmp_path):
    blank = tmp_path / "blank.csv"
    blank.write_text("")
    with raises(f"Could not read '{blank}' as CSV (EmptyDataError: No columns to parse from file). Expected "
                "a valid CSV file; check that the file is complete and really is CSV, or re-export it."):
        load_table(blank, "y")
    header = tmp_path / "header.csv"
    header.write_text("x,y\n")
    with raises("Dataset 'header' is empty (0 rows); expected rows of data. Check the file and any "
                "filtering that produced it."):
        check_dataset(load_table(header, "y"), n_splits=5, test_size=0.2)


# --------------------------------------------------------------------------------------
# NumPy .npz


@pytest.fixture
def fake_mnist(tmp_path):
    """Keras' mnist.npz layout, tiny: 60 train + 20 test random 28x28 uint8 images, 3 classes."""
    rng = np.random.default_rng(0)
    path = tmp_path / "mnist.npz"
    np.savez_compressed(
        path,
        x_train=rng.integers(0, 256, size=(60, 28, 28), dtype=np.uint8),
        y_train=(np.arange(60) % 3).astype(np.uint8),
        x_test=rng.integers(0, 256, size=(20, 28, 28), dtype=np.uint8),
        y_test=(np.arange(20) % 3).astype(np.uint8),
    )
    return path


def test_load_npz_mnist_layout_keeps_all_rows_and_its_test_split(fake_mnist):
    data = load_npz(fake_mnist)
    with np.load(fake_mnist) as raw:
        x_train, x_test, y_test = raw["x_train"], raw["x_test"], raw["y_test"]
    assert data.name == "mnist" and data.task == "classification"
    assert data.X.shape == (80, 784) and data.X.dtype == np.float32
    assert data.image_shape == (28, 28, 1) and data.target_names == ["0", "1", "2"]
    np.testing.assert_array_equal(data.test_index, np.arange(60, 80))
    assert data.predefined_test
    np.testing.assert_array_equal(data.X[:60], x_train.reshape(60, -1))
    np.testing.assert_array_equal(data.X[data.test_index], x_test.reshape(20, -1))
    np.testing.assert_array_equal(data.y[data.test_index], y_test)
    assert checked(data) is data


def test_load_npz_images_are_flattened_row_major(tmp_path):
    images = np.arange(2 * 3 * 4 * 2, dtype=np.uint8).reshape(2, 3, 4, 2)
    np.savez(tmp_path / "rgbish.npz", X=images, y=np.array(["cat", "dog"]))
    data = load_npz(tmp_path / "rgbish.npz")
    assert data.image_shape == (3, 4, 2) and data.X.shape == (2, 24)
    np.testing.assert_array_equal(data.X[1], images[1].ravel())
    assert data.X[1, 1] == images[1, 0, 0, 1]  # channel varies fastest
    gray = np.zeros((5, 6, 7))
    np.savez(tmp_path / "gray.npz", X=gray, y=np.arange(5))
    assert load_npz(tmp_path / "gray.npz").image_shape == (6, 7, 1)


def test_load_npz_tabular_and_task_override(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "table.npz", X=rng.integers(0, 9, size=(40, 3)), y=np.arange(40) % 4,
             feature_names=np.array(["a", "b", "c"]))
    data = load_npz(tmp_path / "table.npz")
    assert data.image_shape is None and data.X.dtype == np.float64 and data.X.shape == (40, 3)
    assert data.task == "classification" and data.feature_names == ["a", "b", "c"]
    assert load_npz(tmp_path / "table.npz", task="regression").task == "regression"
    np.savez(tmp_path / "column.npz", X=np.zeros((4, 2)), y=np.ones((4, 1)))
    assert load_npz(tmp_path / "column.npz").y.shape == (4,)


def test_load_npz_errors(tmp_path):
    with raises(f"Data file '{tmp_path / 'none.npz'}' does not exist; expected a path to an existing "
                ".csv, .parquet or .npz file. Check the path and the working directory."):
        load_npz(tmp_path / "none.npz")
    text = tmp_path / "text.npz"
    text.write_text("hello")
    # NumPy's own reason, worded by the installed NumPy (2.x: "This file contains pickled (object) data.
    # If you trust the file ..."; 1.x: "Cannot load file containing pickled data when allow_pickle=False")
    with pytest.raises(ValueError) as numpy_error:
        np.load(text, allow_pickle=False)
    with raises(f"Could not read '{text}' as NumPy .npz (ValueError: {numpy_error.value}). Expected a valid "
                "NumPy .npz file; check that the file is complete and really is NumPy .npz, or re-export it."):
        load_npz(text)
    np.savez(tmp_path / "keys.npz", data=np.zeros((2, 2)), target=np.zeros(2))
    with raises(f"'{tmp_path / 'keys.npz'}' has arrays ['data', 'target']; expected 'X' and 'y' "
                "(np.savez(path, X=X, y=y)) or Keras' mnist.npz layout 'x_train', 'y_train', 'x_test', "
                "'y_test'."):
        load_npz(tmp_path / "keys.npz")
    np.savez(tmp_path / "strings.npz", X=np.array([["a", "b"], ["c", "d"]]), y=np.array([0, 1]))
    with raises(f"X in '{tmp_path / 'strings.npz'}' has dtype <U1; expected numbers (pixel intensities or "
                "numeric features). Save it as numbers, e.g. X.astype('float32')."):
        load_npz(tmp_path / "strings.npz")
    np.savez(tmp_path / "flat.npz", X=np.zeros(4), y=np.zeros(4))
    with raises(f"X in '{tmp_path / 'flat.npz'}' has shape (4,); expected (n_samples, n_features) for "
                "tabular data, or (n_samples, height, width) or (n_samples, height, width, channels) for "
                "images. Reshape it before saving."):
        load_npz(tmp_path / "flat.npz")
    np.savez(tmp_path / "onehot.npz", X=np.zeros((4, 2)), y=np.eye(4)[:, :3])
    with raises(f"y in '{tmp_path / 'onehot.npz'}' has shape (4, 3); expected (n_samples,) labels or "
                "values. For one-hot labels save y.argmax(axis=1)."):
        load_npz(tmp_path / "onehot.npz")


# --------------------------------------------------------------------------------------
# OpenML, offline


@pytest.fixture
def no_network(monkeypatch):
    """Every download fails at once, as on a machine without network."""
    import sklearn.datasets._openml as openml

    def offline(*args, **kwargs):
        raise URLError("no network in tests")

    monkeypatch.setattr(openml, "urlopen", offline)
    monkeypatch.setattr(openml.time, "sleep", lambda seconds: None)  # skip retry delays


def write_openml_cache(data_home, data_id=4242, name="tiny-churn"):
    """scikit-learn's OpenML cache for a 30-row dataset, laid out as fetch_openml writes it."""
    root = Path(data_home) / "openml" / "openml.org"

    def put(url_path, payload):
        path = root / (url_path + ".gz")
        path.parent.mkdir(parents=True, exist_ok=True)
        with gzip.open(path, "wb") as f:
            f.write(payload if isinstance(payload, bytes) else json.dumps(payload).encode())

    rows = [f"{20 + i},{['basic', 'premium'][i % 2]},{['no', 'yes'][(i // 2) % 2]}" for i in range(30)]
    arff = ("@RELATION tiny-churn\n@ATTRIBUTE age NUMERIC\n@ATTRIBUTE plan {basic,premium}\n"
            "@ATTRIBUTE churned {no,yes}\n@DATA\n" + "\n".join(rows) + "\n").encode()
    put(f"data/v1/download/{data_id}/tiny-churn.arff", arff)
    put(f"api/v1/json/data/{data_id}", {"data_set_description": {
        "id": str(data_id), "name": name, "version": "1", "description": "fake", "format": "ARFF",
        "url": f"https://www.openml.org/data/v1/download/{data_id}/tiny-churn.arff",
        "file_id": str(data_id), "default_target_attribute": "churned", "status": "active",
        "md5_checksum": hashlib.md5(arff).hexdigest()}})

    def feature(index, fname, kind, target="false", **more):
        return {"index": str(index), "name": fname, "data_type": kind, "is_target": target, "is_ignore": "false",
                "is_row_identifier": "false", "number_of_missing_values": "0", **more}

    put(f"api/v1/json/data/features/{data_id}", {"data_features": {"feature": [
        feature(0, "age", "numeric"),
        feature(1, "plan", "nominal", nominal_values='["basic","premium"]'),
        feature(2, "churned", "nominal", "true", nominal_values='["no","yes"]')]}})
    put(f"api/v1/json/data/qualities/{data_id}",
        {"data_qualities": {"quality": [{"name": "NumberOfInstances", "value": "30.0"}]}})
    put(f"api/v1/json/data/list/data_name/{name}/limit/2/status/active/", {"data": {"dataset": [
        {"did": data_id, "name": name, "version": 1, "status": "active", "format": "ARFF", "file_id": data_id}]}})


def test_load_openml_reads_scikit_learns_cache_offline(tmp_path, no_network):
    write_openml_cache(tmp_path)
    by_name = load_openml("tiny-churn", data_home=tmp_path)
    by_id = load_openml(4242, data_home=tmp_path)
    for data in (by_name, by_id, load_openml("4242", data_home=tmp_path)):
        assert data.name == "tiny-churn" and data.task == "classification"
        assert list(data.X.columns) == ["age", "plan"] and data.X.shape == (30, 2)
        assert isinstance(data.X["plan"].dtype, pd.CategoricalDtype)
        assert data.target_names == ["no", "yes"] and data.y[:4].tolist() == ["no", "no", "yes", "yes"]
    as_target = load_openml(4242, data_home=tmp_path, target="age", task="regression")
    assert as_target.task == "regression" and list(as_target.X.columns) == ["plan", "churned"]


def test_load_openml_not_cached_and_offline_says_so(tmp_path, no_network):
    cache = tmp_path / "empty"
    with pytest.warns(UserWarning, match="A network error occurred"):
        with raises(f"Could not download OpenML dataset 'credit-g' and it is not in the cache at {cache / 'openml'}; "
                    "connect to the internet once to cache it, or pass a local file with --data (.csv, .parquet "
                    "or .npz). (URLError: <urlopen error no network in tests>)"):
            load_openml("credit-g", data_home=cache)


def test_load_openml_with_a_monkeypatched_fetch(monkeypatch, tmp_path):
    calls = []
    table = frame(n=8)

    def fake_fetch(**kwargs):
        calls.append(kwargs)
        return Bunch(frame=table, target_names=["label"], details={"name": "fake-set"})

    monkeypatch.setattr("sklearn.datasets.fetch_openml", fake_fetch)
    data = load_openml("31", data_home=tmp_path)
    assert calls[-1] == dict(data_id=31, as_frame=True, data_home=tmp_path)
    assert data.name == "fake-set" and data.target_names == ["a", "b"] and data.X.shape == (8, 2)
    assert load_data("openml:credit-g", target="x1").task == "regression"
    assert calls[-1] == dict(name="credit-g", as_frame=True, data_home=None)
    monkeypatch.setattr("sklearn.datasets.fetch_openml",
                        lambda **kw: Bunch(frame=table, target_names=[], details={}))
    with raises("OpenML dataset 'nameless' has 0 default target columns []; expected exactly one. "
                "Pass target='<column>' (--target); columns: ['x1', 'x2', 'label']."):
        load_openml("nameless")


def test_load_openml_unknown_dataset(monkeypatch):
    def unknown(**kwargs):
        raise ValueError("No active dataset nosuchset found.")

    monkeypatch.setattr("sklearn.datasets.fetch_openml", unknown)
    with raises("OpenML could not provide dataset 'nosuchset' (No active dataset nosuchset found.). Check the "
                "name or id on https://www.openml.org/search?type=data, e.g. openml:credit-g or openml:31."):
        load_openml("nosuchset")


# --------------------------------------------------------------------------------------
# load_data: one entry point


def test_load_data_dispatches_every_kind_of_source(tmp_path, fake_mnist):
    assert load_data("iris").X.shape == (150, 4)
    assert load_data(str(CUSTOMERS), target="churned").name == "customers"
    assert load_data(CUSTOMERS, target="churned", name="churn").name == "churn"
    assert load_data(fake_mnist).test_index is not None
    assert load_data(frame(n=4), target="label", name="df").name == "df"
    dataset = load_dataset("wine")
    assert load_data(dataset) is dataset


def test_load_data_errors(fake_mnist):
    with raises("Unknown data source 'mnist': not a bundled dataset (digits, breast_cancer, wine, iris, "
                "diabetes, wide), not a path ending in .csv, .parquet or .npz, and not 'openml:<name or id>'. "
                "Pass one of these."):
        load_data("mnist")
    with raises("target and task do not apply to the bundled dataset 'wine', which has its own target and "
                "task; got target='class', task=None. Remove them."):
        load_data("wine", target="class")
    with raises(f"target does not apply to the .npz file '{fake_mnist}', which holds its target as the array "
                "'y' (or 'y_train'/'y_test'); got target='label'. Remove it."):
        load_data(fake_mnist, target="label")
    with raises("Expected 'openml:<name or id>' (e.g. openml:credit-g or openml:31); got 'openml:'."):
        load_data("openml:")
    with raises("No target column given for dataset 'customers'; expected one of its columns: "
                "['customer_id', 'age', 'income', 'tenure_months', 'plan', 'region', 'paperless_billing', "
                "'churned']. Pass target='<column>' (--target on the command line)."):
        load_data(CUSTOMERS)


# --------------------------------------------------------------------------------------
# check_dataset: columns


def test_id_like_customer_id_is_dropped_with_a_warning():
    data = load_data(CUSTOMERS, target="churned")
    with pytest.warns(UserWarning) as record:
        clean = check_dataset(data, n_splits=5, test_size=0.2)
    dropped = ("Dropping ID-like column(s) ['customer_id'] of dataset 'customers': a distinct integer or string in "
               "every row identifies the row, it is not a feature. To keep such a column, convert it to float.")
    assert [str(w.message) for w in record] == [*data.notes, dropped]
    assert clean.notes == (*data.notes, dropped)  # kept for the report
    assert clean.feature_names == ["age", "income", "tenure_months", "plan", "region", "paperless_billing"]
    assert list(clean.X.columns) == clean.feature_names and clean.X.shape == (300, 6)
    assert "customer_id" in data.X.columns  # the input dataset is left as it was


@pytest.mark.parametrize(("name", "values", "expected"), [
    ("customer_id", [831707, 345378, 682307, 13192], True),             # name says id
    ("CustomerID", [5, 90, 17, 3], True),
    ("row", [1001, 1003, 1002, 1000], True),                             # consecutive counter
    ("uuid", ["9b2f-1", "77ac-2", "0d1e-3", "c3a4-4"], True),            # unique strings
    ("email", pd.Series(["a@x", "b@x", "c@x", "d@x"], dtype="category"), True),
    ("income", [52_310, 48_990, 61_200, 39_870], False),                 # unique measurement
    ("score", [0.5, 1.5, 2.5, 3.5], False),                              # float: never
    ("id_float", [1.0, 2.0, 3.0, 4.0], False),
    ("customer_id", [1, 2, 2, 3], False),                                # not unique
    ("plan_id", [1, 2, None, 3], False),                                 # missing values
    ("flag", [True, False], False),
    ("idle_minutes", [3, 9, 14, 27], False),                             # 'idle' is not 'id'
])
def test_id_like_rule(name, values, expected):
    assert is_id_like(pd.Series(values), name) is expected


def test_integer_ndarray_columns_follow_the_same_rule():
    X = np.column_stack([np.arange(40), np.arange(40) % 4]).astype(np.int64)
    data = Dataset("ints", X, np.arange(40) % 2, "classification", feature_names=["row", "k"])
    with pytest.warns(UserWarning, match=re.escape("Dropping ID-like column(s) ['row'] of dataset 'ints'")):
        clean = check_dataset(data, n_splits=5, test_size=0.2)
    assert clean.feature_names == ["k"] and clean.X.tolist() == X[:, 1:].tolist()


def test_a_float_row_id_column_is_kept():
    wine = load_dataset("wine")
    ids = np.arange(wine.n_samples, dtype=float)[:, None]
    data = Dataset("wine", np.hstack([ids, wine.X]), wine.y, "classification")
    assert checked(data) is data


def test_all_missing_column_is_dropped_with_a_warning():
    data = from_dataframe(frame(notes=np.nan), "label", name="toy", task="classification")
    with pytest.warns(UserWarning) as record:
        clean = check_dataset(data, n_splits=5, test_size=0.2)
    assert [str(w.message) for w in record] == [
        "Dropping column(s) ['notes'] of dataset 'toy': entirely missing (NaN in every row), so they carry "
        "no information."]
    assert clean.feature_names == ["x1", "x2"]


def test_ndarray_all_missing_column_is_dropped_with_its_name():
    X = np.column_stack([np.arange(30.0), np.full(30, np.nan)])
    data = Dataset("arr", X, np.arange(30) % 2, "classification", feature_names=["a", "b"])
    with pytest.warns(UserWarning, match=re.escape("Dropping column(s) ['b'] of dataset 'arr'")):
        clean = check_dataset(data, n_splits=5, test_size=0.2)
    assert clean.feature_names == ["a"] and clean.X.shape == (30, 1)


def test_column_errors():
    df = frame()
    with raises("Dataset 'toy' has no feature columns; expected at least one column besides the target. "
                "Check the target and drop arguments."):
        check_dataset(from_dataframe(df[["label"]], "label", name="toy"), n_splits=5, test_size=0.2)
    missing = df.assign(x1=np.nan, x2=None)
    with raises("All 2 feature columns of dataset 'toy' are entirely missing (NaN in every row): ['x1', 'x2']; "
                "expected at least one column with values. Check that the file was read with the right "
                "separator and header."):
        check_dataset(from_dataframe(missing, "label", name="toy"), n_splits=5, test_size=0.2)
    only_ids = pd.DataFrame({"id": range(30), "label": ["a", "b"] * 15})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # refused in one message: no notice before it
        with raises("Dataset 'toy' has no feature columns left after dropping the ID-like column(s) ['id']; "
                    "expected at least one real feature. Add feature columns to the data."):
            check_dataset(from_dataframe(only_ids, "label", name="toy"), n_splits=5, test_size=0.2)


def test_shape_errors():
    with raises("X has 10 rows but y has 9 values in dataset 'bad'; expected one target value per row. "
                "Build X and y from the same rows."):
        check_dataset(Dataset("bad", np.zeros((10, 2)), np.zeros(9), "regression"), n_splits=5, test_size=0.2)
    with raises("Dataset 'none' is empty (0 rows); expected rows of data. Check the file and any filtering "
                "that produced it."):
        check_dataset(Dataset("none", np.zeros((0, 2)), np.zeros(0), "regression"), n_splits=5, test_size=0.2)


def test_image_errors():
    labels = np.arange(20) % 2
    strings = Dataset("img", np.full((20, 4), "x"), labels, "classification", image_shape=(2, 2, 1))
    with raises("Image data of dataset 'img' is an array of dtype <U1; expected a numeric ndarray of pixel "
                "values of shape (n_samples, height*width*channels). Convert it with "
                "np.asarray(X, dtype='float32')."):
        check_dataset(strings, n_splits=5, test_size=0.2)
    as_frame = Dataset("img", pd.DataFrame(np.zeros((20, 4))), labels, "classification", image_shape=(2, 2, 1))
    with raises("Image data of dataset 'img' is a DataFrame; expected a numeric ndarray of pixel values of "
                "shape (n_samples, height*width*channels). Convert it with np.asarray(X, dtype='float32')."):
        check_dataset(as_frame, n_splits=5, test_size=0.2)
    narrow = Dataset("img", np.zeros((20, 3)), labels, "classification", image_shape=(2, 2, 1))
    with raises("image_shape (2, 2, 1) of dataset 'img' needs 4 columns (height*width*channels), but X has "
                "shape (20, 3). Fix image_shape, or flatten the images row-major to (n_samples, 4)."):
        check_dataset(narrow, n_splits=5, test_size=0.2)
    holes = np.zeros((20, 4))
    holes[3, 1] = holes[7, 2] = np.nan
    with raises("Image data of dataset 'img' has 2 missing (NaN) pixel values; expected none. Fill them "
                "(e.g. with 0) before loading."):
        check_dataset(Dataset("img", holes, labels, "classification", image_shape=(2, 2, 1)),
                      n_splits=5, test_size=0.2)


# --------------------------------------------------------------------------------------
# check_dataset: the target


def test_target_with_missing_values():
    df = frame()
    df.loc[[3, 8, 9], "label"] = None
    with raises("The target of dataset 'toy' is missing in 3 of 30 rows (row positions 3, 8, 9); expected a "
                "value in every row. Drop those rows (df.dropna(subset=[target])) or fill in their target."):
        check_dataset(from_dataframe(df, "label", name="toy"), n_splits=5, test_size=0.2)
    values = np.arange(30.0)
    values[::4] = np.nan
    data = Dataset("reg", np.zeros((30, 1)), values, "regression")
    with raises("The target of dataset 'reg' is missing in 8 of 30 rows (row positions 0, 4, 8, 12, 16, ...); "
                "expected a value in every row. Drop those rows (df.dropna(subset=[target])) or fill in their "
                "target."):
        check_dataset(data, n_splits=5, test_size=0.2)


def test_single_class():
    df = frame().assign(label="yes")
    with raises("The target of dataset 'toy' has a single class ('yes', 30 rows); classification needs at "
                "least 2 classes. Check the target column and the rows that were loaded."):
        check_dataset(from_dataframe(df, "label", name="toy"), n_splits=5, test_size=0.2)


def test_class_with_too_few_members_for_the_folds():
    df = frame(n=40)
    df.loc[:5, "label"] = "rare"  # 6 members; 5 folds after a 20% hold-out need 7
    with raises("Too few rows in class 'rare' (6) of dataset 'toy': n_splits=5 with test_size=0.2 needs at "
                "least 7 rows per class (ceil(5 / (1 - 0.2)) = 7, so that 5 remain for the stratified folds "
                "after the hold-out split). Collect more rows of these classes, merge or drop rare classes, "
                "or use fewer folds (--cv)."):
        check_dataset(from_dataframe(df, "label", name="toy"), n_splits=5, test_size=0.2)
    data = from_dataframe(df, "label", name="toy")
    assert checked(data, n_splits=4, test_size=0.25) is data  # ceil(4 / 0.75) = 6 rows suffice
    labels = np.array([0] * 30 + [1] * 3 + [2] * 2)
    with raises("Too few rows in classes 2 (2), 1 (3) of dataset 'ints': n_splits=3 with test_size=0.2 "
                "needs at least 4 rows per class (ceil(3 / (1 - 0.2)) = 4, so that 3 remain for the "
                "stratified folds after the hold-out split). Collect more rows of these classes, merge or "
                "drop rare classes, or use fewer folds (--cv)."):
        check_dataset(Dataset("ints", np.zeros((35, 1)), labels, "classification"), n_splits=3, test_size=0.2)


def test_predefined_test_split_counts_only_the_training_rows(fake_mnist):
    data = load_npz(fake_mnist)
    y = data.y.copy()
    y[:60][y[:60] == 2] = np.r_[np.full(16, 1), np.full(4, 2)].astype(y.dtype)  # class 2: 4 training rows
    with raises("Too few training rows in class 2 (4) of dataset 'mnist': stratified 5-fold CV needs at least "
                "5 rows per class outside its predefined test split. Collect more rows of these classes, "
                "merge or drop rare classes, or use fewer folds (--cv)."):
        check_dataset(dataclasses.replace(data, y=y), n_splits=5, test_size=0.2)


def test_hold_out_smaller_than_the_number_of_classes():
    labels = np.repeat(np.arange(12), 10)
    with raises("The hold-out split of dataset 'many' would have 6 rows (test_size=0.05 of 120), fewer than "
                "its 12 classes; stratified splitting needs at least one row per class. Increase test_size or "
                "use more data."):
        check_dataset(Dataset("many", np.zeros((120, 1)), labels, "classification"), n_splits=5, test_size=0.05)


def test_split_settings_are_checked():
    data = load_dataset("iris")
    with raises("n_splits must be an integer >= 2 (the number of folds); got 1. Use e.g. 5."):
        check_dataset(data, n_splits=1, test_size=0.2)
    with raises("test_size must be a fraction in (0, 1); got 1.0. Use e.g. 0.2."):
        check_dataset(data, n_splits=5, test_size=1.0)


def test_regression_with_too_few_rows():
    with raises("Dataset 'tiny' has 6 rows; n_splits=5 with test_size=0.2 needs at least 7 (ceil(5 / (1 - 0.2)))."
                " Use more data or fewer folds (--cv)."):
        check_dataset(Dataset("tiny", np.zeros((6, 1)), np.arange(6.0), "regression"), n_splits=5, test_size=0.2)


def test_checked_customers_work_with_the_shared_splits():
    """The cleaned DataFrame dataset can be split like the bundled ones (positions = labels)."""
    from sklearn.model_selection import StratifiedKFold, train_test_split

    with pytest.warns(UserWarning, match="ID-like"):
        data = check_dataset(load_data(CUSTOMERS, target="churned"), n_splits=5, test_size=0.2)
    train, test = train_test_split(np.arange(data.n_samples), test_size=0.2, random_state=0, stratify=data.y)
    X_train = data.X.iloc[train]
    assert list(X_train.index) == list(train)
    folds = list(StratifiedKFold(5, shuffle=True, random_state=0).split(X_train, data.y[train]))
    assert sum(len(val) for _, val in folds) == len(train) == 240


@pytest.mark.parametrize("module", [study.data, study.data.dataset, study.data.targets, study.data.loaders,
                                    study.data.tables, study.data.checks, study.data.values],
                         ids=lambda module: module.__name__)
def test_module_docstrings_are_doctested(module):
    import doctest

    assert doctest.testmod(module, raise_on_error=False).failed == 0


def test_the_bundled_names_checked_by_the_options_are_the_bundled_datasets():
    from study.data import BUNDLED
    from study.spec import BUNDLED_DATASETS

    assert tuple(BUNDLED) == BUNDLED_DATASETS


def test_load_data_takes_a_data_source_whole():
    from study.data import load_data
    from study.spec import DataSource

    source = DataSource(CUSTOMERS, target="churned", name="shop", sep=",", task="classification")
    whole = load_data(source)
    spelled = load_data(CUSTOMERS, target="churned", name="shop", sep=",", task="classification")
    assert whole.name == spelled.name == "shop"
    pd.testing.assert_frame_equal(whole.X, spelled.X)
    np.testing.assert_array_equal(whole.y, spelled.y)
    assert whole.task == spelled.task == "classification"
    with pytest.raises(TypeError, match=re.escape("got ['name', 'target'] beside it")):
        load_data(source, target="churned", name="other")
