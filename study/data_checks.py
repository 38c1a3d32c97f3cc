"""Checks of the data itself before anyone blames a model: train-test validation per dataset.

Not to be confused with ``study.data.checks``, which checks values when a dataset is loaded
(and refuses bad input). These checks run on a loaded dataset and its splits
(``study.splits.Splits``), as one work item per dataset (``study.plan``), and return plain rows
of the ``data_checks`` table (``study.results.DATA_CHECK_COLUMNS``): one finding per row, with
its ``severity`` ("info", "warning", "severe"), the ``feature`` (None for a dataset-wide
finding), the number that is its evidence (``value``, in the unit named by ``measure``) and one
line of ``text`` with that evidence. Every check emits at least one row per dataset, so a clean
check reads as "checked, nothing found". Like deepchecks' train-test validation suite:

1. ``duplicates_within_train`` / ``duplicates_across_split``: repeated rows, features only and
   features with the target (:func:`duplicate_rows`).
2. ``single_feature_score``: a one-feature model's CV score on the shared folds; a feature that
   alone predicts the target almost perfectly is a possible leak (:func:`single_feature_scores`).
3. ``constant_feature``: constant and near-constant features (:func:`constant_features`).
4. ``class_balance``: class counts in the training part and the hold-out (classification).
5. ``distribution_shift``: per feature, training part vs hold-out: a two-sample test with Holm's
   correction (:func:`distribution_shift`).

Only the training part's rows enter anything that decides (the one-feature models are fitted
and scored on the shared folds of the training part); the hold-out test split is only compared
with it (duplicates, class counts, shift), never fitted on.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.model_selection import cross_val_score
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from study.data import Dataset, take_rows
from study.statistics.multiple_testing import holm

__all__ = ["run_data_checks", "duplicate_rows", "single_feature_scores", "leak_findings", "constant_features",
           "class_balance", "distribution_shift", "SEVERITIES", "DUPLICATE_WARNING", "DUPLICATE_SEVERE",
           "LEAK_TREE_DEPTH", "LEAK_BINS", "LEAK_CANDIDATES", "LEAK_SKILL", "NEAR_CONSTANT_SHARE", "MINORITY_WARNING",
           "SHIFT_ALPHA", "SHIFT_SEVERE_EFFECT"]

SEVERITIES = ("info", "warning", "severe")
"""The severities, mildest first."""

DUPLICATE_WARNING = 0.01
"""Fraction of rows (features and target equal) above which repeated rows are a warning. A hold-out
row that repeats a training row can be predicted from memory: with a fraction ``f`` of such rows,
up to ``f`` of the hold-out score can rest on memorized rows instead of generalization (and
copies within the training part fall into fit and validation folds alike: the same for CV)."""
DUPLICATE_SEVERE = 0.05
"""Fraction of repeated rows above which the finding is severe: an optimism of up to 5 points of
accuracy is larger than most differences between the models the study compares."""

LEAK_TREE_DEPTH = 6
"""Depth of the one-feature decision tree: up to 64 leaves, enough to fit any monotone or
banded relation of one feature to the target (a target copied with noise reaches R^2 > 0.99; a
class label coded as a number is separated for up to 64 classes); deeper trees only overfit."""
LEAK_BINS = 256
"""Distinct values a feature keeps for its one-feature tree (quantile bins of the training part
beyond that; :func:`_as_numbers`)."""
LEAK_CANDIDATES = 10
"""Features scored with the study's metric after the screen (:func:`single_feature_scores`)."""
LEAK_SKILL = 0.98
"""A feature is a possible leak when its one-feature CV score covers at least this share of the
way from chance to perfect: ``skill = (score - chance) / (perfect - chance)``, chance being the
study's baseline (``DummyClassifier(strategy="prior")`` / ``DummyRegressor()``) on the same folds
and perfect 1 (0 for a ``neg_`` error). A margin on the skill instead of the raw score means the
same for every scorer and class balance (accuracy 0.99 is no feat when 98% of rows are one
class); 0.98 is accuracy 0.99 on balanced binary classes, R^2 0.98: honest single features stay
below it (the strongest of the bundled datasets: iris' petal width 0.94, breast_cancer's 0.74),
a feature computed from the target (the target plus noise) reaches 0.99 or more."""

NEAR_CONSTANT_SHARE = 0.99
"""A feature whose most frequent value (missing counted as a value) covers at least this share of
the training rows is near-constant (100%: constant, which scikit-learn's ``VarianceThreshold()``
would drop); a fold may then see it constant."""

