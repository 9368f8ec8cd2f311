"""Stanford Cars: `.mat` annotations; class names with the year moved to the front; JSON paths are
relative to the dataset folder itself (`cars_train/00001.jpg`)."""
from __future__ import annotations

import os

from clipfit.compat import DATASET_REGISTRY

from ._shared.base import SplitDataset
from ._shared.listing import make_datum
from ._shared.published_files import PublishedFile
from ._shared.random_splits import split_trainval


@DATASET_REGISTRY.register()
class StanfordCars(SplitDataset):
    dataset_dir = "stanford_cars"
    benchmarks = ("base2new", "few_shot", "xd_target")
    template = "a photo of a {}."
    image_subdir = ""
    split_file = "split_zhou_StanfordCars.json"
    split_file_id = "1ObCFbaAgVu0I-k_Au-gIUcefirdAuizT"  # the CoOp authors' file on Google Drive
    required = ("cars_train", "cars_test")
    native_files = ("devkit/cars_train_annos.mat", "devkit/cars_meta.mat", "cars_test_annos_withlabels.mat")
    count_dirs = ("cars_train", "cars_test")
    # The original Stanford links (often offline: --url-template or --from take a mirror's copies of the
    # same files); sizes and SHA-256 as TensorFlow Datasets publishes them.
    published_files = (
        PublishedFile(
            "cars_train.tgz", url="https://ai.stanford.edu/~jkrause/car196/cars_train.tgz",
            size=979269282, sha256="512b227b30e2f0a8aab9e09485786ab4479582073a144998da74d64b801fd288",
            take={"cars_train": "cars_train"},
        ),
        PublishedFile(
            "cars_test.tgz", url="https://ai.stanford.edu/~jkrause/car196/cars_test.tgz",
            size=977350468, sha256="bffea656d6f425cba3c91c6d83336e4c5f86c6cffd8975b0f375d3a10da8e243",
            take={"cars_test": "cars_test"},
        ),
        PublishedFile(
            "car_devkit.tgz", url="https://ai.stanford.edu/~jkrause/cars/car_devkit.tgz",
            size=330960, sha256="b97deb463af7d58b6bfaa18b2a4de9829f0f79e8ce663dfa9261bf7810e9accd",
            take={"devkit": "devkit"}, native_only=True,
        ),
        PublishedFile(
            "cars_test_annos_withlabels.mat",
            url="https://ai.stanford.edu/~jkrause/car196/cars_test_annos_withlabels.mat",
            size=185758, sha256="790f75be8ea34eeded134cc559332baf23e30e91367e9ddca97d26ed9b895f05", native_only=True,
        ),
    )

    def read_native(self):
        meta = "devkit/cars_meta.mat"
        train, val = split_trainval(self.read_data("cars_train", "devkit/cars_train_annos.mat", meta))
        return train, val, self.read_data("cars_test", "cars_test_annos_withlabels.mat", meta)

    def read_data(self, image_dir: str, anno_file: str, meta_file: str) -> list:
        from scipy.io import loadmat

        records = loadmat(os.path.join(self.dataset_dir, anno_file))["annotations"][0]
        names = loadmat(os.path.join(self.dataset_dir, meta_file))["class_names"][0]
        items = []
        for record in records:
            label = int(record["class"][0, 0]) - 1
            words = str(names[label][0]).split(" ")
            # "AM General Hummer SUV 2000" -> "2000 AM General Hummer SUV"
            classname = " ".join([words[-1], *words[:-1]])
            impath = os.path.join(self.dataset_dir, image_dir, str(record["fname"][0]))
            items.append(make_datum(impath, label, classname))
        return items
