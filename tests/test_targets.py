"""The detected task said out loud: the sentence, where it is kept, and where it is shown."""

import warnings

import numpy as np
import pandas as pd
import pytest

from study.data import check_dataset, from_dataframe, load_data, load_npz
from study.data.targets import explain_task
from study.report.overview import protocol_section
from study.spec import StudySpec

TO_CLASSES = "to treat them as classes, pass --task classification (task = 'classification' in TOML or Python)."
TO_NUMBERS = "to treat them as numbers, pass --task regression (task = 'regression' in TOML or Python)."


@pytest.mark.parametrize(("values", "task", "reason"), [
    (list(range(25)), "regression", "has 25 distinct integer values (more than 20)"),
    (list(range(20)), "classification", "has 20 distinct integer values (at most 20)"),
    ([0.0, 1.0, np.nan], "classification", "has 2 distinct integer values (at most 20)"),
    ([0.5, 1.0, 2.0], "regression", "has non-integer values (e.g. 0.5)"),
    ([1.0, np.inf], "regression", "has infinite values"),
    (["yes", "no", "yes"], "classification", "holds labels, not numbers (2 distinct)"),
    ([True, False], "classification", "holds labels, not numbers (2 distinct)"),
    (pd.Categorical(["lo", "hi", "mid"]), "classification", "holds labels, not numbers (3 distinct)"),
    ([np.nan, np.nan], "regression", "has no values"),
])
def test_explain_task(values, task, reason):
    assert explain_task(pd.Series(values)) == (task, reason)


def test_an_integer_target_with_many_values_says_it_became_a_regression():
    df = pd.DataFrame({"x": np.arange(50.0), "y": np.arange(50) % 25})
    data = from_dataframe(df, "y", name="x")
    assert data.task == "regression"
    assert data.notes == ("dataset 'x': target 'y' has 25 distinct integer values (more than 20): treated as "
                          f"regression; {TO_CLASSES}",)
    with pytest.warns(UserWarning) as record:
        checked = check_dataset(data, n_splits=3, test_size=0.2)
    assert [str(w.message) for w in record] == list(data.notes)
    assert checked is data  # nothing new to add
    assert from_dataframe(df, "y", task="classification").notes == ()  # given, not detected: nothing to say


def test_every_loader_notes_the_detected_task_under_the_final_name(tmp_path):
    df = pd.DataFrame({"x": np.arange(30.0), "label": ["a", "b", "c"] * 10})
    path = tmp_path / "file.csv"
    df.to_csv(path, index=False)
    assert load_data(path, target="label", name="churn").notes == (
        "dataset 'churn': target 'label' holds labels, not numbers (3 distinct): treated as classification; only a "
        "numeric target can be treated as regression.",)
    np.savez(tmp_path / "arr.npz", X=np.zeros((30, 2)), y=np.arange(30) % 3)
    assert load_npz(tmp_path / "arr.npz").notes == (
        f"dataset 'arr': target 'y' has 3 distinct integer values (at most 20): treated as classification; "
        f"{TO_NUMBERS}",)
    assert load_data(tmp_path / "arr.npz", task="regression").notes == ()
    assert load_data("iris").notes == ()  # bundled datasets bring their task


def test_check_notices_join_the_notes_once():
    df = pd.DataFrame({"id": np.arange(30), "x": np.arange(30.0) % 7, "y": np.arange(30) % 2})
    data = from_dataframe(df, "y", name="d")
    with pytest.warns(UserWarning):
        checked = check_dataset(data, n_splits=3, test_size=0.2)
    dropped = ("Dropping ID-like column(s) ['id'] of dataset 'd': a distinct integer or string in every row "
               "identifies the row, it is not a feature. To keep such a column, convert it to float.")
    assert checked.notes == (*data.notes, dropped)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert check_dataset(checked, n_splits=3, test_size=0.2) is checked  # checking again adds nothing


def test_protocol_section_lists_the_data_notes():
    settings = StudySpec(datasets=("iris",)).settings()
    assert "Notes on the data" not in protocol_section(settings)
    settings["data_notes"] = {"x": ["dataset 'x': target 'y' has 25 distinct integer values (more than 20): treated "
                                    "as regression; ..."], "z": ["Dropping ID-like column(s) ['id'] ..."]}
    section = protocol_section(settings)
    assert section.endswith(
        "\nNotes on the data (also printed before training):\n\n"
        "- dataset 'x': target 'y' has 25 distinct integer values (more than 20): treated as regression; ...\n"
        "- Dropping ID-like column(s) \\['id'\\] ...\n")  # notes are data: Markdown-escaped in the report


@pytest.mark.parametrize("dtype", ["bool", "boolean"])
def test_a_boolean_target_becomes_the_labels_false_and_true(tmp_path, dtype):
    """Labels travel through the tables as text: a bool label would come back as the string 'False'."""
    from study.data.targets import target_array

    y = target_array(pd.Series([True, False, True], dtype=dtype))
    assert y.dtype == object and y.tolist() == ["True", "False", "True"]
    with_missing = target_array(pd.Series([True, None, False], dtype="boolean"))
    assert with_missing[0] == "True" and pd.isna(with_missing[1])  # refused later as a missing target
    np.savez(tmp_path / "flags.npz", X=np.zeros((4, 2)), y=np.array([True, False, True, False]))
    data = load_npz(tmp_path / "flags.npz")
    assert data.y.tolist() == ["True", "False", "True", "False"] and data.target_names == ["False", "True"]
    assert data.notes == ("dataset 'flags': target 'y' holds labels, not numbers (2 distinct): treated as "
                          "classification; only a numeric target can be treated as regression.",)
