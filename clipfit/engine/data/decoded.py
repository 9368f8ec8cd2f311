"""The decoded training set: every training image decoded once into one uint8 buffer kept in memory.

A few-shot set is small (16 images per class), so decoding it each epoch is waste: the loader then does
only the random augmentation, on a PIL image rebuilt from the buffer (pixel for pixel what decoding the
file gives, so the batches are identical). The buffer is one numpy array allocated before the loader's
workers fork: they read its pages without copying them.
"""
from __future__ import annotations

import os
import time
from collections.abc import Iterable

import numpy as np
import torch
from PIL import Image

from ..utils.images import image_size, read_image


def estimated_bytes(impaths: list[str], dataset: str = "") -> int:
    """H x W x 3 summed over the images, from their headers (nothing is decoded); an image that cannot be
    opened is named as the loaders name it (`dataset`: its name)."""
    total = 0
    for path in impaths:
        width, height = image_size(path, dataset)
        total += width * height * 3
    return total


def available_bytes() -> int | None:
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


class DecodedFiles(torch.utils.data.Dataset):
    """uint8 H x W x 3 of each image file, after `transform` (PIL to PIL) when one is given."""

    def __init__(self, impaths: list[str], dataset: str = "", transform=None):
        self.impaths, self.dataset, self.transform = impaths, dataset, transform

    def __len__(self) -> int:
        return len(self.impaths)

    def __getitem__(self, i: int) -> np.ndarray:
        image = read_image(self.impaths[i], self.dataset)
        if self.transform is not None:
            image = self.transform(image)
        return np.asarray(image, dtype=np.uint8)


def decode_files(impaths: list[str], dataset: str = "", num_workers: int = 0, transform=None) -> Iterable[np.ndarray]:
    """DecodedFiles of `impaths` in order, decoded in `num_workers` loader workers.

    The loader gets a private generator: decoding for a cache must not move the global RNG, or the run's
    initialisation and shuffling would differ from a run without the cache."""
    return torch.utils.data.DataLoader(DecodedFiles(impaths, dataset, transform), batch_size=None,
                                       num_workers=num_workers, collate_fn=lambda x: x, generator=torch.Generator())


class DecodedImages:
    """uint8 H x W x 3 arrays of `impaths` in one buffer; `array(path)` is a view, `pil(path)` an RGB image."""

    def __init__(self, impaths: list[str], num_workers: int = 0, total_bytes: int | None = None, dataset: str = ""):
        self.impaths = list(dict.fromkeys(impaths))
        total = estimated_bytes(self.impaths, dataset) if total_bytes is None else total_bytes
        self.buffer = np.empty(total, dtype=np.uint8)
        self.slots: dict[str, tuple[int, tuple[int, int, int]]] = {}
        offset = 0
        for path, array in zip(self.impaths, decode_files(self.impaths, dataset, num_workers)):
            end = offset + array.size
            if end > total:
                raise ValueError(f"{path}: decodes to more pixels than its header says")
            self.buffer[offset:end] = array.reshape(-1)
            self.slots[path] = (offset, array.shape)
            offset = end

    @property
    def nbytes(self) -> int:
        return int(self.buffer.size)

    def __deepcopy__(self, memo) -> DecodedImages:
        return self  # never written after decoding: copies of a loader share the buffer

    def __contains__(self, path: str) -> bool:
        return path in self.slots

    def array(self, path: str) -> np.ndarray:
        offset, shape = self.slots[path]
        return self.buffer[offset:offset + int(np.prod(shape))].reshape(shape)

    def pil(self, path: str) -> Image.Image:
        return Image.fromarray(self.array(path))


def decode_train_set(items: list, max_gb: float, num_workers: int = 0, dataset: str = "") -> DecodedImages | None:
    """The decoded set of `items`, or None (with the reason printed) when it would not fit."""
    impaths = list(dict.fromkeys(d.impath for d in items))
    need = estimated_bytes(impaths, dataset)
    cap = int(max_gb * 2**30)
    free = available_bytes()
    if need > cap or (free is not None and need > free // 2):
        limit = (f"DATALOADER.CACHE_TRAIN_MAX_GB {max_gb:g}" if need > cap
                 else f"half the free memory ({free / 2**30:,.1f} GiB free)")
        print(f"train cache: off: {len(impaths):,} decoded images need {need / 2**30:,.2f} GiB, over {limit}; "
              "reading the image files every epoch (raise the cap or set DATALOADER.CACHE_TRAIN False)")
        return None
    start = time.perf_counter()
    decoded = DecodedImages(impaths, num_workers, need, dataset)
    print(f"train cache: {len(impaths):,} images decoded once into memory ({decoded.nbytes / 2**20:,.1f} MiB) "
          f"in {time.perf_counter() - start:.1f} s; epochs do only the augmentation")
    return decoded
