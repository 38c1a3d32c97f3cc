"""Input paths that used to crash or silently go wrong (issue 22, items 6 and 7), driven through the
CLI in-process: a boolean target runs end to end; Parquet list/struct and datetime columns, an npz with
the wrong number of feature names, mixed date formats and UTC offsets in --time, too few distinct
times for the folds and a time-ordered split on rows sorted by class are refused with exit 2 and one
line, before any training."""

import numpy as np
import pandas as pd
import pytest

import study.orchestrator
from study.data import check_dataset, load_data
from study.data.columns import parse_time
from study.results import read_results
from study.run import main

QUICK = ["--models", "logistic_regression", "--quick", "--no-cache", "--no-diagnostics", "--n-jobs", "1"]
CV3 = ["--cv", "3"]


@pytest.fixture
def no_training(monkeypatch):
    """Any attempt to run work items fails the test: refusals come before training."""
    def execute(*args, **kwargs):
        raise AssertionError("work was executed although the input should have been refused")

    monkeypatch.setattr(study.orchestrator, "execute", execute)


def _refused(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [f"error: {message}"], err
    assert "Traceback" not in err


def _table(n=60, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n).round(3)
    return pd.DataFrame({"x1": x, "x2": rng.normal(size=n).round(3), "y": x > 0})


# --------------------------------------------------------------------------- boolean target


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_a_boolean_target_runs_end_to_end(tmp_path, capsys, suffix):
    path = tmp_path / f"flags.{suffix}"
    df = _table()
    df.to_csv(path, index=False) if suffix == "csv" else df.to_parquet(path)
    loaded = load_data(str(path), target="y")
    assert loaded.y.dtype == object and set(loaded.y) == {"False", "True"} and loaded.target_names == ["False", "True"]
    out = tmp_path / "out"
    assert main(["--data", str(path), "--target", "y", *QUICK, *CV3, "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "Traceback" not in err and "error:" not in err
    results = read_results(out / "results.csv")
    test = results[(results["split"] == "test") & (results["metric"] == "accuracy")].set_index("model")["score"]
    assert test["logistic_regression"] > 0.9 and test["dummy"] == 0.5  # y is x1 > 0: nearly separable
    assert "| model | False (n=6) | True (n=6) | min |" in (out / "report.md").read_text()
    assert set(pd.read_csv(out / "roc_curves.csv")["class"].astype(str)) == {"True"}  # the positive class


def test_a_boolean_target_of_a_dataset_built_by_hand_becomes_labels():
    from study.data import Dataset

    data = Dataset("flags", np.arange(40.0).reshape(20, 2), np.arange(20) % 2 == 0, "classification")
    checked = check_dataset(data, n_splits=3, test_size=0.2)
    assert checked.y.tolist()[:2] == ["True", "False"] and checked.target_names == ["False", "True"]


# --------------------------------------------------------------------------- Parquet columns


def test_parquet_list_and_struct_columns_are_dropped_with_a_notice(tmp_path):
    df = _table(40)
    df["tags"] = [[1, 2]] * 40
    df["place"] = [{"city": "Oslo", "zip": 1}] * 40
    df.to_parquet(tmp_path / "nested.parquet")
    data = load_data(str(tmp_path / "nested.parquet"), target="y")
    with pytest.warns(UserWarning) as caught:
        checked = check_dataset(data, n_splits=3, test_size=0.2)
    assert checked.feature_names == ["x1", "x2"] and list(checked.X.columns) == ["x1", "x2"]
    assert (
        "Dropping column(s) 'tags' (lists), 'place' (records) of dataset 'nested': they hold lists or records "
        "(Parquet list or struct columns), not one value per row, so the models cannot take them. To use them, "
        "flatten them into one column per element or field before loading (e.g. pd.json_normalize, or "
        "pd.DataFrame(df[column].tolist()))."
    ) in [str(w.message) for w in caught]


def test_a_parquet_list_target_is_refused_in_one_line(tmp_path, capsys, no_training):
    df = _table(40)
    df["y"] = [[1, 0]] * 40
    path = tmp_path / "listy.parquet"
    df.to_parquet(path)
    _refused(capsys, ["--data", str(path), "--target", "y", *QUICK, *CV3, "--out", str(tmp_path / "out")],
             "The target column 'y' of dataset 'listy' holds lists (a Parquet list or struct column); expected one "
             "label or value per row. Choose another --target, or flatten the column into single values before "
             "loading.")


def test_parquet_datetime_features_are_text_as_in_a_csv(tmp_path):
    df = _table(40)
    df["day"] = pd.to_datetime(["2022-01-01", "2022-01-02"] * 20)
    df["lag"] = pd.to_timedelta([1, 2] * 20, unit="h")
    df.to_parquet(tmp_path / "dated.parquet")
    data = load_data(str(tmp_path / "dated.parquet"), target="y")
    with pytest.warns(UserWarning) as caught:
        checked = check_dataset(data, n_splits=3, test_size=0.2)
    assert checked.X["day"].tolist()[:2] == ["2022-01-01", "2022-01-02"]
    assert checked.X["lag"].tolist()[:2] == ["0 days 01:00:00", "0 days 02:00:00"]
    assert (
        "Column(s) ['day', 'lag'] of dataset 'dated' hold dates or durations, which the models cannot take as "
        "numbers: they are used as text categories, as a date column of a CSV file is (a distinct value in every row "
        "makes a column ID-like). To split by time instead, pass --time COLUMN (with --time-features for its "
        "calendar parts as features)."
    ) in [str(w.message) for w in caught]
    from backends.preprocessing import TabularPreprocessor

    assert TabularPreprocessor().fit_transform(checked.X).shape == (40, 6)  # x1, x2, two dates, two durations


def test_a_parquet_datetime_column_still_orders_the_splits(tmp_path):
    df = _table(40)
    df["day"] = pd.date_range("2022-01-01", periods=40, freq="D", tz="Europe/Oslo")
    df.to_parquet(tmp_path / "dated.parquet")
    data = load_data(str(tmp_path / "dated.parquet"), target="y", time="day")
    assert data.time.dtype.kind == "M" and "day" not in data.feature_names


# --------------------------------------------------------------------------- npz feature names


@pytest.mark.parametrize("names, found", [(["a", "b"], "2 names"), (["a", "b", "c", "d"], "4 names")])
def test_npz_feature_names_of_the_wrong_length_are_refused(tmp_path, capsys, no_training, names, found):
    path = tmp_path / "named.npz"
    rng = np.random.default_rng(0)
    np.savez(path, X=rng.normal(size=(40, 3)), y=np.arange(40) % 2, feature_names=np.array(names))
    _refused(capsys, ["--data", str(path), *QUICK, *CV3, "--out", str(tmp_path / "out")],
             f"feature_names in '{path}' has {found}, but X has 3 columns; expected one name per column. Save "
             "exactly one name per column of X (np.savez(path, X=X, y=y, feature_names=names)), or leave "
             "feature_names out.")


# --------------------------------------------------------------------------- the time column


def _timed(path, times, n=None, y=None):
    n = len(times) if n is None else n
    rng = np.random.default_rng(0)
    y = rng.normal(size=n) if y is None else y
    pd.DataFrame({"x1": rng.normal(size=n), "when": times, "y": y}).to_csv(path, index=False)


def test_mixed_date_formats_are_refused_with_the_count(tmp_path, capsys, no_training):
    days = pd.date_range("2022-01-01", periods=500, freq="D")
    text = [d.strftime("%d/%m/%Y") if i % 11 == 3 else d.strftime("%Y-%m-%d") for i, d in enumerate(days)]
    path = tmp_path / "mixed.csv"
    _timed(path, text)
    _refused(capsys, ["--data", str(path), "--target", "y", "--task", "regression", "--time", "when", *QUICK, *CV3,
                      "--out", str(tmp_path / "out")],
             "The time column 'when' of dataset 'mixed' mixes date formats: 46 of 500 rows are not in its most "
             "common format, ISO 8601 (YYYY-MM-DD, with an optional time), e.g. '04/01/2022' in row 3; their day, "
             "month and order would be guessed row by row. Expected one format in every row: rewrite the column in "
             "one format, preferably ISO 8601 (2024-01-31).")


def test_one_date_format_other_than_iso_is_read_in_that_format():
    text = pd.Series(["31.01.2022", "01.02.2022", "02.02.2022"])  # day first, one format
    assert parse_time(text, "when", "d").astype("datetime64[D]").astype(str).tolist() == [
        "2022-01-31", "2022-02-01", "2022-02-02"]
    iso = pd.Series(["2022-01-02", "2022-01-02 10:30", "2022-01-03T00:00:00"])  # ISO 8601 with and without a time
    assert parse_time(iso, "when", "d").astype(str).tolist() == [
        "2022-01-02T00:00:00.000000000", "2022-01-02T10:30:00.000000000", "2022-01-03T00:00:00.000000000"]


def test_different_utc_offsets_are_ordered_as_instants():
    text = pd.Series(["2022-03-26T12:00:00+01:00", "2022-03-27T12:00:00+02:00", "2022-03-27T11:30:00+01:00"])
    assert parse_time(text, "when", "d").astype(str).tolist() == [
        "2022-03-26T11:00:00.000000000", "2022-03-27T10:00:00.000000000", "2022-03-27T10:30:00.000000000"]


def test_times_with_and_without_an_offset_are_refused(tmp_path, capsys, no_training):
    path = tmp_path / "zones.csv"
    _timed(path, [f"2022-01-{1 + i:02d}T10:00:00{'+01:00' if i % 2 else ''}" for i in range(40)])
    _refused(capsys, ["--data", str(path), "--target", "y", "--task", "regression", "--time", "when", *QUICK, *CV3,
                      "--out", str(tmp_path / "out")],
             "The time column 'when' of dataset 'zones' mixes times with a UTC offset (20 rows, e.g. "
             "'2022-01-02T10:00:00+01:00' in row 1) and without one (20 rows, e.g. '2022-01-01T10:00:00' in row 0); "
             "expected an offset in every row or in none, so that the rows can be ordered. Write every time in one "
             "zone, or every time with its offset in ISO 8601 (e.g. 2024-01-31T14:00:00+01:00).")


def test_too_few_distinct_times_for_the_folds_are_refused(tmp_path, capsys, no_training):
    path = tmp_path / "twelve.csv"
    _timed(path, np.arange(12))
    _refused(capsys, ["--data", str(path), "--target", "y", "--task", "regression", "--time", "when", *QUICK,
                      "--cv", "5", "--out", str(tmp_path / "out")],
             "The training rows of the training part of dataset 'twelve' (time column 'when') have 9 distinct times "
             "(9 rows): 5 time-ordered folds would validate the smallest on 1 row, and a fold needs at least 2 rows "
             "to be scored (R^2 is undefined on one); expected at least 12 distinct times. Use fewer folds (--cv), a "
             "smaller --test-size, or more data.")


def test_timeseries_on_rows_sorted_by_class_is_refused(tmp_path, capsys, no_training):
    path = tmp_path / "sorted.csv"
    pd.DataFrame({"x1": np.arange(60) / 7.0, "y": np.repeat(["no", "yes"], 30)}).to_csv(path, index=False)
    _refused(capsys, ["--data", str(path), "--target", "y", "--task", "classification", "--cv-kind", "timeseries",
                      *QUICK, *CV3, "--out", str(tmp_path / "out")],
             "The time-ordered hold-out test split of dataset 'sorted' (the latest 12 rows by row order) holds a "
             "single class ('yes'); expected at least 2 classes, or the test scores mean nothing. The rows look "
             "sorted by class, not by time: shuffle them and use --cv-kind shuffled, or pass --time with a real time "
             "column.")


def test_a_time_ordered_fold_with_one_class_is_refused(tmp_path, capsys, no_training):
    path = tmp_path / "late.csv"
    y = np.r_[np.zeros(50), np.tile([0, 1], 20)].astype(int)  # the second class appears only late
    pd.DataFrame({"x1": np.arange(90) / 7.0, "y": y}).to_csv(path, index=False)
    _refused(capsys, ["--data", str(path), "--target", "y", "--task", "classification", "--cv-kind", "timeseries",
                      *QUICK, *CV3, "--out", str(tmp_path / "out")],
             "The training rows of time-ordered fold 0 of dataset 'late' (the earliest 18 rows by row order) hold a "
             "single class (0); expected at least 2 classes, since a classifier cannot be fitted on one. The rows "
             "look sorted by class, not by time: shuffle them and use --cv-kind shuffled, or pass --time with a real "
             "time column.")
