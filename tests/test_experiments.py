"""Tests for the diagnostic experiments (study/experiments/), their tables, verdicts and report sections.

The protocol tests wrap every model's builder so that its pipeline starts with a row-recording
step (``recording_model``), run each experiment's ``run(job)`` in this process, and check which
dataset rows each fit saw: the shared folds' training parts, the whole training part for refits,
never a test row. Keras models run 2 epochs there to keep the file fast, and every fit in this
process uses one BLAS thread, as a study's fits do. The ``run_study`` test of a user model goes
through the worker processes (the default ``n_jobs``, what users run; the test process's shared
default workers, conftest ``shared_workers``), so what must fail there is
an estimator class defined at module level (importable by the workers); the other ``run_study``
test runs in this process (``n_jobs=1``).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import dataclasses  # noqa: E402
import functools  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
from collections import Counter  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, clone  # noqa: E402
from sklearn.datasets import make_classification  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from backends import BUILTIN_MODELS  # noqa: E402
from backends.custom import sklearn_model  # noqa: E402
from study.data import Dataset, load_dataset  # noqa: E402
from study.experiments import (  # noqa: E402
    EXPERIMENTS,
    Ablation,
    ClassImbalance,
    LearningCurves,
    TrainingHistories,
    ValidationCurves,
)
from study.experiments.learning_validation import SWEEPS, positions  # noqa: E402
from study.experiments.imbalance import make_imbalanced  # noqa: E402
from study.protocol import Job, Splits, make_splits, run_unit  # noqa: E402
from study.report import figures as figures_module  # noqa: E402
from study.report.learning_validation import learning_curves_section, validation_curves_section  # noqa: E402
from study.report.imbalance import imbalance_section, per_class_section  # noqa: E402
from study.report.keras import ablation_section, histories_section  # noqa: E402
from study.report.verdicts import failures_section, verdicts_section  # noqa: E402
from study.results import (  # noqa: E402
    ABLATION_COLUMNS,
    COLUMNS,
    FAILURE_COLUMNS,
    HISTORY_COLUMNS,
    IMBALANCE_COLUMNS,
    LEARNING_CURVE_COLUMNS,
    PREDICTION_COLUMNS,
    TABLES,
    VALIDATION_CURVE_COLUMNS,
    frame,
)
from study.statistics.holdout import per_class_recall  # noqa: E402
from study.statistics.verdicts import VERDICT_RULE, verdict_table  # noqa: E402

LR, RIDGE, RF, KD = "logistic_regression", "ridge", "random_forest", "keras_dense"
METRICS = ("accuracy", "balanced_accuracy")
pytestmark = pytest.mark.usefixtures("one_thread_per_fit")  # fit on one BLAS thread, as a study does
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


def recording_builder(spec, task, random_state=None, image_shape=None):
    """``spec``'s own pipeline, its first step wrapped in a :class:`RowRecorder`."""
    estimator = spec.estimator(task, random_state=random_state, image_shape=image_shape)
    estimator.steps[0] = ("preprocess", RowRecorder(estimator.steps[0][1]))
    return estimator


def recording_model(name):
    """The built-in model ``name`` with a recording first step (Keras: 2 epochs when quick)."""
    spec = BUILTIN_MODELS[name]
    extra = {"quick_params": {**spec.quick_params, "model__epochs": 2}} if spec.framework == "keras" else {}
    return dataclasses.replace(spec, builder=functools.partial(recording_builder, spec), **extra)


class PickyClassifier(ClassifierMixin, BaseEstimator):
    """Logistic regression that refuses to fit on fewer than ``min_rows`` rows."""

    def __init__(self, C=1.0, min_rows=60):
        self.C, self.min_rows = C, min_rows

    def fit(self, X, y):
        if len(X) < self.min_rows:
            raise RuntimeError("too few rows")
        self.model_ = LogisticRegression(C=self.C, max_iter=1000).fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict(self, X):
        return self.model_.predict(X)

    def predict_proba(self, X):
        return self.model_.predict_proba(X)


