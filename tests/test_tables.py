"""Tables: separators detected or given, repeated column names refused, exact messages."""

import re

import numpy as np
import pandas as pd
import pytest

from study.data import check_separator, from_dataframe, load_data, load_table
from study.data.tables import sniff_separator
from study.spec import DataSource, StudySpec


def raises(message):
    """``pytest.raises(ValueError)`` matching the whole message exactly."""
    return pytest.raises(ValueError, match=f"^{re.escape(message)}$")


def table(n=40):
    rng = np.random.default_rng(0)
    return pd.DataFrame({"x1": rng.normal(size=n).round(3), "plan": ["a", "b", "c", "d"] * (n // 4),
                         "y": np.arange(n) % 2})


# --------------------------------------------------------------------------------------
# Separators


@pytest.mark.parametrize(("sep", "label"), [(";", "';'"), ("\t", "tab"), ("|", "'|'")])
def test_other_separators_are_detected_and_noted(tmp_path, sep, label):
    df = table()
    path = tmp_path / "t.csv"
    df.to_csv(path, sep=sep, index=False)
    data = load_table(path, "y", task="classification")
    pd.testing.assert_frame_equal(data.X, df.drop(columns="y"))
    assert data.notes == (f"dataset 't': 't.csv' read as {label}-separated (detected from its first lines); "
                          "pass --sep to choose another separator.",)
    given = load_table(path, "y", task="classification", sep="tab" if sep == "\t" else sep)
    pd.testing.assert_frame_equal(given.X, df.drop(columns="y"))
    assert given.notes == ()  # nothing detected, nothing to say


def test_a_comma_file_reads_as_before_without_a_note(tmp_path):
    df = table()
    path = tmp_path / "t.csv"
    df.to_csv(path, index=False)
    data = load_table(path, "y", task="classification")
    pd.testing.assert_frame_equal(data.X, df.drop(columns="y"))
    assert data.notes == ()


@pytest.mark.parametrize(("lines", "expected"), [
    (["a;b,5;y\n", "1;2,5;0\n"], ";"),                  # decimal commas inside ;-separated fields
    (["a,b;5,y\n", "1,2;5,0\n"], ","),                  # and the other way round
    (['a,b,y\n', '"1,5",2,0\n', '"3,5",4,1\n'], ","),    # quoted commas
    (["a\tb\n", "x,y\t1\n"], "\t"),
    (["a|b|c\n", "1|2|3\n", "\n"], "|"),                # blank lines ignored
    (["only\n", "1\n", "2\n"], None),                    # one column: unsure
    (["a;b;y\n", "1;2\n", "1;2;3;4\n"], None),           # ragged rows: unsure
    ([], None),
])
def test_sniff_separator(lines, expected):
    assert sniff_separator(lines) == expected


def test_unsure_sniffing_reads_commas_and_says_which_sep_to_pass(tmp_path):
    path = tmp_path / "notes.csv"  # a quoted line break defeats line-by-line sniffing
    path.write_text('a;note;y\n1;"two\nlines";0\n' + "".join(f'{i};"x";{i % 2}\n' for i in range(30)))
    with raises(f"'{path}' was read as a single column 'a;note;y' with the separator ',', but its header contains "
                "';': the file looks ';'-separated. Pass --sep ';' (sep in TOML or DataSource)."):
        load_table(path, "y")
    data = load_table(path, "y", sep=";")
    assert data.X.shape == (31, 2) and data.X["note"].iloc[0] == "two\nlines"


def test_a_wrong_sep_is_named_with_the_right_one(tmp_path):
    path = tmp_path / "t.csv"
    table().to_csv(path, sep="\t", index=False)
    with raises(f"'{path}' was read as a single column 'x1\\tplan\\ty' with the separator ';', but its header "
                "contains tab: the file looks tab-separated. Pass --sep tab (sep in TOML or DataSource)."):
        load_table(path, "y", sep=";")


@pytest.mark.parametrize("sep", ["", ";;", "ab", "\n", '"', 3])
def test_bad_separators(sep):
    with raises(f"Separator {sep!r} is not usable: expected one character that separates the columns of a CSV, "
                "such as ',', ';', '|', or a tab (written tab or \\t). Fix --sep (sep in TOML or DataSource)."):
        check_separator(sep)


def test_separator_spellings():
    assert [check_separator(s) for s in (None, ",", ";", "|", "\t", "\\t", "tab", "TAB")] == \
        [None, ",", ";", "|", "\t", "\t", "\t", "\t"]


def test_sep_only_for_csv_files(tmp_path):
    pytest.importorskip("pyarrow")
    path = tmp_path / "t.parquet"
    table().to_parquet(path)
    with raises(f"A separator (';') applies to .csv files only, not to '{path}'. Remove --sep (sep in TOML or "
                "DataSource)."):
        load_table(path, "y", sep=";")
    with raises(f"A separator (sep=';') applies to .csv files only, not to '{path}'. Remove --sep (sep in TOML or "
                "DataSource)."):
        load_data(path, target="y", sep=";")
    with raises("A separator (sep='|') applies to .csv files only, not to DataFrame. Remove --sep (sep in TOML or "
                "DataSource)."):
        load_data(table(), target="y", sep="|")


def test_spec_refuses_a_bad_separator_before_loading():
    spec = StudySpec(datasets=(DataSource("missing.csv", target="y", sep="ab"),), models=("ridge",))
    with pytest.raises(ValueError, match=re.escape("Separator 'ab' is not usable")):
        spec.validate()


def test_data_source_sep_reaches_the_loader(tmp_path):
    from study.orchestrator import load_datasets

    path = tmp_path / "t.csv"
    df = table()
    path.write_text(df.to_csv(sep=";", index=False))
    spec = StudySpec(datasets=(DataSource(str(path), target="y", task="classification", sep=","),), models=("ridge",))
    with raises(f"'{path}' was read as a single column 'x1;plan;y' with the separator ',', but its header contains "
                "';': the file looks ';'-separated. Pass --sep ';' (sep in TOML or DataSource)."):
        load_datasets(spec)
    spec = StudySpec(datasets=(DataSource(str(path), target="y", task="classification", sep=";"),), models=("ridge",))
    [data] = load_datasets(spec)
    pd.testing.assert_frame_equal(data.X, df.drop(columns="y"))


# --------------------------------------------------------------------------------------
# Repeated column names


def test_a_repeated_target_column_in_a_csv_is_refused(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("x1,y,y\n" + "".join(f"{i},{i % 2},{i % 2}\n" for i in range(30)))
    with raises(f"'{path}' has duplicate column names ['y'] (pandas would read the copies as ['y.1']; a copy of "
                "the target 'y' would become a feature); expected unique names. Rename or remove the repeated "
                "columns in the file."):
        load_table(path, "y")


def test_repeated_feature_columns_in_a_csv_are_refused(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("a;b;a;b;a;y\n" + "".join(f"{i};1;2;3;4;{i % 2}\n" for i in range(30)))
    with raises(f"'{path}' has duplicate column names ['a', 'b'] (pandas would read the copies as ['a.1', 'a.2', "
                "'b.1']); expected unique names. Rename or remove the repeated columns in the file."):
        load_table(path, "y")


def test_a_header_that_only_looks_repeated_is_fine(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("y,y.1,Y\n" + "".join(f"{i},{i},{i % 2}\n" for i in range(30)))
    assert load_table(path, "Y").feature_names == ["y", "y.1"]


def test_repeated_columns_in_a_parquet_file_are_refused(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    path = tmp_path / "dup.parquet"
    pq.write_table(pa.table([pa.array([1, 2]), pa.array([0, 1]), pa.array([0, 1])], names=["x1", "y", "y"]), path)
    with raises(f"'{path}' has duplicate column names ['y'] (the target 'y' is ambiguous); expected unique names. "
                "Rename or remove the repeated columns in the file."):
        load_table(path, "y")


def test_repeated_labels_of_a_dataframe_are_refused():
    df = pd.DataFrame(np.zeros((4, 3)), columns=["x", "y", "y"])
    with raises("Dataset 'dataframe' has duplicate column names ['y']; expected unique names. Rename the columns "
                "before loading."):
        from_dataframe(df, "y")
    numbered = pd.DataFrame(np.zeros((4, 3)), columns=[1, "1", "y"])  # equal once converted to str
    with raises("Dataset 'dataframe' has duplicate column names ['1']; expected unique names. Rename the columns "
                "before loading."):
        load_data(numbered, target="y")
