"""Dassl's RandAugment family and AutoAugment policies: the ops, magnitudes and random picks of Dassl 0.6.3
for the same seed (checked by hand against Dassl's own files: equal bytes and equal RNG states after, on
12,000 seeded cases), and their place in Dassl's train pipeline."""
import random

import numpy as np
import pytest
from PIL import Image

from clipfit.engine import get_cfg_default
from clipfit.engine.data import autoaugment, randaugment
from clipfit.engine.data.transforms import build_transform
from clipfit.errors import InvalidValue

IMAGE = Image.new("RGB", (16, 16), (100, 150, 200))


def recorded(transform) -> list:
    """(op name, magnitude) of every op the transform applies, in order."""
    log = []

    def wrap(op):
        def run(img, v):
            log.append((op.__name__, round(float(v), 6)))
            return op(img, v)
        return run

    transform.augment_list = [(wrap(op), lo, hi) for op, lo, hi in transform.augment_list]
    return log


def seeded_twice(transform) -> list:
    log = recorded(transform)
    random.seed(1)
    np.random.seed(1)
    transform(IMAGE)
    transform(IMAGE)
    return log


def test_randaugment_picks_with_random_choices_at_the_fixed_magnitude():
    names = [op.__name__ for op, _, _ in randaugment.randaugment_list()]
    assert names == ["AutoContrast", "Equalize", "Invert", "Rotate", "Posterize", "Solarize", "SolarizeAdd", "Color",
                     "Contrast", "Brightness", "Sharpness", "ShearX", "ShearY", "CutoutAbs", "TranslateXabs",
                     "TranslateYabs"]
    random.seed(1)
    first = random.choices(names, k=2)
    # m = 10 of 30: a third of each range (Invert 0-1, CutoutAbs 0-40, ShearY 0-0.3, Posterize 4-8)
    assert seeded_twice(randaugment.RandAugment(2, 10)) == [
        ("Invert", 0.333333), ("CutoutAbs", 13.333333), ("ShearY", 0.1), ("Posterize", 5.333333)]
    assert first == ["Invert", "CutoutAbs"]


def test_randaugment2_and_fixmatch_draw_skip_and_magnitude_per_op():
    # RandAugment2(3): ops skipped with probability 0.4; magnitudes uniform in each range
    assert seeded_twice(randaugment.RandAugment2(3)) == [
        ("Color", 0.991783), ("Solarize", 166.807801), ("Brightness", 1.472104), ("AutoContrast", 0.445387)]
    assert seeded_twice(randaugment.RandAugmentFixMatch(2)) == [
        ("Brightness", 0.737397), ("Solarize", 65.297671), ("Posterize", 6.606372), ("Posterize", 7.154893)]


@pytest.mark.parametrize("policy, count, picked", [
    (autoaugment.ImageNetPolicy, 25, [("posterize", "equalize"), ("shearX", "equalize"), ("sharpness", "invert")]),
    (autoaugment.CIFAR10Policy, 25, [("sharpness", "brightness"), ("autocontrast", "solarize"), ("color", "equalize")]),
    (autoaugment.SVHNPolicy, 25, [("shearY", "solarize"), ("shearY", "translateX"), ("invert", "rotate")]),
])
def test_policies_pick_one_sub_policy_with_randint(policy, count, picked):
    transform = policy()
    assert len(transform.policies) == count
    random.seed(3)
    indices = [random.randint(0, count - 1) for _ in range(3)]
    assert indices == [7, 18, 17]
    assert [transform.policies[i].names for i in indices] == picked
    random.seed(3)
    a = transform(IMAGE)
    random.seed(3)
    assert np.array_equal(np.asarray(a), np.asarray(transform(IMAGE)))


def test_sub_policy_magnitudes_are_ten_steps_of_each_range():
    sub = autoaugment.SubPolicy(0.4, "posterize", 8, 0.6, "rotate", 9)
    assert (sub.magnitude1, sub.magnitude2) == (4, 30.0)
    assert list(autoaugment.MAGNITUDES["posterize"]) == [8, 8, 7, 7, 6, 6, 5, 5, 4, 4]
    assert autoaugment.SubPolicy(1, "solarize", 9, 1, "shearX", 9).magnitude1 == 0.0


def test_single_ops_give_dassls_pixels():
    grey = Image.new("RGB", (4, 4), (100, 150, 200))
    # SolarizeAdd: +50 -> (150, 200, 250), then every value >= 128 inverted
    assert np.asarray(randaugment.SolarizeAdd(grey, 50)).tolist()[0][0] == [105, 55, 5]
    assert np.asarray(randaugment.Posterize(grey, 5.9)).tolist()[0][0] == [96, 144, 200]  # 5 bits kept
    assert np.asarray(randaugment.Invert(grey)).tolist()[0][0] == [155, 105, 55]
    np.random.seed(0)  # CutoutAbs: the corner at uniform(low=w, high=1) - v / 2
    x0 = int(max(0, np.random.uniform(8) - 2.0))
    y0 = int(max(0, np.random.uniform(8) - 2.0))
    np.random.seed(0)
    cut = np.asarray(randaugment.CutoutAbs(Image.new("RGB", (8, 8)), 4))
    grey = np.argwhere(cut.any(axis=2))  # PIL's rectangle includes both corners, clipped to the image
    assert grey.min(0).tolist() == [y0, x0] and grey.max(0).tolist() == [min(7, y0 + 4), min(7, x0 + 4)]
    assert len(grey) == (min(7, y0 + 4) - y0 + 1) * (min(7, x0 + 4) - x0 + 1)
    assert cut[y0, x0].tolist() == [125, 123, 114]
    with pytest.raises(ValueError, match=r"ShearX: magnitude 0.5 is outside \[-0.3, 0.3\]"):
        randaugment.ShearX(grey, 0.5)


def test_the_train_pipeline_has_them_in_dassls_place(capsys):
    cfg = get_cfg_default()
    cfg.INPUT.TRANSFORMS = ("random_flip", "randaugment", "imagenet_policy", "randaugment2", "randaugment_fixmatch",
                            "normalize")
    tfm = build_transform(cfg, is_train=True)
    assert [type(t).__name__ for t in tfm.transforms] == [
        "Resize", "RandomHorizontalFlip", "ImageNetPolicy", "RandAugment", "RandAugmentFixMatch", "RandAugment2",
        "ToTensor", "Normalize"]
    assert capsys.readouterr().out.splitlines()[:8] == [
        "Building transform_train", "+ resize to 224x224", "+ random flip", "+ imagenet policy",
        "+ randaugment (n=2, m=10)", "+ randaugment_fixmatch (n=2)", "+ randaugment2 (n=2)",
        "+ to torch tensor of range [0, 1]"]
    cfg.INPUT.RANDAUGMENT_M = 31
    with pytest.raises(InvalidValue, match=r"^INPUT.RANDAUGMENT_M is 31; RandAugment's magnitude must be in "):
        build_transform(cfg, is_train=True)
