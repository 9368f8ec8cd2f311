"""Each of the 15 loaders on its synthetic layout: sizes, labels, class names, split files."""
from __future__ import annotations

import json
import os
import pickle
import random
import shutil

import pytest

from clipfit.app.datasets_catalog import catalog
from clipfit.compat import DATASET_REGISTRY, Datum, build_dataset
from clipfit.engine.utils.env import set_random_seed
from clipfit.testing.demo import DEMO_DATASET_DIR, DEMO_DATASET_NAME, DEMO_SPLIT_FILE
from clipfit.testing.fixtures import DATASET_DIRS, EXPECTED, FIXTURE_NAMES, SPLIT_FILES, fixture_split_json

JSON_NAMES = sorted(SPLIT_FILES)
TEST_ONLY = ["ImageNetV2", "ImageNetSketch", "ImageNetA", "ImageNetR"]
PREFIX = {
    "OxfordPets": "images",
    "OxfordFlowers": "jpg",
    "DescribableTextures": "images",
    "EuroSAT": "2750",
    "StanfordCars": "",
    "Food101": "images",
    "SUN397": "SUN397",
    "Caltech101": "101_ObjectCategories",
    "UCF101": "UCF-101-midframes",
}


def test_all_fifteen_registered():
    assert set(FIXTURE_NAMES) <= set(DATASET_REGISTRY.registered_names())


def test_the_fixtures_describe_the_registered_layouts():
    """The fixtures describe the layouts on their own (they are the loaders' oracle); they must still describe
    the same datasets, folders and split files as the registered classes."""
    benchmark = {f.name: f.cls for f in catalog().values() if f.benchmarks}
    assert set(FIXTURE_NAMES) == set(DATASET_DIRS) == set(benchmark)
    assert {name: cls.dataset_dir for name, cls in benchmark.items()} == DATASET_DIRS
    assert {name: cls.split_file for name, cls in benchmark.items() if cls.split_file} == SPLIT_FILES
    demo = DATASET_REGISTRY.get(DEMO_DATASET_NAME)
    assert (demo.dataset_dir, demo.split_file) == (DEMO_DATASET_DIR, DEMO_SPLIT_FILE)


def test_dataset_yaml_per_dataset():
    folder = os.path.join(os.path.dirname(__file__), "..", "..", "configs", "datasets")
    names = {}
    for fname in os.listdir(folder):
        with open(os.path.join(folder, fname)) as f:
            text = f.read()
        names[fname] = text.split('NAME: "')[1].split('"')[0]
    assert names["oxford_pets.yaml"] == "OxfordPets"
    assert names["dtd.yaml"] == "DescribableTextures"
    assert names["imagenet_sketch.yaml"] == "ImageNetSketch"
    assert names["demo_shapes.yaml"] == DEMO_DATASET_NAME
    assert sorted(names.values()) == sorted([*FIXTURE_NAMES, DEMO_DATASET_NAME])


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_sizes_and_classnames_fallback(name, fresh, build):
    ds = build(fresh(name), name)
    (n_train, n_val, n_test), classnames = EXPECTED[name]
    assert len(ds.train_x) == n_train
    assert (len(ds.val) if ds.val is not None else None) == n_val
    assert len(ds.test) == n_test
    assert ds.classnames == classnames
    assert ds.num_classes == len(classnames)
    for items in (ds.train_x, ds.val or [], ds.test):
        for d in items:
            assert isinstance(d, Datum)
            assert ds.lab2cname[d.label] == d.classname
            assert d.domain == 0
            assert os.path.isfile(d.impath)


@pytest.mark.parametrize("name", JSON_NAMES)
def test_fallback_writes_split_json_that_round_trips(name, fresh, build, triples, capsys):
    root = fresh(name)
    first = build(root, name)
    out = capsys.readouterr().out
    path = os.path.join(root, DATASET_DIRS[name], SPLIT_FILES[name])
    assert f"Saved split to {path}" in out
    assert "NOT comparable" in out
    with open(path) as f:
        text = f.read()
    data = json.loads(text)
    assert sorted(data) == ["test", "train", "val"]
    assert text.startswith('{\n    "train": [\n        [\n            "')  # Dassl's indent-4 layout
    prefix = os.path.join(root, DATASET_DIRS[name], PREFIX[name])
    assert [list(t) for t in triples(first.train_x, prefix)] == data["train"]
    assert all(not rel.startswith("/") and "\\" not in rel for rel, _, _ in data["test"])
    second = build(root, name, seed=5)  # reads the JSON: same lists whatever the seed
    assert "Reading split from" in capsys.readouterr().out
    for a, b in ((first.train_x, second.train_x), (first.val, second.val), (first.test, second.test)):
        assert [d.impath for d in a] == [d.impath for d in b]