def row_sets(dataset: Dataset, kind: str, log=None) -> list:
    """The dataset row indices of each recorded call of ``kind``, as frozensets."""
    where = {row.tobytes(): i for i, row in enumerate(dataset.X)}
    return [frozenset(where[row.tobytes()] for row in X) for k, X in (LOG if log is None else log) if k == kind]


def run_recorded(experiment, job: Job):
    """``experiment.run(job)`` with the fits it makes: (rows, log)."""
    LOG.clear()
    rows = experiment.run(job)
    log = list(LOG)
    LOG.clear()
    return rows, log


@pytest.fixture(scope="module")
def wine():
    data = load_dataset("wine")
    assert len({row.tobytes() for row in data.X}) == data.n_samples  # rows identify themselves
    return data


@pytest.fixture(scope="module")
def spied(wine):
    """Every experiment that applies, once per model on wine (3 shared folds, quick), with fits
    recorded; then a full ablation on 2 folds and the imbalance experiment. Keras at 2 epochs."""
    splits = make_splits(wine, cv=3, test_size=0.2, seed=0)
    best = {LR: {"model__C": 1.0}, RIDGE: {"model__alpha": 10.0}, RF: {"model__max_depth": 8}, KD: {"model__l2": 1e-4}}
    rows = {e.name: [] for e in EXPERIMENTS}
    logs = {"run": []}
    for name in (LR, RIDGE, RF, KD):
        model = recording_model(name)
        for experiment in EXPERIMENTS:
            if not (experiment.after is not None and experiment.applies(model, wine, True)):
                continue
            options = experiment.options(model)
            if name == RF and "sweeps" in options:
                options = {"sweeps": options["sweeps"][:1]}  # keep the file fast
            job = Job(wine, splits, model, METRICS, seed=0, quick=True, params=best[name], options=options)
            got, log = run_recorded(experiment, job)
            rows[experiment.name] += got
            logs["run"] += log
    tables = {e.name: frame(rows[e.name], e.columns) for e in EXPERIMENTS}
    two_folds = Splits(train=splits.train, test=splits.test, folds=splits.folds[:2], n_splits=2)
    full = Job(wine, two_folds, recording_model(KD), METRICS, seed=0, quick=False,
               params={**best[KD], "model__epochs": 2})
    got, logs["ablation_full"] = run_recorded(Ablation(), full)
    tables["ablation_full"] = frame(got, ABLATION_COLUMNS)
    imbalanced = make_imbalanced(wine, ratio=0.25, seed=0)
    imbalance_splits = make_splits(imbalanced, cv=3, test_size=0.2, seed=0)
    imbalance_rows, logs["imbalance"] = [], []
    for name in (LR, RIDGE):
        job = Job(imbalanced, imbalance_splits, recording_model(name), METRICS, seed=0, quick=False,
                  options={"ratio": 0.25})
        got, log = run_recorded(ClassImbalance(), job)
        imbalance_rows += got
        logs["imbalance"] += log
    tables["imbalance"] = frame(imbalance_rows, IMBALANCE_COLUMNS)
    return dict(wine=wine, splits=splits, two_folds=two_folds, tables=tables, rows=rows, logs=logs, best=best,
                imbalanced=imbalanced, imbalance_splits=imbalance_splits, imbalance_rows=imbalance_rows)


# ----------------------------------------------------------------------------------- protocol


def test_curves_use_the_comparisons_fold_indices(wine):
    splits = make_splits(wine, cv=5, test_size=0.2, seed=0)
    fold_fit = [frozenset(splits.train[fit]) for fit, _ in splits.folds]
    fold_val = [frozenset(splits.train[val]) for _, val in splits.folds]
    model = recording_model(LR)
    vc_job = Job(wine, splits, model, METRICS, seed=0, quick=False, params={"model__C": 1.0},
                 options=ValidationCurves().options(model))
    vc, log = run_recorded(ValidationCurves(), vc_job)
    vc = frame(vc, VALIDATION_CURVE_COLUMNS)
    n_values = vc.drop_duplicates(["sweep", "param_value"]).shape[0]
    assert n_values == 6 + 5  # both LR sweeps, GridSearchCV's C=1.0 already in them
    assert Counter(row_sets(wine, "fit", log)) == Counter({s: n_values for s in fold_fit})
    assert set(fold_val) <= set(row_sets(wine, "transform", log))
    lc, log = run_recorded(LearningCurves(), Job(wine, splits, model, METRICS, seed=0, quick=False,
                                                 params={"model__C": 1.0}))
    lc = frame(lc, LEARNING_CURVE_COLUMNS)
    fits = row_sets(wine, "fit", log)
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


