"""ImageNet-R, test only: 200 wnid folders under `imagenet-r/`; labels 0..199 by sorted wnid (not ImageNet's)."""
from __future__ import annotations

from clipfit.compat import DATASET_REGISTRY

from .base import TestOnlyDataset
from .storage import list_names


@DATASET_REGISTRY.register()
class ImageNetR(TestOnlyDataset):
    dataset_dir = "imagenet-rendition"
    image_subdir = "imagenet-r"
    required = ("imagenet-r", "classnames.txt")

    def read_items(self):
        # Only folders count, so the release's README.txt is skipped.
        return self.class_folders(self.image_dir, sorted(list_names(self.image_dir, "dirs")))
