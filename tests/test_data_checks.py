"""The data checks (``study.data_checks``), their table, their report section and their severe
findings in "At a glance" (``study.report.data_checks``)."""

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import KFold

from study.data import load_dataset
from study.data_checks import (
    class_balance,
    constant_features,
    distribution_shift,
    duplicate_rows,
    leak_findings,
    run_data_checks,
    single_feature_scores,
)
from study.results import DATA_CHECK_COLUMNS, EXACT_FLOATS
from study.splits import make_splits

HOSTILE = "<img src=x onerror=alert(1)>"
WITH_TARGET, FEATURES = "rows (features and target)", "rows (features)"


def _by(rows: list, *keys) -> dict:
    return {tuple(row[k] for k in keys): row for row in rows}


def test_rows_duplicated_within_and_across_the_split_are_counted_exactly():
    rng = np.random.default_rng(0)
    train = pd.DataFrame(rng.normal(size=(100, 3)), columns=list("abc"))
    y_train = rng.integers(0, 2, 100)
    train.iloc[97:] = train.iloc[:3].to_numpy()  # 3 copies within the training part
    y_train[97:] = y_train[:3]
    test = pd.DataFrame(rng.normal(size=(40, 3)), columns=list("abc"))
    y_test = rng.integers(0, 2, 40)
    test.iloc[:4] = train.iloc[10:14].to_numpy()  # 4 hold-out rows copied with their target
    y_test[:4] = y_train[10:14]
    test.iloc[4:6] = train.iloc[20:22].to_numpy()  # 2 with the other class: label noise, not optimism
    y_test[4:6] = 1 - y_train[20:22]
    rows = _by(duplicate_rows(train, y_train, test, y_test), "check", "measure")
    across = rows["duplicates_across_split", WITH_TARGET]
    assert (across["value"], across["severity"]) == (4, "severe")  # 10% of the hold-out >= 5%
    assert across["text"].startswith("4 of 40 hold-out rows (10.0%) also occur in the training part")
    assert "the hold-out score is optimistic" in across["text"]
    assert rows["duplicates_across_split", FEATURES]["value"] == 6
    within = rows["duplicates_within_train", WITH_TARGET]
    assert (within["value"], within["severity"]) == (3, "warning")  # 3% of the training rows
    clean = _by(duplicate_rows(train.iloc[:97], y_train[:97], test.iloc[6:], y_test[6:]), "check", "measure")
    assert {(row["value"], row["severity"]) for row in clean.values()} == {(0, "info")}


def test_a_planted_leak_is_flagged_with_its_one_feature_score_and_an_honest_feature_is_not():
    rng = np.random.default_rng(1)
    y = rng.normal(size=400)
    X = pd.DataFrame({"signal": y + rng.normal(scale=1.0, size=400), "leak": y + rng.normal(scale=0.01, size=400),
                      "noise": rng.normal(size=400)})
    folds = list(KFold(5, shuffle=True, random_state=0).split(X))
    scores, chance = single_feature_scores(X, y, folds, "r2", "regression")
    assert list(scores.index) == ["leak", "signal", "noise"]
    assert scores["leak"] > 0.99 and 0.2 < scores["signal"] < 0.6 and chance < 0.0
    rows = leak_findings(scores, chance, "r2")
    assert [(r["feature"], r["severity"], r["value"]) for r in rows] == [("leak", "severe", scores["leak"])]
    assert "a possible leak" in rows[0]["text"]
    honest = leak_findings(scores.drop("leak"), chance, "r2")  # the best single feature is reported either way
    assert [(r["feature"], r["severity"]) for r in honest] == [("signal", "info")]


def test_constant_and_near_constant_features_are_flagged():
    rng = np.random.default_rng(2)
    X = pd.DataFrame({"constant": 5.0, "near": [0] * 995 + [1] * 5, "fine": rng.normal(size=1000),
                      "label": rng.choice(["a", "b"], 1000)})
    rows = constant_features(X)
    assert "always 5.0" in rows[0]["text"]
    assert [(r["feature"], r["severity"], r["value"]) for r in rows] == [("constant", "warning", 1.0),
                                                                         ("near", "info", 0.995)]
    clean = constant_features(X[["fine", "label"]])
    assert [(r["feature"], r["severity"]) for r in clean] == [(None, "info")]