def test_no_experiment_fits_on_hold_out_test_rows(wine, spied):
    splits, logs = spied["splits"], spied["logs"]
    test, train = set(splits.test), set(splits.train)
    fold_fit = {frozenset(splits.train[fit]) for fit, _ in splits.folds}
    run_fits = row_sets(wine, "fit", logs["run"])
    assert len(run_fits) == 47  # LR 6+12, ridge 6+6, RF 6+6 (2 quick folds), Keras 2+1+2 (fold 0)
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


def test_imbalance_uses_its_own_splits_and_never_fits_on_their_test_rows(spied):
    data, splits = spied["imbalanced"], spied["imbalance_splits"]
    where = {row.tobytes(): i for i, row in enumerate(data.X)}
    fits = [frozenset(where[r.tobytes()] for r in X) for k, X in spied["logs"]["imbalance"] if k == "fit"]
    folds = {frozenset(splits.train[fit]) for fit, _ in splits.folds}
    # 2 models x 2 weightings x (3 folds + 1 refit)
    assert Counter(fits) == Counter({**{f: 4 for f in folds}, frozenset(splits.train): 4})
    table = spied["tables"]["imbalance"]
    assert table["dataset"].unique().tolist() == ["wine_imbalanced"]
    assert table["minority_class"].unique().tolist() == ["class_2"]
    assert table["ratio"].unique().tolist() == [0.25]
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


def test_experiments_apply_to_their_models(wine):
    ridge, dense, cnn = BUILTIN_MODELS[RIDGE], BUILTIN_MODELS[KD], BUILTIN_MODELS["keras_cnn"]
    for quick in (True, False):
        assert TrainingHistories().applies(dense, wine, quick) and not TrainingHistories().applies(ridge, wine, quick)
        assert Ablation().applies(dense, wine, quick) and not Ablation().applies(ridge, wine, quick)
        assert all(LearningCurves().applies(BUILTIN_MODELS[m], wine, quick) for m in BUILTIN_MODELS)
        assert ValidationCurves().applies(ridge, wine, quick)
    assert not ValidationCurves().applies(dense, wine, True) and ValidationCurves().applies(dense, wine, False)
    assert not ValidationCurves().applies(cnn, wine, True)
    picky = sklearn_model("picky", PickyClassifier())
    assert not ValidationCurves().applies(picky, wine, False)  # no sweeps for a user model
    assert ValidationCurves().options(picky) == {"sweeps": ()}
    assert ValidationCurves().options(ridge) == {"sweeps": SWEEPS[RIDGE]}
    assert [e.name for e in EXPERIMENTS] == ["learning_curves", "validation_curves", "histories", "ablation",
                                            "imbalance"]
    assert [e.after for e in EXPERIMENTS] == ["unit", "unit", "unit", "validation_curves", None]


def test_class_imbalance_picks_its_study_dataset(wine):
    cancer = load_dataset("breast_cancer")
    chosen = ClassImbalance.study_dataset([wine, cancer], seed=0)
    assert chosen.name == "breast_cancer_imbalanced"
    assert np.bincount(chosen.y).tolist() == [36, 357]  # malignant (212) cut to 0.1 x 357 benign
    assert ClassImbalance.study_dataset([wine], seed=0) is None  # no binary dataset
    binary = Dataset(name="toy", X=np.arange(300, dtype=float).reshape(150, 2), y=np.array([0] * 100 + [1] * 50),
                     task="classification")
    assert ClassImbalance.study_dataset([wine, binary], seed=0).name == "toy_imbalanced"


