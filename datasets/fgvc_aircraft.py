"""FGVC-Aircraft (variant level): the official train/val/test lists; no split JSON."""
from __future__ import annotations

import os

from clipfit.compat import DATASET_REGISTRY

from ._shared.base import SplitDataset
from ._shared.errors import CorruptDatasetFile
from ._shared.listing import make_datum
from ._shared.published_files import PublishedFile
from ._shared.readers import text_lines


@DATASET_REGISTRY.register()
class FGVCAircraft(SplitDataset):
    dataset_dir = "fgvc_aircraft"
    benchmarks = ("base2new", "few_shot", "xd_target")
    template = "a photo of a {}, a type of aircraft."
    image_subdir = "images"
    split_file = None
    required = ("images",)
    native_files = ("variants.txt", "images_variant_train.txt", "images_variant_val.txt", "images_variant_test.txt")
    # The archive served now: size and SHA-256 as several projects publish them for their downloads of it
    # (TensorFlow Datasets lists another size and hash, of an earlier upload).
    published_files = (
        PublishedFile(
            "fgvc-aircraft-2013b.tar.gz",
            url="https://www.robots.ox.ac.uk/~vgg/data/fgvc-aircraft/archives/fgvc-aircraft-2013b.tar.gz",
            size=2753340328, sha256="e4e323d410e29f0370c81eabdcbb0e2b813acea1de22891b70b58ff41bfc9834",
            take={f"fgvc-aircraft-2013b/data/{p}": p for p in ("images", *native_files)},
        ),
    )

    def read_native(self):
        with open(os.path.join(self.dataset_dir, "variants.txt"), encoding="utf-8") as f:
            classnames = [line.strip() for line in f]
        cname2lab = {c: i for i, c in enumerate(classnames)}
        return tuple(self.read_data(cname2lab, f"images_variant_{split}.txt") for split in ("train", "val", "test"))

    def read_data(self, cname2lab: dict, split_file: str) -> list:
        """Lines `<image id> <variant name, may contain spaces>`."""
        path = os.path.join(self.dataset_dir, split_file)
        items = []
        for lineno, line in text_lines(path):
            image_id, *words = line.split(" ")
            classname = " ".join(words)
            if classname not in cname2lab:
                raise CorruptDatasetFile(f"{path}:{lineno}: variant {classname!r} is not in variants.txt")
            items.append(make_datum(os.path.join(self.image_dir, image_id + ".jpg"), cname2lab[classname], classname))
        return items
