"""Predict with a stored model: ``python -m study.predict --model OUT/models/<dataset>/<model> --data new.csv``.

A stored model (``study.report.models``) is the refit best estimator of one unit of a study: its
own preprocessing, fitted on the training part, then the model. :func:`predict` applies it to a
new table with exactly the columns it was trained on (``model.json``'s ``features``, any order):
a missing or an extra column, a repeated header, a value training would refuse (inf, a magnitude
above 1e30) or one the model never saw in a categorical column is refused, in one line, before
the model is loaded. Loading checks the folder first and says what it unpickles
(``study.model_store.load_model``). The predictions table has ``y_pred`` (the predicted class or value, as in the study's
``predictions.csv``) and, for a classifier, ``proba:<class>`` per class (or its decision
scores), one row per input row in input order.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import pandas as pd

from study.errors import InputError
from study.text import plain_line

__all__ = ["read_table", "model_input", "predict", "main"]

_FIX_COLUMNS = "give a table with exactly the model's feature columns, listed in its model.json"


def _text_columns(info: dict) -> list:
    """The features the model saw as text (not bool): read as the file writes them, as in training."""
    if info.get("input") != "frame":
        return []
    return [feature["name"] for feature in info["features"] if feature["kind"] == "categorical"
            and feature.get("dtype", "object") not in ("bool", "boolean")]


def read_table(path, text=()) -> pd.DataFrame:
    """A CSV table (separator detected as the study does, ``study.data.tables.sniff_separator``).

    Parameters
    ----------
    path : path-like
    text : sequence of str, default=()
        Columns kept as the text the file holds (``"7.50"`` stays ``"7.50"``), as training read
        a column of text: pandas would otherwise read a column of numbers as numbers.

    Raises
    ------
    InputError
        A missing or unreadable file, one without any row, or a header that repeats a column
        name (named as in the file).
    """
    from study.data.tables import RepeatedColumns, read_csv, unreadable

    path = Path(path)
    if not path.is_file():
        what = "is a folder" if path.is_dir() else "does not exist"
        raise InputError(f"Data file '{path}' {what}; expected a CSV file with a header row and one row per "
                         "sample to predict. Check the path.")
    try:
        table = read_csv(path, text=text)
    except RepeatedColumns as exc:
        raise InputError(str(exc)) from None
    except (OSError, ValueError) as exc:  # pandas' ParserError and UnicodeDecodeError are ValueErrors
        raise InputError(str(unreadable(path, "CSV", exc))) from None
    if table.empty:
        raise InputError(f"Data file '{path}' has no rows; expected a header row and at least one row to predict.")
    return table


def _numeric(values: pd.Series, name: str) -> pd.Series:
    if pd.api.types.is_bool_dtype(values):
        raise InputError(f"Column {name!r} holds booleans (True/False); the model was trained on numbers in it. "
                         "Write numbers in that column (e.g. 1 and 0).")
    converted = pd.to_numeric(values, errors="coerce")
    bad = values[converted.isna() & values.notna()]
    if len(bad):
        raise InputError(f"Column {name!r} holds {str(bad.iloc[0])!r} (row {bad.index[0]}), not a number; the model "
                         "was trained on numbers in it. Fix or remove that row.")
    return converted


def _as_text(values: pd.Series) -> pd.Series:
    """A column of the model's text features as text; a column pandas read as numbers (a
    DataFrame given from Python) has each number written as Python writes it."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.astype(object).where(values.isna(), values.astype(str))
    return values


def _check_known(values: pd.Series, feature: dict) -> None:
    """Refuse values of a categorical column the model never saw (they would be encoded as an
    unknown category, silently changing the prediction)."""
    known = feature.get("categories")
    boolean = feature.get("dtype") in ("bool", "boolean")
    if known is None and boolean:
        known = ["False", "True"]
    if known is None:
        return
    missing = values.isna().to_numpy()
    text = pd.Series([str(v) for v in values.astype(object)], index=values.index)
    unseen = text[~missing & ~text.isin(set(known))]
    if not len(unseen):
        return
    others = f"; {len(unseen) - 1} more row(s) hold values it never saw" if len(unseen) > 1 else ""
    shown = known if len(known) <= 12 else [*known[:12], "..."]
    hint = ("it was trained on True/False there: write True or False (not yes/no or 1/0), or "
            if boolean else "replace it by one of them, or ")
    raise InputError(f"Column {feature['name']!r} holds {unseen.iloc[0]!r} (row {unseen.index[0]}), a value the model "
                     f"never saw in it{others}; expected one of {shown}. It would be encoded as an unknown category "
                     f"and change the prediction without a word: {hint}leave the cell empty (imputed).")


