"""Dassl's AutoAugment policies (`imagenet_policy`, `cifar10_policy`, `svhn_policy` in INPUT.TRANSFORMS).

The published AutoAugment sub-policies (Cubuk et al. 2019) as Dassl 0.6.3's `dassl.data.transforms.
autoaugment` applies them, with the same random draws (Python's global `random`):
- one sub-policy is picked with `random.randint(0, len(policies) - 1)`;
- a sub-policy runs its first op when `random.random() < p1`, then its second when `random.random() < p2`;
- shears, translations and the colour/contrast/sharpness/brightness ops draw their sign with
  `random.choice([-1, 1])` when they run (rotations always turn counter-clockwise);
- magnitude index i (0-9) of an op is the i-th of 10 evenly spaced values of its range (`MAGNITUDES`).
The ImageNet list holds 25 sub-policies, as Dassl's does (its docstring says 24).
"""
from __future__ import annotations

import random

import numpy as np
from PIL import Image, ImageEnhance, ImageOps

AFFINE = Image.Transform.AFFINE
FILL = (128, 128, 128)

MAGNITUDES = {
    "shearX": np.linspace(0, 0.3, 10),
    "shearY": np.linspace(0, 0.3, 10),
    "translateX": np.linspace(0, 150 / 331, 10),
    "translateY": np.linspace(0, 150 / 331, 10),
    "rotate": np.linspace(0, 30, 10),
    "color": np.linspace(0.0, 0.9, 10),
    "posterize": np.round(np.linspace(8, 4, 10), 0).astype(np.int64),
    "solarize": np.linspace(256, 0, 10),
    "contrast": np.linspace(0.0, 0.9, 10),
    "sharpness": np.linspace(0.0, 0.9, 10),
    "brightness": np.linspace(0.0, 0.9, 10),
    "autocontrast": [0] * 10,
    "equalize": [0] * 10,
    "invert": [0] * 10,
}


def _sign() -> int:
    return random.choice([-1, 1])


def _rotate_with_fill(img: Image.Image, degrees: float) -> Image.Image:
    """Rotate, filling the uncovered corners with mid grey."""
    turned = img.convert("RGBA").rotate(degrees)
    return Image.composite(turned, Image.new("RGBA", turned.size, (128,) * 4), turned).convert(img.mode)


def _operation(name: str, fillcolor):
    enhancers = {"color": ImageEnhance.Color, "contrast": ImageEnhance.Contrast,
                 "sharpness": ImageEnhance.Sharpness, "brightness": ImageEnhance.Brightness}
    if name in enhancers:
        return lambda img, m: enhancers[name](img).enhance(1 + m * _sign())
    ops = {
        "shearX": lambda img, m: img.transform(img.size, AFFINE, (1, m * _sign(), 0, 0, 1, 0),
                                               Image.Resampling.BICUBIC, fillcolor=fillcolor),
        "shearY": lambda img, m: img.transform(img.size, AFFINE, (1, 0, 0, m * _sign(), 1, 0),
                                               Image.Resampling.BICUBIC, fillcolor=fillcolor),
        "translateX": lambda img, m: img.transform(img.size, AFFINE, (1, 0, m * img.size[0] * _sign(), 0, 1, 0),
                                                   fillcolor=fillcolor),
        "translateY": lambda img, m: img.transform(img.size, AFFINE, (1, 0, 0, 0, 1, m * img.size[1] * _sign()),
                                                   fillcolor=fillcolor),
        "rotate": _rotate_with_fill,
        "posterize": lambda img, m: ImageOps.posterize(img, int(m)),
        "solarize": lambda img, m: ImageOps.solarize(img, m),
        "autocontrast": lambda img, m: ImageOps.autocontrast(img),
        "equalize": lambda img, m: ImageOps.equalize(img),
        "invert": lambda img, m: ImageOps.invert(img),
    }
    return ops[name]


class SubPolicy:
    """Two ops, each applied with its probability at its magnitude index."""

    def __init__(self, p1: float, operation1: str, magnitude_idx1: int, p2: float, operation2: str,
                 magnitude_idx2: int, fillcolor=FILL):
        self.p1, self.operation1 = p1, _operation(operation1, fillcolor)
        self.magnitude1 = MAGNITUDES[operation1][magnitude_idx1]
        self.p2, self.operation2 = p2, _operation(operation2, fillcolor)
        self.magnitude2 = MAGNITUDES[operation2][magnitude_idx2]
        self.names = (operation1, operation2)

    def __call__(self, img: Image.Image) -> Image.Image:
        if random.random() < self.p1:
            img = self.operation1(img, self.magnitude1)
        if random.random() < self.p2:
            img = self.operation2(img, self.magnitude2)
        return img


