"""Tiny synthetic copies of the 15 benchmark layouts, for tests on CPU without the real data.

Every image is a real JPEG (16x16, one colour per class plus one noise pixel per image) written
where the real dataset has it; annotation, list, `.mat` and `classnames.txt` files have the real
formats. The fixture describes each layout independently of `datasets/`, so tests check the loaders
against this description rather than against themselves.

    make_all_fixtures(root)                          # every dataset under root/
    make_dataset_fixture(root, "OxfordPets", True)   # one, with a split_zhou_*.json
    fixture_split_json("OxfordPets")                 # the JSON content written with_split_json=True
    EXPECTED["OxfordPets"]                           # sizes and class names the loaders must give

Sizes: 3 classes (4 for Caltech101), 5-7 images per class (DATASETS.md, "Synthetic data for tests and
the demo"). tests/datasets/test_ds_layouts.py checks that these names, folders and split files are the
registered classes' ones.
"""
from __future__ import annotations

import io
import json
import os
from collections.abc import Callable

import numpy as np
from PIL import Image

FIXTURE_NAMES = (
    "OxfordPets",
    "OxfordFlowers",
    "FGVCAircraft",
    "DescribableTextures",
    "EuroSAT",
    "StanfordCars",
    "Food101",
    "SUN397",
    "Caltech101",
    "UCF101",
    "ImageNet",
    "ImageNetV2",
    "ImageNetSketch",
    "ImageNetA",
    "ImageNetR",
)

DATASET_DIRS = {
    "OxfordPets": "oxford_pets",
    "OxfordFlowers": "oxford_flowers",
    "FGVCAircraft": "fgvc_aircraft",
    "DescribableTextures": "dtd",
    "EuroSAT": "eurosat",
    "StanfordCars": "stanford_cars",
    "Food101": "food-101",
    "SUN397": "sun397",
    "Caltech101": "caltech-101",
    "UCF101": "ucf101",
    "ImageNet": "imagenet",
    "ImageNetV2": "imagenetv2",
    "ImageNetSketch": "imagenet-sketch",
    "ImageNetA": "imagenet-adversarial",
    "ImageNetR": "imagenet-rendition",
}

SPLIT_FILES = {
    name: f"split_zhou_{name}.json"
    for name in (
        "OxfordPets", "OxfordFlowers", "DescribableTextures", "EuroSAT", "StanfordCars", "Food101", "SUN397",
        "Caltech101", "UCF101",
    )
}

# The first three lines are ImageNet's real ones; the rest are placeholders with the real line format.
IMAGENET_CLASSES = [("n01440764", "tench"), ("n01443537", "goldfish"), ("n01484850", "great white shark")]
IMAGENET_CLASSNAMES_TXT = "".join(
    f"{wnid} {name}\n" for wnid, name in IMAGENET_CLASSES + [(f"n9{i:07d}", f"class_{i}") for i in range(3, 1000)]
)

# What the loaders must produce on the fixtures (fallback path; the JSON path gives the same sizes).
# sizes = (train, val, test); val None for test-only datasets (train_x is the test list).
EXPECTED = {
    "OxfordPets": ((12, 3, 6), ["abyssinian", "american_bulldog", "egyptian_mau"]),
    "OxfordFlowers": ((6, 3, 6), ["pink primrose", "hard-leaved pocket orchid", "canterbury bells"]),
    "FGVCAircraft": ((12, 6, 6), ["707-320", "A300B4", "Boeing 717"]),
    "DescribableTextures": ((9, 3, 6), ["banded", "blotchy", "braided"]),
    "EuroSAT": ((9, 3, 6), ["Annual Crop Land", "Forest", "Sea or Lake"]),
    "StanfordCars": ((12, 3, 6), ["2000 AM General Hummer SUV", "2012 Acura RL Sedan", "2012 BMW M3 Coupe"]),
    "Food101": ((9, 3, 6), ["apple_pie", "baby_back_ribs", "baklava"]),
    "SUN397": ((12, 3, 6), ["abbey", "outdoor apartment_building", "bedroom"]),
    "Caltech101": ((12, 4, 8), ["face", "leopard", "accordion", "airplane"]),
    "UCF101": ((12, 3, 6), ["Apply_Eye_Makeup", "Playing_Daf", "Yo_Yo"]),
    "ImageNet": ((15, 6, 6), ["tench", "goldfish", "great white shark"]),
    "ImageNetV2": ((6, None, 6), ["tench", "goldfish", "great white shark"]),
    "ImageNetSketch": ((6, None, 6), ["tench", "goldfish", "great white shark"]),
    "ImageNetA": ((4, None, 4), ["goldfish", "great white shark"]),
    "ImageNetR": ((4, None, 4), ["tench", "goldfish"]),
}