@pytest.mark.parametrize("name", JSON_NAMES)
def test_split_json_keeps_order_and_consumes_no_randomness(name, pristine, make_cfg, triples, capsys):
    root = pristine[True]  # read-only use: NUM_SHOTS=-1 with the JSON present writes nothing
    cfg = make_cfg(root, name)
    set_random_seed(1)
    state = random.getstate()
    ds = build_dataset(cfg)
    assert random.getstate() == state
    expected = fixture_split_json(name)
    prefix = os.path.join(root, DATASET_DIRS[name], PREFIX[name])
    assert [list(t) for t in triples(ds.train_x, prefix)] == expected["train"]
    assert [list(t) for t in triples(ds.val, prefix)] == expected["val"]
    assert [list(t) for t in triples(ds.test, prefix)] == expected["test"]
    out = capsys.readouterr().out
    assert f"Reading split from {os.path.join(root, DATASET_DIRS[name], SPLIT_FILES[name])}" in out
    assert "NOT comparable" not in out
    assert not os.path.exists(os.path.join(root, DATASET_DIRS[name], "split_fewshot"))


def test_round_half_to_even_and_first_appearance_order(fresh, build):
    # Flowers: 5 images per class give 2/1/2 (round(2.5) == 2); label groups in first-appearance order 2, 1, 3.
    ds = build(fresh("OxfordFlowers"), "OxfordFlowers")
    assert [d.label for d in ds.train_x] == [1, 1, 0, 0, 2, 2]
    assert [d.label for d in ds.val] == [1, 0, 2]
    assert [d.label for d in ds.test] == [1, 1, 0, 0, 2, 2]


def test_folder_split_is_three_one_two(fresh, build):
    ds = build(fresh("DescribableTextures"), "DescribableTextures")
    assert [d.label for d in ds.train_x] == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert [d.label for d in ds.val] == [0, 1, 2]
    assert all("imdb" not in d.impath for d in ds.train_x)


def test_caltech_ignores_background_and_sorts_uppercase_first(fresh, build):
    ds = build(fresh("Caltech101"), "Caltech101")
    paths = [d.impath for d in ds.train_x + ds.val + ds.test]
    assert not any("BACKGROUND_Google" in p or "Faces_easy" in p for p in paths)
    assert ds.lab2cname == {0: "face", 1: "leopard", 2: "accordion", 3: "airplane"}


def test_pets_names_from_stems(fresh, build):
    ds = build(fresh("OxfordPets"), "OxfordPets")
    by_name = {d.classname: os.path.basename(d.impath) for d in ds.test}
    assert by_name["egyptian_mau"].startswith("Egyptian_Mau_")
    assert by_name["american_bulldog"].startswith("american_bulldog_")


def test_cars_paths_relative_to_dataset_dir(fresh, build, triples):
    root = fresh("StanfordCars")
    build(root, "StanfordCars")
    with open(os.path.join(root, "stanford_cars", SPLIT_FILES["StanfordCars"])) as f:
        data = json.load(f)
    assert {rel.split("/")[0] for rel, _, _ in data["train"] + data["val"]} == {"cars_train"}
    assert {rel.split("/")[0] for rel, _, _ in data["test"]} == {"cars_test"}


def test_ucf_renames_and_frames(fresh, build):
    ds = build(fresh("UCF101"), "UCF101")
    assert all(d.impath.endswith(".jpg") for d in ds.test)
    assert any("/Yo_Yo/v_YoYo_g06_c01.jpg" in d.impath for d in ds.test)


