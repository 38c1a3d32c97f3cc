"""Tests for study/diagnostics.py and study/diagnostics_report.py.

The protocol tests put a row-recording step in front of every pipeline the diagnostics build
(by wrapping ``study.diagnostics.make_estimator``) and check which dataset rows each fit saw:
the shared folds' training parts, the whole training part for refits, never a test row.
Keras models run 2 epochs there to keep the file fast.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import math  # noqa: E402
import re  # noqa: E402
from collections import Counter  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from sklearn.base import BaseEstimator, TransformerMixin, clone  # noqa: E402
from sklearn.datasets import make_classification  # noqa: E402
from sklearn.dummy import DummyClassifier  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import StratifiedKFold, cross_validate, learning_curve  # noqa: E402
from sklearn.neighbors import KNeighborsClassifier  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from backends import get_model  # noqa: E402
from study import diagnostics as D  # noqa: E402
from study import diagnostics_report as R  # noqa: E402
from study import report as report_module  # noqa: E402
from study.datasets import Dataset, load_dataset  # noqa: E402
from study.protocol import Splits, fit_and_score, make_splits  # noqa: E402
from study.results import COLUMNS, PREDICTION_COLUMNS  # noqa: E402

LR, RIDGE, RF, KD = "logistic_regression", "ridge", "random_forest", "keras_dense"
LOG: list = []  # ("fit" | "transform", copy of the X it received), appended by RowRecorder


class RowRecorder(TransformerMixin, BaseEstimator):
    """Pipeline step that records every X it is fitted on or transforms, then applies ``inner``."""

    def __init__(self, inner="passthrough"):
        self.inner = inner

    def fit(self, X, y=None):
        LOG.append(("fit", np.array(X, copy=True)))
        self.inner_ = None if isinstance(self.inner, str) else clone(self.inner).fit(X, y)
        return self

    def fit_transform(self, X, y=None):
        return self.fit(X, y)._apply(X)

    def transform(self, X):
        LOG.append(("transform", np.array(X, copy=True)))
        return self._apply(X)

    def _apply(self, X):
        return X if self.inner_ is None else self.inner_.transform(X)


def recording_make_estimator(real):
    def make(name, task="classification", **params):
        if get_model(name).framework == "keras":
            params = {**params, "model__epochs": 2}
        estimator = real(name, task, **params)
        estimator.steps[0] = ("preprocess", RowRecorder(estimator.steps[0][1]))
        return estimator

    return make


def row_sets(dataset: Dataset, kind: str, log=None) -> list:
    """The dataset row indices of each recorded call of ``kind``, as frozensets."""
    where = {row.tobytes(): i for i, row in enumerate(dataset.X)}
    return [frozenset(where[row.tobytes()] for row in X) for k, X in (LOG if log is None else log) if k == kind]


@pytest.fixture(scope="module")
def wine():
    data = load_dataset("wine")
    assert len({row.tobytes() for row in data.X}) == data.n_samples  # rows identify themselves
    return data


@pytest.fixture(scope="module")
def spied(wine):
    """Every diagnostic once on wine (3 shared folds), with fits recorded; Keras at 2 epochs."""
    splits = make_splits(wine, cv=3, test_size=0.2, seed=0)
    best = {LR: {"model__C": 1.0}, RIDGE: {"model__alpha": 10.0}, RF: {"model__max_depth": 8}, KD: {"model__l2": 1e-4}}
    logs = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(D, "make_estimator", recording_make_estimator(D.make_estimator))
        mp.setattr(D, "SWEEPS", {**D.SWEEPS, RF: D.SWEEPS[RF][:1]})  # keep the file fast
        LOG.clear()
        tables = D.run_diagnostics(wine, splits, best, [LR, RIDGE, RF, KD], seed=0, quick=True, progress=False)
        logs["run"] = list(LOG)
        LOG.clear()
        two_folds = Splits(train=splits.train, test=splits.test, folds=splits.folds[:2], n_splits=2)
        tables["ablation_full"] = D.ablation_table(wine, two_folds, KD, best[KD], metric="accuracy", seed=0)
        logs["ablation_full"] = list(LOG)
        LOG.clear()
        tables["imbalance"] = D.imbalance_table(wine, [LR, RIDGE], seed=0, cv=3, test_size=0.2, ratio=0.25)
        logs["imbalance"] = list(LOG)
        LOG.clear()
    return dict(splits=splits, two_folds=two_folds, tables=tables, logs=logs, best=best)


# ----------------------------------------------------------------------------------- protocol


def test_curves_use_the_comparisons_fold_indices(wine):
    splits = make_splits(wine, cv=5, test_size=0.2, seed=0)
    fold_fit = [frozenset(splits.train[fit]) for fit, _ in splits.folds]
    fold_val = [frozenset(splits.train[val]) for _, val in splits.folds]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(D, "make_estimator", recording_make_estimator(D.make_estimator))
        LOG.clear()
        vc = D.validation_curve_table(wine, splits, LR, {"model__C": 1.0}, metric="accuracy", seed=0)
        n_values = vc.drop_duplicates(["sweep", "param_value"]).shape[0]
        assert n_values == 6 + 5  # both LR sweeps, GridSearchCV's C=1.0 already in them
        assert Counter(row_sets(wine, "fit")) == Counter({s: n_values for s in fold_fit})
        assert set(fold_val) <= set(row_sets(wine, "transform"))
        LOG.clear()
        lc = D.learning_curve_table(wine, splits, LR, {"model__C": 1.0}, metric="accuracy", seed=0)
        fits = row_sets(wine, "fit")
    sizes = sorted(lc["train_size"].unique())
    assert len(fits) == len(sizes) * len(fold_fit)
    # learning_curve runs fold by fold, growing subsets of that fold's training part
    for k, full in enumerate(fold_fit):
        subsets = fits[k * len(sizes):(k + 1) * len(sizes)]
        assert [len(s) for s in subsets] == sizes
        assert all(s <= full for s in subsets)
        # the largest size is fold 0's training part (scikit-learn's rule): whole folds of that size
        assert subsets[-1] == full if len(full) == sizes[-1] else len(full) - len(subsets[-1]) == 1
    assert lc["fold"].unique().tolist() == [0, 1, 2, 3, 4]
    assert lc["train_size"].max() == len(splits.folds[0][0])


def test_no_diagnostic_fits_on_hold_out_test_rows(wine, spied):
    splits, logs = spied["splits"], spied["logs"]
    test, train = set(splits.test), set(splits.train)
    fold_fit = {frozenset(splits.train[fit]) for fit, _ in splits.folds}
    run_fits = row_sets(wine, "fit", logs["run"])
    assert len(run_fits) == 48  # LR 6+12, ridge 6+6, RF 6+6 (2 quick folds), Keras 2+2+2 (fold 0)
    for rows in run_fits:
        assert not rows & test
        assert any(rows <= f for f in fold_fit)  # inside one fold's training part
    # Keras histories: fold 0's training part; ablation: its folds, then the whole training part
    ab_fits = row_sets(wine, "fit", logs["ablation_full"])
    two = [frozenset(splits.train[fit]) for fit, _ in spied["two_folds"].folds]
    assert Counter(ab_fits) == Counter({two[0]: 5, two[1]: 5, frozenset(train): 5})
    # the test split is only ever scored by the refits (5 variants x 1 scoring)
    scored = row_sets(wine, "transform", logs["ablation_full"])
    assert Counter(s for s in scored if s & test) == Counter({frozenset(test): 5})
    assert not any(s & test for s in row_sets(wine, "transform", logs["run"]))


def test_imbalance_uses_its_own_splits_and_never_fits_on_their_test_rows(wine, spied):
    data = D.make_imbalanced(wine, ratio=0.25, seed=0)
    splits = make_splits(data, cv=3, test_size=0.2, seed=0)
    where = {row.tobytes(): i for i, row in enumerate(data.X)}
    fits = [frozenset(where[r.tobytes()] for r in X) for k, X in spied["logs"]["imbalance"] if k == "fit"]
    folds = {frozenset(splits.train[fit]) for fit, _ in splits.folds}
    # 2 models x 2 weightings x (3 folds + 1 refit)
    assert Counter(fits) == Counter({**{f: 4 for f in folds}, frozenset(splits.train): 4})
    table = spied["tables"]["imbalance"]
    assert table["dataset"].unique().tolist() == ["wine_imbalanced"]
    assert set(table["metric"]) == {"accuracy", "balanced_accuracy", "recall[class_0]", "recall[class_1]",
                                    "recall[class_2]"}
    assert table.groupby(["model", "class_weight", "metric", "split"]).size().to_dict() == {
        (m, w, metric, s): (1 if s == "test" else 3)
        for m in (LR, RIDGE) for w in ("off", "on") for metric in set(table["metric"])
        for s in ("train", "validation", "test")}


def test_keras_validation_data_is_an_inner_split_of_the_fit_data(spied):
    """The history fits receive fold 0's training part only; val_* curves exist."""
    hist = spied["tables"]["histories"]
    assert set(hist["variant"]) == {"no early stopping", "early stopping"}
    assert {"loss", "val_loss", "accuracy", "val_accuracy"} <= set(hist["curve"])
    assert hist["fold"].unique().tolist() == [0]
    no_es = hist[hist["variant"] == "no early stopping"]
    assert no_es["epoch"].max() == 2 and no_es["best_epoch"].isna().all()
    es = hist[hist["variant"] == "early stopping"]
    assert es["best_epoch"].notna().all() and 1 <= es["best_epoch"].iloc[0] <= es["stopped_epoch"].iloc[0]


