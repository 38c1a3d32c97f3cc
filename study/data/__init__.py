"""Datasets: loading (bundled, tables, npz, OpenML), task detection and the checks before training."""

from study.data.checks import check_dataset, is_id_like
from study.data.dataset import BUNDLED, Dataset, load_dataset, take_rows
from study.data.loaders import load_data, load_npz, load_openml
from study.data.tables import check_separator, from_dataframe, load_table
from study.data.targets import MAX_CLASSES, detect_task
from study.data.values import MAX_ABS_VALUE

__all__ = ["Dataset", "BUNDLED", "MAX_CLASSES", "MAX_ABS_VALUE", "load_dataset", "take_rows", "detect_task",
           "from_dataframe", "load_table", "load_npz", "load_openml", "load_data", "check_dataset", "is_id_like",
           "check_separator"]
