"""StudySpec: what to run (datasets x models x folds x seed), validated before any training."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from study.data_source import DataSource  # re-exported: `from study.spec import DataSource` still works
from study.errors import InputError  # re-exported: `from study.spec import InputError` still works
from study.rules import check_one_split_structure

if TYPE_CHECKING:
    from study.search import Search

__all__ = ["StudySpec", "DataSource", "InputError", "DEFAULT_DATASETS", "DEFAULT_MODELS"]

MAX_SEED = 2**32 - 1
"""Largest seed scikit-learn and NumPy accept."""


DEFAULT_DATASETS = ("digits", "breast_cancer", "wine", "wide")
BUNDLED_DATASETS = ("digits", "breast_cancer", "wine", "iris", "diabetes", "wide")
"""The bundled datasets' names: the keys of ``study.data.dataset.BUNDLED`` (a test holds them equal),
here so that checking the options imports neither pandas nor scikit-learn."""
DEFAULT_MODELS = ("logistic_regression", "ridge", "random_forest", "hist_gradient_boosting", "keras_dense",
                  "keras_cnn")


@dataclass(frozen=True)
class StudySpec:
    """A study's definition.

    Parameters
    ----------
    datasets : tuple of (str or DataSource), default=("digits", "breast_cancer", "wine", "wide")
        Bundled dataset names, or user data as :class:`DataSource`.
    models : tuple of (str or backends.ModelSpec), default=the five built-in models
        Model names (``backends.list_models()``: built in, or registered with
        ``backends.custom.register_model``) or model specifications (``backends.custom``); a
        model that does not apply to a dataset (the CNN on non-image data) is skipped there.
    cv : int, default=5
        Number of stratified folds (k) on the training part, shared by every model.
    repeats : int, default=1
        Repetitions (r) of the k-fold split with new shuffles (RepeatedStratifiedKFold), e.g.
        ``cv=5, repeats=2`` for 5x2 CV; every model sees the same k*r folds.
    nested : bool or None, default=None
        Also estimate each model's selection procedure with nested cross-validation; None:
        on, except in a quick study (see :attr:`use_nested`).
    test_size : float, default=0.2
        Fraction of each dataset held out (stratified) as the untouched test split.
    seed : int, default=0
        Seeds the hold-out split, the folds and every model.
    quick : bool, default=False
        Smaller grids, fewer epochs and trees (``backends.ModelSpec.quick_params``; about a
        minute for the default study on 2 cores).
    n_jobs : int, default=-1
        Number of worker processes running the study's work items (units, diagnostics) at
        once; -1: all cores (those this process may use: its CPU affinity and a container's CPU
        quota, ``study.workers.n_workers``); more than the cores are capped to them, with a
        notice; 1: everything in this process. Every fit runs on one thread.
    out : pathlib.Path, default=Path("reports/default")
        Output directory of the report.
    diagnostics : bool or None, default=None
        Learning and validation curves, Keras training histories, the regularization ablation
        and the class-imbalance experiment (see ``study.experiments``); None: on,
        except in a quick study (see :attr:`use_diagnostics`).
    metrics : tuple of str or None, default=None
        scikit-learn scorer names, the first one primary (GridSearchCV's ``refit``); default
        accuracy and balanced accuracy (classification), R^2 and -RMSE (regression).
    grids : dict of str to dict, default={}
        Per-model GridSearchCV grid overriding the model's own (full and quick), e.g.
        ``{"ridge": {"alpha": [0.1, 1.0]}}`` (the ``model__`` prefix is optional).
    scheduler : str or None, default=None
        Address of an existing Dask distributed scheduler (``tcp://host:8786``); the fits
        then run on its workers through joblib's Dask backend (the diagnostics run here).
    cache_dir : pathlib.Path or None, default=Path(".study_cache")
        Where finished work is stored (``study.store``); None disables caching and resuming.
    cv_kind : {"auto", "shuffled", "group", "timeseries"}, default="auto"
        The kind of splits (``study.splits``): "auto" is "timeseries" for a dataset with a time
        column, "group" for one with groups, else "shuffled" (the stratified shuffled splits);
        "timeseries" on data without a time column uses the row order.
    gap : int, default=0
        Time-ordered splits: distinct times left out between every fold's training and
        validation rows, and before the hold-out test split (``TimeSeriesSplit(gap=...)``).
    search : {"grid", "random", "halving"}, default="grid"
        How every model is tuned (``study.search``): ``GridSearchCV``, ``RandomizedSearchCV``
        (``n_iter`` candidates) or successive halving, always on the shared folds.
    n_iter : int, default=10
        Candidates of a random search (and of a halving search over distributions).
    searches : dict of str to dict, default={}
        Per model, overrides of ``search`` and ``n_iter`` and the distributions to sample from,
        e.g. ``{"logistic_regression": {"search": "random", "n_iter": 5, "distributions":
        {"C": {"loguniform": [1e-3, 1e2]}}}}`` (``study.search.check_distributions``).
    time_budget : str, float or None, default=None
        How long the study may take: a duration such as ``"10m"``, ``"90s"`` or ``"1.5h"``, or
        seconds (:attr:`budget_seconds`). From each model's fits timed on a subsample, the
        plan reduces the diagnostics and nested CV until the study is predicted to fit
        (``study.budget``; the main comparison is never reduced). None: no budget, nothing reduced.

    Raises
    ------
    ValueError
        From :meth:`validate`, with what was found, what was expected and how to fix it.
    """

    datasets: tuple = DEFAULT_DATASETS
    models: tuple = DEFAULT_MODELS
    cv: int = 5
    repeats: int = 1
    nested: bool | None = None
    test_size: float = 0.2
    seed: int = 0
    quick: bool = False
    n_jobs: int = -1
    out: Path = field(default_factory=lambda: Path("reports/default"))
    diagnostics: bool | None = None
    metrics: tuple | None = None
    grids: dict = field(default_factory=dict)
    scheduler: str | None = None
    cache_dir: Path | None = field(default_factory=lambda: Path(".study_cache"))
    cv_kind: str = "auto"
    gap: int = 0
    search: str = "grid"
    n_iter: int = 10
    searches: dict = field(default_factory=dict)
    time_budget: str | float | None = None

    @property
    def use_nested(self) -> bool:
        """Whether nested CV runs: ``nested`` if set, else on unless ``quick``."""
        return (not self.quick) if self.nested is None else bool(self.nested)

    @property
    def budget_seconds(self) -> float | None:
        """:attr:`time_budget` in seconds (None: no budget). Raises ValueError as :meth:`validate`."""
        from study.budget import parse_duration

        return None if self.time_budget is None else parse_duration(self.time_budget)

    @property
    def use_diagnostics(self) -> bool:
        """Whether the diagnostics run: ``diagnostics`` if set, else on unless ``quick``."""
        return (not self.quick) if self.diagnostics is None else bool(self.diagnostics)

    @property
    def model_names(self) -> list:
        """The models' names, in the study's order."""
        return [m if isinstance(m, str) else m.name for m in self.models]

    @property
    def dataset_names(self) -> list:
        """The datasets' names, in the study's order."""
        return [d if isinstance(d, str) else d.label for d in self.datasets]

    def resolved_models(self) -> tuple:
        """The models as :class:`backends.ModelSpec` objects, :attr:`grids` applied, and the chance
        baseline (``backends.BASELINE``) last unless the models name it.

        Names are resolved now, in this process (a registered name takes its current
        registration); the study hands these objects to its workers.

        Raises
        ------
        ValueError
            An unknown model name.
        """
        from backends import BASELINE, get_model
        from backends.routing import route

        resolved = []
        for model in (*self.models, *(() if BASELINE in self.model_names else (BASELINE,))):
            spec = get_model(model)
            if spec.name in self.grids:
                grid = {k: list(v) for k, v in route(self.grids[spec.name]).items()}
                spec = replace(spec, grid=grid, quick_grid=grid)
            resolved.append(spec)
        return tuple(resolved)

    def search_for(self, model) -> "Search":
        """The search that tunes ``model`` (a ``backends.ModelSpec``): the study's ``search`` and
        ``n_iter``, overridden by ``searches[model.name]``, over the model's grid (quick or full)
        and its distributions."""
        from study.search import Search, check_distributions
        from backends.routing import route

        own = self.searches.get(model.name, {})
        distributions = own.get("distributions")
        distributions = route(check_distributions(model.name, distributions)) if distributions else {}
        return Search(kind=own.get("search", self.search), grid=model.grid_for(self.quick),
                      distributions=distributions, n_iter=own.get("n_iter", self.n_iter))

    def settings(self) -> dict:
        """The settings as plain values (for ``study.json`` and the report's protocol section);
        the splits' and the searches' settings only when they differ from the defaults."""
        settings = dict(datasets=self.dataset_names, models=self.model_names, cv=self.cv, repeats=self.repeats,
                        nested=self.use_nested, test_size=self.test_size, seed=self.seed, quick=self.quick,
                        diagnostics=self.use_diagnostics, metrics=list(self.metrics) if self.metrics else None)
        extra = dict(cv_kind=(self.cv_kind, "auto"), gap=(self.gap, 0), search=(self.search, "grid"),
                     n_iter=(self.n_iter, 10), searches=(self.searches, {}), time_budget=(self.time_budget, None))
        settings.update({key: value for key, (value, default) in extra.items() if value != default})
        return settings

    def validate(self) -> "StudySpec":
        """Check every value; return ``self`` so it chains.

        Raises
        ------
        ValueError
            Unknown dataset or model names, duplicated names, a bad CSV separator, ``cv < 2``,
            ``repeats < 1``, ``test_size`` outside (0, 1), a seed outside [0, 2**32 - 1],
            ``n_jobs == 0``, a dataset with both groups and a time column, a grid or distributions
            naming a parameter the model does not have (built-in models too), an unknown
            ``cv_kind`` or ``search``, ``gap < 0``, ``n_iter < 1``, bad per-model searches
            (unknown model or key, bad distributions), or a ``time_budget`` that is not a
            positive number of seconds.
        """
        from backends import list_models

        _check_names("dataset", [d for d in self.datasets if isinstance(d, str)], sorted(BUNDLED_DATASETS), "--datasets",
                     allow_empty=bool(self.datasets))
        labels = self.dataset_names
        if len(set(labels)) != len(labels):
            raise ValueError(f"Dataset names are repeated in {labels}; give each dataset a distinct name.")
        for source in self.datasets:
            if isinstance(source, DataSource):
                from study.data import check_separator

                check_separator(source.sep)
                _check_structure(source)
        _check_names("model", [m for m in self.models if isinstance(m, str)], list_models(), "--models",
                     allow_empty=bool(self.models))
        names = self.model_names
        if len(set(names)) != len(names):
            raise ValueError(f"Model names are repeated in {names}; give each once (--models).")
        if not isinstance(self.cv, int) or self.cv < 2:
            raise ValueError(f"cv must be an integer >= 2 (the number of folds); got {self.cv!r}. Use e.g. --cv 5.")
        if not isinstance(self.repeats, int) or self.repeats < 1:
            raise ValueError(f"repeats must be an integer >= 1; got {self.repeats!r}. Use e.g. --repeats 2.")
        if not 0.0 < self.test_size < 1.0:
            raise ValueError(
                f"test_size must be a fraction in (0, 1); got {self.test_size!r}. Use e.g. 0.2."
            )
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed <= MAX_SEED:
            raise ValueError(f"seed must be an integer in [0, {MAX_SEED}]; got {self.seed!r}. Use e.g. --seed 0.")
        for model, grid in self.grids.items():
            _check_grid(model, grid, names)
            _check_parameters(self, model, grid, "grid")
        if self.metrics is not None:
            _check_metrics(self.metrics)
        _check_search_settings(self, names)
        if isinstance(self.n_jobs, bool) or not isinstance(self.n_jobs, int) or self.n_jobs == 0 or self.n_jobs < -1:
            raise ValueError(f"n_jobs must be -1 (all cores) or a positive integer; got {self.n_jobs!r}.")
        if self.time_budget is not None:
            from study.budget import parse_duration

            parse_duration(self.time_budget)
        return self


def _check_names(kind: str, names, known: list, flag: str, allow_empty: bool = False) -> None:
    if not names and not allow_empty:
        raise ValueError(f"No {kind}s given; expected one or more of {known} ({flag}).")
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(
            f"Unknown {kind} name(s) {unknown}; expected some of {known}. Fix {flag}."
        )
    if len(set(names)) != len(names):
        raise ValueError(f"{kind.capitalize()} names are repeated in {list(names)}; give each once ({flag}).")


def _check_grid(model: str, grid, models: list) -> None:
    if model not in models:
        raise ValueError(f"A grid is given for model {model!r}, which is not in the study's models {models}.")
    if not isinstance(grid, dict) or not grid or not all(
        isinstance(values, (list, tuple)) and len(values) > 0 for values in grid.values()
    ):
        raise ValueError(
            f"The grid of {model!r} must map parameter names to non-empty lists, e.g. "
            f'{{"model__alpha": [0.1, 1.0]}}; got {grid!r}.'
        )


def _check_parameters(spec: "StudySpec", model: str, params: dict, what: str) -> None:
    """Refuse a grid or distributions that name a parameter the model does not have, before any
    training: built-in models get here the check user models get from ``backends.custom``
    (``sklearn_model``): the keys against the model's Pipeline's ``get_params()``. A Keras
    model's keys routed further (``model__model__units`` to its build function) are left to it."""
    from backends import get_model
    from backends.routing import route, unroute

    found = next((m for m in spec.models if (m if isinstance(m, str) else m.name) == model), model)
    try:
        model_spec = get_model(found)
        pipe = model_spec.estimator(model_spec.tasks[0], image_shape=(8, 8, 1) if model_spec.needs_image else None)
    except ValueError:  # an unknown model is reported by the names' check
        return
    valid = set(pipe.get_params())
    keras = model_spec.framework == "keras"
    unknown = [key for key in route(params) if key not in valid and not (keras and key.count("__") > 1)]
    if unknown:
        own = sorted(key.removeprefix("model__") for key in valid if key.startswith("model__") and key.count("__") == 1)
        raise ValueError(f"The {what} of model {model!r} names {sorted(unroute({k: None for k in unknown}))}, "
                         f"which {'is not a parameter' if len(unknown) == 1 else 'are not parameters'} of "
                         f"{type(pipe[-1]).__name__}; expected some of {own}. Fix the {what}'s keys (the model's "
                         "own parameter names, with or without 'model__').")


def _check_metrics(metrics) -> None:
    from study.scoring import check_metrics

    check_metrics(metrics, datasets=())


def _check_structure(source: DataSource) -> None:
    """A DataSource's groups and time options: names, one of them, time_features with a time."""
    for key in ("groups", "time"):
        value = getattr(source, key)
        if value is not None and (not isinstance(value, str) or not value):
            raise ValueError(f"{key} of dataset {source.label!r} must be a column name; got {value!r}. Fix --{key} "
                             f"({key} in TOML or DataSource).")
    check_one_split_structure(source.label, source.groups, source.time)
    if not isinstance(source.time_features, bool):
        raise ValueError(f"time_features of dataset {source.label!r} must be true or false; got "
                         f"{source.time_features!r}.")


SEARCH_KEYS = ("search", "n_iter", "distributions")
"""The keys of a model's entry in :attr:`StudySpec.searches`."""


def _check_count(name: str, value, flag: str, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}; got {value!r}. Use e.g. {flag}.")


def _check_search_settings(spec: StudySpec, models: list) -> None:
    from study.search import SEARCHES, check_distributions
    from study.splits import CV_KINDS

    if spec.cv_kind not in CV_KINDS:
        raise ValueError(f"cv_kind must be one of {list(CV_KINDS)}; got {spec.cv_kind!r}. Fix --cv-kind.")
    _check_count("gap", spec.gap, "--gap 0", 0)
    _check_count("n_iter", spec.n_iter, "--n-iter 10", 1)
    if spec.search not in SEARCHES:
        raise ValueError(f"search must be one of {list(SEARCHES)}; got {spec.search!r}. Fix --search.")
    if not isinstance(spec.searches, dict):
        raise ValueError(f"searches must map model names to their search settings; got {spec.searches!r}.")
    for model, own in spec.searches.items():
        if model not in models:
            raise ValueError(f"A search is given for model {model!r}, which is not in the study's models {models}.")
        if not isinstance(own, dict) or set(own) - set(SEARCH_KEYS):
            raise ValueError(f"The search settings of {model!r} must be a table with some of {list(SEARCH_KEYS)}; "
                             f"got {own!r}.")
        if "search" in own and own["search"] not in SEARCHES:
            raise ValueError(f"The search of model {model!r} must be one of {list(SEARCHES)}; got {own['search']!r}.")
        if "n_iter" in own:
            _check_count(f"n_iter of model {model!r}", own["n_iter"], "n_iter = 10", 1)
        if "distributions" in own:
            check_distributions(model, own["distributions"])
            _check_parameters(spec, model, own["distributions"], "distributions")
