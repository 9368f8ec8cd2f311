"""Dassl's RandAugment family (`randaugment`, `randaugment2`, `randaugment_fixmatch` in INPUT.TRANSFORMS).

Same operations, magnitude ranges and random draws as Dassl 0.6.3's `dassl.data.transforms.randaugment`,
so a run draws the same augmentation for the same seed:
- the ops are picked with `random.choices(augment_list, k=n)` (Python's global `random`, with replacement);
- `RandAugment(n, m)` applies each picked op at `m / 30 * (max - min) + min`;
- `RandAugment2(n, p)` skips each picked op when `random.random() > p`, else draws `u = random.random()` and
  applies it at `u * (max - min) + min`; `RandAugmentFixMatch(n)` always draws `u` that way;
- shears, translations and rotations then flip their sign when `random.random() > 0.5` (one more draw);
- `CutoutAbs` draws its centre with `np.random.uniform(w)` and `np.random.uniform(h)`: numpy's low=w,
  high=1, i.e. a point of [1, w) (Dassl's call, kept so the numpy stream is the same).
Dassl's `SolarizeAdd` uses `np.int`, which numpy 1.24 removed; here it computes in int64 (what `np.int`
meant on Linux), so the pixels are Dassl's.
"""
from __future__ import annotations

import random

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageEnhance, ImageOps

AFFINE = Image.Transform.AFFINE
CUTOUT_COLOR = (125, 123, 114)


def _check(name: str, v: float, lo: float, hi: float) -> None:
    if not lo <= v <= hi:
        raise ValueError(f"{name}: magnitude {v} is outside [{lo}, {hi}]")


def _random_sign(v: float) -> float:
    return -v if random.random() > 0.5 else v


def ShearX(img: Image.Image, v: float) -> Image.Image:
    _check("ShearX", v, -0.3, 0.3)
    return img.transform(img.size, AFFINE, (1, _random_sign(v), 0, 0, 1, 0))


def ShearY(img: Image.Image, v: float) -> Image.Image:
    _check("ShearY", v, -0.3, 0.3)
    return img.transform(img.size, AFFINE, (1, 0, 0, _random_sign(v), 1, 0))


def TranslateX(img: Image.Image, v: float) -> Image.Image:
    """Shift by the fraction `v` of the width."""
    _check("TranslateX", v, -0.45, 0.45)
    return img.transform(img.size, AFFINE, (1, 0, _random_sign(v) * img.size[0], 0, 1, 0))


def TranslateXabs(img: Image.Image, v: float) -> Image.Image:
    """Shift by `v` pixels."""
    _check("TranslateXabs", v, 0, float("inf"))
    return img.transform(img.size, AFFINE, (1, 0, _random_sign(v), 0, 1, 0))


def TranslateY(img: Image.Image, v: float) -> Image.Image:
    _check("TranslateY", v, -0.45, 0.45)
    return img.transform(img.size, AFFINE, (1, 0, 0, 0, 1, _random_sign(v) * img.size[1]))


def TranslateYabs(img: Image.Image, v: float) -> Image.Image:
    _check("TranslateYabs", v, 0, float("inf"))
    return img.transform(img.size, AFFINE, (1, 0, 0, 0, 1, _random_sign(v)))


def Rotate(img: Image.Image, v: float) -> Image.Image:
    _check("Rotate", v, -30, 30)
    return img.rotate(_random_sign(v))


def AutoContrast(img: Image.Image, _=None) -> Image.Image:
    return ImageOps.autocontrast(img)


def Invert(img: Image.Image, _=None) -> Image.Image:
    return ImageOps.invert(img)


def Equalize(img: Image.Image, _=None) -> Image.Image:
    return ImageOps.equalize(img)


def Flip(img: Image.Image, _=None) -> Image.Image:
    return ImageOps.mirror(img)


def Identity(img: Image.Image, _=None) -> Image.Image:
    return img


def Solarize(img: Image.Image, v: float) -> Image.Image:
    _check("Solarize", v, 0, 256)
    return ImageOps.solarize(img, v)


def SolarizeAdd(img: Image.Image, addition: float = 0, threshold: float = 128) -> Image.Image:
    """Add `addition` to every channel value (clipped to [0, 255], truncated to uint8), then solarize."""
    shifted = np.clip(np.array(img).astype(np.int64) + addition, 0, 255).astype(np.uint8)
    return ImageOps.solarize(Image.fromarray(shifted), threshold)


def Posterize(img: Image.Image, v: float) -> Image.Image:
    _check("Posterize", v, 4, 8)
    return ImageOps.posterize(img, int(v))


def Contrast(img: Image.Image, v: float) -> Image.Image:
    _check("Contrast", v, 0.0, 2.0)
    return ImageEnhance.Contrast(img).enhance(v)


def Color(img: Image.Image, v: float) -> Image.Image:
    _check("Color", v, 0.0, 2.0)
    return ImageEnhance.Color(img).enhance(v)


def Brightness(img: Image.Image, v: float) -> Image.Image:
    _check("Brightness", v, 0.0, 2.0)
    return ImageEnhance.Brightness(img).enhance(v)


def Sharpness(img: Image.Image, v: float) -> Image.Image:
    _check("Sharpness", v, 0.0, 2.0)
    return ImageEnhance.Sharpness(img).enhance(v)


def Cutout(img: Image.Image, v: float) -> Image.Image:
    """A grey square of side `v` x width (v in [0, 0.2]) at a random place."""
    _check("Cutout", v, 0.0, 0.2)
    return img if v <= 0.0 else CutoutAbs(img, v * img.size[0])