def test_fgvc_uses_official_lists_and_writes_no_json(fresh, build):
    root = fresh("FGVCAircraft")
    ds = build(root, "FGVCAircraft")
    assert [d.label for d in ds.val] == [0, 0, 1, 1, 2, 2]
    assert sorted(os.listdir(os.path.join(root, "fgvc_aircraft"))) == [
        "images", "images_variant_test.txt", "images_variant_train.txt", "images_variant_val.txt", "variants.txt",
    ]
    build(root, "FGVCAircraft", shots=1)
    assert os.path.isfile(os.path.join(root, "fgvc_aircraft", "split_fewshot", "shot_1-seed_1.pkl"))


def test_imagenet_preprocessed_cache_is_written_then_reused(fresh, build):
    root = fresh("ImageNet")
    first = build(root, "ImageNet")
    assert first.val is first.test
    pkl = os.path.join(root, "imagenet", "preprocessed.pkl")
    with open(pkl, "rb") as f:
        raw = f.read()
    assert b"dassl.data.datasets.base_dataset" in raw
    # With the cache present the folders are not read again: removing one changes nothing.
    removed = os.path.join(root, "imagenet", "images", "train", "n01484850")
    shutil.rmtree(removed)
    second = build(root, "ImageNet")
    assert [d.impath for d in second.train_x] == [d.impath for d in first.train_x]
    assert second.classnames == first.classnames


def test_imagenet_fewshot_pickle_has_train_only(fresh, build):
    root = fresh("ImageNet")
    ds = build(root, "ImageNet", shots=2)
    assert len(ds.train_x) == 6 and len(ds.test) == 6 and ds.val is ds.test
    from datasets._shared.datum_pickle import DatumUnpickler

    with open(os.path.join(root, "imagenet", "split_fewshot", "shot_2-seed_1.pkl"), "rb") as f:
        data = DatumUnpickler(f, Datum).load()
    assert list(data) == ["train"]


@pytest.mark.parametrize("name", TEST_ONLY)
def test_test_only_ignore_shots_and_subsample(name, fresh, build, capsys):
    root = fresh(name)
    ds = build(root, name, shots=2, subsample="base")
    (n_train, _, n_test), classnames = EXPECTED[name]
    assert len(ds.train_x) == n_train and len(ds.test) == n_test and ds.val is None
    assert ds.classnames == classnames
    assert ds.train_x is ds.test
    assert not os.path.exists(os.path.join(root, DATASET_DIRS[name], "split_fewshot"))
    assert "SUBSAMPLE" not in capsys.readouterr().out


def test_imagenet_a_skips_readme_and_relabels_from_zero(pristine, build):
    ds = build(pristine[False], "ImageNetA")
    assert sorted({d.label for d in ds.test}) == [0, 1]
    assert not any(d.impath.endswith("README.txt") for d in ds.test)


def test_imagenetv2_folder_i_is_line_i(pristine, build):
    ds = build(pristine[False], "ImageNetV2")
    for d in ds.test:
        assert os.path.basename(os.path.dirname(d.impath)) == str(d.label)


def test_written_caches_are_plain_dassl_pickles(fresh, build):
    """Our few-shot cache unpickles with a stand-in `dassl.data.datasets.base_dataset.Datum` (as real Dassl)."""
    import sys
    import types

    root = fresh("OxfordPets", with_json=True)
    build(root, "OxfordPets", shots=1)
    module_names = ["dassl", "dassl.data", "dassl.data.datasets", "dassl.data.datasets.base_dataset"]
    saved = {n: sys.modules.get(n) for n in module_names}
    try:
        for n in module_names:
            sys.modules[n] = types.ModuleType(n)

        class Datum:  # a class with Dassl's attribute names, like the real one
            pass

        Datum.__module__ = "dassl.data.datasets.base_dataset"
        sys.modules["dassl.data.datasets.base_dataset"].Datum = Datum
        with open(os.path.join(root, "oxford_pets", "split_fewshot", "shot_1-seed_1.pkl"), "rb") as f:
            data = pickle.load(f)
    finally:
        for n, m in saved.items():
            if m is None:
                sys.modules.pop(n, None)
            else:
                sys.modules[n] = m
    assert sorted(data) == ["train", "val"]
    assert sorted(vars(data["train"][0])) == ["_classname", "_domain", "_impath", "_label"]