def test_a_shifted_feature_is_flagged_and_an_unshifted_one_is_not():
    rng = np.random.default_rng(3)
    train = pd.DataFrame({"shifted": rng.normal(size=400), "same": rng.normal(size=400),
                          "category": rng.choice(["a", "b"], 400, p=[0.9, 0.1]),
                          "same_category": ["a", "b"] * 200})
    test = pd.DataFrame({"shifted": rng.normal(loc=1.0, size=100), "same": rng.normal(size=100),
                         "category": rng.choice(["a", "b"], 100, p=[0.1, 0.9]),
                         "same_category": ["b", "a"] * 50})
    rows = distribution_shift(train, test)
    assert [(r["feature"], r["severity"]) for r in rows] == [("shifted", "severe"), ("category", "severe")]
    assert all(r["value"] < 0.05 for r in rows) and "KS D = " in rows[0]["text"] and "Cramér" in rows[1]["text"]
    clean = distribution_shift(train[["same", "same_category"]], test[["same", "same_category"]])
    assert [(r["feature"], r["severity"]) for r in clean] == [(None, "info")]


def test_class_balance_counts_both_sides_and_warns_on_a_small_minority():
    rows = class_balance(np.array([0] * 95 + [1] * 5), np.array([0] * 24 + [1] * 1), ["healthy", "sick"])
    assert [(r["severity"], r["value"]) for r in rows] == [("warning", 0.05)]
    assert "smallest class 'sick': 5.0% of the training rows" in rows[0]["text"]
    assert "'healthy' 95/24, 'sick' 5/1" in rows[0]["text"]
    assert class_balance(np.array([0, 1] * 50), np.array([0, 1] * 10))[0]["severity"] == "info"


def test_the_clean_bundled_wine_dataset_gives_no_severe_finding():
    wine = load_dataset("wine")
    rows = run_data_checks(wine, make_splits(wine), "accuracy")
    assert set(rows[0]) == set(DATA_CHECK_COLUMNS)
    assert [r for r in rows if r["severity"] == "severe"] == []
    assert {r["check"] for r in rows} == {"duplicates_within_train", "duplicates_across_split", "single_feature_score",
                                          "constant_feature", "class_balance", "distribution_shift"}


def _planted() -> pd.DataFrame:
    """Noise, a constant column, a leak named like an HTML image tag, and 40 rows that repeat
    earlier ones (so that some copies fall on both sides of the hold-out split)."""
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 150)
    frame = pd.DataFrame(rng.normal(size=(150, 3)), columns=["x0", "x1", "x2"])
    frame = frame.assign(**{"always_one": 1.0, HOSTILE: y + rng.normal(scale=0.01, size=150), "label": y})
    return pd.concat([frame, frame.iloc[:40]], ignore_index=True)


def _held_out_copies(frame: pd.DataFrame, held_out: set) -> int:
    """Hold-out rows equal (features and target) to some training row, counted here independently."""
    rows = frame.apply(tuple, axis=1)
    training = set(rows[[i for i in range(len(frame)) if i not in held_out]])
    return sum(rows[i] in training for i in held_out)