# ----------------------------------------------------------------------------------- tables


def test_tables_have_their_columns_and_quick_settings(spied):
    t = spied["tables"]
    assert t["failures"].empty
    assert list(t["learning_curves"].columns) == D.LEARNING_CURVE_COLUMNS
    assert list(t["validation_curves"].columns) == D.VALIDATION_CURVE_COLUMNS
    assert list(t["histories"].columns) == D.HISTORY_COLUMNS
    assert list(t["ablation"].columns) == D.ABLATION_COLUMNS
    lc = t["learning_curves"]
    # quick: the first 2 shared folds (Keras: fold 0), 3 sizes (Keras: 2)
    assert lc.groupby("model")["fold"].unique().apply(list).to_dict() == {LR: [0, 1], RIDGE: [0, 1], RF: [0, 1],
                                                                          KD: [0]}
    n = len(spied["splits"].folds[0][0])
    sk = lc[lc["model"] == LR]
    assert sorted(sk["train_size"].unique()) == [int(0.2 * n), int(0.6 * n), n]  # scikit-learn floors
    assert sorted(sk["train_fraction"].unique()) == [int(0.2 * n) / n, int(0.6 * n) / n, 1.0]
    assert sorted(lc.loc[lc["model"] == KD, "train_size"].unique()) == [int(0.5 * n), n]
    # quick ablation: fold 0 only and no hold-out refit; the full one has test rows
    assert set(t["ablation"]["split"]) == {"train", "validation"}
    assert t["ablation"]["variant"].unique().tolist() == ["baseline", "all combined"]
    assert t["ablation"].loc[t["ablation"]["variant"] == "all combined", "settings"].iloc[0] == (
        "l2=0.0001, dropout=0.3, early stopping (patience 3, 20% inner validation)")
    full = t["ablation_full"]
    assert full["variant"].unique().tolist() == ["baseline", "L2", "dropout", "early stopping", "all combined"]
    assert full[full["split"] == "test"]["fold"].isna().all() and (full["split"] == "test").sum() == 5
    assert full.loc[full["variant"] == "L2", "settings"].iloc[0] == "l2=0.0001, dropout=0"


