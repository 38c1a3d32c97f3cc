"""The protocol: shared folds, untouched hold-out split, per-fold preprocessing, determinism."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.dummy import DummyClassifier
from sklearn.pipeline import Pipeline

from backends import BUILTIN_MODELS
from study.data import load_dataset
from study.protocol import fit_and_score, make_splits, skip_reason
from study.orchestrator import run_study
from study.spec import StudySpec

FITTED = []  # (tag, which step, frozenset of row ids or a size) for every fit
METRICS = ("accuracy", "balanced_accuracy")
GRID = {"model__C": [0.1, 1.0]}


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
    def __init__(self, tag="model", C=1.0):
        self.tag, self.C = tag, C

    def fit(self, X, y):
        self.dummy_ = DummyClassifier(strategy="most_frequent").fit(X, y)
        self.classes_ = self.dummy_.classes_
        FITTED.append((self.tag, "model", len(X)))
        return self

    def predict(self, X):
        return self.dummy_.predict(X)


def spy(tag):
    return Pipeline([("preprocess", RowSpy(tag=tag)), ("model", SpyClassifier(tag=tag))])


@pytest.fixture
def wine_ids():
    """Wine with a row-id column."""
    FITTED.clear()
    data = load_dataset("wine")
    ids = np.arange(data.n_samples)[:, None]
    return type(data)(name="wine", X=np.hstack([ids, data.X]), y=data.y, task="classification")


def _fitted_rows(tag):
    return [rows for t, step, rows in FITTED if t == tag and step == "preprocess"]


def test_every_model_sees_the_same_folds_and_never_the_test_rows(wine_ids):
    splits = make_splits(wine_ids, cv=4, seed=1)
    for tag in ("a", "b"):
        out = fit_and_score(spy(tag), wine_ids, splits, grid=GRID, metrics=METRICS)
        assert out.best_params == {"model__C": 0.1}  # ties: the first candidate
    expected = [frozenset(splits.train[fit]) for fit, _ in splits.folds] + [frozenset(splits.train)]
    # 2 candidates fit on every fold, then one refit on the training part
    for tag in ("a", "b"):
        seen = _fitted_rows(tag)
        assert len(seen) == 2 * 4 + 1
        assert sorted(map(sorted, set(seen))) == sorted(map(sorted, set(expected)))
        assert all(rows.isdisjoint(splits.test) for rows in seen)
    assert set(_fitted_rows("a")) == set(_fitted_rows("b"))


def test_the_unit_record(wine_ids):
    splits = make_splits(wine_ids, cv=3, seed=0)
    out = fit_and_score(spy("a"), wine_ids, splits, grid=GRID, metrics=METRICS)
    # 3 folds x 2 splits x 2 metrics + 2 test rows
    assert len(out.rows) == 3 * 2 * 2 + 2
    assert {r["split"] for r in out.rows} == {"train", "validation", "test"}
    assert [r["fold"] for r in out.rows if r["split"] == "test"] == [None, None]
    predictions = out.predictions
    assert predictions["index"].tolist() == splits.test.tolist()
    assert list(predictions.columns[:3]) == ["index", "y_true", "y_pred"]
    assert out.fit_time >= 0


def test_preprocessing_is_fitted_inside_each_fold(wine_ids):
    splits = make_splits(wine_ids, cv=3, seed=0)
    fit_and_score(spy("a"), wine_ids, splits, grid=GRID, metrics=METRICS)
    sizes = sorted({len(rows) for rows in _fitted_rows("a")})
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


def test_the_unit_raises_and_the_runner_records():
    data = load_dataset("wine")

    class Broken(SpyClassifier):
        def fit(self, X, y):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        fit_and_score(Broken(), data, make_splits(data, cv=3), grid={}, metrics=METRICS)


def test_skip_reason_is_the_one_applicability_rule():
    wine, digits, diabetes = load_dataset("wine"), load_dataset("digits"), load_dataset("diabetes")
    cnn, ridge, lr = BUILTIN_MODELS["keras_cnn"], BUILTIN_MODELS["ridge"], BUILTIN_MODELS["logistic_regression"]
    assert skip_reason(cnn, wine, METRICS) == "keras_cnn needs image data; wine is tabular"
    assert skip_reason(cnn, digits, METRICS) is None
    assert skip_reason(lr, diabetes, ("r2",)) == (
        "logistic_regression does not apply to regression (it supports classification)")
    assert skip_reason(ridge, wine, ("roc_auc_ovr",)) == (
        "ridge has no predict_proba, which the metric roc_auc_ovr needs")
    assert skip_reason(ridge, wine, ("roc_auc",)) is None  # binary roc_auc takes decision scores too
    assert skip_reason(ridge, diabetes, ("r2",)) is None


def test_same_seed_same_results_table(shared_workers):
    spec = StudySpec(datasets=("wine",), models=("ridge", "random_forest"), cv=3, quick=True, cache_dir=None,
                     diagnostics=False)
    first, second = (run_study(spec, progress=False, workers=shared_workers) for _ in range(2))
    columns = [c for c in first.results.columns if c != "fit_time"]
    assert first.results[columns].equals(second.results[columns])
    assert first.predictions.equals(second.predictions)
    other = run_study(StudySpec(**{**spec.__dict__, "seed": 1}), progress=False, workers=shared_workers)
    assert not first.results[columns].equals(other.results[columns])


def test_repeated_folds_are_numbered_across_repeats():
    data = load_dataset("wine")
    splits = make_splits(data, cv=3, seed=0, repeats=2)
    assert len(splits.folds) == 6 and splits.n_splits == 3 and len(splits.first_repetition) == 3
    for repeat in range(2):
        validation = np.concatenate([val for _, val in splits.folds[3 * repeat: 3 * repeat + 3]])
        assert sorted(validation) == list(range(len(splits.train)))
    assert not np.array_equal(splits.folds[0][1], splits.folds[3][1])


def _spy_builder(task, random_state=None, image_shape=None):
    return spy("a")


def test_nested_rows_use_the_shared_outer_folds(wine_ids):
    from backends import ModelSpec
    from study.protocol import Job, inner_search, nested_rows

    splits = make_splits(wine_ids, cv=3, seed=0)
    unit = fit_and_score(spy("a"), wine_ids, splits, grid=GRID, metrics=METRICS)
    FITTED.clear()
    model = ModelSpec(name="a", framework="scikit-learn", builder=_spy_builder, grid=GRID, quick_grid=GRID)
    job = Job(wine_ids, splits, model, METRICS, seed=0, quick=False)
    choices = {k: inner_search(job, GRID, k) for k in range(3)}
    assert all(choice.scores is None for choice in choices.values())  # a grid search: the unit's fits
    nested = nested_rows(unit.search, choices, splits, METRICS)
    assert [(r["fold"], r["metric"]) for r in nested] == [(k, m) for k in range(3) for m in METRICS]
    assert [r["n_test"] for r in nested[::2]] == [len(val) for _, val in splits.folds]
    # the outer score is the unit's fit of the chosen candidate on that fold
    validation = {(r["fold"], r["metric"]): r["score"] for r in unit.rows if r["split"] == "validation"}
    assert all(r["score"] == validation[(r["fold"], r["metric"])] for r in nested)  # C=0.1 chosen everywhere
    # inner searches fit only inside each outer training part (3 inner folds x 2 candidates), never on test rows
    outer = [frozenset(splits.train[fit]) for fit, _ in splits.folds]
    inner_fits = _fitted_rows("a")
    assert len(inner_fits) == 3 * 3 * 2
    assert all(rows.isdisjoint(splits.test) for rows in inner_fits)
    assert all(any(rows < o for o in outer) for rows in inner_fits)
