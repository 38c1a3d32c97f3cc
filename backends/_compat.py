"""Every use of a library's private API, in one place, each behind a check of the library's version.

The project calls a few private names of its dependencies because no public one does the same.
Each such use is one small function here; a call site imports it from this module and nothing
else reaches into a library's private names. Each function checks the installed version
(:func:`version`, from the installed distribution's metadata) against :data:`SUPPORTED` and the
version that introduced the name, then either uses the private name, falls back on public API
that gives the same result, or raises :class:`IncompatibleVersionError`, which names the
installed and the supported versions and the ``pip install`` that fixes it.

| library | private name | used by | outside the checked versions |
|---|---|---|---|
| scikit-learn | scorer ``_score_func`` | ``study.scoring.metric_task`` | error |
| scikit-learn | scorer ``_response_method`` | ``study.scoring.response_methods`` | error |
| scikit-learn | module names ``sklearn.metrics._classification``, ``_regression``, ``_ranking`` | :func:`metric_kind` | None ("the scorer does not say") |
| keras | ``Model._get_metrics_result_or_logs`` (from 3.3) | ``backends.keras_validation`` | public ``Model.get_metrics_result`` (what Keras 3.2's ``evaluate`` returns) |
| keras | ``keras.src.utils.python_utils.pythonify_logs`` (from 3.7) | ``backends.keras_validation`` | a copy of Keras 3.15's function |
| tensorflow | eager context ``_seed``, ``_rng`` | ``backends.keras_seeding`` | ``tf.random.set_seed`` (same seeds; clears the kernel cache, slower) |
| tensorflow | ``tensorflow.python.eager.context.global_seed``; ``tensorflow.python.framework.config``'s op-determinism switches (as scikeras itself) | ``backends.keras_seeding`` | error |
| mlflow | ``mlflow.tracking._tracking_service.utils._tracking_uri`` | :func:`mlflow_tracking_uri_setting` (``study.tracking``) | public ``mlflow.get_tracking_uri()`` (an unset URI then reads as the default's) |
| joblib, multiprocessing | the resource trackers' ``_resource_tracker._stop()`` | :func:`stop_resource_trackers` (``study.progress``) | nothing stopped (ipykernel ends them) |

scikeras' private methods cannot move here: ``backends.keras_wrappers.InnerValidationMixin``
overrides them (scikeras' documented way to change how a wrapper builds and fits), so
:func:`scikeras_wrappers` checks scikeras' version once, when the wrappers are imported, and
refuses versions other than the checked ones (scikeras 0.13.0 is its last release):

| scikeras member | why it is overridden or used | checked with |
|---|---|---|
| ``_initialize_callbacks`` | adds early stopping on the inner validation split | 0.13.0 |
| ``_build_keras_model`` | seeds the build without a TensorFlow restart, reuses a pooled model; checks a user network's output units | 0.13.0 |
| ``_ensure_compiled_model`` | leases the compiled model from ``backends.keras_pool`` | 0.13.0 |
| ``_fit_keras_model`` | the inner validation split, one ``tf.data`` pipeline per fit, the validation pass; ``BaseWrapper._fit`` calls it with ``(X, y, sample_weight, warm_start, epochs, initial_epoch, **kwargs)`` | 0.13.0 |
| ``_predict_raw`` | the traced predict function on whole chunks of rows | 0.13.0 |
| ``_validate_data`` | called by ``_predict_raw``, as scikeras' own does | 0.13.0 |
| ``_random_state``, ``_fit_callbacks`` | attributes set by ``BaseWrapper._initialize`` and ``_initialize_callbacks``; read by the overrides and by ``study.model_store`` (a stored wrapper drops its callbacks) | 0.13.0 |

``_check_validation_params``, ``_early_stopping`` and the other underscored names of the
wrappers are the project's own.
"""

from __future__ import annotations

import functools
import random
import re
from importlib import metadata