MINORITY_WARNING = 0.2
"""Class balance warning when the smallest class's share of the training rows is below this
fraction of its balanced share ``1 / n_classes`` (binary: below 10% of the rows; ten classes:
below 2%); the relative share is 1 for perfectly balanced classes."""

SHIFT_ALPHA = 0.05
"""Family-wise error rate of the shift tests of one dataset (Holm's step-down correction over its
features: Holm 1979, Scand. J. Statist. 6(2); ``statsmodels`` ``multipletests(method="holm")``, through
``study.statistics.multiple_testing.holm``)."""
SHIFT_SEVERE_EFFECT = 0.3
"""Effect size from which a significant shift is severe: the Kolmogorov-Smirnov statistic D (the
largest gap between the two empirical distribution functions) or Cramér's V (categorical);
0.3 is a medium effect for V with one degree of freedom (Cohen 1988). Below it a significant shift
is a warning: with tens of thousands of rows the tests find shifts too small to matter."""


def _features(dataset: Dataset, rows: np.ndarray) -> pd.DataFrame:
    """Rows of ``X`` as a DataFrame with string column names (the feature names)."""
    X = take_rows(dataset.X, rows)
    if isinstance(X, pd.DataFrame):
        return X.set_axis([str(c) for c in X.columns], axis=1).reset_index(drop=True)
    names = dataset.feature_names or [f"x{i}" for i in range(X.shape[1])]
    return pd.DataFrame(np.asarray(X), columns=[str(n) for n in names])


def _finding(check: str, severity: str, feature, measure: str, value, text: str) -> dict:
    return dict(check=check, severity=severity, feature=feature, measure=measure, value=float(value), text=text)


def _severity(fraction: float) -> str:
    return "severe" if fraction >= DUPLICATE_SEVERE else "warning" if fraction >= DUPLICATE_WARNING else "info"


def _row_hashes(X: pd.DataFrame, y=None) -> np.ndarray:
    """One 64-bit hash per row of ``X`` (and its target): equal rows hash equal (pandas'
    ``hash_pandas_object``; missing values are equal to each other)."""
    hashes = pd.util.hash_pandas_object(X, index=False).to_numpy()
    if y is not None:
        target = pd.util.hash_pandas_object(pd.Series(y), index=False).to_numpy()
        hashes = hashes * np.uint64(1_000_003) ^ target  # wraps around modulo 2**64
    return hashes


def duplicate_rows(X_train: pd.DataFrame, y_train, X_test: pd.DataFrame, y_test) -> list:
    """Rows repeated within the training part, and hold-out rows that also occur in it.

    Parameters
    ----------
    X_train, X_test : pandas.DataFrame of shape (n_train, n_features), (n_test, n_features)
    y_train, y_test : array-like of shape (n_train,), (n_test,)

    Returns
    -------
    list of dict
        Findings: ``duplicates_within_train`` (rows equal to an earlier training row; value: the
        count) and ``duplicates_across_split`` (hold-out rows equal to some training row), each
        comparing features and target (measure "rows (features and target)", severity from the
        fraction: :data:`DUPLICATE_WARNING`, :data:`DUPLICATE_SEVERE`) and features only
        (measure "rows (features)", info: same features with another target is label noise).
    """
    n_train, n_test = len(X_train), len(X_test)
    rows = []
    for what, y_fit, y_held in (("features and target", y_train, y_test), ("features", None, None)):
        train, test = _row_hashes(X_train, y_fit), _row_hashes(X_test, y_held)
        within, across = int(pd.Series(train).duplicated().sum()), int(np.isin(test, train).sum())
        share_within, share_across = within / max(n_train, 1), across / max(n_test, 1)
        optimism = y_fit is not None  # equal features with another target: label noise, not optimism
        rows.append(_finding(
            "duplicates_within_train", _severity(share_within) if optimism else "info", None, f"rows ({what})",
            within, f"{within} of {n_train} training rows ({share_within:.1%}) repeat an earlier one ({what} equal)"
            + (": copies fall into fit and validation folds alike, so CV scores are optimistic by up to that share"
               if optimism else "")))
        rows.append(_finding(
            "duplicates_across_split", _severity(share_across) if optimism else "info", None, f"rows ({what})",
            across, f"{across} of {n_test} hold-out rows ({share_across:.1%}) also occur in the training part "
            f"({what} equal)" + (": the hold-out score is optimistic by up to that share (those rows can be "
                                 "predicted from memory)" if optimism else "; those with another target are label "
                                 "noise no model can fit")))
    return rows


