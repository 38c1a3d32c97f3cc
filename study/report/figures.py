"""Figures: saved atomically, and drawn only when their data or the code drawing them changed.

Each figure function ``draw(*inputs) -> matplotlib.figure.Figure`` is decorated with
:func:`figure`; the decorated function is called with ``path=``. A content key of the inputs,
of the report's drawing code and of the plotting libraries' versions is stored in the PNG's
metadata: an unchanged rerun draws nothing. Inside :func:`drawing_together` given the study's
store, each figure drawn is kept in the store under its key too, so a report of the same
results written into any other folder (a new ``--out``, a deleted report) copies it instead of
drawing it again.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import importlib
import math
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from joblib import hash as content_hash  # noqa: E402
from PIL import Image  # noqa: E402 (matplotlib's own PNG library)

from study.folders import atomic_write_bytes, publish, temporary_path  # noqa: E402
from study.results import BASELINE  # noqa: E402

__all__ = ["figure", "save_figure", "drawing_together", "chance_line", "together_min", "FIGURE_KEY", "PALETTE",
           "FIGURE_SECONDS", "WORKER_START_SECONDS"]

FIGURE_KEY = "generalization-study inputs"
_PLOTTING_LIBRARIES = ("matplotlib", "seaborn", "pandas", "numpy", "pillow", "scikit-posthocs")
PALETTE = {"train": "#1f77b4", "validation": "#ff7f0e", "test": "#2ca02c"}
"""Colours of the splits in every figure."""
FIGURE_SECONDS = 0.3
"""Seconds to draw and save one of the report's figures (the default study: 64 figures, about 20 s)."""
WORKER_START_SECONDS = 2.2
"""Seconds a worker spends before its first figure: importing the report's plotting libraries
(``python -c "import study.report"``: 2.15 s on the 2-core machine of docs/performance.md,
2026-12-07), which the study's fits never import."""

CHANCE_STYLE = dict(color="dimgray", linestyle=":", linewidth=1.6)
"""The chance baseline's line in every score figure."""

_DRAWING: contextvars.ContextVar = contextvars.ContextVar("drawing_together", default=(None, None))
"""Inside :func:`drawing_together`, in the context that entered it: the figures requested and not
drawn yet (a list) and the store given to it (a ``study.store.Store`` or None); ``(None, None)``
outside."""
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def save_figure(fig, path: Path, key: str | None = None, dpi: int = 110) -> None:
    """Save a matplotlib figure as PNG atomically and close it.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : pathlib.Path
        The PNG file (its folder is created if missing).
    key : str or None, default=None
        Stored in the PNG's text metadata (see :func:`figure`).
    dpi : int, default=110
        Resolution (dots per inch of the figure's size in inches).
    """
    tmp = temporary_path(Path(path), ".png")
    fig.savefig(tmp, dpi=dpi, bbox_inches="tight", metadata={FIGURE_KEY: key} if key else None)
    plt.close(fig)
    publish(tmp, Path(path))


@functools.cache
def _drawing_code_version() -> str:
    """Hash of the report's source and of the plotting libraries' versions: a figure drawn by
    other code is drawn again."""
    def installed(name):
        try:
            return version(name)
        except PackageNotFoundError:
            return "none"
    sources = [path.read_bytes() for path in sorted(Path(__file__).parent.glob("*.py"))]
    return content_hash((sources, [installed(name) for name in _PLOTTING_LIBRARIES]))


def _input_key(value):
    """A value that hashes equal for equal content: a DataFrame by its columns, dtypes and
    pandas' row hashes (not by its pickle, which depends on its memory layout)."""
    if isinstance(value, (pd.DataFrame, pd.Series)):
        frame = value.to_frame() if isinstance(value, pd.Series) else value
        return ("frame", list(map(str, frame.columns)), list(map(str, frame.dtypes)),
                pd.util.hash_pandas_object(frame, index=True).to_numpy())
    return value


def _stored_key(path: Path) -> str | None:
    """The key in an existing PNG's metadata (None: no file, another file, or no key)."""
    try:
        with Image.open(path) as image:
            return image.info.get(FIGURE_KEY)
    except (OSError, SyntaxError, ValueError):
        return None