def test_validation_curves_mark_the_gridsearch_choice_and_place_none(spied):
    vc = spied["tables"]["validation_curves"]
    rf = vc[(vc["model"] == RF) & (vc["fold"] == 0) & (vc["split"] == "validation")]
    assert rf["param_label"].tolist() == ["2", "8", "None"]
    assert rf["param_value"].tolist() == [2.0, 8.0, 16.0]  # None: twice the largest finite depth
    assert rf["chosen"].tolist() == [False, True, False]
    assert set(rf["chosen_source"]) == {"GridSearchCV"}
    lr = vc[(vc["model"] == LR) & (vc["fold"] == 0) & (vc["split"] == "train")]
    assert lr.groupby("sweep")["chosen"].sum().to_dict() == {"C, L1 penalty (saga)": 1, "C, L2 penalty": 1}
    assert set(lr.loc[lr["sweep"] == "C, L1 penalty (saga)", "chosen_source"]) == {
        "GridSearchCV (tuned with the L2 penalty)"}
    assert KD not in set(vc["model"])  # quick: no Keras validation curves (QUICK_KERAS_SWEEPS = 0)
    assert D._positions([0.0, 1e-4, 1e-2], log=True) == [1e-5, 1e-4, 1e-2]  # 0: a decade left of 1e-4
    assert D._positions([1, 2, 4, 8, 16, None], log=True) == [1, 2, 4, 8, 16, 32]  # None: twice the largest