def test_a_study_reports_its_data_checks_and_the_severe_ones_at_a_glance(tmp_path, shared_workers):
    from study.plan import Plan
    from study.report import write_report
    from study.orchestrator import prepare, run_study
    from study.spec import DataSource, StudySpec
    from study.store import Store

    planted = DataSource(_planted(), target="label", name="planted", task="classification")
    spec = StudySpec(datasets=(planted,), models=("ridge",), quick=True, cache_dir=tmp_path / "cache")
    result = run_study(spec, progress=False, workers=shared_workers)
    checks = result.tables["data_checks"]
    assert list(checks.columns) == DATA_CHECK_COLUMNS and set(checks["dataset"]) == {"planted"}
    leak = checks[checks["check"] == "single_feature_score"]
    assert leak[["feature", "severity", "value"]].values.tolist() == [[HOSTILE, "severe", 1.0]]
    constant = checks[checks["check"] == "constant_feature"]
    assert constant[["feature", "severity"]].values.tolist() == [["always_one", "warning"]]
    held_out = set(result.predictions.loc[result.predictions["model"] == "ridge", "index"].astype(int))
    copies = _held_out_copies(_planted(), held_out)
    across = checks[(checks["check"] == "duplicates_across_split") & (checks["severity"] != "info")]
    assert copies > 0 and across["value"].tolist() == [copies], (copies, across)
    assert result.tables["failures"].empty and "data_checks" in set(result.tables["timings"]["work"])
    _, models, datasets = prepare(spec)  # the store holds the checks under the plan's key
    assert Store(spec.cache_dir).load(Plan(spec, models, datasets).data_checks(datasets[0]).key) is not None

    report = write_report(result, tmp_path / "out", shared_workers).read_text()
    glance, rest = report.split("## Contents", 1)
    assert "**Severe data findings**" in glance and "(details: [Data checks](#data-checks))" in glance
    assert "- planted, one feature predicts the target: alone, feature '&lt;img src=x onerror=alert(1)>' " in glance
    assert rest.index("## Protocol") < rest.index("## Data checks") < rest.index("## planted")
    assert "**possible leak**: 1.000 (&lt;img src=x onerror=alert(1)>, accuracy)" in rest
    assert f"{copies} of {len(held_out)} hold-out rows" in report  # the duplicates across the split
    assert HOSTILE not in report
    html = (tmp_path / "out" / "report.html").read_text()
    assert "<img src=x" not in html and "onerror=alert(1)" in html and 'id="data-checks"' in html
    written = pd.read_csv(tmp_path / "out" / "data_checks.csv", **EXACT_FLOATS)
    columns = ["check", "severity", "value"]
    assert written[columns].values.tolist() == checks[columns].values.tolist()


def test_a_study_whose_data_checks_fail_still_writes_its_report(tmp_path, monkeypatch):
    import study.plan
    from study.report import write_report
    from study.orchestrator import run_study
    from study.spec import StudySpec

    def broken(dataset, splits, metric):
        raise RuntimeError(f"no checks for {dataset.name}")

    monkeypatch.setattr(study.plan, "run_data_checks", broken)  # in this process: the failure is the subject
    spec = StudySpec(datasets=("wine",), models=("ridge",), quick=True, cache_dir=tmp_path / "cache", n_jobs=1)
    with pytest.warns(RuntimeWarning, match="wine / data checks failed: RuntimeError: no checks for wine"):
        result = run_study(spec, progress=False)
    failures = result.tables["failures"].values.tolist()
    assert failures == [["wine", "", "data_checks", "RuntimeError: no checks for wine"]]
    assert result.tables["data_checks"].empty and (result.results["status"] == "ok").all()
    report = write_report(result, tmp_path / "out").read_text()
    assert "The data checks of wine failed: RuntimeError: no checks for wine" in report
    assert "## wine" in report and "## Failures" in report


def test_the_glance_lists_severe_findings_one_line_each_also_when_no_model_was_scored():
    from study.report.data_checks import GLANCE_LINES, severe_findings
    from study.report.glance import glance_section
    from study.results import COLUMNS, frame

    rows = [dict(dataset="d", check="distribution_shift", severity="severe", feature=f"f{i}", measure="p", value=0.0,
                 text=f"feature {HOSTILE!r} number {i} shifts") for i in range(GLANCE_LINES + 2)]
    tables = {"data_checks": frame(rows + [dict(rows[0], severity="warning", text="not at a glance")],
                                   DATA_CHECK_COLUMNS)}
    text = glance_section(frame([], COLUMNS), tables, None)
    assert text.startswith("## At a glance\n\nNo model was scored") and severe_findings(tables) in text
    lines = [line for line in text.splitlines() if line.startswith("- ")]
    assert len(lines) == GLANCE_LINES + 1 and lines[-1] == "- and 2 more"
    assert lines[0] == ("- d, training part vs hold-out shift: feature '&lt;img src=x onerror=alert(1)>' number 0 "
                        "shifts")
    assert "not at a glance" not in text and severe_findings({"data_checks": tables["data_checks"].iloc[-1:]}) == ""