def figure(draw=None, *, dpi: int = 110):
    """Decorator for a figure function ``draw(*inputs) -> matplotlib.figure.Figure``.

    The decorated function is called as ``draw(*inputs, path=PNG path)``: it draws and saves
    the figure (:func:`save_figure`) unless ``path`` already holds the figure of the same
    inputs, drawn by the same code with the same plotting libraries (a content key stored in
    the PNG's metadata). Usable as ``@figure`` or ``@figure(dpi=150)``.
    """
    if draw is None:
        return functools.partial(figure, dpi=dpi)

    @functools.wraps(draw)
    def drawn(*inputs, path: Path) -> Path:
        path = Path(path)
        key = content_hash((draw.__module__, draw.__qualname__, _drawing_code_version(),
                            [_input_key(value) for value in inputs]))
        pending, store = _DRAWING.get()
        if _stored_key(path) != key and not _copied_from_store(store, key, path):
            call = (draw.__module__, draw.__qualname__, inputs, path, key, dpi, store)
            if pending is None or getattr(sys.modules[draw.__module__], draw.__qualname__, None) is not drawn:
                _draw_here(draw, *call[2:])  # not to be drawn together, or not importable by name
            else:
                pending.append(call)
        return path

    return drawn


def _copied_from_store(store, key: str, path: Path) -> bool:
    """Whether the figure of ``key`` was in ``store`` and is now written to ``path`` (atomically).
    An entry that is not a PNG counts as missing (an unreadable one is removed by ``Store.kept``,
    with a warning): the figure is then drawn and kept again."""
    if store is None:
        return False
    png = store.kept(key)
    if not isinstance(png, bytes) or not png.startswith(_PNG_SIGNATURE):
        return False
    atomic_write_bytes(path, png, ".png")
    return True


def _draw_here(draw, inputs: tuple, path: Path, key: str, dpi: int, store=None) -> None:
    """Draw and save one figure, and keep its PNG in ``store`` (a ``study.store.Store`` or None);
    text is never parsed as math, so a name holding ``$`` (a dataset, a model, a class label) is
    drawn as it is, never an error."""
    with plt.rc_context({"text.parse_math": False}):
        save_figure(draw(*inputs), path, key, dpi)
    if store is not None:
        store.keep(key, Path(path).read_bytes())


def _draw(module: str, name: str, inputs: tuple, path: Path, key: str, dpi: int, store=None) -> None:
    """Draw and save one figure in whichever process (the function is looked up by name)."""
    _draw_here(getattr(importlib.import_module(module), name).__wrapped__, inputs, path, key, dpi, store)


@contextlib.contextmanager
def drawing_together(workers=None, store=None):
    """Figures requested inside are drawn when it ends, in the study's worker processes
    (:meth:`study.workers.Workers.map`) when there are at least :func:`together_min` of them, else
    (or with ``workers`` None or of one process) in this process. Their paths are known at once;
    the files exist after it ends. Nothing is drawn when the block raises. A figure found in
    ``store`` is copied from it at once; one drawn is kept in it.

    Parameters
    ----------
    workers : study.workers.Workers or None, default=None
    store : study.store.Store or None, default=None
        The study's store (``Store(spec.cache_dir)``); None: figures are neither looked up nor kept.
    """
    calls: list = []
    token = _DRAWING.set((calls, store))
    try:
        yield
    finally:
        _DRAWING.reset(token)
    if workers is not None and len(calls) >= together_min(workers.processes):
        workers.map(_draw, calls)
    else:
        for call in calls:
            _draw(*call)


def together_min(processes: int) -> int:
    """The fewest figures worth drawing in ``processes`` worker processes rather than here.

    In ``processes`` workers, ``n`` figures take about ``WORKER_START_SECONDS + n *
    FIGURE_SECONDS / processes``; here, ``n * FIGURE_SECONDS``. The workers pay off from ``n =
    WORKER_START_SECONDS / (FIGURE_SECONDS * (1 - 1 / processes))``: 15 figures with 2 workers, 10
    with 4 (the default study's report has 64). Below that, drawing here is as fast or faster and
    starts no process.

    Parameters
    ----------
    processes : int
        Worker processes.

    Returns
    -------
    int
        ``sys.maxsize`` for fewer than two processes (never worth it).
    """
    if processes < 2:
        return sys.maxsize
    return math.ceil(WORKER_START_SECONDS / (FIGURE_SECONDS * (1 - 1 / processes)))


def chance_line(ax, level, floor: float) -> str:
    """Draw the chance baseline's CV score as a dotted horizontal line on a score axis.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    level : float or None
        The baseline's mean CV score (``study.report.format.chance_levels``); None: nothing drawn.
    floor : float
        The axis' lower limit: a level below it is not drawn.

    Returns
    -------
    str
        Words for the figure's title: where the chance line is, or that it lies below the axis.
    """
    if level is None or pd.isna(level):
        return ""
    if level < floor:
        return f"chance {level:.2f}, below the axis"
    ax.axhline(level, label=f"chance ({BASELINE}, CV): {level:.2f}", **CHANCE_STYLE)
    return f"dotted: chance {level:.2f}"
