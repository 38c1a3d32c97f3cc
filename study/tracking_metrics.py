"""The metrics of a study's MLflow runs (``study.tracking``), built from the study's tables.

Pure functions of pandas tables (no MLflow import): per unit its summary scores
(:func:`unit_metrics`), its per-fold scores (:func:`fold_metrics`, step = fold) and a Keras
model's training curves (:func:`history_metrics`, step = epoch); per study the best model's
scores per dataset (:func:`summary_metrics`). Every name that holds a user's name goes through
:func:`mlflow_key`.
"""

from __future__ import annotations

import pandas as pd

from study.names import file_name

__all__ = ["mlflow_key", "unit_metrics", "fold_metrics", "history_metrics", "summary_metrics", "summaries"]

_SPLITS = {"mean_train_score": "train", "mean_test_score": "cv_mean", "std_test_score": "cv_std",
           "test_score": "test", "gap_train_cv": "gap_train_cv", "gap_cv_test": "gap_cv_test"}
_FOLD_SPLITS = {"train": "cv_train", "validation": "cv_validation"}
_HISTORY_VARIANT = "no early stopping"


def mlflow_key(*parts) -> str:
    """A metric or tag key: ``parts`` joined by ``_``, each made safe and distinct by
    ``study.names.file_name`` (ASCII letters, digits, ``_``, ``.``, ``-``: within MLflow's rules
    for names, ``mlflow.utils.validation``); a part that needs no change is itself.

    Examples
    --------
    >>> mlflow_key("best_cv", "accuracy", "wine")
    'best_cv_accuracy_wine'
    """
    return "_".join(file_name(part) for part in parts)


def unit_metrics(row) -> dict:
    """The metrics of one unit's summary row (``study.results.summarize``) on one metric, by MLflow name
    (NaN values left out)."""
    return {f"{name}_{row['metric']}": float(row[column]) for column, name in _SPLITS.items()
            if pd.notna(row[column])}


def fold_metrics(results: pd.DataFrame, dataset: str, model: str) -> list:
    """``[(key, value, step)]``: the unit's per-fold train and validation scores, ``cv_train_<metric>``
    and ``cv_validation_<metric>`` with step = fold index (``results.csv``'s rows; NaN left out)."""
    rows = results[(results["dataset"] == dataset) & (results["model"] == model)
                   & results["split"].isin(list(_FOLD_SPLITS)) & results["score"].notna()]
    return [(mlflow_key(_FOLD_SPLITS[split], metric), float(score), int(fold))
            for split, metric, fold, score in rows[["split", "metric", "fold", "score"]].itertuples(index=False)]


def history_metrics(histories: pd.DataFrame | None, dataset: str, model: str) -> list:
    """``[(key, value, step)]``: a Keras model's training history as the report shows it: each curve
    of the run without early stopping on fold 0's training part (step = epoch), and the
    early-stopping run's ``early_stopping_epoch`` and ``early_stopping_best_epoch`` (step 0).
    Empty without histories (diagnostics off, or not a Keras model)."""
    if histories is None or histories.empty:
        return []
    unit = histories[(histories["dataset"] == dataset) & (histories["model"] == model)]
    unit = unit[unit["fold"] == unit["fold"].min()]
    full = unit[unit["variant"] == _HISTORY_VARIANT]
    found = [(mlflow_key(curve), float(value), int(epoch)) for curve, epoch, value in
             full[["curve", "epoch", "value"]].itertuples(index=False) if pd.notna(value)]
    stopped = unit[unit["variant"] != _HISTORY_VARIANT].head(1)
    for column, key in (("stopped_epoch", "early_stopping_epoch"), ("best_epoch", "early_stopping_best_epoch")):
        if len(stopped) and pd.notna(stopped[column].iloc[0]):
            found.append((key, float(stopped[column].iloc[0]), 0))
    return found


def _best_models(result, summaries: pd.DataFrame, primary: str) -> dict:
    """The best model of each dataset: the report's (``verdicts``' ``best_model``), else the
    highest CV mean of the primary metric (the ``dummy`` baseline never)."""
    from study.results import BASELINE

    verdicts = result.tables.get("verdicts")
    if verdicts is not None and not verdicts.empty and "best_model" in verdicts:
        chosen = verdicts[verdicts["metric"] == primary].dropna(subset=["best_model"])
        return dict(zip(chosen["dataset"], chosen["best_model"]))
    rows = summaries[(summaries["metric"] == primary) & (summaries["model"] != BASELINE)].dropna(
        subset=["mean_test_score"])
    best = rows.sort_values("mean_test_score", ascending=False, kind="stable").drop_duplicates("dataset")
    return dict(zip(best["dataset"], best["model"]))


def summary_metrics(result, summaries: pd.DataFrame) -> tuple:
    """``(metrics, tags)`` of the parent run: per dataset and metric ``best_cv_<metric>_<dataset>``
    and ``best_test_<metric>_<dataset>`` of the dataset's best model (:func:`_best_models`), and
    the tag ``best_model_<dataset>`` naming it."""
    from study.results import primary_metric

    scored = summaries.dropna(subset=["metric"])
    if scored.empty:
        return {}, {}
    best = _best_models(result, scored, primary_metric(result.results))
    metrics, tags = {}, {}
    for dataset, model in best.items():
        tags[mlflow_key("best_model", dataset)] = str(model)
        for row in scored[(scored["dataset"] == dataset) & (scored["model"] == model)].to_dict("records"):
            for column, prefix in (("mean_test_score", "best_cv"), ("test_score", "best_test")):
                if pd.notna(row[column]):
                    metrics[mlflow_key(prefix, row["metric"], dataset)] = float(row[column])
    return metrics, tags


def summaries(results: pd.DataFrame) -> pd.DataFrame:
    """``study.results.summarize`` on every metric, stacked (column ``metric``): one row per
    dataset x model x metric (one row per unit, ``metric`` None, when nothing was scored)."""
    from study.results import summarize

    metrics = results.loc[results["status"] == "ok", "metric"].dropna().unique().tolist()
    if not metrics:
        return results.drop_duplicates(["dataset", "model"]).assign(metric=None)
    return pd.concat([summarize(results, metric).assign(metric=metric) for metric in metrics], ignore_index=True)