# ----------------------------------------------------------------------------------- tables


def test_tables_have_their_columns_and_quick_settings(spied):
    t = spied["tables"]
    for experiment in EXPERIMENTS:
        assert experiment.columns == TABLES[experiment.name]
        rows = spied["imbalance_rows"] if experiment.name == "imbalance" else spied["rows"][experiment.name]
        assert rows and all(set(row) == set(experiment.columns) for row in rows)  # every row has its table's columns
    assert list(t["learning_curves"].columns) == LEARNING_CURVE_COLUMNS
    assert list(t["validation_curves"].columns) == VALIDATION_CURVE_COLUMNS
    assert list(t["histories"].columns) == HISTORY_COLUMNS
    assert list(t["ablation"].columns) == ABLATION_COLUMNS
    assert list(t["imbalance"].columns) == IMBALANCE_COLUMNS
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
    assert t["ablation"]["fold"].unique().tolist() == [0]
    assert t["ablation"]["variant"].unique().tolist() == ["baseline", "all combined"]
    assert t["ablation"].loc[t["ablation"]["variant"] == "all combined", "settings"].iloc[0] == (
        "l2=0.0001, dropout=0.3, early stopping (patience 3, 20% inner validation)")
    full = t["ablation_full"]
    assert full["variant"].unique().tolist() == ["baseline", "L2", "dropout", "early stopping", "all combined"]
    assert full[full["split"] == "test"]["fold"].isna().all() and (full["split"] == "test").sum() == 5
    assert full.loc[full["variant"] == "L2", "settings"].iloc[0] == "l2=0.0001, dropout=0"
    assert full.loc[full["variant"] == "all combined", "settings"].iloc[0] == (
        "l2=0.0001, dropout=0.3, early stopping (patience 10, 20% inner validation)")


def test_the_ablation_run_variant_by_variant_gives_the_rows_of_one_run(spied):
    """The study runs a built-in Keras model's ablation as one work item per variant
    (``Ablation.parts``, both cores busy): their rows, in part order, are those of one run of every
    variant (the full ablation of :func:`spied`, seeded alike)."""
    job = Job(spied["wine"], spied["two_folds"], recording_model(KD), METRICS, seed=0, quick=False,
              params={**spied["best"][KD], "model__epochs": 2})
    parts = Ablation().parts(dataclasses.replace(job, model=BUILTIN_MODELS[KD]))
    assert [name for name, _ in parts] == ["baseline", "L2", "dropout", "early stopping", "all combined"]
    assert Ablation().parts(job) == [("", {})]  # a model whose builder is not the built-in one: one part
    rows = [row for _, options in parts for row in Ablation().run(dataclasses.replace(job, options=options))]
    pd.testing.assert_frame_equal(frame(rows, ABLATION_COLUMNS), spied["tables"]["ablation_full"])


def test_validation_curves_run_sweep_by_sweep_give_the_rows_of_one_run(wine):
    """One work item per sweep (``ValidationCurves.parts``): the same rows as one run of both sweeps."""
    splits = make_splits(wine, cv=3, test_size=0.2, seed=0)
    model = BUILTIN_MODELS[RF]
    job = Job(wine, splits, model, METRICS, seed=0, quick=True, params={"model__max_depth": 8},
              options=ValidationCurves().options(model))
    parts = ValidationCurves().parts(job)
    assert [name for name, _ in parts] == [sweep.label for sweep in SWEEPS[RF]] and len(parts) == 2
    whole = ValidationCurves().run(job)
    assert [row for _, options in parts for row in ValidationCurves().run(
        dataclasses.replace(job, options={**job.options, **options}))] == whole
    assert sum(ValidationCurves().n_fits(dataclasses.replace(job, options=options)) for _, options in parts) == (
        ValidationCurves().n_fits(job))


