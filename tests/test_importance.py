"""Permutation importance of every unit's refit model on the hold-out split (study.statistics.importance)
and its report section (study.report.importance)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification
from sklearn.inspection import permutation_importance

from backends import BASELINE, get_model
from study import write_report
from study.data import Dataset, load_dataset
from study.names import figure_file
from study.protocol import fit_and_score, make_splits
from study.report.format import escape
from study.report.importance import importance_section
from study.results import IMPORTANCE_COLUMNS, frame
from study.orchestrator import load_datasets, run_study
from study.spec import DataSource, StudySpec
from study.statistics.importance import N_REPEATS, column_wise, importance_rows, signal_summary

SCRIPT = "<script>alert(1)</script>"
NOISE = ("noise_a", SCRIPT, "noise_c")
MODELS = ("logistic_regression", "keras_dense")


def _signal_frame(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """Column ``signal`` decides the class (with 5% of labels flipped); the others are pure noise."""
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=n)
    frame = pd.DataFrame({"signal": signal, **{name: rng.normal(size=n) for name in NOISE}})
    label = (signal > 0).astype(int)
    flip = rng.random(n) < 0.05
    frame["label"] = np.where(flip, 1 - label, label)
    return frame


@pytest.fixture(scope="module")
def study(tmp_path_factory, shared_workers):
    """A quick study (default n_jobs, the cache on, the test process's shared default workers) of a
    scikit-learn and a Keras model on the signal data, and its report."""
    base = tmp_path_factory.mktemp("importance")
    _signal_frame().to_csv(base / "signal.csv", index=False)
    source = DataSource(base / "signal.csv", target="label", task="classification")
    spec = StudySpec(datasets=(source,), models=MODELS, cv=3, quick=True, diagnostics=False, cache_dir=base / "cache")
    result = run_study(spec, progress=False, workers=shared_workers)
    report = write_report(result, base / "out", shared_workers)
    return spec, result, report


def test_the_signal_column_ranks_first_and_noise_is_near_zero(study):
    _, result, _ = study
    assert result.failed.empty
    table = result.tables["importance"]
    assert list(table.columns) == IMPORTANCE_COLUMNS
    for model in MODELS:
        rows = table[table["model"] == model].set_index("feature")
        assert rows.loc["signal", "rank"] == 1, model
        signal, noise = rows.loc["signal", "importance_mean"], rows.loc[list(NOISE), "importance_mean"].abs().max()
        assert signal > 0.2 and noise < 0.2 * signal, (model, signal, noise)
        assert rows["signal"].isna().all()  # the dataset does not say which columns carry signal


def test_rows_match_sklearn_on_the_refit_model_and_hold_out_rows(study):
    spec, result, _ = study
    dataset = load_datasets(spec)[0]
    table = result.tables["importance"]
    for model in MODELS:
        index = result.predictions.loc[result.predictions["model"] == model, "index"].to_numpy()
        X_test, y_test = dataset.X.iloc[index], dataset.y[index]
        expected = permutation_importance(result.best_estimator(dataset.name, model), X_test, y_test,
                                          scoring="accuracy", n_repeats=N_REPEATS, random_state=spec.seed)
        rows = table[table["model"] == model]
        assert rows["feature"].tolist() == list(dataset.X.columns)
        np.testing.assert_allclose(rows["importance_mean"], expected.importances_mean, atol=1e-12)
        np.testing.assert_allclose(rows["importance_std"], expected.importances_std, atol=1e-12)
        assert set(rows["n_test"]) == {len(index)} and set(rows["n_repeats"]) == {N_REPEATS}


def test_the_chance_baseline_has_no_importance(study):
    _, result, _ = study
    models = set(result.tables["importance"]["model"])
    assert models == set(MODELS) and BASELINE not in models
    assert BASELINE in set(result.results["model"])


def test_report_section_and_figure_escape_feature_names(study):
    _, result, report = study
    text = report.read_text()
    start = text.index("## What each model learned")
    section = text[start:text.index("\n## ", start)]
    name = figure_file("importance", result.tables["importance"]["dataset"].iloc[0])
    assert f"(figures/{name})" in section and (report.parent / "figures" / name).stat().st_size > 0
    assert escape(SCRIPT) in section and SCRIPT not in section and "<script" not in section
    assert (report.parent / "importance.csv").exists()
    assert "What each model learned" in (report.parent / "report.html").read_text()


def _one_fit(dataset: Dataset, model: str = "logistic_regression", seed: int = 0) -> tuple:
    """The unit's record of one candidate of ``model``, its splits and a Pipeline fitted the same way."""
    splits = make_splits(dataset, cv=3, seed=seed)
    estimator = get_model(model).estimator(dataset.task, random_state=seed)
    unit = fit_and_score(estimator, dataset, splits, grid={}, metrics=("accuracy",), importance_seed=seed)
    return unit, splits, estimator.fit(*splits.training_part(dataset))


@pytest.mark.parametrize("categorical", [False, True])
def test_column_wise_shortcut_gives_the_pipelines_numbers(categorical):
    """Permuting the preprocessed columns (numeric data) gives exactly the Pipeline's importances; with
    a categorical (one-hot encoded) column the Pipeline itself is permuted."""
    frame = _signal_frame(120, seed=1)
    if categorical:
        frame["colour"] = np.where(frame["noise_a"] > 0, "red", "blue")
    X = frame.drop(columns="label")
    dataset = Dataset("d", X, frame["label"].to_numpy(), "classification", feature_names=list(X.columns))
    unit, splits, fitted = _one_fit(dataset)
    X_test, y_test = splits.test_part(dataset)
    model, rows = column_wise(fitted, X_test)
    assert (model is fitted) == categorical
    expected = permutation_importance(fitted, X_test, y_test, scoring="accuracy", n_repeats=N_REPEATS, random_state=0)
    got = importance_rows(fitted, X_test, y_test, metric="accuracy", feature_names=list(X.columns), seed=0)
    np.testing.assert_array_equal([r["importance_mean"] for r in got], expected.importances_mean)
    np.testing.assert_array_equal([r["importance_std"] for r in got], expected.importances_std)
    assert [r["rank"] for r in got][0] == 1 and unit.importance == got  # the unit's rows: the same numbers


def test_wide_knows_its_signal_columns_and_the_section_counts_them(tmp_path):
    wide = load_dataset("wide")
    bunch = make_classification(n_samples=300, n_features=200, n_informative=10, n_redundant=10, flip_y=0.05,
                                class_sep=1.0, random_state=0, return_X_y=False)
    expected = [f"x{i}" for i, info in enumerate(bunch.feature_info) if info in ("informative", "redundant")]
    assert list(wide.signal_features) == expected and len(expected) == 20
    assert expected != [f"x{i}" for i in range(20)]  # shuffled columns: the signal is not first
    unit, _, _ = _one_fit(wide)
    table = frame([dict(dataset="wide", model="logistic_regression", **row) for row in unit.importance],
                  IMPORTANCE_COLUMNS)
    top = table.sort_values("rank").head(10)
    summary = signal_summary(table).iloc[0]
    assert summary["signal_in_top"] == top["signal"].sum() >= 3  # chance: 10 x 20 / 200 = 1
    assert summary["expected_in_top"] == pytest.approx(1.0)
    verdicts = pd.DataFrame({"dataset": ["wide"], "model": ["logistic_regression"], "verdict": ["overfitting"]})
    text = importance_section({"importance": table, "verdicts": verdicts}, tmp_path)
    leans = "it leans on the noise" if summary["leans_on_noise"] else "it does not lean on the noise"
    assert (f"**logistic_regression** (overfitting): {summary['signal_in_top']} of its top 10 features carry "
            "signal (1.0 if the ranks were random)") in text
    assert leans in text and "Of the overfitting models, logistic_regression" in text
    assert (tmp_path / figure_file("importance", "wide")).exists()


def test_no_importance_without_a_seed_and_an_empty_section():
    unit, _, _ = _one_fit(load_dataset("iris"))
    none = fit_and_score(get_model(BASELINE).estimator("classification"), load_dataset("iris"),
                         make_splits(load_dataset("iris"), cv=3), grid={}, metrics=("accuracy",))
    assert none.importance == [] and len(unit.importance) == 4
    with pytest.raises(ValueError, match="one name per column: got 2 names for 4 columns"):
        importance_rows(None, np.zeros((3, 4)), np.zeros(3), metric="accuracy", feature_names=["a", "b"], seed=0)
    assert "No permutation importance" in importance_section({"importance": frame([], IMPORTANCE_COLUMNS)}, None)
