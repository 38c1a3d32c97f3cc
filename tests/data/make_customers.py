"""Write ``customers.csv``: a small, real-world-shaped churn table (deterministic).

300 customers: ``customer_id`` (unique, non-consecutive integers: an identifier, not a
feature), numeric ``age``, ``income`` and ``tenure_months`` with missing values, string
``plan`` and ``region`` with missing values, a bool ``paperless_billing`` and the binary
target ``churned`` (0/1). Churn is more likely on the basic plan, with short tenure,
paperless billing, low income and in the south, plus logistic noise, so a model can beat
the majority class (about 64% "0") but not reach 100%.

Run from the repository root: ``python tests/data/make_customers.py``.
"""

from pathlib import Path

import numpy as np
import pandas as pd

N = 300


def make_customers(n: int = N, seed: int = 0) -> pd.DataFrame:
    """The table, rows in customer order; same seed, same bytes."""
    rng = np.random.default_rng(seed)
    customer_id = rng.choice(np.arange(100_000, 1_000_000), size=n, replace=False)
    age = rng.integers(18, 80, size=n).astype(float)
    income = np.round(rng.lognormal(mean=10.6, sigma=0.45, size=n), -1)
    tenure = rng.integers(0, 73, size=n).astype(float)
    plan = rng.choice(["basic", "standard", "premium"], size=n, p=[0.45, 0.35, 0.20])
    region = rng.choice(["north", "south", "east", "west"], size=n)
    paperless = rng.random(n) < 0.55
    logit = (
        -0.4
        + 1.4 * (plan == "basic")
        - 0.8 * (plan == "premium")
        - 0.045 * tenure
        + 0.9 * paperless
        - 0.6 * (income - 40_000) / 20_000
        + 0.5 * (region == "south")
        + 0.01 * (age - 45)
    )
    churned = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(int)
    df = pd.DataFrame({
        "customer_id": customer_id,
        "age": age,
        "income": income,
        "tenure_months": tenure,
        "plan": plan.astype(object),
        "region": region.astype(object),
        "paperless_billing": paperless,
        "churned": churned,
    })
    for column, rate in (("age", 0.05), ("income", 0.08), ("tenure_months", 0.04),
                         ("plan", 0.05), ("region", 0.07)):
        df.loc[rng.random(n) < rate, column] = np.nan
    return df


if __name__ == "__main__":
    out = Path(__file__).with_name("customers.csv")
    make_customers().to_csv(out, index=False)
    print(f"wrote {out}")
