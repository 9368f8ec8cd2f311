"""ImageNet-Sketch, test only: one folder per wnid under `images/`, labels by sorted wnid."""
from __future__ import annotations

from clipfit.compat import DATASET_REGISTRY

from .base import TestOnlyDataset
from .storage import list_names


@DATASET_REGISTRY.register()
class ImageNetSketch(TestOnlyDataset):
    dataset_dir = "imagenet-sketch"
    image_subdir = "images"
    required = ("images", "classnames.txt")

    def read_items(self):
        return self.class_folders(self.image_dir, sorted(list_names(self.image_dir, "dirs")))