def test_validation_curves_mark_the_gridsearch_choice_and_place_none(spied):
    vc = spied["tables"]["validation_curves"]
    rf = vc[(vc["model"] == RF) & (vc["fold"] == 0) & (vc["split"] == "validation")]
    assert rf["param_label"].tolist() == ["2", "8", "None"]
    assert rf["param_value"].tolist() == [2.0, 8.0, 16.0]  # None: twice the largest finite depth
    assert rf["chosen"].tolist() == [False, True, False]
    assert set(rf["chosen_source"]) == {"GridSearchCV"}
    assert set(rf["axis_label"]) == {"max_depth (tree levels, log scale; None = unlimited)"}
    lr = vc[(vc["model"] == LR) & (vc["fold"] == 0) & (vc["split"] == "train")]
    assert lr.groupby("sweep")["chosen"].sum().to_dict() == {"C, L1 penalty (saga)": 1, "C, L2 penalty": 1}
    assert set(lr.loc[lr["sweep"] == "C, L1 penalty (saga)", "chosen_source"]) == {
        "GridSearchCV (tuned with the L2 penalty)"}
    assert set(lr["axis_label"]) == {"C (inverse penalty strength, log scale)"}
    assert KD not in set(vc["model"])  # quick: no Keras validation curves
    assert positions([0.0, 1e-4, 1e-2], log=True) == [1e-5, 1e-4, 1e-2]  # 0: a decade left of 1e-4
    assert positions([1, 2, 4, 8, 16, None], log=True) == [1, 2, 4, 8, 16, 32]  # None: twice the largest


def test_an_untuned_swept_parameter_marks_the_value_in_use(wine):
    splits = make_splits(wine, cv=3, test_size=0.2, seed=0)
    ridge = BUILTIN_MODELS[RIDGE]
    job = Job(wine, splits, ridge, METRICS, seed=0, quick=True, options=ValidationCurves().options(ridge))
    vc = frame(ValidationCurves().run(job), VALIDATION_CURVE_COLUMNS)
    marked = vc[vc["chosen"]].drop_duplicates("param_label")
    assert marked[["param_label", "chosen_source"]].values.tolist() == [["1", "default (not tuned)"]]


def test_a_failing_experiment_is_recorded_not_raised(tmp_path, shared_workers):
    from study.orchestrator import run_study
    from study.spec import StudySpec

    picky = sklearn_model("picky", PickyClassifier())
    spec = StudySpec(datasets=("wine",), models=(picky,), cv=3, quick=True, diagnostics=True, cache_dir=tmp_path)
    with pytest.warns(RuntimeWarning, match=re.escape("wine / picky / learning_curves failed")):
        result = run_study(spec, progress=False, workers=shared_workers)
    tables = result.tables
    # the unit fits ~95 rows per fold and succeeds; the smallest learning-curve subset has fewer than 60
    assert set(result.results["status"]) == {"ok"}
    assert list(tables["failures"].columns) == FAILURE_COLUMNS
    assert tables["failures"].values.tolist() == [["wine", "picky", "learning_curves", "RuntimeError: too few rows"]]
    lc = tables["learning_curves"]
    assert "picky" not in set(lc["model"]) and list(lc.columns) == LEARNING_CURVE_COLUMNS
    # no sweeps, not Keras, no binary data; the chance baseline: its unit only
    assert sorted(tables["timings"]["work"]) == ["data_checks", "learning_curves", "unit", "unit"]


# ----------------------------------------------------------------------------------- per-class recall


