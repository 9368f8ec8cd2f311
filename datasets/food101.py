"""Food-101: one folder per dish under `images/`; the official meta/ lists are not used."""
from __future__ import annotations

from clipfit.compat import DATASET_REGISTRY

from .base import SplitDataset, read_and_split_data


@DATASET_REGISTRY.register()
class Food101(SplitDataset):
    dataset_dir = "food-101"
    image_subdir = "images"
    split_file = "split_zhou_Food101.json"
    required = ("images",)

    def read_native(self):
        return read_and_split_data(self.image_dir)
