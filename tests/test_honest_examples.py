"""The grouped and time-ordered examples run as written (quick settings): the leak of shuffled folds is
visible, the honest folds' estimate is close to the hold-out; the command line's new options and refusals;
the hold-out scores' curves in the report."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from study.config import load_config
from study.report import write_report
from study.run import main
from study.orchestrator import run_study

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def _study(tmp, workers, config: str, **changes):
    """Run an example's TOML as written, with quick settings, into ``tmp`` on ``workers`` (the test
    process's shared default workers: the TOML keeps the default ``n_jobs``); return (result, out)."""
    spec = replace(load_config(EXAMPLES / config), quick=True, out=tmp / "out", cache_dir=tmp / "cache", **changes)
    result = run_study(spec, progress=False, workers=workers)
    return result, write_report(result, spec.out, workers).parent


def _cv_and_test(result, model: str, metric: str) -> tuple:
    rows = result.results[(result.results["model"] == model) & (result.results["metric"] == metric)]
    return rows.loc[rows["split"] == "validation", "score"].mean(), rows.loc[rows["split"] == "test", "score"].item()


@pytest.fixture(scope="module")
def grouped(tmp_path_factory, shared_workers):
    tmp = tmp_path_factory.mktemp("grouped")
    return (_study(tmp / "honest", shared_workers, "grouped.toml"),
            _study(tmp / "shuffled", shared_workers, "grouped.toml", cv_kind="shuffled"))


@pytest.fixture(scope="module")
def time_ordered(tmp_path_factory, shared_workers):
    tmp = tmp_path_factory.mktemp("time")
    return (_study(tmp / "honest", shared_workers, "time_ordered.toml"),
            _study(tmp / "shuffled", shared_workers, "time_ordered.toml", cv_kind="shuffled"))


def test_grouped_folds_estimate_the_hold_out_and_shuffled_folds_are_optimistic(grouped):
    (honest, _), (shuffled, _) = grouped
    cv, test = _cv_and_test(honest, "random_forest", "accuracy")
    leaky_cv, _ = _cv_and_test(shuffled, "random_forest", "accuracy")
    assert abs(cv - test) < 0.1, (cv, test)
    assert leaky_cv - cv > 0.15, (leaky_cv, cv)  # visits of one patient on both sides: memorized


def test_the_grouped_report_states_its_protocol_search_and_curves(grouped):
    (result, out), _ = grouped
    report = (out / "report.md").read_text()
    assert "dataset 'patients': grouped splits by 'patient': the hold-out test split holds 40 whole groups" in report
    searches = pd.read_csv(out / "searches.csv").set_index("model")
    assert searches.loc["random_forest", "search"] == "RandomizedSearchCV"
    assert searches.loc["random_forest", "candidates"] == 5 and searches.loc["random_forest", "fits"] == 5 * 5
    assert "| patients | random_forest | RandomizedSearchCV | 1 | 5 | 25 |" in report
    predictions = pd.read_csv(out / "predictions.csv")
    assert {"proba:0", "proba:1"} <= set(predictions.columns) and predictions["proba:1"].notna().all()
    for prefix in ("roc", "pr", "confusion", "calibration"):
        assert (out / "figures" / f"{prefix}_patients.png").exists()
        assert f"](figures/{prefix}_patients.png)" in report
    roc = pd.read_csv(out / "roc_curves.csv")
    assert set(roc["model"]) == {"logistic_regression", "random_forest", "dummy"} and set(roc["class"]) == {1}
    confusion = pd.read_csv(out / "confusion.csv")
    assert np.allclose(confusion.groupby(["model", "true_class"])["fraction_of_true"].sum(), 1.0)


def test_time_ordered_folds_are_not_fooled_by_neighbouring_days(time_ordered):
    (honest, out), (shuffled, _) = time_ordered
    cv, test = _cv_and_test(honest, "random_forest", "r2")
    leaky_cv, _ = _cv_and_test(shuffled, "random_forest", "r2")
    assert leaky_cv - cv > 0.3 and leaky_cv - test > 0.3, (leaky_cv, cv, test)
    report = (out / "report.md").read_text()
    assert ("dataset 'sales': time-ordered splits by time column 'date': training rows from 2022-01-01 to "
            "2023-02-04, the hold-out test split the latest 100 rows (from 2023-02-05 to 2023-05-15)") in report