_PALETTE = [(220, 40, 40), (40, 170, 60), (50, 80, 220), (230, 200, 40), (160, 60, 200), (240, 130, 30)]


def jpeg_bytes(color: tuple[int, int, int], noise: int, size: int = 16) -> bytes:
    """A small real JPEG in `color` whose pixel at position `noise` differs, so files are distinct."""
    pixels = np.empty((size, size, 3), dtype=np.uint8)
    pixels[:] = color
    y, x = divmod(noise % (size * size), size)
    pixels[y, x] = (255 - color[0], 255 - color[1], 255 - color[2])
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=75)
    return buffer.getvalue()


def photo_jpeg_bytes(color: tuple[int, int, int], seed: int, size: tuple[int, int] = (500, 375),
                     quality: int = 90) -> bytes:
    """A JPEG that costs what a photo costs to decode: `size` (width, height), smooth shading in `color`
    plus fine texture (a flat image compresses to almost nothing and decodes unrealistically fast)."""
    rng = np.random.default_rng(seed)
    width, height = size
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    phase = rng.uniform(0, 2 * np.pi, 3)
    shade = 40 * np.sin(xx / (width / 3) + phase[0]) + 40 * np.cos(yy / (height / 2) + phase[1])
    pixels = np.asarray(color, np.float32)[None, None] + shade[..., None]
    pixels += rng.normal(0, 18, (height, width, 3)).astype(np.float32)
    buffer = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


class _Writer:
    """Writes the files of one fixture under `base` (or nothing, to compute the split only); with
    `photo_size`, the images are photo-like JPEGs of that (width, height) instead of 16x16 ones."""

    def __init__(self, base: str | None, photo_size: tuple[int, int] | None = None, quality: int = 90):
        self.base = base
        self.count = 0
        self.photo_size, self.quality = photo_size, quality

    def _path(self, relpath: str) -> str | None:
        if self.base is None:
            return None
        path = os.path.join(self.base, relpath)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        return path

    def image(self, relpath: str, class_index: int) -> None:
        self.count += 1
        path = self._path(relpath)
        if path:
            color = _PALETTE[class_index % len(_PALETTE)]
            with open(path, "wb") as f:
                if self.photo_size is None:
                    f.write(jpeg_bytes(color, self.count))
                else:
                    f.write(photo_jpeg_bytes(color, self.count, self.photo_size, self.quality))

    def text(self, relpath: str, content: str, newline: str = "\n") -> None:
        path = self._path(relpath)
        if path:
            with open(path, "w", encoding="utf-8", newline=newline) as f:
                f.write(content)

    def mat(self, relpath: str, content: dict) -> None:
        path = self._path(relpath)
        if path:
            from scipy.io import savemat

            savemat(path, content)

    def folder(self, relpath: str) -> None:
        if self.base is not None:
            os.makedirs(os.path.join(self.base, relpath), exist_ok=True)


def _lines(lines: list[str], end: str = "\n") -> str:
    return "".join(line + end for line in lines)


def _new_split() -> dict:
    return {"train": [], "val": [], "test": []}


def _part_of_seven(i: int) -> str:
    """Where image i (1..7) of a class goes in the layouts with official trainval (1-5) and test (6-7)
    lists: 4 train, 1 val, 2 test per class."""
    return "train" if i <= 4 else "val" if i == 5 else "test"


