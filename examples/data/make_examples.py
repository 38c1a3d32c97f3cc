"""Write the grouped and the time-ordered example tables (deterministic; no download).

- ``patients.csv``: 200 patients x 4 visits = 800 rows. Each patient is one sample of
  scikit-learn's ``make_classification`` (10 features, 4 informative, 20% of the labels flipped,
  ``random_state=0``) measured 4 times with a little noise (``N(0, 0.05)`` per feature): the
  visits of one patient are nearly identical and share its label ``diagnosis``. ``patient``
  names the group. A model that memorizes rows (a random forest) scores almost perfectly on
  folds that put other visits of the same patients in training, but not on new patients.
- ``sales.csv``: 500 days from 2022-01-01, one row per day. A hidden level follows a random
  walk (steps ``N(0, 0.3)``); ``price_index`` drifts with time (``10 t / 500 + N(0, 0.1)``),
  ``promo``, ``footfall`` and ``rain`` are ``N(0, 1)``; the target is
  ``units = 1.5 promo - footfall + level + N(0, 0.3)``. Shuffled folds let a model read the
  level off ``price_index`` at neighbouring days; the future's level cannot be read that way.

Run from the repository root: ``python examples/data/make_examples.py``.
"""

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import make_classification

HERE = Path(__file__).parent


def make_patients(n_patients: int = 200, visits: int = 4, seed: int = 0) -> pd.DataFrame:
    """The grouped table: ``patient``, ``f0`` .. ``f9``, ``diagnosis`` (0/1); rows by patient."""
    base, label = make_classification(n_samples=n_patients, n_features=10, n_informative=4, n_redundant=2,
                                      flip_y=0.2, class_sep=1.0, random_state=seed)
    rng = np.random.default_rng(seed)
    rows = np.repeat(np.arange(n_patients), visits)
    X = base[rows] + rng.normal(0.0, 0.05, size=(len(rows), base.shape[1]))
    table = pd.DataFrame(np.round(X, 4), columns=[f"f{i}" for i in range(base.shape[1])])
    table.insert(0, "patient", [f"P{i:03d}" for i in rows])
    table["diagnosis"] = label[rows]
    return table


def make_sales(n_days: int = 500, seed: int = 0) -> pd.DataFrame:
    """The time-ordered table: ``date``, ``price_index``, ``promo``, ``footfall``, ``rain``, ``units``."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_days)
    level = np.cumsum(rng.normal(0.0, 0.3, n_days))
    promo, footfall, rain = rng.normal(size=(3, n_days))
    units = 1.5 * promo - footfall + level + rng.normal(0.0, 0.3, n_days)
    return pd.DataFrame({"date": pd.date_range("2022-01-01", periods=n_days, freq="D").strftime("%Y-%m-%d"),
                         "price_index": np.round(10 * t / n_days + rng.normal(0.0, 0.1, n_days), 4),
                         "promo": np.round(promo, 4), "footfall": np.round(footfall, 4), "rain": np.round(rain, 4),
                         "units": np.round(units, 4)})


if __name__ == "__main__":
    make_patients().to_csv(HERE / "patients.csv", index=False)
    make_sales().to_csv(HERE / "sales.csv", index=False)
