"""Describable Textures: one folder per texture under `images/`; the official 10 splits are not used."""
from __future__ import annotations

from clipfit.compat import DATASET_REGISTRY

from ._shared.base import SplitDataset
from ._shared.published_files import PublishedFile
from ._shared.random_splits import read_and_split_data


@DATASET_REGISTRY.register()
class DescribableTextures(SplitDataset):
    dataset_dir = "dtd"
    display_name = "DTD"
    benchmarks = ("base2new", "few_shot", "xd_target")
    template = "{} texture."
    image_subdir = "images"
    split_file = "split_zhou_DescribableTextures.json"
    split_file_id = "1u3_QfB467jqHgNXC00UIzbLZRQCg2S7x"  # the CoOp authors' file on Google Drive
    required = ("images",)
    published_files = (  # size and SHA-256 as TensorFlow Datasets publishes them
        PublishedFile(
            "dtd-r1.0.1.tar.gz", url="https://www.robots.ox.ac.uk/~vgg/data/dtd/download/dtd-r1.0.1.tar.gz",
            size=625239812, sha256="e42855a52a4950a3b59612834602aa253914755c95b0cff9ead6d07395f8e205",
            take={"dtd/images": "images"},
        ),
    )

    def read_native(self):
        return read_and_split_data(self.image_dir)