def model_input(table: pd.DataFrame, info: dict, source: str = "the table"):
    """The model's input from a table: its feature columns in the trained order and types,
    checked as training checked them.

    Parameters
    ----------
    table : pandas.DataFrame of shape (n_samples, n_features)
        Exactly the columns of ``info["features"]`` (any order).
    info : dict
        The stored model's ``model.json`` (``study.model_store.read_info``).
    source : str, default="the table"
        The table's name in messages (the CSV file's name).

    Returns
    -------
    ndarray of shape (n_samples, n_features) or pandas.DataFrame
        An array of floats for a model trained on an array (the bundled datasets, ``.npz``), else
        a DataFrame; a column of numbers where the model saw text becomes text.

    Raises
    ------
    InputError
        A missing or an extra column (all of them named), text in a numeric column, an
        infinite value or a magnitude above ``study.data.values.MAX_ABS_VALUE`` in one (as
        training refuses them: ``check_feature_values``), or a value the model never saw in a
        categorical column (``model.json``'s ``categories``; True/False in a boolean column).
    """
    from study.data.values import check_feature_values

    features = info["features"]
    names = [feature["name"] for feature in features]
    columns = [str(column) for column in table.columns]
    missing = [name for name in names if name not in columns]
    extra = [column for column in columns if column not in names]
    if missing or extra:
        found = "; ".join(part for part in (f"missing {missing}" if missing else "",
                                            f"extra {extra}" if extra else "") if part)
        raise InputError(f"The table's columns do not match the model's: {found}. Expected the {len(names)} "
                         f"columns {names}; {_FIX_COLUMNS} (drop the target and any other column).")
    table = table.set_axis(columns, axis=1)
    if info.get("input") == "array":
        X = pd.DataFrame({name: _numeric(table[name], name) for name in names}).to_numpy(dtype=float)
    else:
        data = {}
        for feature in features:
            name, values = feature["name"], table[feature["name"]]
            if feature["kind"] == "numeric":
                values = _numeric(values, name)
            else:
                values = values if feature.get("dtype") in ("bool", "boolean", "category") else _as_text(values)
                _check_known(values, feature)
            data[name] = values
        X = pd.DataFrame(data)
    try:
        check_feature_values(X, source, names)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    return X


def predict(model, data, *, say=None) -> pd.DataFrame:
    """Predict with a stored model.

    The model folder is checked first (``study.model_store.read_info``: ``model.json``'s schema), then
    the table (:func:`model_input`), then the model is loaded (``study.model_store.load_model``: the
    files' digests, one line saying what is unpickled, one naming library versions that differ,
    and the unpickled object against ``model.json``).

    Parameters
    ----------
    model : path-like
        ``OUT/models/<dataset>/<model>``, written by the study.
    data : pandas.DataFrame or path-like
        The rows to predict (a DataFrame, or a CSV file read by :func:`read_table`), with
        exactly the model's feature columns.
    say : callable or None, default=None
        Receives the lines of ``study.model_store.load_model`` (None: they are warnings).

    Returns
    -------
    pandas.DataFrame
        One row per input row, in order: ``y_pred``, then ``proba:<class>`` per class for a
        classifier with ``predict_proba`` (else its ``decision`` scores; nothing for a regressor).

    Raises
    ------
    InputError
        Not a stored model (missing folder, no or a damaged ``model.json``, files edited or
        swapped), a model that cannot be loaded here, an unreadable CSV, or a table that does not
        fit (columns, values; checked before the model is loaded), or a model that cannot predict
        the checked rows.
    """
    from study.model_store import load_model, read_info
    from study.scoring import output_columns

    try:
        info = read_info(model)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    if isinstance(data, pd.DataFrame):
        table, source = data, "the table"
    else:
        table, source = read_table(data, text=_text_columns(info)), Path(data).name
    X = model_input(table, info, source)
    try:
        estimator = load_model(model, say=say)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    try:
        return pd.DataFrame({"y_pred": estimator.predict(X), **output_columns(estimator, X)})
    except Exception as exc:  # checked input the loaded model still cannot take: one line, not its traceback
        raise InputError(f"The model of '{model}' could not predict these rows ({type(exc).__name__}: "
                         f"{plain_line(exc)[:300]}); the table passed every check of its model.json, so the model "
                         "itself does not fit them: check the library versions it was saved with (model.json's "
                         "libraries), or run the study again.") from None