__all__ = [
    "SUPPORTED", "IncompatibleVersionError", "version", "parse_version", "supported", "require",
    "scorer_function", "scorer_response_method", "metric_kind",
    "pythonify_logs", "evaluation_logs",
    "global_seed", "set_global_seed", "op_determinism_enabled", "enable_op_determinism",
    "disable_op_determinism", "scikeras_wrappers", "stop_resource_trackers", "mlflow_tracking_uri_setting",
]

SUPPORTED = {
    "scikit-learn": ("1.8.0", None, "1.9.1"),
    "tensorflow": ("2.16.1", None, "2.21.0"),
    "keras": ("3.7.0", "4", "3.15.1"),
    "scikeras": ("0.13.0", "0.14", "0.13.0"),
    "joblib": ("1.5.0", None, "1.6.0"),
}
"""Per distribution: ``(lowest supported, first unsupported or None, newest checked)``; the
first two are pyproject.toml's bounds (``tests/test_compat.py`` keeps them equal), the third
the newest release the private names were checked with."""


class IncompatibleVersionError(RuntimeError):
    """An installed library whose version lacks, or was not checked for, a private name the
    project uses; the message names the installed and the supported versions."""


@functools.lru_cache(maxsize=None)
def _installed(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def version(distribution: str) -> str | None:
    """The installed version of ``distribution`` (e.g. ``"keras"``), or None if it is not
    installed; read from the distribution's metadata once per process."""
    return _installed(distribution)


def parse_version(text: str):
    """A comparable version: ``packaging.version.Version`` when ``packaging`` is installed,
    else a tuple of the leading release numbers (``"3.15.1rc0"`` -> ``(3, 15, 1)``)."""
    try:
        from packaging.version import Version

        return Version(text)
    except ImportError:  # packaging comes with most environments, not with every one
        return tuple(int(part) for part in re.findall(r"\d+", text.split("+")[0].split("rc")[0])[:3])


def supported(distribution: str, since: str | None = None) -> bool:
    """Whether the installed ``distribution`` is within :data:`SUPPORTED` and, if ``since`` is
    given, at least that version (the one that introduced a private name)."""
    return _within(distribution, version(distribution), since)


@functools.lru_cache(maxsize=None)
def _within(distribution: str, installed: str | None, since: str | None) -> bool:
    if installed is None:
        return False
    lowest, below, _ = SUPPORTED[distribution]
    current = parse_version(installed)
    if current < parse_version(since or lowest) or current < parse_version(lowest):
        return False
    # as pip reads "<4": no release of 4 either, not even a pre-release (4.0.0rc1)
    release = parse_version(getattr(current, "base_version", installed))
    return below is None or release < parse_version(below)


def _requirement(distribution: str) -> str:
    lowest, below, _ = SUPPORTED[distribution]
    return f"{distribution}>={lowest}" + (f",<{below}" if below else "")


def _error(distribution: str, what: str) -> IncompatibleVersionError:
    lowest, below, newest = SUPPORTED[distribution]
    installed = version(distribution)
    upper = f" (below {below})" if below else ""
    return IncompatibleVersionError(
        f"The study uses {distribution}'s {what}, checked with {distribution} {lowest} to {newest}{upper}; "
        f"installed: {distribution} {installed or 'none'}. "
        f"Install a supported version: pip install '{_requirement(distribution)}'."
    )


def require(distribution: str, what: str) -> None:
    """Raise unless the installed ``distribution`` is within :data:`SUPPORTED`.

    Raises
    ------
    IncompatibleVersionError
        Naming ``what`` (the private API), the installed and the supported versions.
    """
    if not supported(distribution):
        raise _error(distribution, what)


# --------------------------------------------------------------------------- scikit-learn

_METRIC_MODULES = {"sklearn.metrics._regression": "regression", "sklearn.metrics._classification": "classification",
                   "sklearn.metrics._ranking": "classification"}


def _scorer_attribute(scorer, name: str):
    value = getattr(scorer, name, None)
    if value is None or not supported("scikit-learn"):
        raise _error("scikit-learn", f"private scorer attribute {name} (of {type(scorer).__name__})")
    return value


def scorer_function(scorer):
    """The metric function a scikit-learn scorer calls (``get_scorer("r2")`` -> ``r2_score``).

    Raises
    ------
    IncompatibleVersionError
        If the scorer has no ``_score_func`` or scikit-learn is outside :data:`SUPPORTED`.
    """
    return _scorer_attribute(scorer, "_score_func")


def scorer_response_method(scorer) -> tuple:
    """The estimator methods a scikit-learn scorer calls, any one of which suffices
    (``("predict",)``, ``("decision_function", "predict_proba")``).

    Raises
    ------
    IncompatibleVersionError
        If the scorer has no ``_response_method`` or scikit-learn is outside :data:`SUPPORTED`.
    """
    method = _scorer_attribute(scorer, "_response_method")
    return (method,) if isinstance(method, str) else tuple(method)


def metric_kind(function) -> str | None:
    """"classification", "regression" or "clustering" from the scikit-learn module that
    defines a metric function; None for any other function (a user's metric)."""
    module = getattr(function, "__module__", "") or ""
    if module.startswith("sklearn.metrics.cluster"):
        return "clustering"
    return _METRIC_MODULES.get(module)


# --------------------------------------------------------------------------- keras

def _pythonify(logs) -> dict:
    """Keras 3.15's ``pythonify_logs``: nested dicts flattened, sorted by key, values turned
    into Python floats where they convert."""
    result = {}
    for key, value in sorted((logs or {}).items()):
        if isinstance(value, dict):
            result.update(_pythonify(value))
            continue
        try:
            value = float(value.numpy() if hasattr(value, "numpy") else value)
        except (TypeError, ValueError):
            pass
        result[key] = value
    return result


def pythonify_logs(logs) -> dict:
    """Logs as ``Model.evaluate`` returns them: Keras' own ``pythonify_logs`` (Keras >= 3.7),
    else the same conversion here (:func:`_pythonify`).

    Parameters
    ----------
    logs : dict or None
        Metric name -> tensor, array, number or nested dict.

    Returns
    -------
    dict of str to float
    """
    if supported("keras", since="3.7.0"):
        try:
            from keras.src.utils.python_utils import pythonify_logs as keras_pythonify
        except ImportError:
            return _pythonify(logs)
        return keras_pythonify(logs)
    return _pythonify(logs)


def evaluation_logs(model, outputs) -> dict:
    """The logs ``model.evaluate`` would return after its test function returned ``outputs``.

    Keras >= 3.3 (checked to 3.15): ``Model._get_metrics_result_or_logs(outputs)`` (the
    metrics' results when their names match the step's outputs, else the outputs: a custom
    ``test_step``); Keras 3.2 and any version outside :data:`SUPPORTED`: the metrics' results
    (public ``Model.get_metrics_result``), which is what Keras 3.2's ``evaluate`` returns.

    Parameters
    ----------
    model : keras.Model
        Compiled; its metrics hold the pass's accumulated state.
    outputs : dict
        What the last call of ``model.test_function`` returned.

    Returns
    -------
    dict of str to float
    """
    private = getattr(model, "_get_metrics_result_or_logs", None)
    if private is not None and supported("keras", since="3.3.0"):
        return pythonify_logs(private(outputs))
    return pythonify_logs(model.get_metrics_result())


# --------------------------------------------------------------------------- tensorflow

def _tensorflow_modules(what: str):
    """``tensorflow.python.eager.context`` and ``tensorflow.python.framework.config``."""
    try:
        from tensorflow.python.eager import context
        from tensorflow.python.framework import config
    except ImportError as exc:
        raise _error("tensorflow", what) from exc
    if not supported("tensorflow"):
        raise _error("tensorflow", what)
    return context, config


def global_seed():
    """TensorFlow's global seed in eager mode (None when unset), as scikeras reads it.

    Raises
    ------
    IncompatibleVersionError
        If ``tensorflow.python.eager.context.global_seed`` is missing or TensorFlow is outside
        :data:`SUPPORTED`.
    """
    context, _ = _tensorflow_modules("private tensorflow.python.eager.context.global_seed")
    if not hasattr(context, "global_seed"):
        raise _error("tensorflow", "private tensorflow.python.eager.context.global_seed")
    return context.global_seed()


def set_global_seed(seed) -> None:
    """TensorFlow's global seed, as ``tf.random.set_seed(seed)`` sets it in eager mode (the
    eager context's ``_seed`` and its generator of operation seeds ``_rng``) but without
    clearing the kernel cache; where the context lacks the two attributes, or TensorFlow is
    outside :data:`SUPPORTED`, ``tf.random.set_seed`` itself (same seeds, cache cleared).

    Parameters
    ----------
    seed : int or None
    """
    try:
        from tensorflow.python.eager import context
        eager = context.context()
    except (ImportError, AttributeError):
        eager = None
    if eager is None or not supported("tensorflow") or not (hasattr(eager, "_seed") and hasattr(eager, "_rng")):
        import tensorflow as tf

        tf.random.set_seed(seed)
        return
    eager._seed = seed
    eager._rng = random.Random(seed)


def op_determinism_enabled() -> bool:
    """Whether TensorFlow's op determinism is on (private ``config.is_op_determinism_enabled``).

    Raises
    ------
    IncompatibleVersionError
        If the function is missing or TensorFlow is outside :data:`SUPPORTED`.
    """
    return _config_function("is_op_determinism_enabled")()


def enable_op_determinism() -> None:
    """Turn TensorFlow's op determinism on (``tf.config.experimental.enable_op_determinism``)."""
    _config_function("enable_op_determinism")()


def disable_op_determinism() -> None:
    """Turn TensorFlow's op determinism off (private ``config.disable_op_determinism``: no public
    function does).

    Raises
    ------
    IncompatibleVersionError
        If the function is missing or TensorFlow is outside :data:`SUPPORTED`.
    """
    _config_function("disable_op_determinism")()


def _config_function(name: str):
    what = f"private tensorflow.python.framework.config.{name}"
    _, config = _tensorflow_modules(what)
    function = getattr(config, name, None)
    if function is None:
        raise _error("tensorflow", what)
    return function


# --------------------------------------------------------------------------- scikeras, joblib

def scikeras_wrappers() -> tuple:
    """scikeras' ``(KerasClassifier, KerasRegressor)``, after checking scikeras' version once:
    ``backends.keras_wrappers`` overrides their private methods (the table above).

    Raises
    ------
    IncompatibleVersionError
        If scikeras is outside :data:`SUPPORTED` (checked with 0.13.0, its last release).
    """
    require("scikeras", "private methods, which backends/keras_wrappers.py overrides "
            "(_build_keras_model, _fit_keras_model, _predict_raw, ...)")
    from scikeras.wrappers import KerasClassifier, KerasRegressor

    return KerasClassifier, KerasRegressor


def stop_resource_trackers() -> None:
    """Stop loky's and multiprocessing's resource tracker processes (their private ``_stop()``;
    nothing happens where a tracker has no such method)."""
    from joblib.externals.loky.backend import resource_tracker as loky_tracker
    from multiprocessing import resource_tracker as stdlib_tracker

    for module in (loky_tracker, stdlib_tracker):
        stop = getattr(getattr(module, "_resource_tracker", None), "_stop", None)
        if stop is not None:
            stop()


def mlflow_tracking_uri_setting():
    """The process's MLflow tracking URI as set (``mlflow.set_tracking_uri``), None when unset:
    MLflow's private ``_tracking_uri`` (MLflow 3.x), so that restoring it leaves an unset URI
    unset; the public ``mlflow.get_tracking_uri()`` (which turns "unset" into the default store's
    URI) where MLflow no longer has it."""
    try:
        from mlflow.tracking._tracking_service.utils import _tracking_uri
    except ImportError:
        import mlflow

        return mlflow.get_tracking_uri()
    return _tracking_uri
