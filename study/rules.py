"""Rules that tie options together, each decided here once and called wherever the options arrive
(the command line, TOML and ``StudySpec`` through ``StudySpec.validate``, a table loaded from
Python, a ``Dataset`` built by hand). Nothing heavy is imported: the command line's refusals
stay fast."""

from __future__ import annotations

__all__ = ["check_one_split_structure"]


def check_one_split_structure(name: str, groups, time) -> None:
    """Grouped or time-ordered splits, not both.

    Parameters
    ----------
    name : str
        The dataset's name (for the message).
    groups, time : object or None
        The groups and the time order given for it (column names, or one value per row); None: not given.

    Raises
    ------
    ValueError
        Both are given: splits that keep groups apart and follow a time order together are not
        supported (scikit-learn has no splitter that does both).
    """
    if groups is not None and time is not None:
        def shown(value):
            return repr(value) if isinstance(value, str) else "given"
        raise ValueError(f"Dataset {name!r} has both groups ({shown(groups)}) and a time order ({shown(time)}); "
                         "expected one of them: splits that are both grouped and time-ordered are not supported. "
                         "Give --groups or --time (groups or time in TOML, DataSource or Dataset), not both.")
