"""Dataset names: config-file stems (folder names) -> display names of the published tables."""
from __future__ import annotations

import os

from .. import datasets_catalog

# Stem of configs/datasets/<stem>.yaml (the folder name in output/) -> display name, in the papers' order.
DISPLAY_NAMES = {
    "imagenet": "ImageNet",
    "caltech101": "Caltech101",
    "oxford_pets": "OxfordPets",
    "stanford_cars": "StanfordCars",
    "oxford_flowers": "Flowers102",
    "food101": "Food101",
    "fgvc_aircraft": "FGVCAircraft",
    "sun397": "SUN397",
    "dtd": "DTD",
    "eurosat": "EuroSAT",
    "ucf101": "UCF101",
    "imagenetv2": "ImageNetV2",
    "imagenet_sketch": "ImageNet-Sketch",
    "imagenet_a": "ImageNet-A",
    "imagenet_r": "ImageNet-R",
}

# The 11 datasets of the base-to-new, few-shot and cross-dataset benchmarks and the transfer targets: the
# lists the benchmark jobs run on.
BENCHMARK_DATASETS = datasets_catalog.stems("base2new")
CROSS_DATASET_TARGETS = datasets_catalog.stems("xd_target")
DG_TARGETS = datasets_catalog.stems("dg_target")
SOURCE_DATASET = datasets_catalog.transfer_source()

# Dassl dataset class names (`DATASET.NAME` in a log's config dump) -> stem; used only when a folder
# does not tell the dataset.
CLASS_NAMES = {
    "ImageNet": "imagenet", "Caltech101": "caltech101", "OxfordPets": "oxford_pets",
    "StanfordCars": "stanford_cars", "OxfordFlowers": "oxford_flowers", "Food101": "food101",
    "FGVCAircraft": "fgvc_aircraft", "SUN397": "sun397", "DescribableTextures": "dtd", "EuroSAT": "eurosat",
    "UCF101": "ucf101", "ImageNetV2": "imagenetv2", "ImageNetSketch": "imagenet_sketch",
    "ImageNetA": "imagenet_a", "ImageNetR": "imagenet_r",
}


def display_name(stem: str) -> str:
    """`oxford_flowers` -> `Flowers102`; an unknown stem is shown as it is."""
    return DISPLAY_NAMES.get(stem, stem)


def dataset_order(stem: str) -> tuple[int, str]:
    """Sort key: the papers' order first, unknown datasets after, alphabetically."""
    order = list(DISPLAY_NAMES)
    return (order.index(stem), stem) if stem in DISPLAY_NAMES else (len(order), stem)


def stem_of(path_or_name: str) -> str:
    """`configs/datasets/oxford_pets.yaml` -> `oxford_pets`; `OxfordPets` -> `oxford_pets`."""
    if path_or_name in CLASS_NAMES:
        return CLASS_NAMES[path_or_name]
    return os.path.splitext(os.path.basename(path_or_name))[0]
