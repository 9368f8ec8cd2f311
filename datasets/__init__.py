"""The 15 few-shot CLIP benchmarks under CoOp's registered names.

Importing this package registers every dataset in the active engine's DATASET_REGISTRY. Each module
holds one dataset's layout; the shared flow is in `datasets.base`, the file handling in
`datasets.storage`. Layouts and downloads: DATASETS.md.
"""
from datasets import (  # noqa: F401  (imported to register)
    caltech101,
    dtd,
    eurosat,
    fgvc_aircraft,
    food101,
    imagenet,
    imagenet_a,
    imagenet_r,
    imagenet_sketch,
    imagenetv2,
    oxford_flowers,
    oxford_pets,
    stanford_cars,
    sun397,
    ucf101,
)
from datasets.base import CoOpDataset, FewShotDataset, SplitDataset, TestOnlyDataset  # noqa: F401
from datasets.storage import (  # noqa: F401
    CorruptDatasetFile,
    DatasetError,
    DatasetNotFound,
    MissingImages,
    StaleCache,
)

__all__ = [
    "CoOpDataset",
    "CorruptDatasetFile",
    "DatasetError",
    "DatasetNotFound",
    "FewShotDataset",
    "MissingImages",
    "SplitDataset",
    "StaleCache",
    "TestOnlyDataset",
]
