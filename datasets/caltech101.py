"""Caltech-101: one folder per category; the background and Faces_easy folders are left out."""
from __future__ import annotations

from clipfit.compat import DATASET_REGISTRY

from ._shared.base import SplitDataset
from ._shared.published_files import PublishedFile
from ._shared.random_splits import read_and_split_data

IGNORED = ["BACKGROUND_Google", "Faces_easy"]
NEW_CNAMES = {"airplanes": "airplane", "Faces": "face", "Leopards": "leopard", "Motorbikes": "motorbike"}


@DATASET_REGISTRY.register()
class Caltech101(SplitDataset):
    dataset_dir = "caltech-101"
    benchmarks = ("base2new", "few_shot", "xd_target")
    template = "a photo of a {}."
    image_subdir = "101_ObjectCategories"
    split_file = "split_zhou_Caltech101.json"
    split_file_id = "1hyarUivQE36mY6jSomru6Fjd-JzwcCzN"  # the CoOp authors' file on Google Drive
    required = ("101_ObjectCategories",)
    # size and SHA-256 as TensorFlow Datasets publishes them; the zip holds 101_ObjectCategories.tar.gz
    published_files = (
        PublishedFile(
            "caltech-101.zip", url="https://data.caltech.edu/records/mzrjq-6wc02/files/caltech-101.zip",
            size=137414764, sha256="331234750fc7f77520e50d9565e8b6907b03565e30320da1401130db08c61f91",
            inner="caltech-101/101_ObjectCategories.tar.gz", take={"101_ObjectCategories": "101_ObjectCategories"},
        ),
    )

    def read_native(self):
        return read_and_split_data(self.image_dir, ignored=IGNORED, new_cnames=NEW_CNAMES)