def test_an_untuned_swept_parameter_marks_the_value_in_use(wine):
    splits = make_splits(wine, cv=3, test_size=0.2, seed=0)
    vc = D.validation_curve_table(wine, splits, RIDGE, {}, metric="accuracy", seed=0, quick=True)
    marked = vc[vc["chosen"]].drop_duplicates("param_label")
    assert marked[["param_label", "chosen_source"]].values.tolist() == [["1", "default (not tuned)"]]


def test_a_failing_diagnostic_is_recorded_not_raised(wine, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(D, "learning_curve_table", broken)
    splits = make_splits(wine, cv=3, test_size=0.2, seed=0)
    with pytest.warns(RuntimeWarning, match="diagnostic learning_curves of ridge on wine failed: RuntimeError: boom"):
        tables = D.run_diagnostics(wine, splits, {}, [RIDGE, "keras_cnn"], seed=0, progress=False)
    assert tables["failures"].values.tolist() == [["wine", RIDGE, "learning_curves", "RuntimeError: boom"]]
    assert tables["learning_curves"].empty and list(tables["learning_curves"].columns) == D.LEARNING_CURVE_COLUMNS
    assert set(tables["validation_curves"]["model"]) == {RIDGE}  # keras_cnn skipped: no images
    assert tables["timings"]["diagnostic"].tolist() == ["learning_curves", "validation_curves"]


def test_keras_only_diagnostics_reject_other_models(wine):
    splits = make_splits(wine, cv=3, test_size=0.2, seed=0)
    with pytest.raises(ValueError) as info:
        D.ablation_table(wine, splits, RIDGE, {}, metric="accuracy")
    assert str(info.value) == ("ablation_table needs a Keras model; got 'ridge' (framework 'scikit-learn'). "
                               "Use keras_dense or keras_cnn.")


def test_per_class_recall_exact():
    predictions = pd.DataFrame({
        "dataset": ["d"] * 6, "model": ["m"] * 6, "index": range(6),
        "y_true": [0, 0, 0, 1, 1, 2], "y_pred": [0, 0, 1, 1, 0, 2]})
    table = D.per_class_recall(predictions, class_names={"d": ["zero", "one", "two"]})
    assert table.values.tolist() == [["d", "m", "zero", 2 / 3, 3], ["d", "m", "one", 0.5, 2],
                                     ["d", "m", "two", 1.0, 1]]


# ----------------------------------------------------------------------------------- augmentation


def test_augmentation_is_inactive_at_inference():
    from backends.keras import KerasCNNClassifier

    digits = load_dataset("digits")
    X, y = (digits.X[:240] / 16.0).astype("float32"), digits.y[:240]
    clf = KerasCNNClassifier(image_shape=(8, 8, 1), augment=True, epochs=2, random_state=0).fit(X, y)
    layers = clf.model_.layers
    augmenters = [layer for layer in layers if type(layer).__name__.startswith("Random")]
    assert [type(a).__name__ for a in augmenters] == ["RandomTranslation", "RandomRotation", "RandomZoom"]
    first = clf.predict_proba(X)
    np.testing.assert_array_equal(first, clf.predict_proba(X))
    h = X
    for layer in layers:  # the same network with the augmentation layers skipped
        if layer not in augmenters:
            h = layer(h, training=False)
    np.testing.assert_allclose(first, np.asarray(h), rtol=1e-5, atol=1e-6)
    images = layers[0](X)  # Reshape
    for augmenter in augmenters:
        np.testing.assert_array_equal(np.asarray(augmenter(images, training=False)), np.asarray(images))
    assert np.abs(np.asarray(augmenters[0](images, training=True)) - np.asarray(images)).max() > 0.1


# ----------------------------------------------------------------------------------- verdict


@pytest.fixture(scope="module")
def noisy_scores():
    """Linear classes with 20% flipped labels; 5 stratified folds; three models."""
    X, y = make_classification(n_samples=1000, n_features=5, n_informative=3, n_redundant=0,
                               n_clusters_per_class=1, flip_y=0.2, class_sep=1.0, random_state=0)
    folds = list(StratifiedKFold(5, shuffle=True, random_state=0).split(X, y))
    models = {"memorizer": KNeighborsClassifier(n_neighbors=1),
              "constant": DummyClassifier(strategy="most_frequent"),
              "regularized": make_pipeline(StandardScaler(), LogisticRegression(C=1.0))}
    out = {}
    for name, model in models.items():
        cv = cross_validate(model, X, y, cv=folds, return_train_score=True)
        lc = learning_curve(model, X, y, cv=folds, train_sizes=[0.775, 1.0], shuffle=True, random_state=0)
        out[name] = (cv["train_score"], cv["test_score"], lc[2].mean(axis=1))
    majority = np.mean([np.bincount(y[fit]).max() / len(fit) for fit, _ in folds])
    return out, X, y, majority


def test_verdicts_on_constructed_cases(noisy_scores):
    scores, X, y, majority = noisy_scores
    best = max(val.mean() for _, val, _ in scores.values())
    got = {name: D.verdict(train, val, best_validation=best, learning_curve_validation=lc)
           for name, (train, val, lc) in scores.items()}
    assert {k: v["verdict"] for k, v in got.items()} == {
        "memorizer": "overfitting", "constant": "underfitting", "regularized": "good fit"}
    memorizer = got["memorizer"]
    assert memorizer["train_mean"] == 1.0 and memorizer["n_folds"] == 5
    assert memorizer["gap_mean"] == pytest.approx(1.0 - memorizer["validation_mean"], abs=1e-12)
    assert memorizer["reason"].startswith("4: ")
    assert got["constant"]["train_mean"] == pytest.approx(majority, abs=1e-12)
    assert got["constant"]["train_deficit"] == pytest.approx(best - majority, abs=1e-12)
    assert got["regularized"]["validation_mean"] == pytest.approx(best, abs=1e-12)
    # very few samples: the folds disagree too much (se) even though t > 2
    small = StratifiedKFold(5, shuffle=True, random_state=0).split(X[:30], y[:30])
    cv = cross_validate(make_pipeline(StandardScaler(), LogisticRegression()), X[:30], y[:30], cv=list(small),
                        return_train_score=True)
    few = D.verdict(cv["train_score"], cv["test_score"])
    assert few["verdict"] == "not enough data to tell" and few["reason"].startswith("3: ")
    assert few["gap_se"] > D.MAX_GAP_SE and few["gap_t"] > D.GAP_T


def test_verdict_evidence_is_exact_on_hand_made_scores():
    got = D.verdict([1, 1, 1, 1, 1], [0.8, 0.9, 0.8, 0.9, 0.85], best_validation=0.9,
                    learning_curve_validation=[0.7, 0.84, 0.85])
    assert got["verdict"] == "overfitting"
    assert got["gap_mean"] == pytest.approx(0.15)
    assert got["gap_se"] == pytest.approx(0.05 / math.sqrt(5))
    assert got["gap_t"] == pytest.approx(0.15 / (0.05 / math.sqrt(5)))
    assert got["lc_last_gain"] == pytest.approx(0.01)
    assert got["reason"] == "4: gap 0.150 >= 0.02, t 6.7 >= 2.0"
    assert D.verdict([1, 1], [0.9, 0.9])["verdict"] == "not enough data to tell"  # 2 folds
    rising = D.verdict([0.95] * 5, [0.945, 0.94, 0.95, 0.945, 0.94], learning_curve_validation=[0.9, 0.93])
    assert (rising["verdict"], rising["reason"]) == ("not enough data to tell",
                                                     "6: gap 0.006 < 0.02, CV still rising (+0.030)")
    flat = D.verdict([0.95] * 5, [0.945, 0.94, 0.95, 0.945, 0.94], learning_curve_validation=[0.94, 0.944])
    assert flat["verdict"] == "good fit"
    with pytest.raises(ValueError, match=re.escape("must pair fold by fold; got shapes (3,) and (2,)")):
        D.verdict([1, 1, 1], [1, 1])


def test_verdict_table_reads_the_results_table(noisy_scores):
    scores = noisy_scores[0]
    rows = []
    for model, (train, val, _) in scores.items():
        for k in range(5):
            for split, value in (("train", train[k]), ("validation", val[k])):
                rows.append(dict(dataset="noisy", model=model, framework="scikit-learn", split=split, fold=k,
                                 metric="accuracy", score=value, status="ok"))
        rows.append(dict(dataset="noisy", model=model, split="test", fold=None, metric="accuracy", score=0.5,
                         status="ok"))
    rows.append(dict(dataset="noisy", model="broken", split=None, fold=None, metric=None, score=float("nan"),
                     status="failed"))
    results = pd.DataFrame(rows, columns=COLUMNS)
    lc = pd.DataFrame([dict(dataset="noisy", model=m, metric="accuracy", train_size=n, fold=0, split="validation",
                            score=s) for m, (_, _, means) in scores.items() for n, s in zip((620, 800), means)])
    table = D.verdict_table(results, lc)
    assert table[["model", "verdict"]].values.tolist() == [
        ["memorizer", "overfitting"], ["constant", "underfitting"], ["regularized", "good fit"]]
    assert table["lc_last_gain"].tolist() == pytest.approx([m[1] - m[0] for _, _, m in scores.values()])


# ----------------------------------------------------------------------------------- imbalance


@pytest.fixture
def toy():
    y = np.array([0] * 100 + [1] * 50)
    X = np.arange(300, dtype=float).reshape(150, 2)
    return Dataset(name="toy", X=X, y=y, task="classification", target_names=["neg", "pos"])


def test_make_imbalanced_counts_match_the_ratio(toy, wine):
    data = D.make_imbalanced(toy, ratio=0.2, seed=0)
    assert data.name == "toy_imbalanced"
    assert np.bincount(data.y).tolist() == [100, 20]
    assert np.isin(data.X[:, 0], toy.X[:, 0]).all()  # rows kept as they were
    by_name = D.make_imbalanced(toy, minority_class="pos", ratio=0.2, seed=0)
    np.testing.assert_array_equal(by_name.X, data.X)
    assert not np.array_equal(D.make_imbalanced(toy, ratio=0.2, seed=1).X, data.X)  # seeded
    flipped = D.make_imbalanced(toy, minority_class=0, ratio=0.5, seed=0)
    assert np.bincount(flipped.y).tolist() == [25, 50]
    multi = D.make_imbalanced(wine, ratio=0.1, seed=0)  # smallest class 2 (48 rows); largest 71
    assert np.bincount(multi.y).tolist() == [59, 71, 7]


@pytest.mark.parametrize("kwargs, message", [
    (dict(ratio=0.0), "ratio must be a number in (0, 1] (minority/majority class size); got 0.0. "
                      "Use e.g. 0.1 for one minority row per ten majority rows."),
    (dict(ratio=1.5), "ratio must be a number in (0, 1] (minority/majority class size); got 1.5. "
                      "Use e.g. 0.1 for one minority row per ten majority rows."),
    (dict(ratio=0.8), "ratio=0.8 needs 80 rows of class 1 (0.8 * 100 majority rows) but it has only 50; "
                      "use ratio <= 0.5000."),
    (dict(ratio=0.001), "ratio=0.001 keeps round(0.001 * 100) = 0 rows of class 1; use ratio >= 0.0050."),
    (dict(minority_class=7), "Unknown minority_class 7 for dataset 'toy'; expected one of the labels [0, 1] "
                             "or one of the names ['neg', 'pos']."),
    (dict(minority_class="maybe"), "Unknown minority_class 'maybe' for dataset 'toy'; expected one of the "
                                   "labels [0, 1] or one of the names ['neg', 'pos']."),
])
def test_make_imbalanced_error_messages(toy, kwargs, message):
    with pytest.raises(ValueError) as info:
        D.make_imbalanced(toy, **kwargs)
    assert str(info.value) == message


def test_make_imbalanced_rejects_regression():
    with pytest.raises(ValueError) as info:
        D.make_imbalanced(load_dataset("diabetes"))
    assert str(info.value) == "make_imbalanced needs a classification dataset; 'diabetes' has task 'regression'."


# ----------------------------------------------------------------------------------- report


def test_report_sections_write_titled_figures(wine, spied, tmp_path, monkeypatch):
    splits = spied["splits"]
    rows, predictions = [], []
    for model in (LR, RIDGE):
        unit = fit_and_score(wine, model, splits, seed=0, quick=True)
        rows += unit["rows"]
        predictions += unit["predictions"]
    results = pd.DataFrame(rows, columns=COLUMNS)
    predictions = pd.DataFrame(predictions, columns=PREDICTION_COLUMNS)
    tables = {**spied["tables"], "ablation": pd.concat([spied["tables"]["ablation"], spied["tables"]["ablation_full"]
                                                        .assign(dataset="wine (full)")])}
    seen = {}
    real_save = report_module.save_figure

    def checking_save(fig, path, *args):
        title = fig._suptitle.get_text() if fig._suptitle else ""
        axes = [ax for ax in fig.axes if ax.has_data()]
        assert title and axes, path.name
        assert all(ax.get_title() for ax in axes), path.name  # every panel names its model / sweep
        assert any(ax.get_xlabel() for ax in axes) and any(ax.get_ylabel() for ax in axes), path.name
        assert fig.legends or all(ax.get_legend() for ax in axes), path.name
        seen[path.name] = title
        real_save(fig, path, *args)

    monkeypatch.setattr(report_module, "save_figure", checking_save)
    fig_dir = tmp_path / "figures"
    markdown = R.diagnostics_sections(tables, results, predictions, fig_dir)
    links = re.findall(r"\(figures/([^)]+\.png)\)", markdown)
    assert sorted(links) == sorted(seen) and all((fig_dir / name).stat().st_size > 10_000 for name in links)
    assert {re.sub(r"_wine.*", "", name) for name in links} == {
        "learning_curves", "validation_curves", "history", "ablation", "imbalance"}
    headings = re.findall(r"^## (.+)$", markdown, flags=re.M)
    assert headings == ["Fit verdicts", "Learning curves", "Validation curves (regularization paths)",
                        "Keras training histories and early stopping", "Regularization ablation (Keras)",
                        "Class imbalance: class weighting off vs on", "Per-class recall on the hold-out test split"]
    assert D.VERDICT_RULE in markdown
    assert "| wine | logistic_regression | **" in markdown
    assert re.search(r"\| keras_dense \| \d+ \| \d\.\d{3} \| \d\.\d{3} \(1 fold\) \|", markdown)  # quick Keras: 1 fold
    sections = R.report_sections(tables)
    assert [s(results, predictions, fig_dir).startswith("## ") for s in sections] == [True] * 7


def test_run_study_diagnostics_uses_the_study_settings(wine):
    from study.spec import StudySpec

    spec = StudySpec(datasets=("wine", "breast_cancer"), models=(RIDGE, "keras_cnn"), cv=3, quick=False, n_jobs=1)
    datasets = [wine, load_dataset("breast_cancer")]
    rows, predictions = [], []
    for data in datasets:
        unit = fit_and_score(data, RIDGE, make_splits(data, 3, 0.2, 0), seed=0, quick=True)
        rows += unit["rows"]
        predictions += unit["predictions"]
    results = pd.DataFrame(rows, columns=COLUMNS)
    tables = D.run_study_diagnostics(spec, datasets, results, pd.DataFrame(predictions, columns=PREDICTION_COLUMNS),
                                     progress=False)
    assert tables["failures"].empty
    assert set(tables["learning_curves"]["dataset"]) == {"wine", "breast_cancer"}
    assert set(tables["validation_curves"]["model"]) == {RIDGE} and tables["histories"].empty
    assert tables["learning_curves"]["fold"].max() == 2  # the study's 3 folds
    assert set(tables["imbalance"]["dataset"]) == {"breast_cancer_imbalanced"}
    recall = tables["per_class_recall"]
    assert set(recall.loc[recall["dataset"] == "breast_cancer", "class"]) == {"malignant", "benign"}
    assert set(recall.loc[recall["dataset"] == "wine", "class"]) == {"class_0", "class_1", "class_2"}
