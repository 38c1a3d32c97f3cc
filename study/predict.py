"""Predict with a stored model: ``python -m study.predict --model OUT/models/<dataset>/<model> --data new.csv``.

A stored model (``study.report.models``) is the refit best estimator of one unit of a study: its
own preprocessing, fitted on the training part, then the model. :func:`predict` applies it to a
new table with exactly the columns it was trained on (``model.json``'s ``features``, any order):
a missing or an extra column is refused, in one line, before anything is predicted. The
predictions table has ``y_pred`` (the predicted class or value, as in the study's
``predictions.csv``) and, for a classifier, ``proba:<class>`` per class (or its decision
scores), one row per input row in input order.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import pandas as pd

from study.spec import InputError

__all__ = ["read_table", "model_input", "predict", "main"]

_FIX_COLUMNS = "give a table with exactly the model's feature columns, listed in its model.json"


def read_table(path) -> pd.DataFrame:
    """A CSV table (separator detected as the study does, ``study.data.tables.sniff_separator``).

    Raises
    ------
    InputError
        A missing or unreadable file, or one without any row.
    """
    from study.data.tables import read_csv, unreadable

    path = Path(path)
    if not path.is_file():
        what = "is a folder" if path.is_dir() else "does not exist"
        raise InputError(f"Data file '{path}' {what}; expected a CSV file with a header row and one row per "
                         "sample to predict. Check the path.")
    try:
        table = read_csv(path)
    except (OSError, ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(str(unreadable(path, "CSV", exc))) from None
    if table.empty:
        raise InputError(f"Data file '{path}' has no rows; expected a header row and at least one row to predict.")
    return table


def _numeric(values: pd.Series, name: str) -> pd.Series:
    converted = pd.to_numeric(values, errors="coerce")
    bad = values[converted.isna() & values.notna()]
    if len(bad):
        raise InputError(f"Column {name!r} holds {str(bad.iloc[0])!r} (row {bad.index[0]}), not a number; the model "
                         "was trained on numbers in it. Fix or remove that row.")
    return converted


def model_input(table: pd.DataFrame, info: dict):
    """The model's input from a table: its feature columns in the trained order and types.

    Parameters
    ----------
    table : pandas.DataFrame of shape (n_samples, n_features)
        Exactly the columns of ``info["features"]`` (any order).
    info : dict
        The stored model's ``model.json`` (``study.saved.read_info``).

    Returns
    -------
    ndarray of shape (n_samples, n_features) or pandas.DataFrame
        An array of floats for a model trained on an array (the bundled datasets, ``.npz``), else
        a DataFrame; a column of numbers read where the model saw text becomes text.

    Raises
    ------
    InputError
        A missing or an extra column (all of them named), or text in a numeric column.
    """
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
        return pd.DataFrame({name: _numeric(table[name], name) for name in names}).to_numpy(dtype=float)
    data = {}
    for feature in features:
        name, values = feature["name"], table[feature["name"]]
        if feature["kind"] == "numeric":
            values = _numeric(values, name)
        elif feature.get("dtype") in ("object", "str", "string") and pd.api.types.is_numeric_dtype(values):
            values = values.astype(object).where(values.isna(), values.astype(str))
        data[name] = values
    return pd.DataFrame(data)


def predict(model, data) -> pd.DataFrame:
    """Predict with a stored model.

    Parameters
    ----------
    model : path-like
        ``OUT/models/<dataset>/<model>``, written by the study.
    data : pandas.DataFrame or path-like
        The rows to predict (a DataFrame, or a CSV file read by :func:`read_table`), with
        exactly the model's feature columns.

    Returns
    -------
    pandas.DataFrame
        One row per input row, in order: ``y_pred``, then ``proba:<class>`` per class for a
        classifier with ``predict_proba`` (else its ``decision`` scores; nothing for a regressor).

    Raises
    ------
    InputError
        Not a stored model (missing folder, no ``model.json``), a model that cannot be loaded
        here, an unreadable CSV, or columns that do not match (checked before predicting).
    """
    from study.saved import load_model, read_info
    from study.scoring import output_columns

    try:
        info = read_info(model)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    table = data if isinstance(data, pd.DataFrame) else read_table(data)
    X = model_input(table, info)
    try:
        estimator = load_model(model)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    return pd.DataFrame({"y_pred": estimator.predict(X), **output_columns(estimator, X)})


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m study.predict", description=(
        "Predict with a model the study stored (OUT/models/<dataset>/<model>): one row per row of --data, "
        "y_pred and the class probabilities (proba:<class>) where the model has them. Exit status 2 for bad "
        "input (a folder that is not a stored model, an unreadable CSV, missing or extra columns)."))
    parser.add_argument("--model", required=True, type=Path, metavar="FOLDER",
                        help="a stored model folder, e.g. reports/default/models/wine/keras_dense")
    parser.add_argument("--data", required=True, type=Path, metavar="CSV",
                        help="rows to predict, with exactly the model's feature columns (no target)")
    parser.add_argument("--out", type=Path, metavar="CSV", help="write the predictions here (default: stdout)")
    return parser


def main(argv: list | None = None) -> int:
    """Run the command; returns the exit status (0 ok, 2 bad input, reported in one line)."""
    from study.run import usage_error

    args = build_parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        predictions = predict(args.model, args.data)
        if args.out is None:
            predictions.to_csv(sys.stdout, index=False)
            return 0
        from study.report.files import atomic_write_text

        atomic_write_text(args.out, predictions.to_csv(index=False))
    except InputError as exc:
        return usage_error(exc)
    except OSError as exc:
        return usage_error(InputError(f"Cannot write the predictions to '{args.out}' ({exc.strerror}); choose "
                                      "another --out path in a writable folder."))
    print(f"wrote {len(predictions)} predictions to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
