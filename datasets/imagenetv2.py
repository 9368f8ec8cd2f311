"""ImageNetV2 (matched frequency), test only: folders `0`..`999`; line i of classnames.txt names folder i."""
from __future__ import annotations

import os

from clipfit.compat import DATASET_REGISTRY

from ._shared.base import TestOnlyDataset
from ._shared.class_folders import read_class_folders, read_classnames
from ._shared.errors import CorruptDatasetFile, docs_ref
from ._shared.published_files import PublishedFile
from .imagenet import CLASSNAMES_FILE

NUM_FOLDERS = 1000


@DATASET_REGISTRY.register()
class ImageNetV2(TestOnlyDataset):
    dataset_dir = "imagenetv2"
    benchmarks = ("dg_target",)
    template = "a photo of a {}."
    image_subdir = "imagenetv2-matched-frequency-format-val"
    required = ("imagenetv2-matched-frequency-format-val", "classnames.txt")
    published_files = (  # the authors' Hugging Face copy; size and SHA-256 as TensorFlow Datasets publishes them
        PublishedFile(
            "imagenetv2-matched-frequency.tar.gz",
            url="https://huggingface.co/datasets/vaishaal/ImageNetV2/resolve/main/imagenetv2-matched-frequency.tar.gz",
            size=1264079360, sha256="f0c37fdf925916b19ea1323cd9a2208cdb6959ba2c32eef2a7fc393835c9ca7c",
            take={"imagenetv2-matched-frequency-format-val": "imagenetv2-matched-frequency-format-val"},
        ),
        CLASSNAMES_FILE,
    )

    def read_items(self):
        text_file = os.path.join(self.dataset_dir, "classnames.txt")
        names = list(read_classnames(text_file).values())
        if len(names) < NUM_FOLDERS:
            raise CorruptDatasetFile(
                f"{text_file} has {len(names)} lines; ImageNetV2 needs ImageNet's 1000 ({docs_ref(self.anchor())})"
            )
        # All 1000 folders are read (a missing one is an error), as the release has them all.
        return read_class_folders(self.image_dir, [str(i) for i in range(NUM_FOLDERS)], lambda label, _: names[label])
