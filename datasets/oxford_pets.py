"""Oxford-IIIT Pets: 37 breeds; the class name is the image stem without its number, lowercased."""
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
class OxfordPets(SplitDataset):
    dataset_dir = "oxford_pets"
    benchmarks = ("base2new", "few_shot", "xd_target")
    template = "a photo of a {}, a type of pet."
    image_subdir = "images"
    split_file = "split_zhou_OxfordPets.json"
    split_file_id = "1501r8Ber4nNKvmlFVQZ8SeUHTcdTTEqs"  # the CoOp authors' file on Google Drive
    required = ("images",)
    native_files = ("annotations/trainval.txt", "annotations/test.txt")
    published_files = (  # sizes and SHA-256 as TensorFlow Datasets publishes them
        PublishedFile(
            "images.tar.gz", url="https://www.robots.ox.ac.uk/~vgg/data/pets/data/images.tar.gz",
            size=791918971, sha256="67195c5e1c01f1ab5f9b6a5d22b8c27a580d896ece458917e61d459337fa318d",
            take={"images": "images"},
        ),
        PublishedFile(
            "annotations.tar.gz", url="https://www.robots.ox.ac.uk/~vgg/data/pets/data/annotations.tar.gz",
            size=19173078, sha256="52425fb6de5c424942b7626b428656fcbd798db970a937df61750c0f1d358e91",
            take={"annotations": "annotations"}, native_only=True,
        ),
    )

    def read_native(self):
        train, val = split_trainval(self.read_data("trainval.txt"))
        return train, val, self.read_data("test.txt")

    def read_data(self, split_file: str) -> list:
        """Lines `<Stem> <class id 1..37> <species> <breed id>`; image `images/<Stem>.jpg`."""
        path = os.path.join(self.dataset_dir, "annotations", split_file)
        items = []
        for lineno, line in text_lines(path):
            fields = line.split(" ")
            if len(fields) != 4:
                raise CorruptDatasetFile(f"{path}:{lineno}: expected 4 space-separated fields, got {line!r}")
            stem, class_id = fields[0], int(fields[1])
            breed = "_".join(stem.split("_")[:-1]).lower()
            items.append(make_datum(os.path.join(self.image_dir, stem + ".jpg"), class_id - 1, breed))
        return items