def test_halving_and_probability_metrics_on_iris(tmp_path, shared_workers):
    """--search halving reports its rounds; --metrics roc_auc_ovr neg_log_loss works on iris with its figures."""
    out = tmp_path / "out"
    code = main(["--datasets", "iris", "--models", "logistic_regression", "--search", "halving",
                 "--metrics", "roc_auc_ovr", "neg_log_loss", "--no-diagnostics", "--no-nested", "--out", str(out),
                 "--cache-dir", str(tmp_path / "cache")], workers=shared_workers)
    assert code == 0
    searches = pd.read_csv(out / "searches.csv")
    rounds = searches[searches["model"] == "logistic_regression"]
    # 5 candidates on 40 of the training part's 120 rows (subsampled in every fold), then the best 2 on all
    assert list(rounds["candidates"]) == [5, 2] and list(rounds["rows"]) == [40, 120]
    assert set(searches["search"]) == {"HalvingGridSearchCV"}
    report = (out / "report.md").read_text()
    assert "| iris | logistic_regression | HalvingGridSearchCV | 2 | 5 on 40 rows → 2 on 120 rows | 35 |" in report
    assert "Primary metric: **roc_auc_ovr**" in report
    assert set(pd.read_csv(out / "roc_curves.csv")["class"]) == {0, 1, 2}  # one-vs-rest
    for prefix in ("roc", "pr", "confusion", "calibration"):
        assert (out / "figures" / f"{prefix}_iris.png").exists()


def _refused(capsys, argv) -> str:
    assert main(argv + ["--no-cache"]) == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and "work:" not in err
    errors = [line for line in err.splitlines() if not line.startswith("warning: ")]  # notices on the data
    assert len(errors) == 1, err
    return errors[0]


def test_bad_groups_time_and_search_input_is_refused_in_one_line(tmp_path, capsys):
    table = pd.read_csv(EXAMPLES / "data" / "patients.csv")
    few = table.assign(patient=np.arange(len(table)) % 3)
    few.to_csv(tmp_path / "few.csv", index=False)
    err = _refused(capsys, ["--data", str(tmp_path / "few.csv"), "--target", "diagnosis", "--groups", "patient"])
    assert err == ("error: The groups column 'patient' of dataset 'few' has 3 distinct groups; grouped splits with "
                   "5 folds and a hold-out test split need at least 6 (one group per fold plus the hold-out's). Use "
                   "fewer folds (--cv) or data with more groups.")
    patients = str(EXAMPLES / "data" / "patients.csv")
    err = _refused(capsys, ["--data", patients, "--target", "diagnosis", "--groups", "patient", "--time", "f0"])
    assert err == ("error: Dataset 'patients' has both groups ('patient') and a time order ('f0'); expected one of "
                   "them: splits that are both grouped and time-ordered are not supported. Give --groups or --time "
                   "(groups or time in TOML, DataSource or Dataset), not both.")
    err = _refused(capsys, ["--data", patients, "--target", "diagnosis", "--groups", "visit"])
    assert err.startswith("error: Groups column 'visit' not found in dataset 'patients'; available columns:")
    err = _refused(capsys, ["--data", patients, "--target", "diagnosis", "--groups", "diagnosis"])
    assert err.startswith("error: The groups column 'diagnosis' of dataset 'patients' is its target")
    err = _refused(capsys, ["--datasets", "iris", "--groups", "patient"])
    assert err.startswith("error: --groups, --time and --time-features name columns of --data (a table)")
    err = _refused(capsys, ["--data", patients, "--target", "diagnosis", "--time", "f0", "--gap", "-2"])
    assert err == "error: gap must be an integer >= 0; got -2. Use e.g. --gap 0."
    toml = tmp_path / "bad.toml"
    toml.write_text('datasets = ["iris"]\n[[models]]\nname = "ridge"\nsearch = "random"\n'
                    'distributions = { alpha = { loguniform = [0, 10] } }\n')
    err = _refused(capsys, ["--config", str(toml)])
    assert err.startswith(f"error: {toml}: The distribution of 'alpha' for model 'ridge' is log-uniform, whose low "
                          "bound must be > 0; got [0, 10].")
