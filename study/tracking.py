"""MLflow export: a finished study's report logged as one parent run and one child run per unit.

``python -m study.run --mlflow [TRACKING_URI]`` (``pip install -e ".[mlflow]"``) checks the
tracking store before any training (:func:`tracking_uri`), then, once the report is in place,
logs it (:func:`log_study`) to the experiment :data:`EXPERIMENT`:

- the parent run (one per study): the study's settings as parameters, and ``report.md``,
  ``report.html``, ``results.csv`` and ``study.json`` as artifacts;
- one child run per dataset x model (tag ``mlflow.parentRunId``): the dataset, model and framework
  and the best parameters as parameters; per metric ``train_<metric>``, ``cv_mean_<metric>``,
  ``cv_std_<metric>``, ``test_<metric>`` (hold-out), ``gap_train_cv_<metric>`` and
  ``gap_cv_test_<metric>`` (``study.results.summarize``'s values, the numbers of
  ``results.csv``), and ``fit_time`` (seconds); the unit's figures under ``figures/`` and its
  stored model folder under ``model/``. A failed or skipped unit's run ends as FAILED with its
  reason in the tag ``error``.

Everything logged is read from the report folder and the result's tables: nothing is computed again.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from pathlib import Path

import pandas as pd

from study.lines import plain_line
from study.spec import InputError

__all__ = ["EXPERIMENT", "DEFAULT_STORE", "tracking_uri", "log_study", "unit_metrics"]

EXPERIMENT = "generalization-study"
"""The MLflow experiment every study is logged to."""
DEFAULT_STORE = "./mlruns"
"""``--mlflow`` without a value: a local MLflow file store in the current folder."""
CHECK_TIMEOUT = 10
"""Seconds to wait for a remote tracking server before training (one attempt, no retries)."""
_SPLITS = {"mean_train_score": "train", "mean_test_score": "cv_mean", "std_test_score": "cv_std",
           "test_score": "test", "gap_train_cv": "gap_train_cv", "gap_cv_test": "gap_cv_test"}
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://|^databricks")
_HOW = ("--mlflow takes a tracking URI (http://host:5000, sqlite:///mlflow.db, file:///path/mlruns, databricks) "
        "or a local folder (default ./mlruns)")


@contextlib.contextmanager
def _environment(**values):
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update({name: value for name, value in values.items()})
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _client(uri: str):
    """An ``MlflowClient`` on ``uri``; a local file store is allowed (MLflow >= 3.7 refuses it unless
    ``MLFLOW_ALLOW_FILE_STORE`` is set: it is the store ``--mlflow`` promises by default)."""
    from mlflow import MlflowClient

    if uri.startswith("file:"):
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    return MlflowClient(tracking_uri=uri)


def tracking_uri(value: str | None) -> str:
    """The tracking URI of ``--mlflow``'s value, checked before any training.

    Parameters
    ----------
    value : str or None
        A URI (``http(s)://``, ``sqlite:///``, ``file:///``, ``databricks``, ...), a local folder
        (made an absolute ``file:`` URI), or None for :data:`DEFAULT_STORE`.

    Returns
    -------
    str
        The URI; the store answered a query (a local store is created).

    Raises
    ------
    InputError
        MLflow is not installed, the value is empty, or the store cannot be reached or used,
        with what was found and how to fix it.
    """
    value = DEFAULT_STORE if value is None else value.strip()
    if not value:
        raise InputError(f"--mlflow got an empty value; {_HOW}.")
    try:
        import mlflow  # noqa: F401
    except ImportError:
        raise InputError('--mlflow needs MLflow, which is not installed. Install it with: pip install -e ".[mlflow]"'
                         ) from None
    uri = value if _SCHEME.match(value) else Path(value).expanduser().resolve().as_uri()
    try:
        with _environment(MLFLOW_HTTP_REQUEST_MAX_RETRIES="0", MLFLOW_HTTP_REQUEST_TIMEOUT=str(CHECK_TIMEOUT)):
            _client(uri).search_experiments(max_results=1)
    except Exception as exc:  # MLflow raises many kinds (MlflowException, OSError, requests' errors)
        detail = plain_line(exc)[:300]
        raise InputError(f"Cannot use the MLflow tracking store {value!r} ({type(exc).__name__}: {detail}); {_HOW}. "
                         "Start the server, check the URI, or leave out --mlflow.") from None
    return uri


def unit_metrics(row) -> dict:
    """The metrics of one unit's summary row (``study.results.summarize``) on one metric, by MLflow name
    (NaN values left out)."""
    return {f"{name}_{row['metric']}": float(row[column]) for column, name in _SPLITS.items()
            if pd.notna(row[column])}


def _unit_figures(figures: Path, dataset: str, model: str) -> list:
    """The figures of a unit: its own and its dataset's, by the names the report gave them
    (``study.names.figure_file``: exactly these files, never another dataset's)."""
    from study.names import FIGURES, figure_file

    names = [figure_file(kind, dataset, model if per == "unit" else None) for kind, per in FIGURES.items()]
    return sorted(figures / name for name in names if (figures / name).is_file())


def _summaries(results: pd.DataFrame) -> pd.DataFrame:
    """``summarize`` on every metric, stacked (column ``metric``)."""
    from study.results import summarize

    metrics = results.loc[results["status"] == "ok", "metric"].dropna().unique().tolist()
    if not metrics:
        return results.drop_duplicates(["dataset", "model"]).assign(metric=None)
    return pd.concat([summarize(results, metric).assign(metric=metric) for metric in metrics], ignore_index=True)


def _log_files(client, run_id: str, paths: list, folder: str | None = None) -> None:
    for path in paths:
        if path.is_dir():
            client.log_artifacts(run_id, str(path), folder)
        elif path.is_file():
            client.log_artifact(run_id, str(path), folder)


def log_study(result, report_dir, uri: str) -> str:
    """Log a study whose report is in ``report_dir`` to MLflow.

    Parameters
    ----------
    result : study.runner.StudyResult
    report_dir : path-like
        The report ``write_report`` wrote for ``result`` (its figures and models are logged).
    uri : str
        A tracking URI (:func:`tracking_uri`).

    Returns
    -------
    str
        The parent run's id.

    Raises
    ------
    InputError
        The store refused the logging (what MLflow said, in one line); the report is unaffected.
    """
    from study.report.models import model_folder

    from mlflow.entities import Metric, Param, RunTag

    report_dir = Path(report_dir)
    client = _client(uri)
    try:
        found = client.get_experiment_by_name(EXPERIMENT)
        experiment = found.experiment_id if found else client.create_experiment(EXPERIMENT)
        settings = result.spec.settings()
        parent = client.create_run(experiment, run_name=f"{report_dir.name}: {', '.join(settings['datasets'])}",
                                   tags={"report": str(report_dir)})
        parent_id = parent.info.run_id
        client.log_batch(parent_id, params=[Param(key, json.dumps(value, default=str)[:500])
                                            for key, value in settings.items()])
        _log_files(client, parent_id, [report_dir / name for name in ("report.md", "report.html", "results.csv",
                                                                      "study.json")])
        summaries = _summaries(result.results)
        for (dataset, model), rows in summaries.groupby(["dataset", "model"], sort=False):
            first = rows.iloc[0]
            child = client.create_run(experiment, run_name=f"{dataset} / {model}",
                                      tags={"mlflow.parentRunId": parent_id, "dataset": dataset, "model": model,
                                            "status": first["status"], "error": str(first["error"] or "")[:5000]})
            run_id = child.info.run_id
            params = json.loads(first["best_params"]) if first["best_params"] else {}
            params = {"dataset": dataset, "model": model, "framework": first["framework"], **params}
            metrics = {name: value for row in rows.to_dict("records") if row["metric"] for name, value in
                       unit_metrics(row).items()}
            if pd.notna(first["fit_time"]):
                metrics["fit_time"] = float(first["fit_time"])
            now = int(time.time() * 1000)
            client.log_batch(run_id, metrics=[Metric(name, value, now, 0) for name, value in metrics.items()],
                             params=[Param(key, str(value)[:500]) for key, value in params.items()],
                             tags=[RunTag("framework", str(first["framework"]))])
            if first["status"] == "ok":
                _log_files(client, run_id, _unit_figures(report_dir / "figures", dataset, model), "figures")
                _log_files(client, run_id, [model_folder(report_dir, dataset, model)], "model")
            client.set_terminated(run_id, "FINISHED" if first["status"] == "ok" else "FAILED")
        client.set_terminated(parent_id, "FINISHED")
    except Exception as exc:  # the store went away, refused a value, ...: one line, the report stands
        detail = plain_line(exc)[:300]
        raise InputError(f"Logging to MLflow at {uri} failed ({type(exc).__name__}: {detail}); the report in "
                         f"{report_dir} is complete. Check the tracking store and run again.") from None
    return parent_id
