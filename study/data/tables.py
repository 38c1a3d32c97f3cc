"""Tables: a pandas DataFrame (:func:`from_dataframe`), or a ``.csv`` / ``.parquet`` file
(:func:`load_table`), becomes a :class:`~study.data.dataset.Dataset`.

A CSV's separator is detected from its first lines unless given (:func:`sniff_separator`,
:func:`check_separator`), and its raw header is read before pandas renames repeated names
(``y, y`` -> ``y, y.1``), so that a repeated column, above all a copy of the target, is refused
instead of silently becoming a feature.
"""

from __future__ import annotations

import csv
import dataclasses
import itertools
from pathlib import Path

import pandas as pd

from study.data.columns import nested_kind, take_structure
from study.data.dataset import Dataset
from study.data.targets import resolve_task, sorted_labels, target_array
from study.text import plain_line

__all__ = ["from_dataframe", "load_table", "read_csv", "RepeatedColumns", "check_separator", "sniff_separator", "SEPARATORS"]

TABLE_SUFFIXES = (".csv", ".parquet")
SEPARATORS = ",;\t|"
"""The separators :func:`sniff_separator` considers: comma, semicolon, tab and pipe."""
SNIFF_LINES = 50
"""Number of lines of a CSV read to detect its separator."""
_SEP_NAMES = {"\t": "tab"}
_SEP_FLAGS = {",": "--sep ','", ";": "--sep ';'", "\t": "--sep tab", "|": "--sep '|'"}


def existing_file(path) -> Path:
    """``path`` as a Path; a ``ValueError`` with the expected file types if it does not exist."""
    path = Path(path)
    if not path.exists():
        raise ValueError(
            f"Data file '{path}' does not exist; expected a path to an existing .csv, "
            ".parquet or .npz file. Check the path and the working directory."
        )
    return path


def unreadable(path: Path, kind: str, exc: Exception) -> ValueError:
    """The one-line error for a file its reader could not parse (the reader's error included)."""
    detail = plain_line(exc)  # the parser's message may span lines
    return ValueError(
        f"Could not read '{path}' as {kind} ({type(exc).__name__}: {detail}). Expected a valid "
        f"{kind} file; check that the file is complete and really is {kind}, or re-export it."
    )


def _sep_name(sep: str) -> str:
    return _SEP_NAMES.get(sep, repr(sep))


def check_separator(sep) -> str | None:
    """A CSV separator as given by a user, as the one character pandas expects.

    Parameters
    ----------
    sep : str or None
        One character (``","``, ``";"``, ``"|"``, a tab); a tab may also be spelled ``"\\t"``
        (backslash and t, as typed in a shell) or ``"tab"``. None: detect it.

    Returns
    -------
    str or None
        The separator character, or None.

    Raises
    ------
    ValueError
        An empty string, more than one character (other than the spellings of a tab), a
        line break or a double quote.

    Examples
    --------
    >>> check_separator(";"), check_separator("tab"), check_separator("\\\\t"), check_separator(None)
    (';', '\\t', '\\t', None)
    """
    if sep is None:
        return None
    if isinstance(sep, str) and sep.lower() in ("\\t", "tab"):
        return "\t"
    if not isinstance(sep, str) or len(sep) != 1 or sep in '\r\n"':
        raise ValueError(
            f"Separator {sep!r} is not usable: expected one character that separates the columns of a "
            "CSV, such as ',', ';', '|', or a tab (written tab or \\t). Fix --sep (sep in TOML or DataSource)."
        )
    return sep


def _fields(line: str, sep: str) -> int:
    return len(next(csv.reader([line], delimiter=sep), []))


