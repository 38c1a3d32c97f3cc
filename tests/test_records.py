"""The typed records between modules: the one ``cv_results_`` key format, search scores, work items."""

import pickle
from dataclasses import dataclass

import numpy as np
import pytest

from study.execution import WorkItem
from study.records import (ExperimentArguments, NestedArguments, SearchScores, UnitArguments, WorkKind,
                           split_key)


def test_split_key_is_scikit_learns_format_and_refuses_other_parts():
    assert split_key(3, "test", "roc_auc_ovr") == "split3_test_roc_auc_ovr"
    assert split_key(0, "train", "accuracy") == "split0_train_accuracy"
    with pytest.raises(ValueError, match="part must be one of \\['train', 'test'\\], got 'validation'"):
        split_key(0, "validation", "accuracy")


def test_search_scores_keep_every_fold_part_and_metric_of_every_candidate():
    cv_results = {f"split{k}_{part}_{m}": np.array([k + 0.1, k + 0.2]) + (part == "train")
                  for k in range(2) for part in ("train", "test") for m in ("accuracy", "f1_macro")}
    cv_results["mean_test_accuracy"] = np.array([0.5, 0.6])  # not kept
    record = SearchScores.from_cv_results(cv_results, [{"C": 1}, {"C": 10}], np.int64(1), 2, ("accuracy",),
                                          test={"accuracy": 0.9})
    assert sorted(record.scores) == ["split0_test_accuracy", "split0_train_accuracy", "split1_test_accuracy",
                                     "split1_train_accuracy"]
    assert record.score(1, "test", "accuracy", 0) == 1.1 and record.score(1, "train", "accuracy", 1) == 2.2
    assert record.best == 1 and type(record.best) is int and record.candidate({"C": 10}) == 1
    assert pickle.loads(pickle.dumps(record)) == record
    with pytest.raises(KeyError, match="split0_train_f1_weighted"):
        SearchScores.from_cv_results(cv_results, [{}], 0, 1, ("f1_weighted",), test={})


def test_fold_results_of_cross_validate_read_back_by_fold():
    result = {"train_accuracy": np.array([1.0, 0.9]), "test_accuracy": np.array([0.8, 0.7])}
    record = SearchScores.from_cv_results(SearchScores.fold_results(result, 2, ("accuracy",)), [{}], 0, 2,
                                          ("accuracy",), test={})
    assert [record.score(k, "test", "accuracy", 0) for k in range(2)] == [0.8, 0.7]
    assert [record.score(k, "train", "accuracy", 0) for k in range(2)] == [1.0, 0.9]


@dataclass(frozen=True)
class _Job:
    name: str


def test_a_work_item_names_its_arguments_and_its_tables_keep_the_kind_strings():
    job = _Job("j")
    unit = WorkItem("d / m", WorkKind.UNIT, "d", "m", 1.0, 1, print, UnitArguments(job, "grid", 1))
    nested = WorkItem("d / m / nested fold 2", WorkKind.NESTED, "d", "m", 1.0, 1, print,
                      NestedArguments(job, "grid", 2))
    curves = WorkItem("d / m / learning_curves", WorkKind.EXPERIMENT, "d", "m", 1.0, 1, print,
                      ExperimentArguments(job), experiment="learning_curves")
    assert unit.args == (job, "grid", 1) and nested.args == (job, "grid", 2) and curves.args == (job,)
    assert nested.arguments.outer_fold == 2
    assert [item.work for item in (unit, nested, curves)] == ["unit", "nested", "learning_curves"]
    assert all(type(item.work) is str for item in (unit, nested, curves))
