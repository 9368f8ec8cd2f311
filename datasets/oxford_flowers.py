"""Oxford Flowers 102: labels from `imagelabels.mat`, names from `cat_to_name.json`, CoOp's 50/20/30 split."""
from __future__ import annotations

import os
from collections import defaultdict

from clipfit.compat import DATASET_REGISTRY

from ._shared.base import SplitDataset
from ._shared.errors import CorruptDatasetFile, docs_ref
from ._shared.published_files import PublishedFile
from ._shared.random_splits import split_by_ratio
from ._shared.readers import read_json_file


@DATASET_REGISTRY.register()
class OxfordFlowers(SplitDataset):
    dataset_dir = "oxford_flowers"
    display_name = "Flowers102"
    benchmarks = ("base2new", "few_shot", "xd_target")
    template = "a photo of a {}, a type of flower."
    image_subdir = "jpg"
    split_file = "split_zhou_OxfordFlowers.json"
    split_file_id = "1Pp0sRXzZFZq15zVOzKjKBu4A9i01nozT"  # the CoOp authors' file on Google Drive
    required = ("jpg",)
    native_files = ("imagelabels.mat", "cat_to_name.json")
    published_files = (  # sizes and SHA-256 as TensorFlow Datasets publishes them; CoOp's names file has none
        PublishedFile(
            "102flowers.tgz", url="https://www.robots.ox.ac.uk/~vgg/data/flowers/102/102flowers.tgz",
            size=344862509, sha256="2d01ecc807db462958cfe3d92f57a8c252b4abd240eb955770201e45f783b246",
            take={"jpg": "jpg"},
        ),
        PublishedFile(
            "imagelabels.mat", url="https://www.robots.ox.ac.uk/~vgg/data/flowers/102/imagelabels.mat",
            size=502, sha256="4903e94206bac23bf772aadf06451916df56b58fc483a62db32a97b82656651d", native_only=True,
        ),
        PublishedFile("cat_to_name.json", drive_id="1AkcxCXeK_RCGCEC_GvmWxjcjaNhu-at0", native_only=True),
    )

    def read_native(self):
        """The i-th label belongs to `jpg/image_{i+1:05d}.jpg`; classes in order of first appearance.

        The official `setid.mat` split is not used (as in CoOp).
        """
        from scipy.io import loadmat

        labels = loadmat(os.path.join(self.dataset_dir, "imagelabels.mat"))["labels"][0]
        by_label = defaultdict(list)
        for i, label in enumerate(labels):
            by_label[int(label)].append(os.path.join(self.image_dir, f"image_{i + 1:05d}.jpg"))
        names_file = os.path.join(self.dataset_dir, "cat_to_name.json")
        lab2cname = read_json_file(names_file, f"Download CoOp's cat_to_name.json again ({docs_ref(self.anchor())}).")
        unnamed = sorted(label for label in by_label if str(label) not in lab2cname)
        if unnamed:
            raise CorruptDatasetFile(f"{names_file} has no name for the labels {unnamed} of imagelabels.mat")
        print("Splitting data into 50% train, 20% val, and 30% test")
        return split_by_ratio((label - 1, lab2cname[str(label)], impaths) for label, impaths in by_label.items())