def _folder_split(w: _Writer, image_dir: str, classes: list[tuple[str, str]], per_class: int, name: Callable) -> dict:
    """One folder per class, `per_class` images; the split a 50/20/30 cut gives per class."""
    n_train, n_val = round(per_class * 0.5), round(per_class * 0.2)
    split = _new_split()
    for label, (folder, classname) in enumerate(sorted(classes)):
        for i in range(1, per_class + 1):
            rel = f"{folder}/{name(folder, i)}"
            w.image(f"{image_dir}/{rel}", label)
            part = "train" if i <= n_train else "val" if i <= n_train + n_val else "test"
            split[part].append([rel, label, classname])
    return split


def _seven_per_class(
    w: _Writer, image_dir: str, classes: list[tuple[str, str]], image: Callable, list_line: Callable
) -> tuple[list[str], list[str], dict]:
    """Seven images per class, as in the layouts with official trainval (1-5) and test (6-7) lists.

    `classes` holds (folder or id, class name) per label; `image(label, key, i)` is the image path under
    `image_dir`, `list_line(label, key, i, relpath)` its line in the list. Returns (trainval lines, test
    lines, split).
    """
    trainval, test, split = [], [], _new_split()
    for label, (key, classname) in enumerate(classes):
        for i in range(1, 8):
            rel = image(label, key, i)
            w.image(f"{image_dir}/{rel}", label)
            (trainval if i <= 5 else test).append(list_line(label, key, i, rel))
            split[_part_of_seven(i)].append([rel, label, classname])
    return trainval, test, split


def _oxford_pets(w: _Writer) -> dict:
    species = {"Abyssinian": 1, "american_bulldog": 2, "Egyptian_Mau": 1}
    trainval, test, split = _seven_per_class(
        w, "images", [(breed, breed.lower()) for breed in species],
        lambda label, breed, i: f"{breed}_{i}.jpg",
        lambda label, breed, i, rel: f"{breed}_{i} {label + 1} {species[breed]} {i}",
    )
    w.text("annotations/trainval.txt", _lines(trainval))
    w.text("annotations/test.txt", _lines(test))
    return split


def _oxford_flowers(w: _Writer) -> dict:
    labels = [2, 1, 1, 3, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3]  # first appearances: 2, 1, 3; 5 images each
    names = {"1": "pink primrose", "2": "hard-leaved pocket orchid", "3": "canterbury bells"}
    for i, label in enumerate(labels):
        w.image(f"jpg/image_{i + 1:05d}.jpg", label - 1)
    w.mat("imagelabels.mat", {"labels": np.array([labels], dtype=np.float64)})
    w.text("cat_to_name.json", json.dumps(names))
    split = _new_split()
    for label in (2, 1, 3):
        files = [f"image_{i + 1:05d}.jpg" for i, y in enumerate(labels) if y == label]
        for k, rel in enumerate(files):
            split["train" if k < 2 else "val" if k == 2 else "test"].append([rel, label - 1, names[str(label)]])
    return split


def _fgvc_aircraft(w: _Writer) -> None:
    variants = ["707-320", "A300B4", "Boeing 717"]
    w.text("variants.txt", _lines(variants))
    lists = {"train": [], "val": [], "test": []}
    image_id = 0
    for label, variant in enumerate(variants):
        for part, count in (("train", 4), ("val", 2), ("test", 2)):
            for _ in range(count):
                image_id += 1
                w.image(f"images/{image_id:07d}.jpg", label)
                lists[part].append(f"{image_id:07d} {variant}")
    for part, lines in lists.items():
        w.text(f"images_variant_{part}.txt", _lines(lines))


def _dtd(w: _Writer) -> dict:
    w.text("imdb/imdb.mat", "not read")  # the official split files are present but unused
    w.text("labels/train1.txt", "banded/banded_0001.jpg\n")
    classes = [(c, c) for c in ("banded", "blotchy", "braided")]
    return _folder_split(w, "images", classes, 6, lambda c, i: f"{c}_{i:04d}.jpg")


def _eurosat(w: _Writer) -> dict:
    classes = [("AnnualCrop", "Annual Crop Land"), ("Forest", "Forest"), ("SeaLake", "Sea or Lake")]
    return _folder_split(w, "2750", classes, 6, lambda c, i: f"{c}_{i}.jpg")