def _as_numbers(column: pd.Series) -> np.ndarray:
    """A feature as floats for a one-feature tree: numbers as they are, other values by their code
    (``pandas.factorize``, an unsupervised map), then at most :data:`LEAK_BINS` quantile bins
    (a tree on a quarter of a million distinct values sorts 5x slower and splits no better for
    64 leaves); missing stays NaN (trees split on it)."""
    if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
        x = column.to_numpy(dtype=float, na_value=np.nan)
    elif pd.api.types.is_datetime64_any_dtype(column):
        x = column.astype("int64").to_numpy(dtype=float)
    else:
        codes, _ = pd.factorize(column)
        x = np.where(codes < 0, np.nan, codes).astype(float)
    present = ~np.isnan(x)
    if len(np.unique(x[present])) <= LEAK_BINS:
        return x
    edges = np.unique(np.quantile(x[present], np.linspace(0, 1, LEAK_BINS + 1)[1:-1]))
    return np.where(present, np.searchsorted(edges, x), np.nan)


def _quick_score(tree, x: np.ndarray, y: np.ndarray, folds: list, classification: bool) -> float:
    """Mean validation accuracy (classification) or R^2 (regression) of ``tree`` on one feature over
    ``folds``,
    computed from its predictions: the screen of :func:`single_feature_scores`."""
    scores = []
    for fit, val in folds:
        predicted = tree.fit(x[fit], y[fit]).predict(x[val])
        if classification:
            scores.append(np.mean(predicted == y[val]))
        else:
            total = np.sum((y[val] - y[val].mean()) ** 2)
            scores.append(1 - np.sum((y[val] - predicted) ** 2) / total if total > 0 else np.nan)
    return float(np.nanmean(scores)) if np.isfinite(scores).any() else float("nan")


def single_feature_scores(X: pd.DataFrame, y, folds: list, metric: str, task: str) -> tuple:
    """The CV scores of one-feature models: a shallow decision tree on one feature, scored by
    ``metric`` on ``folds`` (``cross_val_score``), and the chance score on the same folds.

    Every feature is screened first by its tree's validation accuracy (R^2 for regression) on the
    first fold, computed from the predictions (a scorer call costs twice a small fit); the
    :data:`LEAK_CANDIDATES` best are then scored with ``metric`` on every fold. A feature that
    predicts the target almost perfectly by ``metric`` does so by accuracy (or R^2) on any fold
    too, so it is among them unless more than that many do.

    Parameters
    ----------
    X : pandas.DataFrame of shape (n_train, n_features)
        The training part.
    y : array-like of shape (n_train,)
    folds : list of (ndarray, ndarray)
        (fit, validation) positions into ``X`` (``Splits.first_repetition``).
    metric : str
        A scikit-learn scorer name (the study's primary metric).
    task : {"classification", "regression"}

    Returns
    -------
    (pandas.Series, float)
        Mean CV score by feature name for the screened features, best first (NaN where every
        fold failed), and chance: the study's baseline (``DummyClassifier(strategy="prior")`` /
        ``DummyRegressor()``) on the same folds.
    """
    classification, y = task == "classification", np.asarray(y)
    tree = (DecisionTreeClassifier if classification else DecisionTreeRegressor)(max_depth=LEAK_TREE_DEPTH,
                                                                                  random_state=0)
    dummy = DummyClassifier(strategy="prior") if classification else DummyRegressor()
    columns = {name: _as_numbers(X[name]).reshape(-1, 1) for name in X.columns}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a fold that cannot be scored is NaN, said by the score
        screen = pd.Series({name: _quick_score(tree, x, y, folds[:1], classification) for name, x in columns.items()},
                           dtype=float)
        chosen = screen.sort_values(ascending=False, na_position="last").index[:LEAK_CANDIDATES]
        chance = cross_val_score(dummy, np.zeros((len(y), 1)), y, cv=folds, scoring=metric, error_score=np.nan)
        scores = {name: cross_val_score(tree, columns[name], y, cv=folds, scoring=metric, error_score=np.nan)
                  for name in chosen}
    mean = pd.Series({name: np.nanmean(s) if np.isfinite(s).any() else np.nan for name, s in scores.items()},
                     dtype=float).sort_values(ascending=False, na_position="last")
    return mean, float(np.nanmean(chance)) if np.isfinite(chance).any() else float("nan")


def _skill(score: float, chance: float, metric: str) -> float:
    perfect = 0.0 if metric.startswith("neg_") else 1.0
    return (score - chance) / (perfect - chance) if perfect - chance > 0 else float("nan")


