"""The dataset catalog: every list, name and template of the datasets comes from the registered classes."""
from __future__ import annotations

import pytest

from clipfit.app.data_download import split_file_ids
from clipfit.app.datasets_catalog import catalog, dataset_order, display_name, facts, stem_of, stems, transfer_source
from clipfit.errors import UserInputError

BASE2NEW = ("imagenet", "caltech101", "oxford_pets", "stanford_cars", "oxford_flowers", "food101", "fgvc_aircraft",
            "sun397", "dtd", "eurosat", "ucf101")
DG = ("imagenetv2", "imagenet_sketch", "imagenet_a", "imagenet_r")


def test_the_benchmark_lists_in_the_papers_order():
    assert stems("base2new") == stems("few_shot") == BASE2NEW
    assert transfer_source() == "imagenet"
    assert stems("xd_target") == BASE2NEW[1:]
    assert stems("dg_target") == DG
    assert list(catalog())[:15] == [*BASE2NEW, *DG]
    assert sorted(dataset_order(s) for s in ("mnist", "dtd", "imagenet")) == [(0, "imagenet"), (8, "dtd"),
                                                                             (len(catalog()), "mnist")]


def test_display_names_and_stems():
    shown = {stem: display_name(stem) for stem in (*BASE2NEW, *DG)}
    assert shown == {
        "imagenet": "ImageNet", "caltech101": "Caltech101", "oxford_pets": "OxfordPets",
        "stanford_cars": "StanfordCars", "oxford_flowers": "Flowers102", "food101": "Food101",
        "fgvc_aircraft": "FGVCAircraft", "sun397": "SUN397", "dtd": "DTD", "eurosat": "EuroSAT", "ucf101": "UCF101",
        "imagenetv2": "ImageNetV2", "imagenet_sketch": "ImageNet-Sketch", "imagenet_a": "ImageNet-A",
        "imagenet_r": "ImageNet-R",
    }
    assert display_name("mnist") == "mnist"
    assert stem_of("DescribableTextures") == "dtd" and stem_of("ImageNetSketch") == "imagenet_sketch"
    assert stem_of("configs/datasets/oxford_pets.yaml") == "oxford_pets"
    assert facts("dtd").config_file.endswith("configs/datasets/dtd.yaml")
    with pytest.raises(UserInputError, match="unknown dataset 'mnist'"):
        facts("mnist")


def test_coop_templates_are_facts_of_the_classes():
    photo = "a photo of a {}."
    templates = {f.name: f.cls.template for f in catalog().values() if f.benchmarks}
    assert templates == {
        "ImageNet": photo, "Caltech101": photo, "OxfordPets": "a photo of a {}, a type of pet.",
        "StanfordCars": photo, "OxfordFlowers": "a photo of a {}, a type of flower.",
        "Food101": "a photo of {}, a type of food.", "FGVCAircraft": "a photo of a {}, a type of aircraft.",
        "SUN397": photo, "DescribableTextures": "{} texture.", "EuroSAT": "a centered satellite photo of {}.",
        "UCF101": "a photo of a person doing {}.", "ImageNetV2": photo, "ImageNetSketch": photo, "ImageNetA": photo,
        "ImageNetR": photo,
    }


def test_split_file_ids_of_the_classes():
    assert split_file_ids() == {
        "split_zhou_Caltech101.json": "1hyarUivQE36mY6jSomru6Fjd-JzwcCzN",
        "split_zhou_OxfordPets.json": "1501r8Ber4nNKvmlFVQZ8SeUHTcdTTEqs",
        "split_zhou_StanfordCars.json": "1ObCFbaAgVu0I-k_Au-gIUcefirdAuizT",
        "split_zhou_OxfordFlowers.json": "1Pp0sRXzZFZq15zVOzKjKBu4A9i01nozT",
        "split_zhou_Food101.json": "1QK0tGi096I0Ba6kggatX1ee6dJFIcEJl",
        "split_zhou_SUN397.json": "1y2RD81BYuiyvebdN-JymPfyWYcd8_MUq",
        "split_zhou_DescribableTextures.json": "1u3_QfB467jqHgNXC00UIzbLZRQCg2S7x",
        "split_zhou_EuroSAT.json": "1Ip7yaCWFi0eaOFUGga0lUdVi_DDQth1o",
        "split_zhou_UCF101.json": "1I0S0q91hJfsV9Gf4xDIjgDq4AqBNJb1y",
    }


def test_the_demo_dataset_is_registered_but_in_no_benchmark():
    demo = facts("demo_shapes")
    assert (demo.name, demo.display, demo.benchmarks) == ("DemoShapes", "Demo shapes (synthetic)", ())
    assert demo.cls.template == "a photo of a {}." and demo.cls.split_file_id is None
    assert all("demo_shapes" not in stems(role) for role in ("base2new", "few_shot", "xd_source", "xd_target",
                                                             "dg_target"))
    assert "demo_shapes" in stems()
