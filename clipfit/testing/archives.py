"""Small synthetic copies of the files the 15 datasets are published as, for `clipfit data prepare` tests.

Each archive has its real format and internal layout (the Pets `images.tar.gz` holds `images/*.jpg`, the
FGVC tarball `fgvc-aircraft-2013b/data/...`, Caltech's zip a `101_ObjectCategories.tar.gz`, ImageNet's
train tar one tar per class, its val tar flat images labelled by the devkit's `meta.mat` and ground truth,
...), written down here independently of the dataset classes, and holds the images and annotation files
of the synthetic layouts of `fixtures.py`. So preparing from these archives must give a root the loaders
read exactly like the fixture laid out by hand.

    published = make_published_files("/tmp/work", "OxfordPets")   # {file name: bytes}
    split_file_bytes("OxfordPets")                                 # its official split file, or None
"""
from __future__ import annotations

import io
import json
import os
import random
import tarfile
import zipfile
from collections.abc import Callable

import numpy as np

from .fixtures import IMAGENET_CLASSES, SPLIT_FILES, fixture_split_json, make_dataset_fixture

Entries = dict[str, "bytes | None"]  # archive member name -> content (None: a folder)


def tar_bytes(entries: Entries, compression: str = "gz") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=f"w:{compression}" if compression else "w") as tar:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.mtime = 1_300_000_000
            if data is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                info.size, info.mode = len(data), 0o644
                tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def zip_bytes(entries: Entries) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            if data is None:
                zf.writestr(name.rstrip("/") + "/", b"")
            else:
                zf.writestr(name, data)
    return buffer.getvalue()


def _files(layout: str, sub: str, prefix: str) -> Entries:
    """The files under `layout/sub` as entries named `prefix + their path below sub`, sorted."""
    top = os.path.join(layout, sub)
    if os.path.isfile(top):
        return {prefix: _read(top)}
    entries = {}
    for dirpath, _, filenames in sorted(os.walk(top)):
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            entries[prefix + os.path.relpath(path, top).replace(os.sep, "/")] = _read(path)
    return entries


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _pets(d: str) -> dict[str, bytes]:
    return {"images.tar.gz": tar_bytes(_files(d, "images", "images/")),
            "annotations.tar.gz": tar_bytes({**_files(d, "annotations", "annotations/"),
                                             "annotations/README": b"unused\n"})}


def _flowers(d: str) -> dict[str, bytes]:
    return {"102flowers.tgz": tar_bytes(_files(d, "jpg", "jpg/")), "imagelabels.mat": _read(f"{d}/imagelabels.mat"),
            "cat_to_name.json": _read(f"{d}/cat_to_name.json")}


def _aircraft(d: str) -> dict[str, bytes]:
    top = "fgvc-aircraft-2013b/"
    entries = {top + "README.md": b"FGVC-Aircraft\n", top + "data/families.txt": b"Boeing 707\n"}
    entries.update(_files(d, "images", top + "data/images/"))
    for name in ("variants.txt", "images_variant_train.txt", "images_variant_val.txt", "images_variant_test.txt"):
        entries[top + "data/" + name] = _read(f"{d}/{name}")
    return {"fgvc-aircraft-2013b.tar.gz": tar_bytes(entries)}


def _dtd(d: str) -> dict[str, bytes]:
    entries = {**_files(d, "images", "dtd/images/"), **_files(d, "imdb", "dtd/imdb/"),
               **_files(d, "labels", "dtd/labels/")}
    return {"dtd-r1.0.1.tar.gz": tar_bytes(entries)}


def _eurosat(d: str) -> dict[str, bytes]:
    return {"EuroSAT.zip": zip_bytes(_files(d, "2750", "2750/"))}


def _cars(d: str) -> dict[str, bytes]:
    devkit = {**_files(d, "devkit", "devkit/"), "devkit/README.txt": b"devkit\n"}
    return {"cars_train.tgz": tar_bytes(_files(d, "cars_train", "cars_train/")),
            "cars_test.tgz": tar_bytes(_files(d, "cars_test", "cars_test/")),
            "car_devkit.tgz": tar_bytes(devkit),
            "cars_test_annos_withlabels.mat": _read(f"{d}/cars_test_annos_withlabels.mat")}


def _food(d: str) -> dict[str, bytes]:
    entries = {**_files(d, "images", "food-101/images/"), **_files(d, "meta", "food-101/meta/"),
               "food-101/README.txt": b"Food-101\n", "food-101/license_agreement.txt": b"research only\n"}
    return {"food-101.tar.gz": tar_bytes(entries)}


def _sun(d: str) -> dict[str, bytes]:
    images = {**_files(d, "SUN397", "SUN397/"), "SUN397/ClassName.txt": _read(f"{d}/ClassName.txt")}
    partitions = {name: _read(f"{d}/{name}") for name in ("ClassName.txt", "Training_01.txt", "Testing_01.txt")}
    partitions["Training_02.txt"] = partitions["Training_01.txt"]  # (the other nine are unused)
    return {"SUN397.tar.gz": tar_bytes(images), "Partitions.zip": zip_bytes(partitions)}