def leak_findings(scores: pd.Series, chance: float, metric: str) -> list:
    """``single_feature_score`` findings: every feature whose skill reaches :data:`LEAK_SKILL`
    (severe), and the best feature either way (info when below it)."""
    skills = pd.Series({name: _skill(s, chance, metric) for name, s in scores.items()}, dtype=float)
    if skills.notna().sum() == 0:
        return [_finding("single_feature_score", "info", None, metric, float("nan"),
                         f"no one-feature model could be scored with {metric}")]
    order = skills.sort_values(ascending=False, na_position="last").index
    flagged = [name for name in order if skills[name] >= LEAK_SKILL]

    def text(name, leak):
        words = (f"alone, feature {name!r} reaches CV {metric} {scores[name]:.3f} (chance {chance:.3f}; "
                 f"{skills[name]:.0%} of the way from chance to perfect)")
        return words + (": a possible leak; check how it is recorded (after the outcome? derived from the "
                        "target?)" if leak else f"; the best single feature (leak flag from {LEAK_SKILL:.0%})")
    if flagged:
        return [_finding("single_feature_score", "severe", name, metric, scores[name], text(name, True))
                for name in flagged]
    best = order[0]
    return [_finding("single_feature_score", "info", best, metric, scores[best], text(best, False))]


def constant_features(X: pd.DataFrame) -> list:
    """Constant (warning) and near-constant (info) features of the training part.

    Parameters
    ----------
    X : pandas.DataFrame of shape (n_train, n_features)

    Returns
    -------
    list of dict
        ``constant_feature`` findings, value: the share of rows of the most frequent value
        (missing counted as a value), from :data:`NEAR_CONSTANT_SHARE`; one info row when no
        feature is near-constant.
    """
    rows, top = [], {}
    for name in X.columns:
        counts = X[name].value_counts(dropna=False)
        top[name] = counts.iloc[0] / max(len(X), 1) if len(counts) else 1.0
        if top[name] < NEAR_CONSTANT_SHARE:
            continue
        value = counts.index[0] if len(counts) else None
        value = value.item() if isinstance(value, np.generic) else value  # 1.0, not np.float64(1.0)
        if len(counts) <= 1:
            rows.append(_finding("constant_feature", "warning", name, "top value share", 1.0,
                                 f"feature {name!r} is constant in the training part (always {value!r}): it "
                                 "carries no information; drop it"))
        else:
            rows.append(_finding("constant_feature", "info", name, "top value share", top[name],
                                 f"feature {name!r} is near-constant: {value!r} in {top[name]:.1%} of the training "
                                 "rows (a fold may see it constant)"))
    if not rows:
        largest = max(top, key=top.get) if top else None
        rows.append(_finding("constant_feature", "info", None, "top value share", top.get(largest, float("nan")),
                             f"no constant or near-constant feature (the largest top-value share: "
                             f"{top.get(largest, float('nan')):.1%}, {largest!r})"))
    return rows


def class_balance(y_train, y_test, names: list | None = None) -> list:
    """Class counts of the training part and the hold-out, and the minority class's share.

    Parameters
    ----------
    y_train, y_test : array-like of shape (n_train,), (n_test,)
    names : list of str or None, default=None
        Class names in the order of ``np.unique`` of all labels (``Dataset.target_names``).

    Returns
    -------
    list of dict
        One ``class_balance`` finding (value: the smallest class's share of the training rows);
        a warning when its relative share (share x n_classes) is below :data:`MINORITY_WARNING`
        or a class is missing from one side.
    """
    classes = np.unique(np.concatenate([np.asarray(y_train), np.asarray(y_test)]))
    labels = [str(c) for c in classes] if names is None or len(names) != len(classes) else [str(n) for n in names]
    train = pd.Series(y_train).value_counts().reindex(classes, fill_value=0).to_numpy()
    test = pd.Series(y_test).value_counts().reindex(classes, fill_value=0).to_numpy()
    share = train.min() / max(train.sum(), 1)
    minority = labels[int(train.argmin())]
    counts = ", ".join(f"{label!r} {a}/{b}" for label, a, b in zip(labels[:12], train, test))
    counts += f", ... ({len(labels)} classes)" if len(labels) > 12 else ""
    missing = [label for label, a, b in zip(labels, train, test) if a == 0 or b == 0]
    warn = share * len(classes) < MINORITY_WARNING or bool(missing)
    text = (f"smallest class {minority!r}: {share:.1%} of the training rows "
            f"({share * len(classes):.2f} of its balanced share); train/hold-out counts: {counts}")
    if missing:
        text += f"; missing from one side: {', '.join(repr(m) for m in missing[:5])}"
    elif warn:
        text += "; accuracy hides the minority: read balanced accuracy and per-class recall"
    return [_finding("class_balance", "warning" if warn else "info", None, "minority share", share, text)]


