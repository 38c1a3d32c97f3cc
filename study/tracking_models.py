"""MLflow models of a study's units: each tuned model logged with an MLflow flavour (``MLmodel``).

``study.tracking.log_study`` calls :func:`log_unit_model` once per successful unit, in that unit's
child run; the model is then an MLflow *logged model* named :data:`MODEL_NAME` of that run:

- ``mlflow.pyfunc.load_model(f"runs:/{child_run_id}/model")`` loads any of them and its
  ``predict(rows)`` returns what ``study.predict.predict`` returns as ``y_pred`` on the same rows;
- a scikit-learn pipeline (``framework`` "scikit-learn") is logged with MLflow's own flavour,
  ``mlflow.sklearn.log_model`` (cloudpickle, as the study's ``estimator.pkl``: our pipelines hold
  the project's classes, which MLflow's default ``skops`` format would refuse unless each one is
  listed as trusted, in a list the model itself carries), so ``mlflow.sklearn.load_model`` gives
  back the fitted Pipeline (``predict_proba`` too);
- a pipeline holding Keras networks is logged as :class:`StoredModel`, an
  ``mlflow.pyfunc.PythonModel`` that carries the study's stored model folder
  (``models/<dataset>/<model>/``) as its artifact :data:`STORED` and loads it as
  ``study.model_store.load_model`` does (each network from its native ``.keras`` file, never a pickled
  TensorFlow object). ``mlflow.sklearn.load_model`` does not apply to these: use
  ``mlflow.pyfunc.load_model``, or ``study.model_store.load_model`` on the artifact folder.

Every model has a signature (``mlflow.models.infer_signature`` on the input example and the
model's predictions for it; every input column optional, as the pipelines impute missing values)
and an input example: the first :data:`EXAMPLE_ROWS` hold-out test rows
of its dataset, as a DataFrame with the training column names (no other row of the data is
logged). Its requirements are the library versions its ``model.json`` recorded.

Loading needs this project importable (``pip install -e .``): the pipelines hold its classes
(``backends.preprocessing.CountedPipeline``, the Keras wrappers), and :class:`StoredModel` is one of
them. No ``code_paths`` are logged: with the package installed they are not needed, and a copy
of the code inside each model would go stale.

This module imports MLflow at import time; only ``study.tracking`` imports it, once MLflow is
known to be installed.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from mlflow.pyfunc import PythonModel

__all__ = ["MODEL_NAME", "STORED", "EXAMPLE_ROWS", "StoredModel", "example_rows", "log_unit_model"]

MODEL_NAME = "model"
"""Name of each child run's logged model: ``runs:/<child_run_id>/model``."""
STORED = "stored_model"
"""The study's stored model folder: artifact of a :class:`StoredModel`, and folder of the child run."""
EXAMPLE_ROWS = 5
"""Hold-out test rows logged as a model's input example (no more rows of the data are logged)."""
_KERAS_LIBRARIES = ("tensorflow", "keras", "scikeras")


class StoredModel(PythonModel):
    """An MLflow pyfunc model that is a study's stored model folder (``models/<dataset>/<model>/``).

    ``load_context`` loads the folder logged as the artifact :data:`STORED` with
    ``study.model_store.load_model`` (its checks: ``model.json``'s schema, the files' digests, one notice
    saying what is unpickled); ``predict`` checks the rows as ``study.predict.model_input`` does
    (the feature columns by name, in any order; values training would refuse) and returns the
    estimator's ``predict``, i.e. ``study.predict.predict``'s ``y_pred``. Needs this project
    installed (``pip install -e .``): no ``code_paths`` are logged.
    """

    def load_context(self, context):
        from study.model_store import load_model, read_info

        folder = context.artifacts[STORED]
        self.info_ = read_info(folder)
        self.estimator_ = load_model(folder)

    def predict(self, context, model_input: pd.DataFrame, params=None) -> np.ndarray:
        """Predictions for ``model_input``.

        Parameters
        ----------
        context : mlflow.pyfunc.PythonModelContext
        model_input : pandas.DataFrame of shape (n_samples, n_features)
            Exactly the model's feature columns (``model.json``'s ``features``), any order.
        params : dict or None, default=None
            Unused.

        Returns
        -------
        ndarray of shape (n_samples,)
            The predicted class or value of each row, in order.

        Raises
        ------
        study.spec.InputError
            A missing or an extra column, or a value the model's checks refuse.
        """
        from study.predict import model_input as checked

        return np.asarray(self.estimator_.predict(checked(pd.DataFrame(model_input), self.info_)))


