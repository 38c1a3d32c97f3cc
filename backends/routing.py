"""One routing helper for pipeline parameters (scikit-learn's double-underscore routing).

Every model is a Pipeline of two steps, ``preprocess`` and ``model`` (the estimator); a grid,
a study config or a best-parameter record may name the estimator's own parameters with or
without the ``model__`` prefix. :func:`route` adds it where a key does not start with a step's
name, :func:`unroute` strips it for display. Nothing else in the project adds or strips the
prefix. (Pattern: scikeras ``_utils.route_params``.)

>>> route({"C": 1.0, "inner__n_neighbors": 3, "preprocess__scale": False})
{'model__C': 1.0, 'model__inner__n_neighbors': 3, 'preprocess__scale': False}
>>> unroute({"model__C": 1.0, "preprocess__scale": False})
{'C': 1.0, 'preprocess__scale': False}
"""

from __future__ import annotations

__all__ = ["STEP", "STEPS", "route", "unroute"]

STEP = "model"
"""Name of the estimator step of every model's Pipeline."""
STEPS = ("preprocess", STEP)
"""The steps of every model's Pipeline, in order."""


def route(params, step: str = STEP) -> dict:
    """Parameters addressed to the Pipeline: a key that does not start with a step's name and
    ``__`` is a parameter of ``step`` (nested ones included: ``inner__n_neighbors``).

    Parameters
    ----------
    params : mapping of str to object or None
        ``{"C": 1.0}`` or already routed ``{"model__C": 1.0}`` (None: no parameters).
    step : str, default="model"

    Returns
    -------
    dict
        A new dict with every key routed, in the same order.
    """
    return {key if key.split("__")[0] in STEPS else f"{step}__{key}": value
            for key, value in dict(params or {}).items()}


def unroute(params, step: str = STEP) -> dict:
    """The inverse of :func:`route` for display: ``model__C`` -> ``C``; other keys unchanged."""
    prefix = f"{step}__"
    return {key.removeprefix(prefix): value for key, value in dict(params or {}).items()}