def _shift_test(train: pd.Series, test: pd.Series) -> tuple:
    """(p-value, effect size, test name) of one feature: Kolmogorov-Smirnov for numbers,
    chi-square of the value counts (Cramér's V) for anything else."""
    if pd.api.types.is_numeric_dtype(train) and not pd.api.types.is_bool_dtype(train):
        a, b = train.dropna().to_numpy(dtype=float), test.dropna().to_numpy(dtype=float)
        if len(a) == 0 or len(b) == 0:
            return 1.0, 0.0, "KS"
        result = stats.ks_2samp(a, b, method="asymp")
        return float(result.pvalue), float(result.statistic), "KS"
    values = pd.concat([train, test], ignore_index=True).astype(object).where(lambda s: s.notna(), "<missing>")
    side = np.r_[np.zeros(len(train), dtype=int), np.ones(len(test), dtype=int)]
    table = pd.crosstab(values.astype(str).to_numpy(), side)
    if table.shape[0] < 2 or table.shape[1] < 2:
        return 1.0, 0.0, "chi-square"
    chi2, p, _, _ = stats.chi2_contingency(table.to_numpy(), correction=False)
    return float(p), float(np.sqrt(chi2 / table.to_numpy().sum())), "chi-square"


def distribution_shift(X_train: pd.DataFrame, X_test: pd.DataFrame) -> list:
    """Per feature, does the hold-out come from the training part's distribution?

    Two-sample tests per feature (``scipy.stats.ks_2samp`` for numbers, ``chi2_contingency`` on
    the value counts otherwise) with Holm's correction over the dataset's features
    (:data:`SHIFT_ALPHA`). Chosen over a domain classifier (a model telling training rows from
    hold-out rows) because each test names the feature that shifts, needs no fit (seconds on
    50,000 rows) and never fits on the hold-out; it misses shifts visible only in combinations
    of features.

    Parameters
    ----------
    X_train, X_test : pandas.DataFrame of shape (n_train, n_features), (n_test, n_features)

    Returns
    -------
    list of dict
        ``distribution_shift`` findings: each feature whose Holm-adjusted p-value is below
        :data:`SHIFT_ALPHA` (value: that p-value; severe when the effect reaches
        :data:`SHIFT_SEVERE_EFFECT`, else warning), or one info row when none shifts.
    """
    names = list(X_train.columns)
    if not names:
        return []
    tests = [_shift_test(X_train[name], X_test[name]) for name in names]
    reject, adjusted = holm([t[0] for t in tests], alpha=SHIFT_ALPHA)
    rows = []
    for name, (p, effect, how), shifted, p_holm in zip(names, tests, reject, adjusted):
        if shifted:
            size = "D" if how == "KS" else "Cramér's V"
            rows.append(_finding("distribution_shift", "severe" if effect >= SHIFT_SEVERE_EFFECT else "warning",
                                 name, "Holm-adjusted p", p_holm,
                                 f"feature {name!r} differs between training part and hold-out ({how} {size} = "
                                 f"{effect:.2f}, Holm-adjusted p = {p_holm:.2g} over {len(names)} features)"))
    if not rows:
        largest = int(np.argmax([t[1] for t in tests]))
        rows.append(_finding("distribution_shift", "info", None, "Holm-adjusted p", float(np.min(adjusted)),
                             f"no feature shifts between training part and hold-out ({len(names)} tests, Holm at "
                             f"{SHIFT_ALPHA:g}; the largest effect {tests[largest][1]:.2f}, {names[largest]!r})"))
    return rows


def run_data_checks(dataset: Dataset, splits, metric: str) -> list:
    """Every check of one dataset (a work item of the study, stored like any other).

    Parameters
    ----------
    dataset : Dataset
    splits : study.splits.Splits
        The dataset's splits; the one-feature models use ``splits.first_repetition``.
    metric : str
        The study's primary metric on this dataset.

    Returns
    -------
    list of dict
        Rows of the ``data_checks`` table (``study.results.DATA_CHECK_COLUMNS``), in check order.
    """
    X_train, X_test = _features(dataset, splits.train), _features(dataset, splits.test)
    y_train, y_test = dataset.y[splits.train], dataset.y[splits.test]
    scores, chance = single_feature_scores(X_train, y_train, splits.first_repetition, metric, dataset.task)
    rows = (duplicate_rows(X_train, y_train, X_test, y_test) + leak_findings(scores, chance, metric)
            + constant_features(X_train)
            + (class_balance(y_train, y_test, dataset.target_names) if dataset.task == "classification" else [])
            + distribution_shift(X_train, X_test))
    return [{"dataset": dataset.name, **row} for row in rows]
