"""Datasets: loading (bundled, tables, npz, OpenML), task detection and the checks before training."""

from study.data.checks import check_dataset, is_id_like
from study.data.dataset import BUNDLED, Dataset, load_dataset, take_rows
from study.data.loaders import from_dataframe, load_data, load_npz, load_openml, load_table
from study.data.targets import MAX_CLASSES, detect_task

__all__ = ["Dataset", "BUNDLED", "MAX_CLASSES", "load_dataset", "take_rows", "detect_task", "from_dataframe",
           "load_table", "load_npz", "load_openml", "load_data", "check_dataset", "is_id_like"]
