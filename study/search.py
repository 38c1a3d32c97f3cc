"""The hyperparameter search of a model: exhaustive grid, random sampling, or successive halving.

One place builds the scikit-learn search object (:meth:`Search.build`), for the units and for
nested CV's inner searches alike, always on the shared folds it is given:

- ``grid``: ``GridSearchCV`` over the model's grid (every candidate);
- ``random``: ``RandomizedSearchCV``, ``n_iter`` candidates sampled (seeded) from the model's
  distributions (:data:`DISTRIBUTIONS`, given in TOML or Python) and the lists of its grid for the
  parameters the distributions do not name; a model with a grid only samples its grid without
  replacement (``ParameterSampler``), all of it when it has at most ``n_iter`` candidates;
- ``halving``: successive halving (Jamieson & Talwalkar 2016; Li et al. 2017, "Hyperband"),
  ``HalvingGridSearchCV`` over the grid, or ``HalvingRandomSearchCV`` (``n_iter`` candidates) when
  the model has distributions: each round fits the remaining candidates on a larger subsample of
  every fold's rows (``factor`` :data:`HALVING_FACTOR`, ``min_resources="exhaust"``) and keeps the
  best third. Halving scores one metric (the primary one); the scores of its earlier rounds come
  from fits on fewer rows, so the study reports (and reuses) none of them: the chosen candidate is
  fitted again on the whole of every shared fold (``protocol.fit_and_score``).

Distributions are plain data, so that they hash the same in every process (``study.store``) and
read the same in TOML and Python: ``{"C": {"loguniform": [1e-3, 1e2]}}``, ``{"max_depth":
{"randint": [2, 20]}}``, ``{"dropout": {"uniform": [0.0, 0.5]}}`` or a list of values to choose
from (``{"criterion": ["gini", "entropy"]}``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from sklearn.model_selection import ParameterGrid

__all__ = ["Search", "SEARCHES", "DISTRIBUTIONS", "HALVING_FACTOR", "check_distributions", "as_search"]

SEARCHES = ("grid", "random", "halving")
"""The values of ``--search``."""
DISTRIBUTIONS = {
    "loguniform": "scipy.stats.loguniform(low, high): log-uniform on [low, high], low > 0",
    "uniform": "scipy.stats.uniform(low, high - low): uniform on [low, high]",
    "randint": "scipy.stats.randint(low, high): integers low <= k < high",
}
"""The distributions a parameter may be sampled from, as ``{name: [low, high]}``."""
HALVING_FACTOR = 3
"""Successive halving's ``factor``: each round keeps a third of the candidates on three times the rows."""
_NAMES = {("grid", False): "GridSearchCV", ("grid", True): "GridSearchCV",
          ("random", False): "RandomizedSearchCV", ("random", True): "RandomizedSearchCV",
          ("halving", False): "HalvingGridSearchCV", ("halving", True): "HalvingRandomSearchCV"}


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_distributions(model: str, distributions) -> dict:
    """Check a model's distributions; return them with lists as lists and bounds as floats or ints.

    Parameters
    ----------
    model : str
        The model's name (for messages).
    distributions : dict of str to (dict or list)
        See the module docstring.

    Returns
    -------
    dict

    Raises
    ------
    ValueError
        Not a dict of parameter names, an empty list, an unknown distribution, bounds that are not
        two numbers with low < high, a log-uniform low <= 0, or non-integer randint bounds.
    """
    example = '{"C": {"loguniform": [0.001, 100.0]}}'
    if not isinstance(distributions, dict) or not distributions:
        raise ValueError(f"The distributions of {model!r} must map parameter names to distributions, e.g. {example}; "
                         f"got {distributions!r}.")
    checked = {}
    for param, value in distributions.items():
        where = f"distribution of {param!r} for model {model!r}"
        if isinstance(value, (list, tuple)):
            if not value:
                raise ValueError(f"The {where} is an empty list; expected values to choose from, e.g. [4, 8, 16].")
            checked[param] = list(value)
            continue
        if not isinstance(value, dict) or len(value) != 1 or next(iter(value)) not in DISTRIBUTIONS:
            raise ValueError(f"The {where} must be a list of values or one of {sorted(DISTRIBUTIONS)} with its "
                             f"bounds, e.g. {example}; got {value!r}.")
        (kind, bounds), = value.items()
        if not isinstance(bounds, (list, tuple)) or len(bounds) != 2 or not all(_number(b) for b in bounds) \
                or not bounds[0] < bounds[1]:
            raise ValueError(f"The {where} needs two numbers [low, high] with low < high ({DISTRIBUTIONS[kind]}); "
                             f"got {bounds!r}.")
        if kind == "loguniform" and bounds[0] <= 0:
            raise ValueError(f"The {where} is log-uniform, whose low bound must be > 0; got {bounds!r}. Use e.g. "
                             "[0.001, 100.0].")
        if kind == "randint" and not all(isinstance(b, int) for b in bounds):
            raise ValueError(f"The {where} is randint, whose bounds must be integers; got {bounds!r}.")
        checked[param] = {kind: [b if kind == "randint" else float(b) for b in bounds]}
    return checked


