"""`build_transform`: Dassl's train and test pipelines, in its order and with its printed lines."""
from __future__ import annotations

import torch
from torchvision.transforms import (
    CenterCrop,
    ColorJitter,
    Compose,
    GaussianBlur,
    InterpolationMode,
    Normalize,
    RandomApply,
    RandomCrop,
    RandomGrayscale,
    RandomHorizontalFlip,
    RandomResizedCrop,
    Resize,
    ToTensor,
)

from ...errors import InvalidValue
from .autoaugment import CIFAR10Policy, ImageNetPolicy, SVHNPolicy
from .randaugment import RandAugment, RandAugment2, RandAugmentFixMatch

AVAI_CHOICES = [
    "random_flip",
    "random_resized_crop",
    "normalize",
    "instance_norm",
    "random_crop",
    "random_translation",
    "center_crop",
    "cutout",
    "imagenet_policy",
    "cifar10_policy",
    "svhn_policy",
    "randaugment",
    "randaugment_fixmatch",
    "randaugment2",
    "gaussian_noise",
    "colorjitter",
    "randomgrayscale",
    "gaussian_blur",
]
# Dassl's AutoAugment policies: INPUT.TRANSFORMS entry -> (printed line, class), in its order.
POLICIES = {
    "imagenet_policy": ("+ imagenet policy", ImageNetPolicy),
    "cifar10_policy": ("+ cifar10 policy", CIFAR10Policy),
    "svhn_policy": ("+ svhn policy", SVHNPolicy),
}

INTERPOLATION_MODES = {
    "bilinear": InterpolationMode.BILINEAR,
    "bicubic": InterpolationMode.BICUBIC,
    "nearest": InterpolationMode.NEAREST,
}


class Random2DTranslation:
    """Resize to 1.125x, then take a random crop of the target size, with probability p."""

    def __init__(self, height: int, width: int, p: float = 0.5, interpolation=InterpolationMode.BILINEAR):
        self.height, self.width, self.p, self.interpolation = height, width, p, interpolation

    def __call__(self, img):
        if torch.rand(1).item() > self.p:
            return Resize((self.height, self.width), self.interpolation)(img)
        new_size = (int(round(self.height * 1.125)), int(round(self.width * 1.125)))
        img = Resize(new_size, self.interpolation)(img)
        return RandomCrop((self.height, self.width))(img)


