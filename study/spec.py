"""StudySpec: what to run (datasets x models x folds x seed), validated before any training."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["StudySpec", "DEFAULT_DATASETS", "DEFAULT_MODELS"]

DEFAULT_DATASETS = ("digits", "breast_cancer", "wine")
DEFAULT_MODELS = ("logistic_regression", "ridge", "random_forest", "keras_dense", "keras_cnn")


@dataclass(frozen=True)
class StudySpec:
    """A study's definition.

    Parameters
    ----------
    datasets : tuple of str, default=("digits", "breast_cancer", "wine")
        Bundled dataset names.
    models : tuple of str, default=all five registered models
        Model names from ``backends.list_models()``; a model that does not apply to a dataset
        (the CNN on non-image data) is skipped for that dataset.
    cv : int, default=5
        Number of stratified folds (k) on the training part, shared by every model.
    test_size : float, default=0.2
        Fraction of each dataset held out (stratified) as the untouched test split.
    seed : int, default=0
        Seeds the hold-out split, the folds and every model.
    quick : bool, default=False
        Smaller grids and fewer epochs (about a minute for the default study on 2 cores).
    n_jobs : int, default=-1
        Parallel GridSearchCV fits of scikit-learn models (-1: all cores). Keras models fit
        one at a time, TensorFlow using the cores itself.
    out : pathlib.Path, default=Path("reports/default")
        Output directory of the report.

    Raises
    ------
    ValueError
        From :meth:`validate`, with what was found, what was expected and how to fix it.
    """

    datasets: tuple = DEFAULT_DATASETS
    models: tuple = DEFAULT_MODELS
    cv: int = 5
    test_size: float = 0.2
    seed: int = 0
    quick: bool = False
    n_jobs: int = -1
    out: Path = field(default_factory=lambda: Path("reports/default"))

    def validate(self) -> "StudySpec":
        """Check every value; return ``self`` so it chains.

        Raises
        ------
        ValueError
            Unknown dataset or model names, duplicated names, ``cv < 2``, ``test_size``
            outside (0, 1), or ``n_jobs == 0``.
        """
        from backends import list_models
        from study.datasets import BUNDLED

        _check_names("dataset", self.datasets, sorted(BUNDLED), "--datasets")
        _check_names("model", self.models, list_models(), "--models")
        if not isinstance(self.cv, int) or self.cv < 2:
            raise ValueError(f"cv must be an integer >= 2 (the number of folds); got {self.cv!r}. Use e.g. --cv 5.")
        if not 0.0 < self.test_size < 1.0:
            raise ValueError(
                f"test_size must be a fraction in (0, 1); got {self.test_size!r}. Use e.g. 0.2."
            )
        if self.n_jobs == 0:
            raise ValueError("n_jobs must be -1 (all cores) or a positive integer; got 0.")
        return self


def _check_names(kind: str, names: tuple, known: list, flag: str) -> None:
    if not names:
        raise ValueError(f"No {kind}s given; expected one or more of {known} ({flag}).")
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(
            f"Unknown {kind} name(s) {unknown}; expected some of {known}. Fix {flag}."
        )
    if len(set(names)) != len(names):
        raise ValueError(f"{kind.capitalize()} names are repeated in {list(names)}; give each once ({flag}).")