def test_experiments_take_the_units_own_fits_instead_of_fitting_them_again(wine):
    """Validation-curve points, the learning curve's whole-fold point and ablation variants that
    are one of the unit's grid-search candidates on the same folds come from the unit."""
    from sklearn.model_selection import validation_curve

    from study.experiments.base import FITTED, FROM_UNIT
    from study.protocol import fit_and_score

    splits = make_splits(wine, cv=3, test_size=0.2, seed=0)
    ridge = BUILTIN_MODELS[RIDGE]
    job = Job(wine, splits, ridge, METRICS, seed=0, quick=False)
    unit = fit_and_score(job.estimator(), wine, splits, grid={"model__alpha": [0.1, 1.0, 10.0]}, metrics=METRICS)
    job = dataclasses.replace(job, params=unit.best_params, search=unit.search,
                              options=ValidationCurves().options(ridge))
    vc = pd.DataFrame(ValidationCurves().run(job), columns=VALIDATION_CURVE_COLUMNS)
    reused = vc[vc["source"] == FROM_UNIT]
    assert sorted(set(reused["param_label"])) == ["0.1", "1", "10"]
    assert set(vc.loc[vc["source"] == FITTED, "param_label"]) == {"0.01", "100", "1000"}
    X, y = splits.training_part(wine)
    train, val = validation_curve(job.estimator(), X, y, param_name="model__alpha", param_range=[0.1, 1.0, 10.0],
                                  cv=splits.folds, scoring="accuracy")
    for i, label in enumerate(["0.1", "1", "10"]):  # exactly what fitting them again gives
        point = reused[reused["param_label"] == label].sort_values("fold")
        assert point.loc[point["split"] == "train", "score"].tolist() == train[i].tolist()
        assert point.loc[point["split"] == "validation", "score"].tolist() == val[i].tolist()
    lc = pd.DataFrame(LearningCurves().run(job), columns=LEARNING_CURVE_COLUMNS)
    whole = lc[lc["train_fraction"] == 1.0]
    assert set(whole["source"]) == {FROM_UNIT} and set(lc.loc[lc["train_fraction"] < 1, "source"]) == {FITTED}
    chosen = reused[reused["chosen"]]
    assert whole.sort_values(["fold", "split"])["score"].tolist() == chosen.sort_values(["fold", "split"])[
        "score"].tolist()


def test_the_ablation_takes_the_validation_curves_points_it_shares(wine):
    """keras_dense chose dropout 0: its ablation baseline (l2 0, dropout 0) is the L2 sweep's 0 point."""
    from study.experiments.base import FITTED
    from study.experiments.keras_training import FROM_CURVES

    splits = make_splits(wine, cv=3, test_size=0.2, seed=0)
    dense = dataclasses.replace(BUILTIN_MODELS[KD], quick_params={"model__epochs": 3})
    job = Job(wine, splits, dense, METRICS, seed=0, quick=False, params={"model__l2": 1e-4, "model__dropout": 0.0},
              options={"sweeps": SWEEPS[KD][:1]})
    curves = ValidationCurves().run(dataclasses.replace(job, params={**job.params, "model__epochs": 3}))
    ablation = Ablation().run(dataclasses.replace(job, params={**job.params, "model__epochs": 3},
                                                  options={"earlier": curves}))
    table = pd.DataFrame(ablation, columns=ABLATION_COLUMNS)
    baseline = table[(table["variant"] == "baseline") & (table["split"] != "test")]
    assert set(baseline["source"]) == {FROM_CURVES}
    point = pd.DataFrame(curves, columns=VALIDATION_CURVE_COLUMNS).query("param_label == '0'")
    assert sorted(baseline["score"]) == sorted(point["score"])
    assert set(table.loc[table["variant"] == "dropout", "source"]) == {FITTED}


def test_the_early_stopping_history_is_the_fit_without_it_cut_where_keras_stops():
    from study.experiments.keras_training import early_stopping_epochs

    X, y = make_classification(n_samples=300, n_features=20, n_informative=3, flip_y=0.3, random_state=0)
    noisy = Dataset(name="noisy", X=X, y=y, task="classification")
    splits = make_splits(noisy, cv=3, test_size=0.2, seed=0)
    job = Job(noisy, splits, BUILTIN_MODELS[KD], METRICS, seed=0, quick=False)
    X, y = splits.training_part(noisy)
    settings = dict(validation_fraction=0.2, epochs=60, patience=3, l2=0.0)
    free = job.estimator(**settings).fit(X, y)[-1]
    stopping = job.estimator(early_stopping=True, **settings).fit(X, y)[-1]
    stopped, best = early_stopping_epochs(free.history_["val_loss"], patience=3)
    assert (stopped, best) == (stopping.stopped_epoch_, stopping.best_epoch_) and best < stopped < 60
    np.testing.assert_allclose(stopping.history_["val_loss"], free.history_["val_loss"][:stopped], rtol=1e-6)
    assert early_stopping_epochs([3, 2, 1], patience=2) == (3, 3)  # never stops: the last epoch
    assert early_stopping_epochs([3, 2, 2, 2.5], patience=2) == (4, 2)


