"""ImageNet-A, test only: 200 wnid folders under `imagenet-a/`; labels 0..199 by sorted wnid (not ImageNet's)."""
from __future__ import annotations

from clipfit.compat import DATASET_REGISTRY

from .base import TestOnlyDataset


@DATASET_REGISTRY.register()
class ImageNetA(TestOnlyDataset):
    dataset_dir = "imagenet-adversarial"
    display_name = "ImageNet-A"
    benchmarks = ("dg_target",)
    template = "a photo of a {}."
    image_subdir = "imagenet-a"
    required = ("imagenet-a", "classnames.txt")