def sniff_separator(lines: list) -> str | None:
    """The separator of a CSV from its first lines, or None when unsure.

    A candidate (:data:`SEPARATORS`) is consistent when it splits every non-empty line of the
    sample into the same number of fields, at least 2 (quoted fields respected). The
    consistent candidate with the most fields wins (``a;b,5;y`` is ``;``-separated); a tie is
    broken by :class:`csv.Sniffer` (restricted to :data:`SEPARATORS`), else by the order of
    :data:`SEPARATORS`. With no consistent candidate (a one-column file, ragged rows, quoted
    line breaks) the caller reads the file with commas, pandas' default.

    Parameters
    ----------
    lines : list of str
        The first lines of the file (:data:`SNIFF_LINES`), line breaks included.

    Returns
    -------
    str or None

    Examples
    --------
    >>> sniff_separator(["a;b;c\\n", "1,5;2;x\\n"]), sniff_separator(["a,b\\n", "1,2\\n"])
    (';', ',')
    >>> sniff_separator(["just one column\\n", "1\\n"]) is None
    True
    """
    rows = [line for line in lines if line.strip()]
    widths = {}
    for sep in SEPARATORS:
        counts = {_fields(line, sep) for line in rows}
        if len(counts) == 1 and min(counts) >= 2:
            widths[sep] = counts.pop()
    if not widths:
        return None
    best = [sep for sep in widths if widths[sep] == max(widths.values())]
    if len(best) > 1:
        try:
            sniffed = csv.Sniffer().sniff("".join(rows), delimiters=SEPARATORS).delimiter
        except csv.Error:
            sniffed = None
        if sniffed in best:
            return sniffed
    return best[0]


def _first_lines(path: Path) -> list:
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as handle:
        return list(itertools.islice(handle, SNIFF_LINES))


def _read_csv(path: Path, sep: str | None, text=()) -> tuple:
    """``(df, header, used, detected)``: the DataFrame (the ``text`` columns as the text the file
    holds), the raw header row (before pandas renames repeated names), the separator used and the
    one detected (None if given or unsure)."""
    detected = sniff_separator(_first_lines(path)) if sep is None else None
    used = sep or detected or ","
    header = pd.read_csv(path, sep=used, header=None, nrows=1, dtype=str, keep_default_na=False)
    names = [str(v) for v in header.iloc[0]] if len(header) else []
    text = [name for name in text if name in names]
    df = pd.read_csv(path, sep=used, dtype={name: str for name in text} or None)
    return df.assign(**{name: df[name].astype(object) for name in text}), names, used, detected


def read_csv(path, sep: str | None = None, *, text=()) -> pd.DataFrame:
    """A CSV file as a DataFrame, read as :func:`load_table` reads it: ``sep``, or the separator
    detected from its first lines (:func:`sniff_separator`), else a comma; a header that repeats
    a column name is refused.

    Parameters
    ----------
    path : path-like
    sep : str or None, default=None
    text : sequence of str, default=()
        Columns kept as the text the file holds (``"7.50"`` stays ``"7.50"``).

    Raises
    ------
    OSError, ValueError, pandas.errors.ParserError, UnicodeDecodeError
        The reader's errors (:func:`unreadable` words them).
    RepeatedColumns
        A header that repeats a column name (a ValueError naming it as the file does).
    """
    path = Path(path)
    df, names, _, _ = _read_csv(path, sep, text)
    _refuse_repeated(path, names, None, renamed=True)
    return df


def _check_csv(path: Path, df: pd.DataFrame, used: str) -> None:
    """Refuse a CSV read as one column although its header holds another separator."""
    if df.shape[1] == 1:
        found = [s for s in SEPARATORS if s != used and s in str(df.columns[0])]
        if found:
            raise ValueError(
                f"'{path}' was read as a single column {str(df.columns[0])!r} with the separator "
                f"{_sep_name(used)}, but its header contains {_sep_name(found[0])}: the file looks "
                f"{_sep_name(found[0])}-separated. Pass {_SEP_FLAGS[found[0]]} (sep in TOML or DataSource)."
            )


class RepeatedColumns(ValueError):
    """A file whose header repeats a column name."""


def _refuse_repeated(path: Path, names: list, target, renamed: bool) -> None:
    """Refuse a file whose header repeats a column name (``renamed``: pandas would rename the copies)."""
    repeated = sorted({n for n in names if n and names.count(n) > 1})
    if not repeated:
        return
    copies = [f"{n}.{k}" for n in repeated for k in range(1, names.count(n))]
    notes = [f"pandas would read the copies as {copies}"] if renamed else []
    if str(target) in repeated:
        notes.append(f"a copy of the target {str(target)!r} would become a feature" if renamed
                     else f"the target {str(target)!r} is ambiguous")
    why = f" ({'; '.join(notes)})" if notes else ""
    raise RepeatedColumns(
        f"'{path}' has duplicate column names {repeated}{why}; expected unique names. Rename or remove "
        "the repeated columns in the file."
    )


