"""Honest splits: grouped and time-ordered hold-out splits and folds (study.splits), and their refusals."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from backends import get_model
from study.data import load_data
from study.protocol import Job
from study.spec import StudySpec
from study.splits import make_splits, resolve_kind

ROOT = Path(__file__).resolve().parents[1]
PATIENTS = ROOT / "examples" / "data" / "patients.csv"
SALES = ROOT / "examples" / "data" / "sales.csv"


@pytest.fixture(scope="module")
def patients():
    return load_data(str(PATIENTS), target="diagnosis", groups="patient")


@pytest.fixture(scope="module")
def sales():
    return load_data(str(SALES), target="units", time="date")


def _assert_group_disjoint(groups, train, test):
    shared = set(groups[train]) & set(groups[test])
    assert not shared, f"groups on both sides: {sorted(shared)[:5]}"


def test_example_tables_are_reproducible_from_their_generator():
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_examples", ROOT / "examples" / "data" / "make_examples.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    pd.testing.assert_frame_equal(module.make_patients(), pd.read_csv(PATIENTS))
    pd.testing.assert_frame_equal(module.make_sales(), pd.read_csv(SALES))


def test_the_groups_column_is_not_a_feature(patients):
    assert "patient" not in patients.feature_names and patients.groups_name == "patient"
    assert len(np.unique(patients.groups)) == 200 and patients.X.shape == (800, 10)


@pytest.mark.parametrize("repeats", [1, 2])
def test_no_group_on_both_sides_of_the_hold_out_or_any_fold(patients, repeats):
    splits = make_splits(patients, cv=5, test_size=0.2, seed=3, repeats=repeats)
    assert splits.kind == "group" and len(splits.folds) == 5 * repeats
    _assert_group_disjoint(patients.groups, splits.train, splits.test)
    assert len(np.unique(patients.groups[splits.test])) == 40  # one fold of 5: a fifth of the groups
    for fit, val in splits.folds:
        _assert_group_disjoint(patients.groups, splits.train[fit], splits.train[val])
        assert len(np.intersect1d(splits.train[fit], splits.test)) == 0
    # nested CV's inner folds keep the groups apart too
    fit, _ = splits.folds[0]
    y = patients.y[splits.train]
    for inner_fit, inner_val in splits.inner_folds(fit, y[fit]):
        _assert_group_disjoint(patients.groups, splits.train[fit][inner_fit], splits.train[fit][inner_val])


def test_grouped_regression_uses_group_shuffle_split_and_group_kfold(patients):
    import dataclasses

    regression = dataclasses.replace(patients, y=patients.y.astype(float) + np.arange(800) / 1000, task="regression")
    splits = make_splits(regression, cv=4, seed=0)
    _assert_group_disjoint(patients.groups, splits.train, splits.test)
    for fit, val in splits.folds:
        _assert_group_disjoint(patients.groups, splits.train[fit], splits.train[val])


def test_time_ordered_hold_out_is_the_latest_and_every_fold_validates_later(sales):
    splits = make_splits(sales, cv=5, test_size=0.2, seed=0)
    times = sales.time
    assert splits.kind == "timeseries" and "date" not in sales.feature_names
    assert times[splits.test].min() > times[splits.train].max()
    assert len(splits.test) == 100 and set(splits.test) == set(np.argsort(times)[-100:])
    for fit, val in splits.folds:
        assert times[splits.train[val]].min() > times[splits.train[fit]].max()
    gapped = make_splits(sales, cv=5, seed=0, gap=7)
    for fit, val in gapped.folds:  # 7 days left out between training and validation rows
        assert (times[gapped.train[val]].min() - times[gapped.train[fit]].max()) == np.timedelta64(8, "D")


def test_timeseries_on_the_row_order_of_a_bundled_dataset():
    diabetes = load_data("diabetes")
    splits = make_splits(diabetes, cv=3, kind="timeseries")
    assert list(splits.test) == list(range(353, 442))
    for fit, val in splits.folds:
        assert splits.train[val].min() > splits.train[fit].max()


def test_timeseries_on_rows_sorted_by_class_is_refused():
    """iris is sorted by class: its latest rows, the time-ordered hold-out, are all 'virginica'."""
    with pytest.raises(ValueError) as caught:
        make_splits(load_data("iris"), cv=3, kind="timeseries")
    assert str(caught.value) == (
        "The time-ordered hold-out test split of dataset 'iris' (the latest 30 rows by row order) holds a single "
        "class (2); expected at least 2 classes, or the test scores mean nothing. The rows look sorted by class, not "
        "by time: shuffle them and use --cv-kind shuffled, or pass --time with a real time column.")


def test_time_features_are_added_only_on_request():
    data = load_data(str(SALES), target="units", time="date", time_features=True)
    assert {"date_year", "date_month", "date_dayofweek"} <= set(data.feature_names)
    assert "date" not in data.feature_names and data.notes and "time_features" in data.notes[-1]


def test_fewer_groups_than_folds_is_refused_in_one_line(patients):
    few = patients.groups.copy()
    few[:] = np.where(np.arange(800) % 2, "a", "b")
    import dataclasses

    with pytest.raises(ValueError, match=r"^The groups column 'patient' of dataset 'patients' has 2 distinct groups; "
                                         r"grouped splits with 5 folds and a hold-out test split need at least 6"):
        make_splits(dataclasses.replace(patients, groups=few), cv=5)


def test_kind_must_fit_the_data(patients):
    with pytest.raises(ValueError, match="--cv-kind group needs groups, but dataset 'iris' has none"):
        resolve_kind(load_data("iris"), "group")
    with pytest.raises(ValueError, match="--cv-kind timeseries on dataset 'patients', which has groups"):
        resolve_kind(patients, "timeseries")
    assert resolve_kind(patients, "shuffled") == "shuffled"


def test_every_consumer_receives_the_drawn_splits(patients):
    """The job carries the splits drawn once; experiments and nested CV read them from it."""
    from backends import get_model

    splits = make_splits(patients, cv=5, seed=0)
    job = Job(patients, splits, get_model("ridge"), ("accuracy",), 0, True)
    assert job.splits is splits
    assert StudySpec(cv_kind="auto").validate().cv_kind == "auto"


def test_keras_inner_validation_split_is_grouped_or_time_ordered(patients, sales, monkeypatch):
    """A Keras model fitted on grouped (time-ordered) rows validates early stopping on whole groups (the
    latest rows): the study passes each row's group (time) with every fit of a Keras model."""
    from backends.keras import KerasDenseClassifier, KerasDenseRegressor
    from backends.keras_wrappers import InnerValidationMixin

    seen = []
    original = InnerValidationMixin._split_inner

    def spy(self, X, y, sample_weight, groups=None, time=None):
        out = original(self, X, y, sample_weight, groups, time)
        seen.append((groups, time, len(out[1]), len(out[3][1])))
        return out

    monkeypatch.setattr(InnerValidationMixin, "_split_inner", spy)
    for data, cls in ((patients, KerasDenseClassifier), (sales, KerasDenseRegressor)):
        splits = make_splits(data, cv=3, seed=0)
        est = get_model("keras_dense").estimator(data.task, random_state=0, quick=True)
        job = Job(data, splits, get_model("keras_dense"), ("accuracy",) if data.task == "classification" else ("r2",),
                  0, True)
        params = job.fit_params(splits.folds[0][0])
        assert isinstance(est.named_steps["model"], cls) and len(params) == 1
        est.set_params(model__early_stopping=True, model__validation_fraction=0.25, model__epochs=2)
        fit = splits.folds[0][0]
        X, y = splits.training_part(data)
        est.fit(X.iloc[fit] if hasattr(X, "iloc") else X[fit], y[fit], **params)
    (groups, none, n_fit, n_val), (no_groups, times, m_fit, m_val) = seen
    assert none is None and no_groups is None and n_fit + n_val == len(groups) and m_fit + m_val == len(times)
    # the inner split itself: whole groups on one side; the latest times validate
    rng = np.random.default_rng(0)
    model = KerasDenseClassifier(validation_fraction=0.25, random_state=0)
    model._random_state = 0  # set by fit
    X, y = rng.normal(size=(40, 3)), np.repeat([0, 1], 20)
    g = np.repeat(np.arange(10), 4)
    _, _, _, (X_val, _) = original(model, X, y, None, g, None)
    val_groups = {int(g[np.flatnonzero((X == row).all(axis=1))[0]]) for row in X_val}
    fit_groups = set(g) - val_groups
    assert val_groups and not fit_groups & val_groups and len(X_val) == 4 * len(val_groups)
    t = np.arange(40)[::-1]
    X_fit, _, _, (X_val, _) = original(model, X, y, None, None, t)
    assert len(X_val) == 10 and set(map(tuple, X_val)) == set(map(tuple, X[t >= 30]))


@pytest.mark.parametrize("where", ["spec", "table", "dataset"])
def test_grouped_and_time_ordered_together_is_one_rule_wherever_it_arrives(where, tmp_path):
    """The same refusal from a StudySpec's DataSource, a table loaded from Python and a Dataset built
    by hand (``study.rules.check_one_split_structure``)."""
    from study.data import Dataset, load_table
    from study.spec import DataSource, StudySpec

    frame = pd.DataFrame({"g": [0, 1] * 10, "t": range(20), "x": range(20), "y": [0, 1] * 10})
    frame.to_csv(tmp_path / "both.csv", index=False)
    message = r"Dataset 'both' has both groups \(.+\) and a time order \(.+\); expected one of them"
    with pytest.raises(ValueError, match=message):
        if where == "spec":
            StudySpec(datasets=(DataSource(tmp_path / "both.csv", target="y", groups="g", time="t"),)).validate()
        elif where == "table":
            load_table(tmp_path / "both.csv", target="y", groups="g", time="t")
        else:
            from study.data.columns import check_structure

            check_structure(Dataset(name="both", X=frame[["x"]].to_numpy(), y=frame["y"].to_numpy(),
                                    task="classification", groups=frame["g"].to_numpy(), time=frame["t"].to_numpy()))