def _caltech(d: str) -> dict[str, bytes]:
    inner = tar_bytes(_files(d, "101_ObjectCategories", "101_ObjectCategories/"))
    annotations = tar_bytes({"Annotations/Faces/annotation_0001.mat": b"unused"}, compression="")
    return {"caltech-101.zip": zip_bytes({"caltech-101/101_ObjectCategories.tar.gz": inner,
                                          "caltech-101/Annotations.tar": annotations,
                                          "caltech-101/show_annotation.m": b"% unused\n"})}


def _ucf(d: str) -> dict[str, bytes]:
    return {"UCF-101-midframes.zip": zip_bytes(_files(d, "UCF-101-midframes", "UCF-101-midframes/")),
            "UCF101TrainTestSplits-RecognitionTask.zip": zip_bytes(_files(d, "ucfTrainTestlist", "ucfTrainTestlist/"))}


# ILSVRC2012_IDs of the fixture's three classes in meta.mat (not in wnid order, as in the real devkit)
_IMAGENET_IDS = {"n01440764": 3, "n01443537": 1, "n01484850": 2}


def _imagenet_devkit(val_wnids: list[str]) -> bytes:
    from scipy.io import savemat

    fields = [("ILSVRC2012_ID", object), ("WNID", object), ("words", object), ("num_children", object)]
    synsets = np.empty((len(IMAGENET_CLASSES) + 1, 1), dtype=fields)
    rows = [(_IMAGENET_IDS[w], w, name, 0) for w, name in IMAGENET_CLASSES] + [(4, "n00001740", "entity", 3)]
    for i, row in enumerate(rows):
        for (key, _), value in zip(fields, row):
            synsets[i, 0][key] = value
    meta = io.BytesIO()
    savemat(meta, {"synsets": synsets})
    truth = "".join(f"{_IMAGENET_IDS[w]}\n" for w in val_wnids).encode()
    return tar_bytes({"ILSVRC2012_devkit_t12/data/meta.mat": meta.getvalue(),
                      "ILSVRC2012_devkit_t12/data/ILSVRC2012_validation_ground_truth.txt": truth,
                      "ILSVRC2012_devkit_t12/readme.txt": b"devkit\n"})


def _imagenet(d: str) -> dict[str, bytes]:
    train = {f"{wnid}.tar": tar_bytes(_files(d, f"images/train/{wnid}", ""), compression="")
             for wnid, _ in IMAGENET_CLASSES}
    val, wnid_of = {}, {}
    for wnid, _ in IMAGENET_CLASSES:
        for name, data in _files(d, f"images/val/{wnid}", "").items():
            val[name], wnid_of[name] = data, wnid
    names = sorted(val)
    order = names[:]
    random.Random(0).shuffle(order)  # the val tar's member order does not follow the classes
    return {"ILSVRC2012_img_train.tar": tar_bytes(train, compression=""),
            "ILSVRC2012_img_val.tar": tar_bytes({n: val[n] for n in order}, compression=""),
            "ILSVRC2012_devkit_t12.tar.gz": _imagenet_devkit([wnid_of[n] for n in names]),
            "classnames.txt": _read(f"{d}/classnames.txt")}


def _imagenetv2(d: str) -> dict[str, bytes]:
    top = "imagenetv2-matched-frequency-format-val/"
    entries: Entries = {f"{top}{i}/": None for i in range(1000)}
    entries.update(_files(d, top, top))
    return {"imagenetv2-matched-frequency.tar.gz": tar_bytes(entries), "classnames.txt": _read(f"{d}/classnames.txt")}


def _sketch(d: str) -> dict[str, bytes]:
    return {"ImageNet-Sketch.zip": zip_bytes(_files(d, "images", "sketch/")),
            "classnames.txt": _read(f"{d}/classnames.txt")}


def _variant(folder: str) -> Callable[[str], dict[str, bytes]]:
    def pack(d: str) -> dict[str, bytes]:
        return {f"{folder}.tar": tar_bytes(_files(d, folder, f"{folder}/"), compression=""),
                "classnames.txt": _read(f"{d}/classnames.txt")}

    return pack


_PACKERS: dict[str, Callable[[str], dict[str, bytes]]] = {
    "OxfordPets": _pets, "OxfordFlowers": _flowers, "FGVCAircraft": _aircraft, "DescribableTextures": _dtd,
    "EuroSAT": _eurosat, "StanfordCars": _cars, "Food101": _food, "SUN397": _sun, "Caltech101": _caltech,
    "UCF101": _ucf, "ImageNet": _imagenet, "ImageNetV2": _imagenetv2, "ImageNetSketch": _sketch,
    "ImageNetA": _variant("imagenet-a"), "ImageNetR": _variant("imagenet-r"),
}


def make_published_files(workdir: str, name: str) -> dict[str, bytes]:
    """The published files of dataset `name` (registered name): {file name: content}. The fixture layout
    they are packed from is written under `workdir` first."""
    return _PACKERS[name](make_dataset_fixture(workdir, name))


def split_file_bytes(name: str) -> bytes | None:
    """The official split file of dataset `name` as the CoOp authors' Drive would serve it (the fixture's)."""
    split = fixture_split_json(name) if name in SPLIT_FILES else None
    return None if split is None else json.dumps(split, indent=4).encode()
