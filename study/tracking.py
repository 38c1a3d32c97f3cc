"""MLflow export: a finished study's report logged as one parent run and one child run per unit.

``python -m study.run --mlflow [TRACKING_URI]`` (``pip install -e ".[mlflow]"``, MLflow >= 3) checks
the tracking store before any training (:func:`tracking_uri`), then, once the report is in place,
logs it (:func:`log_study`) to the experiment :data:`EXPERIMENT`:

- the parent run (one per study): the study's settings as parameters; ``report.md``,
  ``report.html``, ``results.csv`` and ``study.json`` as artifacts; per dataset and metric the
  CV mean and hold-out score of the dataset's best model (``best_cv_<metric>_<dataset>``,
  ``best_test_<metric>_<dataset>``; the best model by the primary metric, as the report marks it,
  named in the tag ``best_model_<dataset>``);
- one child run per dataset x model (tag ``mlflow.parentRunId``): the dataset, model and framework
  and the best parameters as parameters; per metric ``train_<metric>``, ``cv_mean_<metric>``,
  ``cv_std_<metric>``, ``test_<metric>`` (hold-out), ``gap_train_cv_<metric>`` and
  ``gap_cv_test_<metric>`` (``study.results.summarize``'s values, the numbers of
  ``results.csv``), ``fit_time`` (seconds); per fold ``cv_train_<metric>`` and
  ``cv_validation_<metric>`` (step = fold index); for a Keras model with training histories
  (diagnostics on), its curves (``loss``, ``val_loss``, ``accuracy``, ``val_accuracy``; step =
  epoch) of the fit without early stopping on fold 0's training part, as the report draws them,
  and ``early_stopping_epoch`` / ``early_stopping_best_epoch`` of the early-stopping run; the
  unit's figures under ``figures/``, its stored model folder under ``stored_model/`` (for
  ``python -m study.predict``), and its tuned model as the MLflow model ``model``
  (``study.tracking_models``: ``mlflow.pyfunc.load_model(f"runs:/{run_id}/model")``). A failed or
  skipped unit's run ends as FAILED with its reason in the tag ``error``.

With ``register`` (``--mlflow-register NAME``) each model, but the ``dummy`` baseline's, becomes a
new version of the registered model ``NAME-<dataset>-<model>`` (:func:`registered_model_name`).

The metrics are built by ``study.tracking_metrics``; metric and tag names that hold a user's name
(a dataset's) go through its :func:`~study.tracking_metrics.mlflow_key`.
Everything logged is read from the report folder and the result's tables, except the few hold-out
rows of each model's input example (its dataset is loaded again, as the study loaded it).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import urllib.parse
import warnings
from pathlib import Path

import pandas as pd

from study.errors import InputError
from study.text import plain_line
from study.names import file_name
from study.tracking_metrics import fold_metrics, history_metrics, mlflow_key, summaries, summary_metrics, unit_metrics

__all__ = ["EXPERIMENT", "DEFAULT_STORE", "ARTIFACTS", "tracking_uri", "artifact_location", "log_study",
           "unit_metrics", "fold_metrics", "history_metrics", "summary_metrics", "mlflow_key",
           "check_registered_name", "registered_model_name"]

EXPERIMENT = "generalization-study"
"""The MLflow experiment every study is logged to."""
DEFAULT_STORE = "./mlruns"
"""``--mlflow`` without a value: a local MLflow file store in the current folder."""
ARTIFACTS = "mlartifacts"
"""Folder beside a SQLite database file that holds the artifacts of the experiment created there."""
CHECK_TIMEOUT = 10
"""Seconds to wait for a remote tracking server before training (one attempt, no retries)."""
_DATABASES = ("sqlite", "postgresql", "mysql", "mssql")  # MLflow's SQLAlchemy stores (mlflow.store.db.db_types)
_BATCH = 1000  # MLflow's limit of metrics per log_batch
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


@contextlib.contextmanager
def _tracking(uri: str):
    """MLflow's functions (``log_model``, ``register_model``) on ``uri`` meanwhile; the process's
    tracking URI (``mlflow.set_tracking_uri``'s and ``MLFLOW_TRACKING_URI``) restored after."""
    import mlflow

    from backends._compat import mlflow_tracking_uri_setting

    previous = mlflow_tracking_uri_setting()
    bars = os.environ.get("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # no bar per model file, unless asked
    with _environment(MLFLOW_TRACKING_URI=uri, MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR=bars):
        mlflow.set_tracking_uri(uri)
        try:
            yield
        finally:
            mlflow.set_tracking_uri(previous)


def _client(uri: str):
    """An ``MlflowClient`` on ``uri``; a local file store is allowed (MLflow >= 3.7 refuses it unless
    ``MLFLOW_ALLOW_FILE_STORE`` is set: it is the store ``--mlflow`` promises by default)."""
    from mlflow import MlflowClient

    if uri.startswith("file:"):
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    return MlflowClient(tracking_uri=uri)


def _scheme(uri: str) -> str:
    """The URI's scheme without a driver (``postgresql+psycopg2`` -> ``postgresql``); "" for a path
    (a one-letter scheme is a Windows drive, ``C:\\x``)."""
    scheme = urllib.parse.urlsplit(uri).scheme.lower()
    return "" if len(scheme) < 2 else scheme.split("+")[0]


def _store_uri(value: str) -> str:
    """The tracking URI of ``--mlflow``'s value: a ``file:`` URI in any form (``file:/x``,
    ``file:///x``, ``file:x``) read as MLflow reads it (``local_file_uri_to_path``) and a plain
    path both made an absolute ``file:///`` URI (a relative one from the current folder); any other
    URI (``sqlite:``, ``http(s):``, ``databricks``) unchanged."""
    from mlflow.utils.file_utils import local_file_uri_to_path

    scheme = _scheme(value)
    if scheme == "file":
        return Path(local_file_uri_to_path(value)).resolve().as_uri()
    if scheme or value.startswith("databricks"):
        return value
    return Path(value).expanduser().resolve().as_uri()


def artifact_location(uri: str) -> str | None:
    """Where the experiment :func:`log_study` creates in a store puts its artifacts.

    Parameters
    ----------
    uri : str
        A tracking URI (:func:`tracking_uri`).

    Returns
    -------
    str or None
        For a SQLite store, the folder :data:`ARTIFACTS` beside the database file, as a ``file:``
        URI (MLflow's default would be ``./mlruns`` in the current folder); None for any other
        store: a file store keeps them inside its folder, a server decides.

    Raises
    ------
    InputError
        An in-memory SQLite database (it forgets every run when the command ends).
    """
    if _scheme(uri) != "sqlite":
        return None
    from sqlalchemy.engine import make_url

    database = make_url(uri).database
    if not database or database == ":memory:":
        raise InputError(f"--mlflow {uri} is an in-memory database, which forgets every run when the command ends; "
                         "expected a database file. Give sqlite:///path/to/mlflow.db.")
    return (Path(database).resolve().parent / ARTIFACTS).as_uri()


def tracking_uri(value: str | None) -> str:
    """The tracking URI of ``--mlflow``'s value, checked before any training.

    Parameters
    ----------
    value : str or None
        A URI (``http(s)://``, ``sqlite:///``, ``file:``, ``databricks``, ...), a local folder, or
        None for :data:`DEFAULT_STORE`. Relative paths (``mlruns``, ``file:mlruns``,
        ``sqlite:///mlflow.db``) are read from the current folder, as MLflow reads them.

    Returns
    -------
    str
        The URI (a folder or ``file:`` URI made an absolute ``file:///`` URI); the store answered
        a query (a local store is created). Runs and artifacts go where MLflow puts them for that
        URI; a SQLite store's new experiment keeps its artifacts beside the database file
        (:func:`artifact_location`), never in the current folder.

    Raises
    ------
    InputError
        MLflow is not installed, the value is empty, the store cannot be reached or used, or it
        is another database (PostgreSQL, MySQL, SQL Server) without the experiment, whose
        artifacts MLflow would put in the current folder; with what was found and how to fix it.
    """
    value = DEFAULT_STORE if value is None else value.strip()
    if not value:
        raise InputError(f"--mlflow got an empty value; {_HOW}.")
    try:
        import mlflow  # noqa: F401
    except ImportError:
        raise InputError('--mlflow needs MLflow, which is not installed. Install it with: pip install -e ".[mlflow]"'
                         ) from None
    uri = _store_uri(value)
    artifact_location(uri)  # refuses an in-memory database
    try:
        with _environment(MLFLOW_HTTP_REQUEST_MAX_RETRIES="0", MLFLOW_HTTP_REQUEST_TIMEOUT=str(CHECK_TIMEOUT)):
            found = _client(uri).get_experiment_by_name(EXPERIMENT)
    except Exception as exc:  # MLflow raises many kinds (MlflowException, OSError, requests' errors)
        detail = plain_line(exc)[:300]
        raise InputError(f"Cannot use the MLflow tracking store {value!r} ({type(exc).__name__}: {detail}); {_HOW}. "
                         "Start the server, check the URI, or leave out --mlflow.") from None
    if found is None and _scheme(uri) in _DATABASES[1:]:
        raise InputError(f"The MLflow store {value!r} has no experiment {EXPERIMENT!r}, and MLflow would put its "
                         "artifacts in the current folder; expected the experiment to exist. Create it with its "
                         f"artifact location (mlflow experiments create -n {EXPERIMENT} -l <artifact URI>) or log "
                         "through a tracking server (mlflow server; --mlflow http://host:5000).")
    return uri


def check_registered_name(name: str) -> str:
    """``--mlflow-register``'s value, checked before any training (MLflow's rules for a registered
    model's name: not blank, no ``/`` or ``:``).

    Raises
    ------
    InputError
        A name MLflow would refuse, with the rule and an example.
    """
    if not name.strip() or "/" in name or ":" in name or name.strip() in (".", ".."):
        raise InputError(f"--mlflow-register got {name!r}; expected the name of a registered model: not blank, "
                         "without '/' or ':' (e.g. --mlflow-register churn).")
    return name.strip()


def registered_model_name(name: str, dataset: str, model: str) -> str:
    """``<name>-<dataset>-<model>``, the dataset and model names made safe by ``study.names.file_name``.

    One registered model per dataset x model: its versions are the same model (same features,
    classes, signature) tuned by successive studies, which is what a registered model holds.
    """
    return f"{name}-{file_name(dataset)}-{file_name(model)}"


def _unit_figures(figures: Path, dataset: str, model: str) -> list:
    """The figures of a unit: its own and its dataset's, by the names the report gave them
    (``study.names.figure_file``: exactly these files, never another dataset's)."""
    from study.names import FIGURES, figure_file

    names = [figure_file(kind, dataset, model if per == "unit" else None) for kind, per in FIGURES.items()]
    return sorted(figures / name for name in names if (figures / name).is_file())


def _log_files(client, run_id: str, paths: list, folder: str | None = None) -> None:
    for path in paths:
        if path.is_dir():
            client.log_artifacts(run_id, str(path), folder)
        elif path.is_file():
            client.log_artifact(run_id, str(path), folder)


def _log_metrics(client, run_id: str, metrics: list, model_id: str | None = None) -> None:
    """``[(key, value, step)]`` in batches of MLflow's limit, linked to the logged model ``model_id``."""
    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    entries = [Metric(key, value, now, step, model_id=model_id) for key, value, step in metrics]
    for start in range(0, len(entries), _BATCH):
        client.log_batch(run_id, metrics=entries[start:start + _BATCH])


def _experiment(client, uri: str) -> str:
    """The id of :data:`EXPERIMENT`, created with :func:`artifact_location` when missing."""
    found = client.get_experiment_by_name(EXPERIMENT)
    return found.experiment_id if found else client.create_experiment(EXPERIMENT, artifact_location(uri))


def _examples(result) -> dict:
    """Per dataset name, its input example rows (``study.tracking_models.example_rows``); a
    dataset that cannot be loaded again has none (its models are logged without example and
    signature). The loaders' notices were shown by the study already."""
    from study.orchestrator import load_datasets
    from study.tracking_models import example_rows

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            datasets = load_datasets(result.spec)
    except Exception:  # a data file moved since the study: its models still get logged
        return {}
    return {dataset.name: example_rows(dataset, result.predictions) for dataset in datasets}


def _log_model(client, uri: str, run_id: str, folder: Path, example, *, keras: bool, register: str | None,
               dataset: str, model: str) -> str | None:
    """The unit's MLflow model (and its registered version): its ``model_id``; a failure is the tag
    ``model_error``, a warning and None: the run's scores stand."""
    import mlflow

    from study.results import BASELINE
    from study.tracking_models import log_unit_model

    info, step = None, "logged"
    try:
        with _tracking(uri):
            info = log_unit_model(run_id, folder, example, keras=keras)
            if register and model != BASELINE:
                step = "registered"
                mlflow.register_model(info.model_uri, registered_model_name(register, dataset, model))
    except Exception as exc:  # a model MLflow cannot save or register: said, the other runs go on
        why = f"{type(exc).__name__}: {plain_line(exc)[:300]}"
        client.set_tag(run_id, "model_error", f"not {step}: {why}")
        warnings.warn(f"MLflow: the model of {dataset} / {model} was not {step} ({why}).", UserWarning, stacklevel=2)
    return None if info is None else info.model_id


def _log_unit(client, uri: str, experiment: str, parent_id: str, rows: pd.DataFrame, result, report_dir: Path,
              examples: dict, register: str | None) -> None:
    """One child run: its parameters, metrics, figures and model."""
    from mlflow.entities import Param, RunTag

    from study.report.models import model_folder

    first = rows.iloc[0]
    dataset, model = first["dataset"], first["model"]
    child = client.create_run(experiment, run_name=f"{dataset} / {model}",
                              tags={"mlflow.parentRunId": parent_id, "dataset": dataset, "model": model,
                                    "status": first["status"], "error": str(first["error"] or "")[:5000]})
    run_id = child.info.run_id
    params = json.loads(first["best_params"]) if first["best_params"] else {}
    params = {"dataset": dataset, "model": model, "framework": first["framework"], **params}
    metrics = [(name, value, 0) for row in rows.to_dict("records") if row["metric"]
               for name, value in unit_metrics(row).items()]
    if pd.notna(first["fit_time"]):
        metrics.append(("fit_time", float(first["fit_time"]), 0))
    client.log_batch(run_id, params=[Param(key, str(value)[:500]) for key, value in params.items()],
                     tags=[RunTag("framework", str(first["framework"]))])
    folder, model_id = model_folder(report_dir, dataset, model), None
    if first["status"] == "ok":
        from study.tracking_models import STORED

        _log_files(client, run_id, _unit_figures(report_dir / "figures", dataset, model), "figures")
        _log_files(client, run_id, [folder], STORED)
        if folder.is_dir():  # before the metrics: MLflow would copy every step-0 metric onto the model
            model_id = _log_model(client, uri, run_id, folder, examples.get(dataset),
                                  keras=first["framework"] == "keras", register=register, dataset=dataset, model=model)
    _log_metrics(client, run_id, metrics, model_id)  # the model's scores, shown with the logged model too
    _log_metrics(client, run_id, fold_metrics(result.results, dataset, model)
                 + history_metrics(result.tables.get("histories"), dataset, model))
    client.set_terminated(run_id, "FINISHED" if first["status"] == "ok" else "FAILED")


def log_study(result, report_dir, uri: str, *, register: str | None = None) -> str:
    """Log a study whose report is in ``report_dir`` to MLflow.

    Parameters
    ----------
    result : study.orchestrator.StudyResult
    report_dir : path-like
        The report ``write_report`` wrote for ``result`` (its figures and models are logged).
    uri : str
        A tracking URI (:func:`tracking_uri`).
    register : str or None, default=None
        Register each unit's model (but the ``dummy`` baseline's) as a new version of
        :func:`registered_model_name` ``(register, dataset, model)``.

    Returns
    -------
    str
        The parent run's id.

    Raises
    ------
    InputError
        The store refused the logging (what MLflow said, in one line); the report is unaffected.
        A model MLflow cannot log or register is not an error: its run gets the tag
        ``model_error`` and a warning says why.
    """
    from mlflow.entities import Param

    report_dir = Path(report_dir)
    client = _client(uri)
    try:
        experiment = _experiment(client, uri)
        settings = result.spec.settings()
        parent = client.create_run(experiment, run_name=f"{report_dir.name}: {', '.join(settings['datasets'])}",
                                   tags={"report": str(report_dir)})
        parent_id = parent.info.run_id
        client.log_batch(parent_id, params=[Param(key, json.dumps(value, default=str)[:500])
                                            for key, value in settings.items()])
        _log_files(client, parent_id, [report_dir / name for name in ("report.md", "report.html", "results.csv",
                                                                      "study.json")])
        table = summaries(result.results)
        examples = _examples(result) if len(result.models) else {}
        for _, rows in table.groupby(["dataset", "model"], sort=False):
            _log_unit(client, uri, experiment, parent_id, rows, result, report_dir, examples, register)
        metrics, tags = summary_metrics(result, table)
        _log_metrics(client, parent_id, [(key, value, 0) for key, value in metrics.items()])
        for key, value in tags.items():
            client.set_tag(parent_id, key, value)
        client.set_terminated(parent_id, "FINISHED")
    except InputError:
        raise
    except Exception as exc:  # the store went away, refused a value, ...: one line, the report stands
        detail = plain_line(exc)[:300]
        raise InputError(f"Logging to MLflow at {uri} failed ({type(exc).__name__}: {detail}); the report in "
                         f"{report_dir} is complete. Check the tracking store and run again.") from None
    return parent_id
