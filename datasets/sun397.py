"""SUN397: partition 01 lists; labels from `ClassName.txt`; `a/apartment_building/outdoor` is named
`outdoor apartment_building`."""
from __future__ import annotations

import os

from clipfit.compat import DATASET_REGISTRY

from ._shared.base import SplitDataset
from ._shared.errors import CorruptDatasetFile
from ._shared.listing import make_datum
from ._shared.published_files import PublishedFile
from ._shared.random_splits import split_trainval
from ._shared.readers import text_lines


@DATASET_REGISTRY.register()
class SUN397(SplitDataset):
    dataset_dir = "sun397"
    benchmarks = ("base2new", "few_shot", "xd_target")
    template = "a photo of a {}."
    image_subdir = "SUN397"
    split_file = "split_zhou_SUN397.json"
    split_file_id = "1y2RD81BYuiyvebdN-JymPfyWYcd8_MUq"  # the CoOp authors' file on Google Drive
    required = ("SUN397",)
    native_files = ("ClassName.txt", "Training_01.txt", "Testing_01.txt")
    published_files = (  # sizes and SHA-256 as TensorFlow Datasets publishes them
        PublishedFile(
            "SUN397.tar.gz", url="https://vision.princeton.edu/projects/2010/SUN/SUN397.tar.gz",
            size=39077296924, sha256="f404130965a7ad77bed5ececc71e720ab50f3cc1e1bb257257610d38f3b928ec",
            take={"SUN397": "SUN397"},
        ),
        PublishedFile(
            "Partitions.zip", url="https://vision.princeton.edu/projects/2010/SUN/download/Partitions.zip",
            size=18293705, sha256="e3311ea5f812d4cc6faef194688343d1111f6cd6f70f2c62f393c2b8d6ba1ec9",
            take={p: p for p in native_files}, native_only=True,
        ),
    )

    def read_native(self):
        with open(os.path.join(self.dataset_dir, "ClassName.txt"), encoding="utf-8") as f:
            classdirs = [line.strip()[1:] for line in f]  # "/a/abbey" -> "a/abbey"
        cname2lab = {c: i for i, c in enumerate(classdirs)}
        train, val = split_trainval(self.read_data(cname2lab, "Training_01.txt"))
        return train, val, self.read_data(cname2lab, "Testing_01.txt")

    def read_data(self, cname2lab: dict, text_file: str) -> list:
        """Lines `/a/abbey/sun_<hash>.jpg`, relative to `SUN397/`."""
        path = os.path.join(self.dataset_dir, text_file)
        items = []
        for lineno, line in text_lines(path):
            rel = line[1:]
            if not rel:
                continue
            classdir = os.path.dirname(rel)
            if classdir not in cname2lab:
                raise CorruptDatasetFile(f"{path}:{lineno}: class folder {classdir!r} is not in ClassName.txt")
            classname = " ".join(classdir.split("/")[1:][::-1])  # drop the letter, put indoor/outdoor first
            items.append(make_datum(os.path.join(self.image_dir, rel), cname2lab[classdir], classname))
        return items
