"""ImageNet-R, test only: 200 wnid folders under `imagenet-r/`; labels 0..199 by sorted wnid (not ImageNet's)."""
from __future__ import annotations

from clipfit.compat import DATASET_REGISTRY

from .base import TestOnlyDataset


@DATASET_REGISTRY.register()
class ImageNetR(TestOnlyDataset):
    dataset_dir = "imagenet-rendition"
    display_name = "ImageNet-R"
    benchmarks = ("dg_target",)
    template = "a photo of a {}."
    image_subdir = "imagenet-r"
    required = ("imagenet-r", "classnames.txt")
