"""DataSource: where a user's dataset comes from and how to read it (a plain record, light to import:
``study.spec`` validates it before pandas or scikit-learn are imported; ``study.data.load_data``
reads it)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["DataSource"]


@dataclass(frozen=True)
class DataSource:
    """A user's dataset: a file, ``openml:<name or id>``, or a pandas DataFrame.

    Parameters
    ----------
    source : str, pathlib.Path or pandas.DataFrame
        ``.csv`` / ``.parquet`` (needs ``target``), ``.npz`` (``X`` and ``y``, or Keras'
        ``mnist.npz`` format), ``openml:<name or id>``, or a DataFrame (needs ``target``).
    target : str or None, default=None
        Target column of a table.
    task : {"classification", "regression"} or None, default=None
        Overrides the detected task.
    name : str or None, default=None
        Name in the report; default from the file name.
    sep : str or None, default=None
        Column separator of a ``.csv`` file: one character (``";"``, ``"|"``, ``"\t"``; a tab
        may be spelled ``"tab"``); None detects it from the file's first lines
        (``study.data.tables.sniff_separator``). Only for ``.csv`` files.
    groups : str or None, default=None
        The groups column of a table (a patient, a customer, an image source): every split keeps
        each group on one side; not a feature (``study.data.columns``, ``study.splits``).
    time : str or None, default=None
        The time column of a table (numbers or dates): the hold-out test split is the latest
        rows and the folds are ``TimeSeriesSplit``; not a feature unless ``time_features``.
    time_features : bool, default=False
        Also expand the time column into features (a number as itself, a date as its calendar
        parts).
    """

    source: object
    target: str | None = None
    task: str | None = None
    name: str | None = None
    sep: str | None = None
    groups: str | None = None
    time: str | None = None
    time_features: bool = False

    @property
    def label(self) -> str:
        """Name used in messages and the report."""
        if self.name:
            return self.name
        if isinstance(self.source, (str, Path)):
            return Path(str(self.source).removeprefix("openml:")).stem
        return "dataframe"