def example_rows(dataset, predictions: pd.DataFrame, n: int = EXAMPLE_ROWS) -> pd.DataFrame:
    """The first ``n`` hold-out test rows of ``dataset`` as a DataFrame with the training columns.

    Parameters
    ----------
    dataset : study.data.Dataset
        The study's dataset (loaded and checked as the study loaded it).
    predictions : pandas.DataFrame
        The study's hold-out predictions (``index``: row index into ``dataset``), any models.
    n : int, default=EXAMPLE_ROWS

    Returns
    -------
    pandas.DataFrame of shape (n, n_features)
        Columns: the dataset's feature names as text (``x0``, ``x1``, ... for an array without names).
    """
    from study.data.dataset import take_rows

    rows = predictions.loc[predictions["dataset"] == dataset.name, "index"].drop_duplicates().head(n)
    X = take_rows(dataset.X, rows.to_numpy(dtype=int))
    if isinstance(X, pd.DataFrame):
        return X.set_axis([str(c) for c in X.columns], axis=1).reset_index(drop=True)
    names = dataset.feature_names or [f"x{i}" for i in range(X.shape[1])]
    return pd.DataFrame(X, columns=[str(name) for name in names])


def _requirements(info: dict, keras: bool) -> list:
    """pip requirements: the versions ``model.json`` recorded (Keras' libraries only for a Keras model)."""
    return [f"{name}=={version}" for name, version in sorted(info.get("libraries", {}).items())
            if keras or name not in _KERAS_LIBRARIES]


def _signature(example: pd.DataFrame, output: np.ndarray):
    """``mlflow.models.infer_signature`` of the example and its predictions, every input column
    optional: a column without a missing value in the few example rows may hold some in new rows,
    and the pipelines impute them (MLflow would refuse them in a required column)."""
    from mlflow.models import ModelSignature, infer_signature
    from mlflow.types.schema import ColSpec, Schema

    signature = infer_signature(example, output)
    inputs = Schema([ColSpec(column.type, column.name, required=False) for column in signature.inputs.inputs])
    return ModelSignature(inputs=inputs, outputs=signature.outputs)


class _Quiet(logging.Filter):
    """Drops MLflow's notice that a cloudpickled model can run code (the study's stored models say
    so where they are loaded) and its note that it checks the input example."""

    def filter(self, record):
        message = record.getMessage()
        return "requires exercising caution" not in message and "Validating input example" not in message


def log_unit_model(run_id: str, folder, example: pd.DataFrame, *, keras: bool):
    """Log one unit's stored model as the logged model :data:`MODEL_NAME` of the run ``run_id``.

    Must run with the tracking URI set (``mlflow.set_tracking_uri``): MLflow's ``log_model`` uses it.
    The run is made the active run meanwhile (MLflow puts a logged model in the active run's
    experiment; with another run active in this process it raises), then ended as FINISHED.

    Parameters
    ----------
    run_id : str
        The unit's child run.
    folder : path-like
        The stored model folder ``models/<dataset>/<model>/`` of the report.
    example : pandas.DataFrame of shape (n_rows, n_features) or None
        Input rows with the training column names (:func:`example_rows`): the input example, and
        with the model's predictions for them, the signature (None: neither is logged).
    keras : bool
        The pipeline holds Keras networks: logged as :class:`StoredModel` (else with
        ``mlflow.sklearn.log_model``).

    Returns
    -------
    mlflow.models.model.ModelInfo
        Its ``model_uri`` (``models:/<model_id>``) and ``model_id``.

    Raises
    ------
    ValueError
        The folder is not a stored model, or its model cannot be loaded here (``study.model_store``).
    Exception
        What MLflow raises when the store refuses the model.
    """
    import mlflow

    from study.predict import model_input
    from study.model_store import StoredModelNotice, load_model, read_info

    folder = Path(folder)
    info = read_info(folder)
    estimator = load_model(folder, say=lambda line: None)  # logged by the study that made it: no notice
    common = dict(name=MODEL_NAME, pip_requirements=_requirements(info, keras))
    if example is not None:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="X has feature names")  # fitted on an array
            output = np.asarray(estimator.predict(model_input(example, info)))
        common.update(signature=_signature(example, output), input_example=example)
    quiet = _Quiet()
    loggers = [logging.getLogger(name) for name in ("mlflow.sklearn", "mlflow.pyfunc")]
    for logger in loggers:
        logger.addFilter(quiet)
    try:  # the run made active: MLflow puts a logged model in the active run's experiment
        with warnings.catch_warnings(), mlflow.start_run(run_id=run_id):
            warnings.filterwarnings("ignore", message="X has feature names")  # MLflow's check of the example
            warnings.filterwarnings("ignore", category=StoredModelNotice)  # the same check, loading the folder
            if keras:
                return mlflow.pyfunc.log_model(python_model=StoredModel(), artifacts={STORED: str(folder)}, **common)
            return mlflow.sklearn.log_model(estimator, serialization_format="cloudpickle", **common)
    finally:
        for logger in loggers:
            logger.removeFilter(quiet)
