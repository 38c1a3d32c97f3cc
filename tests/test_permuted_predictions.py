"""Permutation importance's predictions made beforehand in stacked calls
(study.statistics.permuted_predictions): scikit-learn's numbers, from far fewer calls."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import make_classification
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression

from study.statistics import permuted_predictions
from study.statistics.permuted_predictions import PermutedPredictions

N_REPEATS = 3


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(n_samples=160, n_features=6, n_informative=3, n_classes=3, random_state=0)
    X[::7, 4] = 0.5  # repeated values: some shuffles leave rows as they were
    return X[:100], y[:100], X[100:], y[100:]


class CountingForest(RandomForestClassifier):
    """A random forest that counts the calls of its prediction methods and the rows they got."""

    calls = rows = 0

    def predict_proba(self, X):
        type(self).calls += 1
        type(self).rows += len(X)
        return super().predict_proba(X)


class BatchDependent(ClassifierMixin, BaseEstimator):
    """Predicts one class for calls of up to 100 rows and another for larger ones: each row's
    prediction depends on the rows predicted with it, so stacked copies must not be used."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[int(len(X) > 100)])


class SmallCallsOnly(BatchDependent):
    """Refuses calls of more than 100 rows."""

    def predict(self, X):
        if len(X) > 100:
            raise ValueError("at most 100 rows a call")
        return self.classes_[(np.asarray(X)[:, 0] > 0).astype(int)]


def _importances(estimator, X, y, scoring, seed=0):
    return permutation_importance(estimator, X, y, scoring=scoring, n_repeats=N_REPEATS, random_state=seed).importances


@pytest.mark.parametrize("estimator", [LogisticRegression(max_iter=500),
                                       CountingForest(n_estimators=15, random_state=0),
                                       HistGradientBoostingClassifier(max_iter=15, random_state=0)],
                         ids=["logistic", "forest", "hist_gradient_boosting"])
@pytest.mark.parametrize("scoring", ["accuracy", "neg_log_loss", "roc_auc_ovr"])
def test_the_same_importances_from_the_stacked_predictions(data, estimator, scoring):
    X, y, X_test, y_test = data
    estimator.fit(X, y)
    proxy = PermutedPredictions(estimator, X_test, 0, N_REPEATS)
    np.testing.assert_array_equal(_importances(proxy, X_test, y_test, scoring),
                                  _importances(estimator, X_test, y_test, scoring))
    assert proxy.answered == 1 + X.shape[1] * N_REPEATS and proxy.predicted == 0


def test_the_forest_predicts_in_a_few_calls(data, monkeypatch):
    """With copies of 60 x 6 values and calls of at most 2 x 360 values, the 19 copies take 10 stacked
    calls and one of the rows alone (the check), where scikit-learn alone makes 19."""
    X, y, X_test, y_test = data
    monkeypatch.setattr(permuted_predictions, "MAX_CELLS", 2 * X_test.size)
    forest = CountingForest(n_estimators=5, random_state=0).fit(X, y)
    CountingForest.calls = CountingForest.rows = 0
    _importances(PermutedPredictions(forest, X_test, 0, N_REPEATS), X_test, y_test, "accuracy")
    copies = 1 + X.shape[1] * N_REPEATS
    assert (CountingForest.calls, CountingForest.rows) == (10 + 1, (copies + 1) * len(X_test))


@pytest.mark.parametrize("model", [BatchDependent(), SmallCallsOnly()],
                         ids=["rows_change_each_other", "refuses_large_calls"])
def test_a_model_whose_stacked_calls_differ_or_fail_answers_each_call_itself(data, model):
    """Rows predicted together that change each other, or a model that refuses large calls: each
    copy is predicted by the estimator, one call a copy."""
    X, y, X_test, y_test = data
    model.fit(X, y)
    proxy = PermutedPredictions(model, X_test, 0, N_REPEATS)
    np.testing.assert_array_equal(_importances(proxy, X_test, y_test, "accuracy"),
                                  _importances(model, X_test, y_test, "accuracy"))
    assert proxy.answered == 0 and proxy.predicted == 1 + X.shape[1] * N_REPEATS


def test_shuffles_not_expected_are_predicted_by_the_estimator(data):
    """Copies drawn with another seed are not among the expected ones: the estimator predicts them
    (the rows as they are are still answered)."""
    X, y, X_test, y_test = data
    model = LogisticRegression(max_iter=500).fit(X, y)
    proxy = PermutedPredictions(model, X_test, 0, N_REPEATS)
    np.testing.assert_array_equal(_importances(proxy, X_test, y_test, "accuracy", seed=1),
                                  _importances(model, X_test, y_test, "accuracy", seed=1))
    assert proxy.predicted >= X.shape[1] * N_REPEATS - 1 and proxy.answered >= 1


@pytest.mark.parametrize("limit", ["MAX_ROWS", "MAX_CELLS"])
def test_too_many_copies_or_too_large_ones_are_not_stacked(data, monkeypatch, limit):
    X, y, X_test, y_test = data
    monkeypatch.setattr(permuted_predictions, limit, len(X_test) * 5 if limit == "MAX_ROWS" else 2 * X_test.size - 1)
    model = LogisticRegression(max_iter=500).fit(X, y)
    proxy = PermutedPredictions(model, X_test, 0, N_REPEATS)
    np.testing.assert_array_equal(_importances(proxy, X_test, y_test, "accuracy"),
                                  _importances(model, X_test, y_test, "accuracy"))
    assert proxy.answered == 0


def test_the_stand_in_reads_the_estimators_attributes_and_methods(data):
    X, y, X_test, _ = data
    model = LogisticRegression(max_iter=500).fit(X, y)
    proxy = PermutedPredictions(model, X_test, 0, N_REPEATS)
    assert list(proxy.classes_) == list(model.classes_) and proxy.__sklearn_tags__() == model.__sklearn_tags__()
    assert hasattr(proxy, "decision_function") and hasattr(proxy, "predict_proba") and hasattr(proxy, "fit")
    assert not hasattr(PermutedPredictions(BatchDependent().fit(X, y), X_test, 0, 1), "predict_proba")
    with pytest.raises(AttributeError):
        proxy.no_such_attribute  # noqa: B018
