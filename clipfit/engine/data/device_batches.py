"""Loaders whose images reach the trainer already on its device: uint8 from the loader, floats made there."""
from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import torch
from torchvision.transforms import Compose, Normalize, ToTensor


def run_device(cfg) -> torch.device:
    """The trainers' rule (SimpleTrainer): CUDA when it is available and USE_CUDA, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() and cfg.USE_CUDA else "cpu")


def split_at_to_tensor(tfm) -> tuple[Compose, Normalize | None] | None:
    """(the steps before ToTensor, the Normalize after it or None) when `tfm` is a Compose that ends in
    ToTensor and at most one Normalize; None otherwise (e.g. Cutout or noise after ToTensor draw random
    numbers in the loader and must stay there)."""
    steps = list(getattr(tfm, "transforms", None) or [])
    cut = next((i for i, t in enumerate(steps) if isinstance(t, ToTensor)), None)
    if cut is None:
        return None
    tensor = steps[cut + 1:]
    if len(tensor) > 1 or (tensor and not isinstance(tensor[0], Normalize)):
        return None
    return Compose(steps[:cut]), (tensor[0] if tensor else None)


class ToUint8HWC:
    """The last step of a loader transform whose ToTensor/Normalize run on the device: the PIL image as a
    uint8 H x W x C tensor (a quarter of the float32 bytes to pass from the workers)."""

    def __call__(self, img) -> torch.Tensor:
        return torch.from_numpy(np.array(img, dtype=np.uint8, copy=True))


def device_normalizer(normalize: Normalize | None, device: torch.device) -> ToFloatNormalized:
    return ToFloatNormalized(device, *((normalize.mean, normalize.std) if normalize is not None else ()))


class ToFloatNormalized:
    """ToTensor + Normalize of a uint8 NHWC batch, as one batched operation on `device`.

    The same element-wise float32 operations as torchvision's ToTensor (divide by 255) and Normalize
    (subtract the mean, divide by the std), so on the CPU the result is bit-identical to theirs.
    """

    def __init__(self, device: torch.device, mean=None, std=None):
        self.device = device
        dtype = torch.get_default_dtype()
        self.mean = None if mean is None else torch.as_tensor(mean, dtype=dtype, device=device).view(1, -1, 1, 1)
        self.std = None if std is None else torch.as_tensor(std, dtype=dtype, device=device).view(1, -1, 1, 1)

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        if self.device.type == "cuda":
            # DataLoader(pin_memory=True) batches arrive pinned; the eval cache's are pinned here.
            images = (images if images.is_pinned() else images.pin_memory()).to(self.device, non_blocking=True)
        images = images.to(self.device)
        n, h, w, c = images.shape
        # In place on one float buffer: the same roundings as ToTensor's `.float().div(255)` and
        # Normalize's `sub_(mean).div_(std)`, without three temporary copies of the batch.
        x = torch.empty(n, c, h, w, dtype=torch.get_default_dtype(), device=self.device)
        x.copy_(images.permute(0, 3, 1, 2))
        x.div_(255)
        if self.mean is not None:
            x.sub_(self.mean).div_(self.std)
        return x


class DeviceLoader:
    """Wraps a loader of Dassl batch dicts and replaces each batch's "img" with `convert(img)`.

    Everything else (len, batch_size, dataset, sampler, ...) is the wrapped loader's, so trainers use it
    as a DataLoader; their `.to(device)` on the image is then a no-op.
    """

    def __init__(self, loader: Iterable, convert: Callable, describe: Callable[[float, int], str] | None = None):
        self.loader = loader
        self.convert = convert
        self.describe = describe
        self.note: str | None = None  # `describe(seconds, images)` of the last full pass, for the trainer to print

    def __len__(self) -> int:
        return len(self.loader)

    def __getattr__(self, name: str):
        return getattr(self.__dict__["loader"], name)

    def __iter__(self):
        """The seconds given to `describe` are those spent in the loader and the conversion only, not in
        the trainer's work between batches."""
        import time

        spent, count = 0.0, 0
        batches = iter(self.loader)
        while True:
            start = time.perf_counter()
            batch = next(batches, None)
            if batch is None:
                break
            batch["img"] = self.convert(batch["img"])
            spent += time.perf_counter() - start
            count += len(batch["label"])
            yield batch
        if self.describe is not None:
            self.note = self.describe(spent, count)