def _stanford_cars(w: _Writer) -> dict:
    raw = ["AM General Hummer SUV 2000", "Acura RL Sedan 2012", "BMW M3 Coupe 2012"]
    names = ["2000 AM General Hummer SUV", "2012 Acura RL Sedan", "2012 BMW M3 Coupe"]
    split = _new_split()

    def annotations(folder: str, count: int, parts: Callable[[int], str]) -> np.ndarray:
        records = np.empty((1, count * 3), dtype=[("fname", object), ("class", object)])
        for i in range(count * 3):
            label, k = i % 3, i // 3  # classes interleaved, as in the real files
            fname = f"{i + 1:05d}.jpg"
            w.image(f"{folder}/{fname}", label)
            records[0, i]["fname"] = fname
            records[0, i]["class"] = label + 1
            split[parts(k)].append([f"{folder}/{fname}", label, names[label]])
        return records

    meta = np.empty((1, 3), dtype=object)
    meta[0, :] = raw
    w.mat("devkit/cars_meta.mat", {"class_names": meta})
    train_annos = annotations("cars_train", 5, lambda k: "train" if k < 4 else "val")
    w.mat("devkit/cars_train_annos.mat", {"annotations": train_annos})
    w.mat("cars_test_annos_withlabels.mat", {"annotations": annotations("cars_test", 2, lambda k: "test")})
    return split


def _food101(w: _Writer) -> dict:
    w.text("meta/classes.txt", "apple_pie\nbaby_back_ribs\nbaklava\n")  # ignored
    w.text("README.txt", "ignored\n")
    classes = [(c, c) for c in ("apple_pie", "baby_back_ribs", "baklava")]
    return _folder_split(w, "images", classes, 6, lambda c, i: f"{100000 + i}.jpg")


def _sun397(w: _Writer) -> dict:
    classdirs = [
        ("a/abbey", "abbey"), ("a/apartment_building/outdoor", "outdoor apartment_building"), ("b/bedroom", "bedroom")
    ]
    w.text("ClassName.txt", _lines(f"/{c}" for c, _ in classdirs))
    training, testing, split = _seven_per_class(
        w, "SUN397", classdirs,
        lambda label, classdir, i: f"{classdir}/sun_{'abc'[label]}{i:015d}.jpg",
        lambda label, classdir, i, rel: f"/{rel}",
    )
    w.text("Training_01.txt", _lines(training))
    w.text("Testing_01.txt", _lines(testing))
    return split


def _caltech101(w: _Writer) -> dict:
    for ignored in ("BACKGROUND_Google", "Faces_easy"):
        for i in range(1, 3):
            w.image(f"101_ObjectCategories/{ignored}/image_{i:04d}.jpg", 5)
    classes = [("Faces", "face"), ("Leopards", "leopard"), ("accordion", "accordion"), ("airplanes", "airplane")]
    return _folder_split(w, "101_ObjectCategories", classes, 6, lambda c, i: f"image_{i:04d}.jpg")


def _ucf101(w: _Writer) -> dict:
    actions = [("ApplyEyeMakeup", "Apply_Eye_Makeup"), ("PlayingDaf", "Playing_Daf"), ("YoYo", "Yo_Yo")]
    # The official lists use Windows line ends.
    w.text("ucfTrainTestlist/classInd.txt", _lines([f"{i + 1} {a}" for i, (a, _) in enumerate(actions)], "\r\n"))
    renamed = dict(actions)
    trainlist, testlist, split = _seven_per_class(
        w, "UCF-101-midframes", actions,
        lambda label, action, i: f"{renamed[action]}/v_{action}_g{i:02d}_c01.jpg",
        # the train list carries the label, the test list does not
        lambda label, action, i, rel: f"{action}/v_{action}_g{i:02d}_c01.avi" + (f" {label + 1}" if i <= 5 else ""),
    )
    w.text("ucfTrainTestlist/trainlist01.txt", _lines(trainlist, "\r\n"))
    w.text("ucfTrainTestlist/testlist01.txt", _lines(testlist, "\r\n"))
    return split


def _imagenet(w: _Writer) -> None:
    w.text("classnames.txt", IMAGENET_CLASSNAMES_TXT)
    n = 0
    for label, (wnid, _) in enumerate(IMAGENET_CLASSES):
        for i in range(1, 6):
            w.image(f"images/train/{wnid}/{wnid}_{i}.JPEG", label)
        for _ in range(2):
            n += 1
            w.image(f"images/val/{wnid}/ILSVRC2012_val_{n:08d}.JPEG", label)


