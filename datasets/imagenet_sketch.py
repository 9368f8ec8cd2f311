"""ImageNet-Sketch, test only: one folder per wnid under `images/`, labels by sorted wnid."""
from __future__ import annotations

from clipfit.compat import DATASET_REGISTRY

from .base import TestOnlyDataset


@DATASET_REGISTRY.register()
class ImageNetSketch(TestOnlyDataset):
    dataset_dir = "imagenet-sketch"
    display_name = "ImageNet-Sketch"
    benchmarks = ("dg_target",)
    template = "a photo of a {}."
    image_subdir = "images"
    required = ("images", "classnames.txt")
