"""Food-101: one folder per dish under `images/`; the official meta/ lists are not used."""
from __future__ import annotations

from clipfit.compat import DATASET_REGISTRY

from ._shared.base import SplitDataset
from ._shared.published_files import PublishedFile
from ._shared.random_splits import read_and_split_data


@DATASET_REGISTRY.register()
class Food101(SplitDataset):
    dataset_dir = "food-101"
    benchmarks = ("base2new", "few_shot", "xd_target")
    template = "a photo of {}, a type of food."
    image_subdir = "images"
    split_file = "split_zhou_Food101.json"
    split_file_id = "1QK0tGi096I0Ba6kggatX1ee6dJFIcEJl"  # the CoOp authors' file on Google Drive
    required = ("images",)
    published_files = (  # size and SHA-256 as TensorFlow Datasets publishes them
        PublishedFile(
            "food-101.tar.gz", url="http://data.vision.ee.ethz.ch/cvl/food-101.tar.gz",
            size=4996278331, sha256="d97d15e438b7f4498f96086a4f7e2fa42a32f2712e87d3295441b2b6314053a4",
            take={"food-101/images": "images"},
        ),
    )

    def read_native(self):
        return read_and_split_data(self.image_dir)
