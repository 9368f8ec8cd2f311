"""INPUT.GPU_AUGMENT: torchvision's crop distribution, torchvision's tensor resize, CoOp's flip and normalisation."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torchvision.transforms import InterpolationMode, RandomResizedCrop
from torchvision.transforms.v2 import functional as TF

from clipfit.engine.config_defaults import get_cfg_default
from clipfit.engine.data.gpu_augment import GpuAugment, resized_crop, sample_crop_params

SCALE, RATIO = (0.08, 1.0), (3 / 4, 4 / 3)
N = 4000


def torchvision_params(height: int, width: int, n: int) -> np.ndarray:
    image = torch.empty(3, height, width)
    return np.array([RandomResizedCrop.get_params(image, list(SCALE), list(RATIO)) for _ in range(n)], dtype=float)


def ks_statistic(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov statistic: the largest gap between the empirical CDFs."""
    grid = np.sort(np.concatenate([a, b]))
    cdf_a = np.searchsorted(np.sort(a), grid, side="right") / len(a)
    cdf_b = np.searchsorted(np.sort(b), grid, side="right") / len(b)
    return float(np.abs(cdf_a - cdf_b).max())


@pytest.mark.parametrize("height,width", [(375, 500), (500, 375), (60, 400)])
def test_crop_parameters_follow_torchvision(height, width):
    torch.manual_seed(0)
    ours = sample_crop_params(torch.full((N,), height), torch.full((N,), width), SCALE, RATIO).numpy().astype(float)
    torch.manual_seed(1)
    theirs = torchvision_params(height, width, N)
    assert (ours[:, 2] >= 1).all() and (ours[:, 0] + ours[:, 2] <= height).all()
    assert (ours[:, 3] >= 1).all() and (ours[:, 1] + ours[:, 3] <= width).all()

    def features(p):
        top, left, h, w = p.T
        return {"area": h * w / (height * width), "aspect": w / h,
                "top": (top + 0.5) / (height - h + 1), "left": (left + 0.5) / (width - w + 1)}

    # Fixed seeds make this deterministic; at N = 4000 per side, KS statistics above 0.044 would reject
    # equal distributions at the 0.1% level, so 0.05 leaves room without hiding a wrong rule.
    for name, (a, b) in {k: (features(ours)[k], features(theirs)[k]) for k in features(ours)}.items():
        assert ks_statistic(a, b) < 0.05, name
    # The fallback (no draw fits in 10 attempts: the center crop) happens as often as in torchvision.
    def centered(p):
        return np.mean((p[:, 0] == (height - p[:, 2]) // 2) & (p[:, 1] == (width - p[:, 3]) // 2))

    assert abs(centered(ours) - centered(theirs)) < 0.02


def test_each_crop_equals_torchvision_tensor_resized_crop():
    generator = torch.Generator().manual_seed(0)
    image = torch.randint(0, 256, (3, 90, 120), dtype=torch.uint8, generator=generator).float() / 255
    for top, left, h, w in [(0, 0, 90, 120), (10, 20, 40, 60), (5, 7, 13, 9), (30, 0, 60, 45)]:
        ours = resized_crop(image, top, left, h, w, (224, 224), "bicubic")
        float_path = TF.resized_crop(image, top, left, h, w, [224, 224], InterpolationMode.BICUBIC, antialias=True)
        # The reference is torchvision's float tensor path, what a device runs: the same antialiased
        # interpolate, so only float rounding may differ (1e-6 on values in [0, 1]); the clamp to [0, 1]
        # is ours (PIL's uint8 output cannot overshoot), applied to both. torchvision's CPU uint8 path is
        # no reference: it uses PIL's bicubic coefficient (-0.5 instead of -0.75) and rounds to levels.
        torch.testing.assert_close(ours, float_path.clamp(0, 1), atol=1e-6, rtol=0)


def coop_cfg():
    cfg = get_cfg_default()
    cfg.INPUT.TRANSFORMS = ["random_resized_crop", "random_flip", "normalize"]
    cfg.INPUT.INTERPOLATION = "bicubic"
    return cfg


def test_the_batch_is_cropped_flipped_and_normalised_on_the_device():
    cfg = coop_cfg()
    augment = GpuAugment(cfg, torch.device("cpu"))
    images = [torch.randint(0, 256, (h, w, 3), dtype=torch.uint8) for h, w in [(90, 120), (120, 90), (64, 64)]] * 4
    torch.manual_seed(5)
    out = augment(images)
    assert out.shape == (12, 3, 224, 224) and out.dtype == torch.float32

    torch.manual_seed(5)
    params = sample_crop_params(torch.tensor([i.shape[0] for i in images]), torch.tensor([i.shape[1] for i in images]))
    flips = torch.rand(len(images)) < 0.5
    mean = torch.tensor(cfg.INPUT.PIXEL_MEAN).view(3, 1, 1)
    std = torch.tensor(cfg.INPUT.PIXEL_STD).view(3, 1, 1)
    for k, (img, (top, left, h, w)) in enumerate(zip(images, params.tolist())):
        expected = resized_crop(img.permute(2, 0, 1).float() / 255, top, left, h, w, (224, 224), "bicubic")
        expected = (expected.flip(-1) if flips[k] else expected).sub(mean).div(std)
        torch.testing.assert_close(out[k], expected, atol=1e-6, rtol=0)
    assert 0 < int(flips.sum()) < len(images)


def test_other_transforms_are_refused_with_what_to_do():
    cfg = coop_cfg()
    cfg.INPUT.TRANSFORMS = ["random_resized_crop", "colorjitter", "normalize"]
    with pytest.raises(ValueError, match="Set INPUT.GPU_AUGMENT False for the others"):
        GpuAugment(cfg, torch.device("cpu"))