def test_per_class_recall_exact():
    predictions = pd.DataFrame({
        "dataset": ["d"] * 6, "model": ["m"] * 6, "index": range(6),
        "y_true": [0, 0, 0, 1, 1, 2], "y_pred": [0, 0, 1, 1, 0, 2]})
    table = per_class_recall(predictions, class_names={"d": ["zero", "one", "two"]})
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


# ----------------------------------------------------------------------------------- imbalance


@pytest.fixture
def toy():
    y = np.array([0] * 100 + [1] * 50)
    X = np.arange(300, dtype=float).reshape(150, 2)
    return Dataset(name="toy", X=X, y=y, task="classification", target_names=["neg", "pos"])


def test_make_imbalanced_counts_match_the_ratio(toy, wine):
    data = make_imbalanced(toy, ratio=0.2, seed=0)
    assert data.name == "toy_imbalanced"
    assert np.bincount(data.y).tolist() == [100, 20]
    assert np.isin(data.X[:, 0], toy.X[:, 0]).all()  # rows kept as they were
    by_name = make_imbalanced(toy, minority_class="pos", ratio=0.2, seed=0)
    np.testing.assert_array_equal(by_name.X, data.X)
    assert not np.array_equal(make_imbalanced(toy, ratio=0.2, seed=1).X, data.X)  # seeded
    flipped = make_imbalanced(toy, minority_class=0, ratio=0.5, seed=0)
    assert np.bincount(flipped.y).tolist() == [25, 50]
    multi = make_imbalanced(wine, ratio=0.1, seed=0)  # smallest class 2 (48 rows); largest 71
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
        make_imbalanced(toy, **kwargs)
    assert str(info.value) == message


def test_make_imbalanced_rejects_regression():
    with pytest.raises(ValueError) as info:
        make_imbalanced(load_dataset("diabetes"))
    assert str(info.value) == "make_imbalanced needs a classification dataset; 'diabetes' has task 'regression'."


# ----------------------------------------------------------------------------------- report


def _main_comparison(wine, splits, names):
    """The results and predictions tables of quick units of ``names`` on wine (labelled as the runner does)."""
    rows, predictions = [], []
    for name in names:
        model = BUILTIN_MODELS[name]
        unit = run_unit(Job(wine, splits, model, METRICS, seed=0, quick=True), model.grid_for(True))
        labels = dict(dataset=wine.name, model=name, framework=model.framework,
                      best_params=json.dumps(unit.best_params, sort_keys=True), fit_time=unit.fit_time,
                      status="ok", error="")
        rows += [{**labels, **row} for row in unit.rows]
        predictions.append(unit.predictions.assign(dataset=wine.name, model=name))
    predictions = pd.concat(predictions, ignore_index=True)
    return frame(rows, COLUMNS), predictions[PREDICTION_COLUMNS + [c for c in predictions if c not in
                                                                    PREDICTION_COLUMNS]]


