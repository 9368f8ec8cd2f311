"""ImageNet (ILSVRC-2012): class folders under `images/train` and `images/val`; the val set is the test set.

The full lists are cached in `preprocessed.pkl`; when it exists the folders and classnames.txt are not read.
"""
from __future__ import annotations

import os

from clipfit.compat import DATASET_REGISTRY

from ._shared.base import FewShotDataset
from ._shared.cached_paths import resolve_cached_paths
from ._shared.class_folders import classname_lookup, read_class_folders
from ._shared.datum_pickle import save_datum_pickle
from ._shared.errors import CorruptDatasetFile, docs_ref
from ._shared.listing import list_names
from ._shared.published_files import PublishedFile
from ._shared.readers import load_datum_cache

# ILSVRC-2012 is distributed under the ImageNet terms of access: the user downloads it, clipfit takes it from there.
_LICENSED = ("image-net.org, after logging in and accepting the terms of access "
             "(https://image-net.org/download-images.php, ILSVRC2012)")
# CoOp's class names (CLIP's), shared with the four variants; the CoOp authors publish no checksum.
CLASSNAMES_FILE = PublishedFile("classnames.txt", drive_id="1-61f_ol79pViBFDG_IDlUQSwoLcn2XXF")


@DATASET_REGISTRY.register()
class ImageNet(FewShotDataset):
    dataset_dir = "imagenet"
    benchmarks = ("base2new", "few_shot", "xd_source")
    template = "a photo of a {}."
    image_subdir = "images"
    required = ("images",)
    native_files = ("classnames.txt", "images/train", "images/val")
    count_dirs = ("images/train", "images/val")
    preprocessed_file = "preprocessed.pkl"  # replaces native_files when present
    published_files = (  # the MD5s torchvision publishes; val is sorted into class folders with the devkit
        PublishedFile("ILSVRC2012_img_train.tar", md5="1d675b47d978889d74fa0da5fadfb00e", unpack="imagenet_train",
                      take={"train": "images/train"}, manual=_LICENSED),
        PublishedFile("ILSVRC2012_img_val.tar", md5="29b22e2961454d5413ddabcf34fc5622", unpack="imagenet_val",
                      take={"val": "images/val"}, needs=("ILSVRC2012_devkit_t12.tar.gz",), manual=_LICENSED),
        PublishedFile("ILSVRC2012_devkit_t12.tar.gz", md5="fa75699e90414af021442c21a62c3abf", unpack="none",
                      manual=_LICENSED),
        CLASSNAMES_FILE,
    )

    def read_splits(self):
        self.preprocessed = self.files.primary(self.preprocessed_file)
        found = self.files.find(self.preprocessed_file)
        if found:
            advice = "Delete it: it is rebuilt from images/ and classnames.txt on the next run."
            data = load_datum_cache(found, ("train", "test"), advice)
            # Used as it is (CoOp's semantics); only a moved data root is detected (by an even sample).
            data = resolve_cached_paths(data, self.dataset_dir, found, check_files=False)
            self.require_images(data["train"], None, data["test"], source=found)
            return data["train"], None, data["test"]
        self.require(self.native_files)
        classname_of = classname_lookup(os.path.join(self.dataset_dir, "classnames.txt"), self.anchor())
        train_dir, val_dir = os.path.join(self.image_dir, "train"), os.path.join(self.image_dir, "val")
        folders = self.class_folders(train_dir, val_dir)
        train = read_class_folders(train_dir, folders, classname_of)
        test = read_class_folders(val_dir, folders, classname_of)  # the official val set is the test set
        self.require_images(train, None, test)
        self.files.save(self.preprocessed_file, lambda path: save_datum_pickle({"train": train, "test": test}, path))
        return train, None, test

    def class_folders(self, train_dir: str, val_dir: str) -> list[str]:
        """The wnid folders sorted (label = position); train and val must hold the same ones."""
        folders = sorted(list_names(train_dir, "dirs"))
        val_folders = sorted(list_names(val_dir, "dirs"))
        if folders != val_folders:
            absent = sorted(set(folders) - set(val_folders))
            raise CorruptDatasetFile(
                f"{val_dir} has {len(val_folders)} class folders but {train_dir} has {len(folders)}"
                + (f" ({len(absent)} missing, e.g. {absent[:3]})" if absent else "")
                + ", so their labels would disagree. Sort the val images into one folder per wnid, like the "
                f"train images ({docs_ref(self.anchor())})."
            )
        return folders