def CutoutAbs(img: Image.Image, v: float) -> Image.Image:
    """A square of side `v` pixels in Dassl's grey, its corner drawn as the module docstring says."""
    if v < 0:
        return img
    w, h = img.size
    x0 = int(max(0, np.random.uniform(w) - v / 2.0))
    y0 = int(max(0, np.random.uniform(h) - v / 2.0))
    box = (x0, y0, min(w, x0 + v), min(h, y0 + v))
    img = img.copy()
    ImageDraw.Draw(img).rectangle(box, CUTOUT_COLOR)
    return img


def SamplePairing(imgs):
    """An op that blends the image with one of `imgs` (uint8 arrays), picked with `np.random.choice`."""

    def blend(img: Image.Image, v: float) -> Image.Image:
        other = Image.fromarray(imgs[np.random.choice(len(imgs))])
        return Image.blend(img, other, v)

    return blend


class Lighting:
    """AlexNet's PCA lighting noise on a CHW tensor: alpha ~ N(0, alphastd) per eigenvector (torch RNG)."""

    def __init__(self, alphastd: float, eigval, eigvec):
        self.alphastd = alphastd
        self.eigval = torch.Tensor(eigval)
        self.eigvec = torch.Tensor(eigvec)

    def __call__(self, img: torch.Tensor) -> torch.Tensor:
        if self.alphastd == 0:
            return img
        alpha = torch.empty(3, dtype=img.dtype, device=img.device).normal_(0, self.alphastd)
        eigvec = self.eigvec.type_as(img)
        rgb = (eigvec * alpha.view(1, 3) * self.eigval.type_as(img).view(1, 3)).sum(1)
        return img + rgb.view(3, 1, 1)


class CutoutDefault:
    """Zero one `length` x `length` square of a CHW tensor, in place; the centre from `np.random.randint`."""

    def __init__(self, length: int):
        self.length = length

    def __call__(self, img: torch.Tensor) -> torch.Tensor:
        h, w = img.size(1), img.size(2)
        mask = np.ones((h, w), np.float32)
        y, x = np.random.randint(h), np.random.randint(w)
        half = self.length // 2
        mask[np.clip(y - half, 0, h):np.clip(y + half, 0, h), np.clip(x - half, 0, w):np.clip(x + half, 0, w)] = 0.0
        img *= torch.from_numpy(mask).expand_as(img)
        return img


def randaugment_list() -> list:
    """RandAugment's 16 ops and magnitude ranges (the EfficientNet AutoAugment code's list), in Dassl's order."""
    return [
        (AutoContrast, 0, 1), (Equalize, 0, 1), (Invert, 0, 1), (Rotate, 0, 30), (Posterize, 4, 8),
        (Solarize, 0, 256), (SolarizeAdd, 0, 110), (Color, 0.1, 1.9), (Contrast, 0.1, 1.9),
        (Brightness, 0.1, 1.9), (Sharpness, 0.1, 1.9), (ShearX, 0.0, 0.3), (ShearY, 0.0, 0.3),
        (CutoutAbs, 0, 40), (TranslateXabs, 0.0, 100), (TranslateYabs, 0.0, 100),
    ]


def randaugment_list2() -> list:
    return [
        (AutoContrast, 0, 1), (Brightness, 0.1, 1.9), (Color, 0.1, 1.9), (Contrast, 0.1, 1.9), (Equalize, 0, 1),
        (Identity, 0, 1), (Invert, 0, 1), (Posterize, 4, 8), (Rotate, -30, 30), (Sharpness, 0.1, 1.9),
        (ShearX, -0.3, 0.3), (ShearY, -0.3, 0.3), (Solarize, 0, 256), (TranslateX, -0.3, 0.3),
        (TranslateY, -0.3, 0.3),
    ]


def fixmatch_list() -> list:
    """FixMatch's RandAugment ops and ranges."""
    return [
        (AutoContrast, 0, 1), (Brightness, 0.05, 0.95), (Color, 0.05, 0.95), (Contrast, 0.05, 0.95),
        (Equalize, 0, 1), (Identity, 0, 1), (Posterize, 4, 8), (Rotate, -30, 30), (Sharpness, 0.05, 0.95),
        (ShearX, -0.3, 0.3), (ShearY, -0.3, 0.3), (Solarize, 0, 256), (TranslateX, -0.3, 0.3),
        (TranslateY, -0.3, 0.3),
    ]


class RandAugment:
    """`n` ops of `randaugment_list()`, each at the fixed magnitude `m` of 30."""

    def __init__(self, n: int = 2, m: int = 10):
        if not 0 <= m <= 30:
            raise ValueError(f"RandAugment: magnitude m={m} is outside [0, 30]")
        self.n, self.m = n, m
        self.augment_list = randaugment_list()

    def __call__(self, img: Image.Image) -> Image.Image:
        for op, minval, maxval in random.choices(self.augment_list, k=self.n):
            img = op(img, (self.m / 30) * (maxval - minval) + minval)
        return img


class RandAugment2:
    """`n` ops of `randaugment_list2()`, each applied with probability `p` at a uniformly drawn magnitude."""

    def __init__(self, n: int = 2, p: float = 0.6):
        self.n, self.p = n, p
        self.augment_list = randaugment_list2()

    def __call__(self, img: Image.Image) -> Image.Image:
        for op, minval, maxval in random.choices(self.augment_list, k=self.n):
            if random.random() > self.p:
                continue
            img = op(img, random.random() * (maxval - minval) + minval)
        return img


class RandAugmentFixMatch:
    """`n` ops of `fixmatch_list()`, each at a uniformly drawn magnitude."""

    def __init__(self, n: int = 2):
        self.n = n
        self.augment_list = fixmatch_list()

    def __call__(self, img: Image.Image) -> Image.Image:
        for op, minval, maxval in random.choices(self.augment_list, k=self.n):
            img = op(img, random.random() * (maxval - minval) + minval)
        return img