def test_report_sections_write_titled_figures(wine, spied, tmp_path, monkeypatch):
    results, predictions = _main_comparison(wine, spied["splits"], (LR, RIDGE))
    t = spied["tables"]
    tables = {**t, "ablation": pd.concat([t["ablation"], t["ablation_full"].assign(dataset="wine (full)")]),
              "verdicts": verdict_table(results, t["learning_curves"]),
              "per_class_recall": per_class_recall(predictions, {wine.name: wine.target_names}),
              "failures": frame([], FAILURE_COLUMNS)}
    seen = {}
    real_save = figures_module.save_figure

    def checking_save(fig, path, *args):
        title = fig._suptitle.get_text() if fig._suptitle else ""
        axes = [ax for ax in fig.axes if ax.has_data()]
        assert title and axes, path.name
        assert all(ax.get_title() for ax in axes), path.name  # every panel names its model / sweep
        assert any(ax.get_xlabel() for ax in axes) and any(ax.get_ylabel() for ax in axes), path.name
        assert fig.legends or all(ax.get_legend() for ax in axes), path.name
        seen[path.name] = title
        real_save(fig, path, *args)

    monkeypatch.setattr(figures_module, "save_figure", checking_save)
    fig_dir = tmp_path / "figures"
    sections = (verdicts_section, learning_curves_section, validation_curves_section, histories_section,
                ablation_section, imbalance_section, per_class_section)
    texts = [section(tables, fig_dir) for section in sections]
    assert [text.startswith("## ") for text in texts] == [True] * len(sections)
    markdown = "\n".join(texts)
    links = re.findall(r"\(figures/([^)]+\.png)\)", markdown)
    assert sorted(links) == sorted(seen) and all((fig_dir / name).stat().st_size > 10_000 for name in links)
    assert {re.sub(r"_wine.*", "", name) for name in links} == {
        "learning_curves", "validation_curves", "history", "ablation", "imbalance"}
    headings = re.findall(r"^## (.+)$", markdown, flags=re.M)
    assert headings == ["Fit verdicts", "Learning curves", "Validation curves (regularization paths)",
                        "Keras training histories and early stopping", "Regularization ablation (Keras)",
                        "Class imbalance: class weighting off vs on", "Per-class recall on the hold-out test split"]
    assert VERDICT_RULE in markdown
    assert "| wine | logistic_regression | **" in markdown
    assert re.search(r"\| keras_dense \| \d+ \| \d\.\d{3} \| \d\.\d{3} \(1 fold\) \|", markdown)  # quick Keras: 1 fold
    assert failures_section(tables, fig_dir) == ""  # nothing failed: no section
    failed = {"failures": frame([dict(dataset="wine", model=RIDGE, work="learning_curves",
                                      error="RuntimeError: boom")], FAILURE_COLUMNS)}
    assert failures_section(failed, fig_dir).startswith("## Failures")
    assert "- learning_curves of ridge on wine: RuntimeError: boom" in failures_section(failed, fig_dir)


def test_run_study_experiments_use_the_study_settings(tmp_path):
    from study.orchestrator import run_study
    from study.spec import StudySpec

    spec = StudySpec(datasets=("wine", "breast_cancer"), models=(RIDGE, "keras_cnn"), cv=3, quick=False,
                     nested=False, grids={RIDGE: {"alpha": [1.0]}}, cache_dir=tmp_path, n_jobs=1)
    tables = run_study(spec, progress=False).tables
    assert set(tables) == set(TABLES)
    assert tables["failures"].empty
    lc = tables["learning_curves"]
    assert set(lc["dataset"]) == {"wine", "breast_cancer"}
    assert lc.groupby("dataset")["fold"].unique().apply(sorted).to_dict() == {"wine": [0, 1, 2],
                                                                              "breast_cancer": [0, 1, 2]}
    assert lc["train_size"].nunique() > 3  # the full study's sizes
    assert set(tables["validation_curves"]["model"]) == {RIDGE}
    assert tables["histories"].empty and tables["ablation"].empty  # keras_cnn skipped on tabular data
    assert set(tables["imbalance"]["dataset"]) == {"breast_cancer_imbalanced"}
    assert set(tables["imbalance"]["model"]) == {RIDGE}
    recall = tables["per_class_recall"]
    assert set(recall.loc[recall["dataset"] == "breast_cancer", "class"]) == {"malignant", "benign"}
    assert set(recall.loc[recall["dataset"] == "wine", "class"]) == {"class_0", "class_1", "class_2"}
    verdicts = tables["verdicts"]
    assert list(verdicts.columns) == TABLES["verdicts"]
    assert sorted(verdicts[["dataset", "model"]].values.tolist()) == [["breast_cancer", RIDGE], ["wine", RIDGE]]