def _imagenetv2(w: _Writer) -> None:
    w.text("classnames.txt", IMAGENET_CLASSNAMES_TXT)
    for i in range(1000):  # the loader reads all 1000 folders; only the first three hold images
        w.folder(f"imagenetv2-matched-frequency-format-val/{i}")
    for label in range(3):
        for k in range(2):
            w.image(f"imagenetv2-matched-frequency-format-val/{label}/{label:02d}{k}f3e1c0.jpeg", label)


def _imagenet_sketch(w: _Writer) -> None:
    w.text("classnames.txt", IMAGENET_CLASSNAMES_TXT)
    for label, (wnid, _) in enumerate(IMAGENET_CLASSES):
        for i in range(1, 3):
            w.image(f"images/{wnid}/sketch_{i}.JPEG", label)


def _imagenet_variant(folder: str, wnids: list[str]) -> Callable[[_Writer], None]:
    def build(w: _Writer) -> None:
        w.text("classnames.txt", IMAGENET_CLASSNAMES_TXT)
        w.text(f"{folder}/README.txt", "skipped by name\n")
        for label, wnid in enumerate(wnids):
            for i in range(1, 3):
                w.image(f"{folder}/{wnid}/{i:04d}_{wnid}.jpg", label)

    return build


_BUILDERS: dict[str, Callable[[_Writer], dict | None]] = {
    "OxfordPets": _oxford_pets,
    "OxfordFlowers": _oxford_flowers,
    "FGVCAircraft": _fgvc_aircraft,
    "DescribableTextures": _dtd,
    "EuroSAT": _eurosat,
    "StanfordCars": _stanford_cars,
    "Food101": _food101,
    "SUN397": _sun397,
    "Caltech101": _caltech101,
    "UCF101": _ucf101,
    "ImageNet": _imagenet,
    "ImageNetV2": _imagenetv2,
    "ImageNetSketch": _imagenet_sketch,
    "ImageNetA": _imagenet_variant("imagenet-a", ["n01443537", "n01484850"]),
    "ImageNetR": _imagenet_variant("imagenet-r", ["n01440764", "n01443537"]),
}


def fixture_split(name: str) -> dict | None:
    """The split (`[relpath, label, classname]` per part) a fixture's layout gives, grouped by class;
    None for the datasets without a split JSON."""
    return _BUILDERS[name](_Writer(None))


def fixture_split_json(name: str) -> dict | None:
    """The content written as `split_zhou_<name>.json`: `fixture_split` with every list reversed, so a
    loader that keeps the JSON order is told apart from one that re-derives the split."""
    split = fixture_split(name)
    return None if split is None else {part: items[::-1] for part, items in split.items()}


def make_dataset_fixture(root: str, name: str, with_split_json: bool = False,
                         photo_size: tuple[int, int] | None = None, quality: int = 90) -> str:
    """Write the fixture of dataset `name` (a registered name) under `root`; return its dataset folder.

    With `with_split_json`, also write its `split_zhou_<name>.json` (datasets that have one). With
    `photo_size` (width, height), the images are photo-like JPEGs of that size and `quality` (benchmarks).
    """
    if name not in _BUILDERS:
        raise KeyError(f"no fixture for {name!r}; choose from {list(FIXTURE_NAMES)}")
    dataset_dir = os.path.join(root, DATASET_DIRS[name])
    os.makedirs(dataset_dir, exist_ok=True)
    _BUILDERS[name](_Writer(dataset_dir, photo_size, quality))
    if with_split_json and name in SPLIT_FILES:
        from ..core.atomic_files import write_json

        write_json(fixture_split_json(name), os.path.join(dataset_dir, SPLIT_FILES[name]))
    return dataset_dir


def make_all_fixtures(root: str, with_split_json: bool = False) -> dict[str, str]:
    """Write all 15 fixtures under `root`; return {registered name: dataset folder}."""
    return {name: make_dataset_fixture(root, name, with_split_json) for name in FIXTURE_NAMES}