# (p1, op1, magnitude index 1, p2, op2, magnitude index 2) per sub-policy, in Dassl's order.
IMAGENET_POLICIES = [
    (0.4, "posterize", 8, 0.6, "rotate", 9), (0.6, "solarize", 5, 0.6, "autocontrast", 5),
    (0.8, "equalize", 8, 0.6, "equalize", 3), (0.6, "posterize", 7, 0.6, "posterize", 6),
    (0.4, "equalize", 7, 0.2, "solarize", 4), (0.4, "equalize", 4, 0.8, "rotate", 8),
    (0.6, "solarize", 3, 0.6, "equalize", 7), (0.8, "posterize", 5, 1.0, "equalize", 2),
    (0.2, "rotate", 3, 0.6, "solarize", 8), (0.6, "equalize", 8, 0.4, "posterize", 6),
    (0.8, "rotate", 8, 0.4, "color", 0), (0.4, "rotate", 9, 0.6, "equalize", 2),
    (0.0, "equalize", 7, 0.8, "equalize", 8), (0.6, "invert", 4, 1.0, "equalize", 8),
    (0.6, "color", 4, 1.0, "contrast", 8), (0.8, "rotate", 8, 1.0, "color", 2),
    (0.8, "color", 8, 0.8, "solarize", 7), (0.4, "sharpness", 7, 0.6, "invert", 8),
    (0.6, "shearX", 5, 1.0, "equalize", 9), (0.4, "color", 0, 0.6, "equalize", 3),
    (0.4, "equalize", 7, 0.2, "solarize", 4), (0.6, "solarize", 5, 0.6, "autocontrast", 5),
    (0.6, "invert", 4, 1.0, "equalize", 8), (0.6, "color", 4, 1.0, "contrast", 8),
    (0.8, "equalize", 8, 0.6, "equalize", 3),
]
CIFAR10_POLICIES = [
    (0.1, "invert", 7, 0.2, "contrast", 6), (0.7, "rotate", 2, 0.3, "translateX", 9),
    (0.8, "sharpness", 1, 0.9, "sharpness", 3), (0.5, "shearY", 8, 0.7, "translateY", 9),
    (0.5, "autocontrast", 8, 0.9, "equalize", 2), (0.2, "shearY", 7, 0.3, "posterize", 7),
    (0.4, "color", 3, 0.6, "brightness", 7), (0.3, "sharpness", 9, 0.7, "brightness", 9),
    (0.6, "equalize", 5, 0.5, "equalize", 1), (0.6, "contrast", 7, 0.6, "sharpness", 5),
    (0.7, "color", 7, 0.5, "translateX", 8), (0.3, "equalize", 7, 0.4, "autocontrast", 8),
    (0.4, "translateY", 3, 0.2, "sharpness", 6), (0.9, "brightness", 6, 0.2, "color", 8),
    (0.5, "solarize", 2, 0.0, "invert", 3), (0.2, "equalize", 0, 0.6, "autocontrast", 0),
    (0.2, "equalize", 8, 0.6, "equalize", 4), (0.9, "color", 9, 0.6, "equalize", 6),
    (0.8, "autocontrast", 4, 0.2, "solarize", 8), (0.1, "brightness", 3, 0.7, "color", 0),
    (0.4, "solarize", 5, 0.9, "autocontrast", 3), (0.9, "translateY", 9, 0.7, "translateY", 9),
    (0.9, "autocontrast", 2, 0.8, "solarize", 3), (0.8, "equalize", 8, 0.1, "invert", 3),
    (0.7, "translateY", 9, 0.9, "autocontrast", 1),
]
SVHN_POLICIES = [
    (0.9, "shearX", 4, 0.2, "invert", 3), (0.9, "shearY", 8, 0.7, "invert", 5),
    (0.6, "equalize", 5, 0.6, "solarize", 6), (0.9, "invert", 3, 0.6, "equalize", 3),
    (0.6, "equalize", 1, 0.9, "rotate", 3), (0.9, "shearX", 4, 0.8, "autocontrast", 3),
    (0.9, "shearY", 8, 0.4, "invert", 5), (0.9, "shearY", 5, 0.2, "solarize", 6),
    (0.9, "invert", 6, 0.8, "autocontrast", 1), (0.6, "equalize", 3, 0.9, "rotate", 3),
    (0.9, "shearX", 4, 0.3, "solarize", 3), (0.8, "shearY", 8, 0.7, "invert", 4),
    (0.9, "equalize", 5, 0.6, "translateY", 6), (0.9, "invert", 4, 0.6, "equalize", 7),
    (0.3, "contrast", 3, 0.8, "rotate", 4), (0.8, "invert", 5, 0.0, "translateY", 2),
    (0.7, "shearY", 6, 0.4, "solarize", 8), (0.6, "invert", 4, 0.8, "rotate", 4),
    (0.3, "shearY", 7, 0.9, "translateX", 3), (0.1, "shearX", 6, 0.6, "invert", 5),
    (0.7, "solarize", 2, 0.6, "translateY", 7), (0.8, "shearY", 4, 0.8, "invert", 8),
    (0.7, "shearX", 9, 0.8, "translateY", 3), (0.8, "shearY", 5, 0.7, "autocontrast", 3),
    (0.7, "shearX", 2, 0.1, "invert", 5),
]


class _Policy:
    """One sub-policy of `table`, picked at random per image."""

    table: list = []
    title = ""

    def __init__(self, fillcolor=FILL):
        self.policies = [SubPolicy(*row, fillcolor) for row in self.table]

    def __call__(self, img: Image.Image) -> Image.Image:
        return self.policies[random.randint(0, len(self.policies) - 1)](img)

    def __repr__(self) -> str:
        return f"AutoAugment {self.title} Policy"


class ImageNetPolicy(_Policy):
    table, title = IMAGENET_POLICIES, "ImageNet"


class CIFAR10Policy(_Policy):
    table, title = CIFAR10_POLICIES, "CIFAR10"


class SVHNPolicy(_Policy):
    table, title = SVHN_POLICIES, "SVHN"