class Cutout:
    """Zero out `n_holes` square patches of side `length` in a CHW tensor."""

    def __init__(self, n_holes: int = 1, length: int = 16):
        self.n_holes, self.length = n_holes, length

    def __call__(self, img: torch.Tensor) -> torch.Tensor:
        h, w = img.shape[1:3]
        mask = torch.ones(h, w)
        for _ in range(self.n_holes):
            y, x = int(torch.randint(h, (1,))), int(torch.randint(w, (1,)))
            y1, y2 = max(0, y - self.length // 2), min(h, y + self.length // 2)
            x1, x2 = max(0, x - self.length // 2), min(w, x + self.length // 2)
            mask[y1:y2, x1:x2] = 0.0
        return img * mask.expand_as(img)


class GaussianNoise:
    def __init__(self, mean: float = 0.0, std: float = 0.15, p: float = 0.5):
        self.mean, self.std, self.p = mean, std, p

    def __call__(self, img: torch.Tensor) -> torch.Tensor:
        if torch.rand(1).item() > self.p:
            return img
        return img + torch.randn(img.size()) * self.std + self.mean


class InstanceNormalization:
    def __call__(self, img: torch.Tensor) -> torch.Tensor:
        flat = img.reshape(img.size(0), -1)
        mean = flat.mean(1).view(-1, 1, 1)
        std = flat.std(1).view(-1, 1, 1)
        return (img - mean) / (std + 1e-8)


def build_transform(cfg, is_train: bool = True, choices=None):
    if cfg.INPUT.NO_TRANSFORM:
        print("Note: no transform is applied!")
        return None
    if choices is None:
        choices = cfg.INPUT.TRANSFORMS
    unknown = [choice for choice in choices if choice not in AVAI_CHOICES]
    if unknown:
        raise InvalidValue(f"INPUT.TRANSFORMS (or --transforms): unknown transform(s) {unknown}; use some of "
                           f"{AVAI_CHOICES}")
    target_size = f"{cfg.INPUT.SIZE[0]}x{cfg.INPUT.SIZE[1]}"
    normalize = Normalize(mean=cfg.INPUT.PIXEL_MEAN, std=cfg.INPUT.PIXEL_STD)
    if is_train:
        return _build_transform_train(cfg, choices, target_size, normalize)
    return _build_transform_test(cfg, choices, target_size, normalize)


def _build_transform_train(cfg, choices, target_size, normalize) -> Compose:
    print("Building transform_train")
    tfm = []
    interp = INTERPOLATION_MODES[cfg.INPUT.INTERPOLATION]
    size = cfg.INPUT.SIZE
    if "random_crop" not in choices and "random_resized_crop" not in choices:
        print(f"+ resize to {target_size}")
        tfm.append(Resize(size, interpolation=interp))
    if "random_translation" in choices:
        print("+ random translation")
        tfm.append(Random2DTranslation(size[0], size[1]))
    if "random_crop" in choices:
        print(f"+ random crop (padding = {cfg.INPUT.CROP_PADDING})")
        tfm.append(RandomCrop(size, padding=cfg.INPUT.CROP_PADDING))
    if "random_resized_crop" in choices:
        scale = cfg.INPUT.RRCROP_SCALE
        print(f"+ random resized crop (size={size}, scale={scale})")
        tfm.append(RandomResizedCrop(size, scale=scale, interpolation=interp))
    if "random_flip" in choices:
        print("+ random flip")
        tfm.append(RandomHorizontalFlip())
    tfm += _augment_policies(cfg, choices)
    if "colorjitter" in choices:
        b_, c_, s_, h_ = (
            cfg.INPUT.COLORJITTER_B, cfg.INPUT.COLORJITTER_C, cfg.INPUT.COLORJITTER_S, cfg.INPUT.COLORJITTER_H
        )
        print(f"+ color jitter (brightness={b_}, contrast={c_}, saturation={s_}, hue={h_})")
        tfm.append(ColorJitter(brightness=b_, contrast=c_, saturation=s_, hue=h_))
    if "randomgrayscale" in choices:
        print("+ random gray scale")
        tfm.append(RandomGrayscale(p=cfg.INPUT.RGS_P))
    if "gaussian_blur" in choices:
        print(f"+ gaussian blur (kernel={cfg.INPUT.GB_K})")
        tfm.append(RandomApply([GaussianBlur(cfg.INPUT.GB_K)], p=cfg.INPUT.GB_P))
    print("+ to torch tensor of range [0, 1]")
    tfm.append(ToTensor())
    if "cutout" in choices:
        print(f"+ cutout (n_holes={cfg.INPUT.CUTOUT_N}, length={cfg.INPUT.CUTOUT_LEN})")
        tfm.append(Cutout(cfg.INPUT.CUTOUT_N, cfg.INPUT.CUTOUT_LEN))
    if "normalize" in choices:
        print(f"+ normalization (mean={cfg.INPUT.PIXEL_MEAN}, std={cfg.INPUT.PIXEL_STD})")
        tfm.append(normalize)
    if "gaussian_noise" in choices:
        print(f"+ gaussian noise (mean={cfg.INPUT.GN_MEAN}, std={cfg.INPUT.GN_STD})")
        tfm.append(GaussianNoise(cfg.INPUT.GN_MEAN, cfg.INPUT.GN_STD))
    if "instance_norm" in choices:
        print("+ instance normalization")
        tfm.append(InstanceNormalization())
    return Compose(tfm)


def _augment_policies(cfg, choices) -> list:
    """Step 6 of Dassl's train pipeline: the AutoAugment policies, then the RandAugment variants."""
    steps = []
    for choice, (line, policy) in POLICIES.items():
        if choice in choices:
            print(line)
            steps.append(policy())
    if "randaugment" in choices:
        n_, m_ = cfg.INPUT.RANDAUGMENT_N, cfg.INPUT.RANDAUGMENT_M
        if not 0 <= m_ <= 30:
            raise InvalidValue(f"INPUT.RANDAUGMENT_M is {m_}; RandAugment's magnitude must be in [0, 30]")
        print(f"+ randaugment (n={n_}, m={m_})")
        steps.append(RandAugment(n_, m_))
    if "randaugment_fixmatch" in choices:
        print(f"+ randaugment_fixmatch (n={cfg.INPUT.RANDAUGMENT_N})")
        steps.append(RandAugmentFixMatch(cfg.INPUT.RANDAUGMENT_N))
    if "randaugment2" in choices:
        print(f"+ randaugment2 (n={cfg.INPUT.RANDAUGMENT_N})")
        steps.append(RandAugment2(cfg.INPUT.RANDAUGMENT_N))
    return steps


def _build_transform_test(cfg, choices, target_size, normalize) -> Compose:
    print("Building transform_test")
    interp = INTERPOLATION_MODES[cfg.INPUT.INTERPOLATION]
    tfm = []
    print(f"+ resize the smaller edge to {max(cfg.INPUT.SIZE)}")
    tfm.append(Resize(max(cfg.INPUT.SIZE), interpolation=interp))
    print(f"+ {target_size} center crop")
    tfm.append(CenterCrop(cfg.INPUT.SIZE))
    print("+ to torch tensor of range [0, 1]")
    tfm.append(ToTensor())
    if "normalize" in choices:
        print(f"+ normalization (mean={cfg.INPUT.PIXEL_MEAN}, std={cfg.INPUT.PIXEL_STD})")
        tfm.append(normalize)
    if "instance_norm" in choices:
        print("+ instance normalization")
        tfm.append(InstanceNormalization())
    return Compose(tfm)
