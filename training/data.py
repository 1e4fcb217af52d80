"""The dataset names of ``training.datasets``, importable from here as they always were.

The loaders live in ``training/datasets/`` (one module per source, one name -> source table in its
``__init__``); this module only re-exports the public names.
"""

from training.datasets import (
    SOURCES,
    Dataset,
    DatasetError,
    DatasetWarning,
    Source,
    cache_dir,
    dataset_names,
    fetch,
    load_dataset,
    read_idx,
    to_unit_float,
)
from training.datasets.idx import IDX_FILES, LABEL_NAMES, MIRRORS, SHA256, SYSTEM_DIRS
from training.datasets.npz import assets_dir
from training.synthetic import SYNTHETIC_NAMES

__all__ = [
    "IDX_FILES", "LABEL_NAMES", "MIRRORS", "SHA256", "SOURCES", "SYNTHETIC_NAMES", "SYSTEM_DIRS", "Dataset",
    "DatasetError", "DatasetWarning", "Source", "assets_dir", "cache_dir", "dataset_names", "fetch", "load_dataset",
    "read_idx", "to_unit_float",
]
