"""Few-shot sampling, its cache, and base/new subsampling."""
from __future__ import annotations

import math
import os
import random

import pytest

from clipfit.compat import Datum, build_dataset
from clipfit.engine.utils.env import set_random_seed
from datasets._shared.base import subsample_classes
from datasets._shared.listing import make_datum
from datasets._shared.readers import load_datum_cache


def reference_fewshot(items: list, k: int) -> list:
    """Dassl's sampling, written independently: classes in first-appearance order, random.sample(k) when
    the class has at least k items, else all of them (no randomness)."""
    groups: dict = {}
    for item in items:
        groups.setdefault(item.label, []).append(item)
    picked = []
    for group in groups.values():
        picked.extend(random.sample(group, k) if len(group) >= k else group)
    return picked


def reference_picks(full, k: int, seed: int) -> tuple[list[str], list[str]]:
    random.seed(seed)
    train = reference_fewshot(full.train_x, k)
    val = reference_fewshot(full.val, min(k, 4))
    return [d.impath for d in train], [d.impath for d in val]


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize(
    "name,shots", [("OxfordPets", 2), ("Caltech101", 1), ("FGVCAircraft", 1), ("FGVCAircraft", 3), ("SUN397", 3)]
)
def test_picks_equal_dassl_reference(name, shots, seed, fresh, build):
    root = fresh(name, with_json=True)
    full = build(root, name, shots=-1, seed=seed)
    expected_train, expected_val = reference_picks(full, shots, seed)
    ds = build(root, name, shots=shots, seed=seed)
    assert [d.impath for d in ds.train_x] == expected_train
    assert [d.impath for d in ds.val] == expected_val
    assert [d.impath for d in ds.test] == [d.impath for d in full.test]  # test is never subsampled


def test_fewshot_sizes_and_val_min_k_4(fresh, build, capsys):
    root = fresh("OxfordPets", with_json=True)
    ds = build(root, "OxfordPets", shots=2, seed=1)
    out = capsys.readouterr().out
    assert "Creating a 2-shot dataset" in out
    pkl = os.path.join(root, "oxford_pets", "split_fewshot", "shot_2-seed_1.pkl")
    assert f"Saving preprocessed few-shot data to {pkl}" in out
    assert [sum(d.label == c for d in ds.train_x) for c in range(3)] == [2, 2, 2]
    assert [sum(d.label == c for d in ds.val) for c in range(3)] == [1, 1, 1]  # min(2,4)=2 asked, 1 available
    assert len(ds.test) == 6
    every = build(root, "OxfordPets", shots=16, seed=1)
    assert len(every.train_x) == 12 and len(every.val) == 3


def test_cache_is_reused_without_randomness(fresh, make_cfg, build, capsys):
    root = fresh("OxfordPets", with_json=True)
    first = build(root, "OxfordPets", shots=2, seed=1)
    pkl = os.path.join(root, "oxford_pets", "split_fewshot", "shot_2-seed_1.pkl")
    mtime = os.stat(pkl).st_mtime_ns
    capsys.readouterr()
    cfg = make_cfg(root, "OxfordPets", shots=2, seed=1)
    set_random_seed(1)
    state = random.getstate()
    second = build_dataset(cfg)
    assert random.getstate() == state
    assert f"Loading preprocessed few-shot data from {pkl}" in capsys.readouterr().out
    assert [d.impath for d in second.train_x] == [d.impath for d in first.train_x]
    assert [d.impath for d in second.val] == [d.impath for d in first.val]
    assert os.stat(pkl).st_mtime_ns == mtime
    data = load_datum_cache(pkl, ("train", "val"), "")
    assert [d.impath for d in data["train"]] == [d.impath for d in first.train_x]


def test_unseeded_run_uses_seed_minus_one(fresh, build):
    root = fresh("DescribableTextures", with_json=True)
    build(root, "DescribableTextures", shots=1, seed=-1)
    assert os.listdir(os.path.join(root, "dtd", "split_fewshot")) == ["shot_1-seed_-1.pkl"]


