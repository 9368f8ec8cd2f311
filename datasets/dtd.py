"""Describable Textures: one folder per texture under `images/`; the official 10 splits are not used."""
from __future__ import annotations

from clipfit.compat import DATASET_REGISTRY

from .base import SplitDataset, read_and_split_data


@DATASET_REGISTRY.register()
class DescribableTextures(SplitDataset):
    dataset_dir = "dtd"
    image_subdir = "images"
    split_file = "split_zhou_DescribableTextures.json"
    required = ("images",)

    def read_native(self):
        return read_and_split_data(self.image_dir)