def build_parser() -> argparse.ArgumentParser:
    from study.cli_options import OneLineParser, once_actions

    parser = once_actions(OneLineParser(prog="python -m study.predict", argument_default=argparse.SUPPRESS, description=(
        "Predict with a model the study stored (OUT/models/<dataset>/<model>): one row per row of --data, "
        "y_pred and the class probabilities (proba:<class>) where the model has them. The folder is checked "
        "first (model.json, the files' digests, the library versions); estimator.pkl is a pickle, which can "
        "run code: load only models you trust. Exit status 2 for bad input (a folder that is not a stored "
        "model or whose files were edited, an unreadable CSV, columns or values the model was not trained on; an "
        "option given twice).")))
    parser.add_argument("--model", required=True, type=Path, metavar="FOLDER",
                        help="a stored model folder, e.g. reports/default/models/wine/keras_dense")
    parser.add_argument("--data", required=True, type=Path, metavar="CSV",
                        help="rows to predict, with exactly the model's feature columns (no target)")
    parser.add_argument("--out", type=Path, metavar="CSV", help="write the predictions here (default: stdout)")
    return parser


EXIT_BROKEN_PIPE = 141
"""Exit status when the reader of stdout closed it early (``| head``): 128 + SIGPIPE, as a shell
tool stopped by that signal; nothing is printed."""


def _stdout_closed() -> int:
    """The reader of stdout went away: point stdout at os.devnull, so that Python's final flush
    does not report the broken pipe again, and end quietly."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (AttributeError, OSError, ValueError):  # not a real file (captured output): nothing to redirect
        pass
    return EXIT_BROKEN_PIPE


def _say(line: str) -> None:
    """A line of ``study.model_store.load_model`` on stderr: what it unpickles, or a warning (other library versions)."""
    line = plain_line(line)
    print(line if line.startswith("loading ") else f"warning: {line}", file=sys.stderr)


def main(argv: list | None = None) -> int:
    """Run the command; returns the exit status (0 ok, 2 bad input, reported in one line;
    :data:`EXIT_BROKEN_PIPE` when stdout's reader stopped reading)."""
    from study.cli_options import RepeatedOption
    from study.cli_options import usage_error

    try:
        args = build_parser().parse_args(argv)
    except RepeatedOption as exc:
        return usage_error(exc)
    out = getattr(args, "out", None)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        predictions = predict(args.model, args.data, say=_say)
    except InputError as exc:
        return usage_error(exc)
    except OSError as exc:  # a file of the folder or the table that cannot be read (permissions)
        return usage_error(InputError(f"Cannot read {exc.filename or args.model!s} ({exc.strerror or exc}); "
                                      "check the paths given to --model and --data and their permissions."))
    if out is None:
        try:
            predictions.to_csv(sys.stdout, index=False)
            sys.stdout.flush()
        except BrokenPipeError:
            return _stdout_closed()
        return 0
    from study.folders import atomic_write_text

    try:
        atomic_write_text(out, predictions.to_csv(index=False))
    except OSError as exc:
        return usage_error(InputError(f"Cannot write the predictions to '{out}' ({exc.strerror or exc}); "
                                      "choose another --out path in a writable folder."))
    print(f"wrote {len(predictions)} predictions to {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