def test_cache_shared_by_all_base_new(fresh, build):
    root = fresh("OxfordPets", with_json=True)
    everything = build(root, "OxfordPets", shots=2, seed=1)
    base = build(root, "OxfordPets", shots=2, seed=1, subsample="base")
    new = build(root, "OxfordPets", shots=2, seed=1, subsample="new")
    assert os.listdir(os.path.join(root, "oxford_pets", "split_fewshot")) == ["shot_2-seed_1.pkl"]
    assert sorted(d.impath for d in base.train_x + new.train_x) == sorted(d.impath for d in everything.train_x)


def test_base_new_three_classes(pristine, build, capsys):
    root = pristine[True]
    full = build(root, "OxfordPets")
    base = build(root, "OxfordPets", subsample="base")
    assert "SUBSAMPLE BASE CLASSES!" in capsys.readouterr().out
    new = build(root, "OxfordPets", subsample="new")
    assert "SUBSAMPLE NEW CLASSES!" in capsys.readouterr().out
    assert base.num_classes == 2 and new.num_classes == 1
    assert base.classnames == ["abyssinian", "american_bulldog"] and new.classnames == ["egyptian_mau"]
    for split in ("train_x", "val", "test"):
        old = getattr(full, split)
        assert [(d.impath, d.label) for d in getattr(base, split)] == [(d.impath, d.label) for d in old if d.label < 2]
        assert [(d.impath, d.label) for d in getattr(new, split)] == [(d.impath, 0) for d in old if d.label == 2]


def test_base_new_caltech_even(pristine, build):
    base = build(pristine[True], "Caltech101", subsample="base")
    new = build(pristine[True], "Caltech101", subsample="new")
    assert base.classnames == ["face", "leopard"]
    assert new.classnames == ["accordion", "airplane"]
    assert sorted({d.label for d in new.test}) == [0, 1]


def test_base_new_imagenet_val_is_test(fresh, build):
    ds = build(fresh("ImageNet"), "ImageNet", subsample="new")
    assert ds.classnames == ["great white shark"]
    assert ds.val is ds.test and len(ds.test) == 2


def _fake_items(n_classes: int, per_class: int = 2) -> list:
    here = os.path.abspath(__file__)
    return [make_datum(here, c, f"class_{c}", domain=3) for c in range(n_classes) for _ in range(per_class)]


@pytest.mark.parametrize("n,base,new", [(37, 19, 18), (101, 51, 50), (100, 50, 50), (3, 2, 1)])
def test_subsample_counts(n, base, new):
    items = _fake_items(n)
    b = subsample_classes(items, items, subsample="base")
    w = subsample_classes(items, items, subsample="new")
    assert len({d.label for d in b[0]}) == base == math.ceil(n / 2)
    assert len({d.label for d in w[0]}) == new
    assert sorted({d.label for d in w[1]}) == list(range(new))
    assert all(d.domain == 0 for d in b[0])
    assert isinstance(b, list) and all(isinstance(x, list) for x in b)


def test_subsample_uses_labels_of_first_list_only():
    train = _fake_items(4)
    test = _fake_items(6)
    base_train, base_test = subsample_classes(train, test, subsample="base")
    assert sorted({d.label for d in base_test}) == [0, 1]
    _, new_test = subsample_classes(train, test, subsample="new")
    assert sorted({d.classname for d in new_test}) == ["class_2", "class_3"]


def test_subsample_all_and_invalid(capsys):
    items = _fake_items(3)
    out = subsample_classes(items, items, subsample="all")
    assert out[0] is items and capsys.readouterr().out == ""
    with pytest.raises(ValueError, match="SUBSAMPLE_CLASSES"):
        subsample_classes(items, subsample="half")


def test_fast_datum_is_a_plain_datum():
    d = make_datum(os.path.abspath(__file__), 2, "x")
    assert type(d) is Datum
    assert sorted(vars(d)) == ["_classname", "_domain", "_impath", "_label"]
    assert "__getstate__" not in vars(Datum)
    assert (d.impath, d.label, d.domain, d.classname) == (os.path.abspath(__file__), 2, 0, "x")
