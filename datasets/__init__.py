"""The 15 few-shot CLIP benchmarks under CoOp's registered names, and the demo's synthetic dataset.

Importing this package registers every dataset in the active engine's DATASET_REGISTRY. Each dataset
module (`oxford_pets`, ...) holds one dataset's layout; the shared flow and its helpers are in the private
subpackage `datasets._shared` (`base`, `split_files`, ...). Layouts and downloads: DATASETS.md.
"""
from __future__ import annotations

from datasets import (  # noqa: F401  (imported to register)
    caltech101,
    demo_shapes,
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
from datasets._shared.base import BENCHMARK_ROLES, CoOpDataset, FewShotDataset, SplitDataset, TestOnlyDataset  # noqa: F401
from datasets._shared.errors import (  # noqa: F401
    CorruptDatasetFile,
    DatasetError,
    DatasetNotFound,
    MissingImages,
    StaleCache,
)

# The papers' order of the benchmark datasets (tables, `clipfit data check`); plugin datasets come after.
PAPER_ORDER = (
    "ImageNet", "Caltech101", "OxfordPets", "StanfordCars", "OxfordFlowers", "Food101", "FGVCAircraft", "SUN397",
    "DescribableTextures", "EuroSAT", "UCF101", "ImageNetV2", "ImageNetSketch", "ImageNetA", "ImageNetR",
)

__all__ = [
    "BENCHMARK_ROLES",
    "PAPER_ORDER",
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
