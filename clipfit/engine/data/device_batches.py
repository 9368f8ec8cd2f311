"""Loaders whose images reach the trainer already on its device: uint8 from the loader, floats made there.

To code that inspects or copies them they are Dassl's `DataLoader(DatasetWrapper)`: `.dataset` is the
plain `DatasetWrapper` (Dassl's transform, Dassl's items), `.batch_size`, `.sampler`, `.num_workers`,
`.pin_memory` are the loader's, and `copy.deepcopy` or pickling gives a working, independent copy. The
uint8 shortcut (`DeviceItems`) applies only while the wrapper is as built: a trainer that replaces
`.dataset.transform` (or sets K_TRANSFORMS/RETURN_IMG0 on it) gets Dassl's items, which pass through the
conversion unchanged.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import torch
from torch.utils.data import Dataset
from torchvision.transforms import Compose, Normalize, ToTensor

from .wrapper import item_fields


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


class DeviceItems(Dataset):
    """What the engine's train loader reads from `wrapper` (its public `.dataset`): each image after `head`
    (the PIL steps of `source`, the wrapper's transform, ending in `ToUint8HWC`), or with `head` None the
    decoded uint8 image untransformed (INPUT.GPU_AUGMENT). Dassl's item once the wrapper is not as built."""

    def __init__(self, wrapper, source, head=None):
        self.wrapper, self.source, self.head = wrapper, source, head

    def __len__(self) -> int:
        return len(self.wrapper)

    def as_built(self) -> bool:
        w = self.wrapper
        return w.transform is self.source and w.k_tfm == 1 and not w.return_img0

    def __getitem__(self, idx: int) -> dict:
        w = self.wrapper
        if not self.as_built():
            return w[idx]
        item = w.data_source[idx]
        output = item_fields(item, idx)
        if self.head is not None:
            output["img"] = self.head(w.read(item.impath))
        elif w.decoded is not None and item.impath in w.decoded:
            output["img"] = torch.from_numpy(w.decoded.array(item.impath))
        else:
            output["img"] = torch.from_numpy(np.asarray(w.read(item.impath), dtype=np.uint8).copy())
        return output


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
        if images.dtype != torch.uint8:  # Dassl's float batch (the wrapper was changed): already converted
            return images
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

    `dataset` is the DatasetWrapper the items come from (the loader's own dataset by default); everything
    else (len, batch_size, sampler, num_workers, pin_memory, ...) is the wrapped loader's, so trainers use it
    as a DataLoader; their `.to(device)` on the image is then a no-op.
    """

    def __init__(self, loader: Iterable, convert: Callable, describe: Callable[[float, int], str | None] | None = None,
                 dataset=None):
        self.loader = loader
        self.dataset = loader.dataset if dataset is None else dataset
        self.convert = convert
        self.describe = describe
        self.note: str | None = None  # `describe(seconds, images)` of the last full pass, for the trainer to print

    def __len__(self) -> int:
        return len(self.loader)

    def __getattr__(self, name: str):
        # Copying and unpickling look attributes up before `loader` is set: they must get AttributeError.
        loader = self.__dict__.get("loader")
        if loader is None or name.startswith("__"):
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        return getattr(loader, name)

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
