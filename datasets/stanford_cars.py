"""Stanford Cars: `.mat` annotations; class names with the year moved to the front; JSON paths are
relative to the dataset folder itself (`cars_train/00001.jpg`)."""
from __future__ import annotations

import os

from clipfit.compat import DATASET_REGISTRY

from .base import SplitDataset
from .listing import make_datum
from .random_splits import split_trainval


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
