"""`INPUT.GPU_AUGMENT`: CoOp's training augmentation as tensor work on the run's device.

The loader hands over the decoded uint8 images as they are (a gather, no per-image CPU work); here the
random resized crop, the horizontal flip and the normalisation run on the device. The crop parameters
follow torchvision's `RandomResizedCrop.get_params` (same distribution, drawn for the whole batch at once
from torch's global generator, so not the same numbers) and each crop is resized with the tensor path of
torchvision (antialiased `interpolate`). PIL's resampling rounds to uint8 between steps and its bicubic
filter differs slightly, so the images are close to, not equal to, the PIL pipeline's: off by default.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ...errors import InvalidValue

SUPPORTED = {"random_resized_crop", "random_flip", "normalize"}
MODES = {"bilinear": "bilinear", "bicubic": "bicubic", "nearest": "nearest"}


def sample_crop_params(heights: torch.Tensor, widths: torch.Tensor, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3),
                       attempts: int = 10) -> torch.Tensor:
    """[B, 4] int64 (top, left, height, width) per image: torchvision's rule, vectorised over the batch.

    Up to `attempts` draws of (area fraction, log aspect ratio) per image; the first that fits is used,
    with a uniform position. When none fits, the center crop with the aspect ratio clamped to `ratio`."""
    heights, widths = heights.to(torch.float64), widths.to(torch.float64)
    n = heights.numel()
    area = (heights * widths)[:, None]
    target = area * torch.empty(n, attempts, dtype=torch.float64).uniform_(scale[0], scale[1])
    log_ratio = torch.empty(n, attempts, dtype=torch.float64).uniform_(math.log(ratio[0]), math.log(ratio[1]))
    aspect = torch.exp(log_ratio)
    w = torch.round(torch.sqrt(target * aspect))
    h = torch.round(torch.sqrt(target / aspect))
    fits = (w > 0) & (w <= widths[:, None]) & (h > 0) & (h <= heights[:, None])
    first = torch.argmax(fits.to(torch.int8), dim=1)
    found = fits.any(dim=1)
    pick = torch.arange(n)
    h, w = h[pick, first], w[pick, first]

    in_ratio = widths / heights
    fb_w = torch.where(in_ratio < ratio[0], widths, torch.where(in_ratio > ratio[1], torch.round(heights * ratio[1]),
                                                                widths))
    fb_h = torch.where(in_ratio < ratio[0], torch.round(widths / ratio[0]), heights)
    h, w = torch.where(found, h, fb_h), torch.where(found, w, fb_w)
    u = torch.rand(n, 2, dtype=torch.float64)
    top = torch.where(found, torch.floor(u[:, 0] * (heights - h + 1)), torch.floor((heights - h) / 2))
    left = torch.where(found, torch.floor(u[:, 1] * (widths - w + 1)), torch.floor((widths - w) / 2))
    return torch.stack([top, left, h, w], dim=1).to(torch.int64)


def resized_crop(image: torch.Tensor, top: int, left: int, height: int, width: int, size, mode: str) -> torch.Tensor:
    """[3, H, W] float in [0, 1] -> [3, *size]: torchvision's tensor `resized_crop` for float images
    (antialiased interpolate), then clamped to [0, 1] as the uint8 pipelines clamp."""
    crop = image[None, :, top:top + height, left:left + width]
    antialias = mode in ("bilinear", "bicubic")
    out = F.interpolate(crop, size=list(size), mode=mode, align_corners=False if antialias else None,
                        antialias=antialias)
    return out[0].clamp_(0.0, 1.0)


class GpuAugment:
    """Turns the loader's list of uint8 H x W x 3 images into the normalised [B, 3, *SIZE] batch on `device`."""

    def __init__(self, cfg, device: torch.device):
        choices = set(cfg.INPUT.TRANSFORMS)
        unsupported = sorted(choices - SUPPORTED)
        if unsupported or "random_resized_crop" not in choices:
            raise InvalidValue(
                f"INPUT.GPU_AUGMENT True runs only {sorted(SUPPORTED)} (with random_resized_crop) on the device; "
                f"INPUT.TRANSFORMS is {list(cfg.INPUT.TRANSFORMS)}. Set INPUT.GPU_AUGMENT False for the others")
        if cfg.DATALOADER.K_TRANSFORMS != 1 or cfg.DATALOADER.RETURN_IMG0:
            raise InvalidValue("INPUT.GPU_AUGMENT True needs DATALOADER.K_TRANSFORMS 1 and "
                               "DATALOADER.RETURN_IMG0 False")
        self.device = device
        self.size = tuple(cfg.INPUT.SIZE)
        self.scale = tuple(cfg.INPUT.RRCROP_SCALE)
        self.mode = MODES[cfg.INPUT.INTERPOLATION]
        self.flip = "random_flip" in choices
        self.mean = self.std = None
        if "normalize" in choices:
            self.mean = torch.tensor(cfg.INPUT.PIXEL_MEAN, device=device).view(1, -1, 1, 1)
            self.std = torch.tensor(cfg.INPUT.PIXEL_STD, device=device).view(1, -1, 1, 1)

    def __call__(self, images: list[torch.Tensor]) -> torch.Tensor:
        if images and images[0].dtype != torch.uint8:  # Dassl's transformed images (the wrapper was changed)
            return torch.stack(images)
        heights = torch.tensor([img.shape[0] for img in images])
        widths = torch.tensor([img.shape[1] for img in images])
        params = sample_crop_params(heights, widths, self.scale).tolist()
        flips = (torch.rand(len(images)) < 0.5).tolist() if self.flip else [False] * len(images)
        out = torch.empty(len(images), 3, *self.size, device=self.device)
        for k, (img, (top, left, h, w)) in enumerate(zip(images, params)):
            # No pinning per image: a page-locked allocation costs more than copying one image.
            chw = img.to(self.device).permute(2, 0, 1).float().div_(255)
            out[k] = resized_crop(chw, top, left, h, w, self.size, self.mode)
        if any(flips):
            mask = torch.tensor(flips, device=self.device)
            out = torch.where(mask.view(-1, 1, 1, 1), out.flip(-1), out)
        if self.mean is not None:
            out = out.sub_(self.mean).div_(self.std)
        return out