def _read_parquet(path: Path, target) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except ImportError as exc:
        raise ValueError(
            f"Reading the Parquet file '{path}' needs pyarrow (or fastparquet), which is not "
            "installed. Install it with `pip install pyarrow`, or save the table as .csv."
        ) from exc
    except (ValueError, OSError) as exc:  # corrupt files; pyarrow also fails on repeated names
        error = exc
    _refuse_repeated(path, _parquet_names(path), target, renamed=False)
    raise unreadable(path, "Parquet", error) from error


def _parquet_names(path: Path) -> list:
    """Column names in a Parquet file's schema, repeated ones included ([] if unreadable)."""
    try:
        import pyarrow.parquet as pq

        return [str(n) for n in pq.read_schema(path).names]
    except (ImportError, ValueError, OSError):
        return []


def from_dataframe(df: pd.DataFrame, target: str | None, *, name: str | None = None,
                   task: str | None = None, drop=(), groups: str | None = None, time: str | None = None,
                   time_features: bool = False) -> Dataset:
    """A dataset from a DataFrame: the ``target`` column is split off as ``y``.

    The features keep their dtypes (numbers, strings, categories, bools, with missing
    values); column names become ``str`` and the index a ``RangeIndex`` (row positions).
    Validate the result with :func:`check_dataset` before fitting.

    Parameters
    ----------
    df : pandas.DataFrame of shape (n_samples, n_columns)
    target : str
        Name of the target column.
    name : str or None, default=None
        Dataset name in the results; ``"dataframe"`` if None.
    task : {"classification", "regression"} or None, default=None
        None detects it with :func:`detect_task` and records the reason in ``notes``; a
        value overrides the detection. Classification keeps the labels as they are (strings
        allowed).
    drop : sequence of str, default=()
        Columns to leave out of the features (e.g. leaky or free-text columns).
    groups : str or None, default=None
        The groups column (``Dataset.groups``; not a feature): the splits keep each group on one
        side. See ``study.data.columns``.
    time : str or None, default=None
        The time column (``Dataset.time``; numbers or dates; not a feature): the splits are
        time-ordered.
    time_features : bool, default=False
        Also expand the time column into features (``study.data.columns``).

    Returns
    -------
    Dataset
        ``X`` a DataFrame of shape (n_samples, n_columns - 1 - len(drop)) (less the groups and
        time columns), ``y`` an ndarray, ``target_names`` the sorted distinct labels
        (classification) or None, ``notes`` the detected task's sentence (none when ``task`` is
        given).

    Raises
    ------
    TypeError
        If ``df`` is not a DataFrame.
    ValueError
        No or an unknown target column (the message lists the columns), a target column of
        lists or records (a Parquet list or struct column), unknown ``drop``
        columns, duplicate column names (after conversion to ``str``), an unknown ``task``,
        ``task="regression"`` with a non-numeric target, and the errors of
        ``study.data.columns.take_structure`` (a missing groups or time column, ...).
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame; got {type(df).__name__}.")
    name = "dataframe" if name is None else str(name)
    df = df.copy()
    df.columns = [str(c) for c in df.columns]
    columns = list(df.columns)
    duplicated = sorted({c for c in columns if columns.count(c) > 1})
    if duplicated:
        raise ValueError(
            f"Dataset {name!r} has duplicate column names {duplicated}; expected unique names. "
            "Rename the columns before loading."
        )
    if target is None:
        raise ValueError(
            f"No target column given for dataset {name!r}; expected one of its columns: "
            f"{columns}. Pass target='<column>' (--target on the command line)."
        )
    if str(target) not in columns:
        raise ValueError(
            f"Target column {target!r} not found in dataset {name!r}; available columns: "
            f"{columns}. Pass one of them as target (--target); names are case-sensitive."
        )
    target = str(target)
    drop = [str(c) for c in ([drop] if isinstance(drop, str) else drop)]
    unknown = [c for c in drop if c not in columns]
    if unknown:
        raise ValueError(
            f"Cannot drop column(s) {unknown} of dataset {name!r}: not found; available "
            f"columns: {columns}. Check the spelling of drop."
        )
    nested = nested_kind(df[target])
    if nested:
        raise ValueError(
            f"The target column {target!r} of dataset {name!r} holds {nested} (a Parquet list or struct column); "
            "expected one label or value per row. Choose another --target, or flatten the column into single "
            "values before loading."
        )
    y = target_array(df[target])
    task, notes = resolve_task(task, y, target, name, df[target].dtype)
    X = df.drop(columns=[target, *[c for c in drop if c != target and c not in (groups, time)]])
    X, group_values, time_values, extra = take_structure(X.reset_index(drop=True), name=name, target=target,
                                                         groups=groups, time=time, time_features=time_features)
    return Dataset(
        name=name,
        X=X,
        y=y,
        task=task,
        feature_names=list(X.columns),
        target_names=[str(c) for c in sorted_labels(y)] if task == "classification" else None,
        notes=notes + extra,
        groups=group_values,
        groups_name=groups,
        time=time_values,
        time_name=time,
    )


def load_table(path, target: str | None, *, task: str | None = None, drop=(), sep: str | None = None,
               name: str | None = None, **structure) -> Dataset:
    """A dataset from a ``.csv`` (``pandas.read_csv``) or ``.parquet`` (``pandas.read_parquet``)
    file.

    Parameters
    ----------
    path : str or os.PathLike
        The file; its suffix selects the reader. CSV: a header row, then one row per sample;
        pandas' default missing markers (empty, ``NA``, ``NaN``, ``null``, ...). Parquet needs
        ``pyarrow`` (or ``fastparquet``).
    target : str
        Name of the target column.
    task : {"classification", "regression"} or None, default=None
        See :func:`from_dataframe`.
    drop : sequence of str, default=()
        Columns to leave out of the features.
    sep : str or None, default=None
        CSV only: the column separator (:func:`check_separator`). None detects it from the
        first lines (:func:`sniff_separator`; a separator other than a comma is recorded in
        ``notes``), falling back to a comma.
    name : str or None, default=None
        Dataset name in the results; default the file's stem.
    **structure
        ``groups``, ``time``, ``time_features``: see :func:`from_dataframe`.

    Returns
    -------
    Dataset
        As :func:`from_dataframe`.

    Raises
    ------
    ValueError
        A missing file, an unsupported suffix, an unreadable file (the parser's error is
        included), a missing Parquet engine, a bad ``sep`` or ``sep`` for a Parquet file, a
        CSV read as a single column whose header holds another separator (the message says
        which ``--sep`` to pass), repeated names in a CSV header, and the errors of
        :func:`from_dataframe`.
    """
    path = existing_file(path)
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise ValueError(
            f"Cannot read '{path}' as a table: unsupported file type {suffix!r}; expected "
            ".csv or .parquet. Convert the table to one of these (e.g. DataFrame.to_csv)."
        )
    sep = check_separator(sep)
    name = path.stem if name is None else str(name)
    if sep is not None and suffix != ".csv":
        raise ValueError(
            f"A separator ({_sep_name(sep)}) applies to .csv files only, not to '{path}'. Remove --sep "
            "(sep in TOML or DataSource)."
        )
    notes = ()
    if suffix == ".csv":
        try:
            df, header, used, detected = _read_csv(path, sep)
        except (ValueError, OSError) as exc:  # parser errors, bad encodings
            raise unreadable(path, "CSV", exc) from exc
        _check_csv(path, df, used)
        _refuse_repeated(path, header, target, renamed=True)
        if detected not in (None, ","):
            notes = (f"dataset {name!r}: '{path.name}' read as {_sep_name(detected)}-separated (detected from its "
                     "first lines); pass --sep to choose another separator.",)
    else:
        df = _read_parquet(path, target)
    dataset = from_dataframe(df, target, name=name, task=task, drop=drop, **structure)
    return dataclasses.replace(dataset, notes=notes + dataset.notes) if notes else dataset