def _scipy(value):
    """A distribution of the module docstring's form as what ``ParameterSampler`` samples from."""
    if isinstance(value, list):
        return value
    from scipy import stats

    (kind, (low, high)), = value.items()
    if kind == "loguniform":
        return stats.loguniform(low, high)
    if kind == "uniform":
        return stats.uniform(low, high - low)
    return stats.randint(low, high)


def _text(value) -> str:
    if isinstance(value, list):
        return "{" + ", ".join(map(str, value)) + "}"
    (kind, (low, high)), = value.items()
    return f"{kind}({low:g}, {high:g})"


@dataclass(frozen=True)
class Search:
    """How one model is tuned (see the module docstring).

    Parameters
    ----------
    kind : {"grid", "random", "halving"}, default="grid"
    grid : dict of str to list, default={}
        The model's grid (routed names, ``model__C``); ``{}`` is one candidate.
    distributions : dict, default={}
        Routed names to distributions (:func:`check_distributions`), for "random" and "halving".
    n_iter : int, default=10
        Candidates of a random search (and of a halving search over distributions).
    """

    kind: str = "grid"
    grid: dict = field(default_factory=dict)
    distributions: dict = field(default_factory=dict)
    n_iter: int = 10

    @property
    def sampled(self) -> bool:
        """True when the candidates are sampled (random search, or halving over distributions)."""
        return self.kind == "random" or (self.kind == "halving" and bool(self.distributions))

    @property
    def name(self) -> str:
        """The scikit-learn class that runs it, e.g. ``"RandomizedSearchCV"``."""
        return _NAMES[(self.kind, bool(self.distributions))]

    @property
    def space(self) -> dict:
        """What is searched: the grid's lists, with the distributions in place of the lists they name."""
        return {**self.grid, **self.distributions} if self.sampled else dict(self.grid)

    def grid_size(self) -> int | None:
        """Candidates of the space when every parameter is a list of values, else None (continuous)."""
        space = self.space
        if any(not isinstance(v, (list, tuple)) for v in space.values()):
            return None
        return len(ParameterGrid(space))

    def n_candidates(self) -> int:
        """Candidates of the first round: the grid's size, or ``n_iter`` (at most the grid's size
        when every parameter is a list)."""
        size = self.grid_size()
        if not self.sampled:
            return size
        return self.n_iter if size is None else min(self.n_iter, size)

    def rounds(self, n_samples: int) -> list:
        """Expected ``(candidates, rows)`` per round: one round for grid and random search; for
        halving, scikit-learn's schedule (``factor`` :data:`HALVING_FACTOR`, ``min_resources=
        "exhaust"``) starting from ``n_samples`` rows."""
        candidates = self.n_candidates()
        if self.kind != "halving":
            return [(candidates, n_samples)]
        n_rounds = 1 + int(math.floor(math.log(max(candidates, 1), HALVING_FACTOR) + 1e-9))
        first = max(1, n_samples // HALVING_FACTOR ** (n_rounds - 1))
        return [(math.ceil(candidates / HALVING_FACTOR ** i), min(n_samples, first * HALVING_FACTOR ** i))
                for i in range(n_rounds)]

    def planned_fits(self, n_folds: int, n_samples: int = 1000) -> int:
        """Expected fits on ``n_folds`` folds, without the refit on the whole training part;
        halving adds the chosen candidate's fits on the whole of every fold."""
        fits = sum(candidates for candidates, _ in self.rounds(n_samples)) * n_folds
        return fits + (n_folds if self.kind == "halving" else 0)

    def notice(self, model: str) -> str | None:
        """A sentence for the user when the search cannot do what was asked, else None."""
        size = self.grid_size()
        if self.sampled and size is not None and size < self.n_iter:
            return (f"model {model!r}: {self.name} with n_iter={self.n_iter}, but its space holds only {size} "
                    f"candidates (a grid without distributions): all {size} are fitted. Give distributions to sample "
                    "more (distributions in TOML or StudySpec).")
        if self.distributions and not self.sampled:
            return (f"model {model!r}: its distributions are not used by {self.name} (--search grid); use --search "
                    "random or halving to sample from them.")
        return None

    def describe(self) -> str:
        """The search in words, e.g. ``"RandomizedSearchCV: 5 candidates from C ~ loguniform(0.001, 100)"``."""
        if not self.sampled:
            return f"{self.name} over {', '.join(f'{k} {_text(list(v))}' for k, v in self.grid.items()) or 'defaults'}"
        space = ", ".join(f"{k} ~ {_text(v if isinstance(v, dict) else list(v))}" for k, v in self.space.items())
        return f"{self.name}: {self.n_candidates()} candidates sampled from {space or 'defaults'}"

    def build(self, estimator, *, metrics: tuple, cv: list, seed: int, n_jobs=None, refit: bool = True,
              train_scores: bool = True):
        """The scikit-learn search object, unfitted.

        Parameters
        ----------
        estimator : scikit-learn estimator
        metrics : tuple of str
            Scorer names, primary first (the refit metric). With ``refit=False``, and always for
            halving, the primary one only (``cv_results_`` keys ``split{k}_test_score``).
        cv : list of (ndarray, ndarray)
            The folds (the shared folds, or nested CV's inner folds).
        seed : int
            Seeds the sampling of candidates and halving's subsamples.
        n_jobs : int or None, default=None
        refit : bool, default=True
            Refit the chosen candidate on all the rows given to ``fit``.
        train_scores : bool, default=True
            ``return_train_score``.

        Returns
        -------
        GridSearchCV, RandomizedSearchCV, HalvingGridSearchCV or HalvingRandomSearchCV
            Errors raise (``error_score="raise"``), except in halving's rounds, whose subsamples
            may miss a class (``error_score=nan``: such a candidate is dropped; the chosen one is
            fitted again on the whole folds, where errors raise).
        """
        common = dict(cv=cv, n_jobs=n_jobs, return_train_score=train_scores)
        space = {k: _scipy(v) if k in self.distributions else list(v) for k, v in self.space.items()}
        if self.kind == "halving":
            from sklearn.experimental import enable_halving_search_cv  # noqa: F401
            from sklearn.model_selection import HalvingGridSearchCV, HalvingRandomSearchCV

            halving = dict(scoring=metrics[0], refit=refit, factor=HALVING_FACTOR, min_resources="exhaust",
                           random_state=seed, error_score=np.nan, **common)
            if self.sampled:
                return HalvingRandomSearchCV(estimator, space, n_candidates=self.n_candidates(), **halving)
            return HalvingGridSearchCV(estimator, space, **halving)
        # refit: every metric, the primary one chooses (cv_results_ keys name each metric);
        # no refit (nested CV's inner searches): the primary one only, so best_params_ exists
        scoring, chosen = (list(metrics), metrics[0]) if refit else (metrics[0], False)
        if self.kind == "random":
            from sklearn.model_selection import RandomizedSearchCV

            return RandomizedSearchCV(estimator, space, n_iter=self.n_candidates(), scoring=scoring, refit=chosen,
                                      random_state=seed, error_score="raise", **common)
        from sklearn.model_selection import GridSearchCV

        return GridSearchCV(estimator, space, scoring=scoring, refit=chosen, error_score="raise", **common)


def as_search(search) -> Search:
    """A :class:`Search`, or a grid (dict) as its grid search."""
    return search if isinstance(search, Search) else Search(grid=dict(search))
