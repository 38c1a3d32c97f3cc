"""The protocol: shared folds, untouched hold-out split, per-fold preprocessing, determinism."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.dummy import DummyClassifier
from sklearn.pipeline import Pipeline

import study.protocol as protocol
from study.datasets import load_dataset
from study.protocol import fit_and_score, make_splits
from study.runner import run_study
from study.spec import StudySpec

FITTED = []  # (model, which step, frozenset of row ids) for every fit


class RowSpy(TransformerMixin, BaseEstimator):
    """Records which dataset rows (column 0 holds the row id) each fit saw; drops the id."""

    def __init__(self, tag="model"):
        self.tag = tag

    def fit(self, X, y=None):
        FITTED.append((self.tag, "preprocess", frozenset(np.asarray(X)[:, 0].astype(int))))
        return self

    def transform(self, X):
        return np.asarray(X)[:, 1:]


class SpyClassifier(ClassifierMixin, BaseEstimator):
    def __init__(self, tag="model", alpha=1.0, C=1.0):
        self.tag, self.alpha, self.C = tag, alpha, C

    def fit(self, X, y):
        self.dummy_ = DummyClassifier(strategy="most_frequent").fit(X, y)
        self.classes_ = self.dummy_.classes_
        FITTED.append((self.tag, "model", len(X)))
        return self

    def predict(self, X):
        return self.dummy_.predict(X)


@pytest.fixture
def spied(monkeypatch):
    """Wine with a row-id column, and every registered model replaced by a spy pipeline."""
    FITTED.clear()
    data = load_dataset("wine")
    ids = np.arange(data.n_samples)[:, None]
    data = type(data)(name="wine", X=np.hstack([ids, data.X]), y=data.y, task="classification")
    monkeypatch.setattr(protocol, "make_estimator", lambda name, *a, **k: Pipeline(
        [("preprocess", RowSpy(tag=name)), ("model", SpyClassifier(tag=name))]))
    return data


def _fitted_rows(tag):
    return [rows for t, step, rows in FITTED if t == tag and step == "preprocess"]


def test_every_model_sees_the_same_folds_and_never_the_test_rows(spied):
    splits = make_splits(spied, cv=4, seed=1)
    for model in ("logistic_regression", "ridge"):
        out = fit_and_score(spied, model, splits, seed=1, quick=True)
        assert out["rows"][0]["status"] == "ok", out["rows"][0]["error"]
    train_rows = splits.train
    expected = [frozenset(train_rows[fit]) for fit, _ in splits.folds] + [frozenset(train_rows)]
    # quick grids have 2 candidates: each fits on every fold, then one refit on the training part
    for model in ("logistic_regression", "ridge"):
        seen = _fitted_rows(model)
        assert sorted(map(sorted, set(seen))) == sorted(map(sorted, set(expected)))
        assert all(rows.isdisjoint(splits.test) for rows in seen)
    assert set(_fitted_rows("logistic_regression")) == set(_fitted_rows("ridge"))


def test_preprocessing_is_fitted_inside_each_fold(spied):
    splits = make_splits(spied, cv=3, seed=0)
    fit_and_score(spied, "logistic_regression", splits, quick=True)
    sizes = sorted({len(rows) for rows in _fitted_rows("logistic_regression")})
    assert sizes == sorted({len(fit) for fit, _ in splits.folds} | {len(splits.train)})


def test_splits_are_stratified_seeded_and_disjoint():
    data = load_dataset("wine")
    a, b = make_splits(data, cv=5, seed=3), make_splits(data, cv=5, seed=3)
    np.testing.assert_array_equal(a.test, b.test)
    assert all(np.array_equal(f1, f2) for (f1, _), (f2, _) in zip(a.folds, b.folds))
    assert set(a.train).isdisjoint(a.test) and len(a.train) + len(a.test) == data.n_samples
    fractions = np.bincount(data.y[a.test]) / len(a.test)
    np.testing.assert_allclose(fractions, np.bincount(data.y) / data.n_samples, atol=0.03)
    validation = np.concatenate([val for _, val in a.folds])
    assert sorted(validation) == list(range(len(a.train)))


def test_failing_model_is_recorded_not_raised(monkeypatch):
    data = load_dataset("wine")

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(protocol, "make_estimator", broken)
    with pytest.warns(RuntimeWarning, match="ridge on wine failed: RuntimeError: boom"):
        out = fit_and_score(data, "ridge", make_splits(data))
    assert out["rows"][0]["status"] == "failed" and out["rows"][0]["error"] == "RuntimeError: boom"


def test_same_seed_same_results_table():
    spec = StudySpec(datasets=("wine",), models=("ridge", "random_forest"), cv=3, quick=True, n_jobs=1,
                     cache_dir=None, diagnostics=False)
    first, second = run_study(spec, progress=False), run_study(spec, progress=False)
    columns = [c for c in first.results.columns if c != "fit_time"]
    assert first.results[columns].equals(second.results[columns])
    assert first.predictions.equals(second.predictions)
    other = run_study(StudySpec(**{**spec.__dict__, "seed": 1}), progress=False)
    assert not first.results[columns].equals(other.results[columns])


def test_table_rows_per_unit():
    spec = StudySpec(datasets=("wine",), models=("ridge",), cv=3, quick=True, n_jobs=1, cache_dir=None, diagnostics=False)
    table = run_study(spec, progress=False).results
    # 3 folds x 2 splits x 2 metrics + 2 test rows
    assert len(table) == 3 * 2 * 2 + 2
    assert set(table["split"]) == {"train", "validation", "test"}
    assert table.loc[table["split"] == "test", "fold"].isna().all()


def test_repeated_folds_are_numbered_across_repeats():
    data = load_dataset("wine")
    splits = make_splits(data, cv=3, seed=0, repeats=2)
    assert len(splits.folds) == 6 and splits.n_splits == 3
    for repeat in range(2):
        validation = np.concatenate([val for _, val in splits.folds[3 * repeat: 3 * repeat + 3]])
        assert sorted(validation) == list(range(len(splits.train)))
    assert not np.array_equal(splits.folds[0][1], splits.folds[3][1])


def test_nested_rows_use_the_shared_outer_folds(spied):
    splits = make_splits(spied, cv=3, seed=0)
    rows = fit_and_score(spied, "ridge", splits, quick=True, nested=True)["rows"]
    nested = [r for r in rows if r["split"] == "nested"]
    assert [(r["fold"], r["metric"]) for r in nested] == [
        (k, m) for k in range(3) for m in ("accuracy", "balanced_accuracy")]
    assert [r["n_test"] for r in nested[::2]] == [len(val) for _, val in splits.folds]
    # inner searches fit only inside each outer training part, never on test rows
    outer = [frozenset(splits.train[fit]) for fit, _ in splits.folds]
    inner_fits = _fitted_rows("ridge")
    assert all(rows.isdisjoint(splits.test) for rows in inner_fits)
    assert all(any(rows <= o for o in outer + [frozenset(splits.train)]) for rows in inner_fits)
