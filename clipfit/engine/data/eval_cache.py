"""The evaluation cache: a dataset's test images after the PIL part of the test transform, as uint8.

The resize and center crop of the test transform give the same pixels for every method, seed and epoch,
so they run once per dataset split; every later evaluation reads the uint8 crops from one memory-mapped
file and applies ToTensor/Normalize on the run's device (`ToFloatNormalized`, bit-identical on the CPU).

File layout: 8-byte magic, 8-byte little-endian header length, a JSON header (format version, key, image
list, transform settings, shape, CRC-32 of the pixels), padding to 4 KiB, then N x H x W x 3 bytes. The key
hashes the format version, the PIL transforms' settings and every image's path, size and modification time;
a file whose key, magic, header, length or pixel checksum is wrong is reported in one line and rebuilt.
Files are written atomically, so a crash never leaves a half-written cache under the final name.
"""
from __future__ import annotations

import errno
import hashlib
import json
import math
import os
import struct
import time
import zlib

import numpy as np
import torch
from torchvision.transforms import CenterCrop, Compose, Normalize, Resize

from ...core.atomic_files import atomic_open, cache_root
from ...errors import InvalidValue
from .decoded import DecodedFiles, decode_files
from .device_batches import split_at_to_tensor

FORMAT_VERSION = 2  # 2: the header holds the CRC-32 of the pixels
MAGIC = b"CFEVAL\x00\x01"
ALIGN = 4096
CACHE_FOLDER = "split_fewshot"


class CacheUnusable(Exception):
    """The file cannot be used (stale or corrupt); the message says why in a few words."""


def split_test_transform(tfm) -> tuple[Compose, Normalize | None] | None:
    """`split_at_to_tensor` for a test transform whose PIL part is deterministic (Resize / CenterCrop),
    so its output can be stored; None otherwise."""
    parts = split_at_to_tensor(tfm)
    if parts is None or not all(isinstance(t, (Resize, CenterCrop)) for t in parts[0].transforms):
        return None
    return parts


def _file_stamp(path: str) -> list:
    st = os.stat(path)
    return [path, st.st_size, st.st_mtime_ns]


def cache_key(impaths: list[str], pil_part: Compose) -> str:
    payload = json.dumps([FORMAT_VERSION, repr(pil_part), [_file_stamp(p) for p in impaths]])
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def cache_relpath(split: str, pil_part: Compose) -> str:
    """One file per split and transform settings (a changed image list rebuilds the same file)."""
    crop = next((t for t in pil_part.transforms if isinstance(t, CenterCrop)), None)
    size = "x".join(str(s) for s in crop.size) if crop is not None else "any"
    settings = hashlib.sha1(repr(pil_part).encode("utf-8")).hexdigest()[:8]
    return os.path.join(CACHE_FOLDER, f"eval-{split}-{size}-{settings}.u8")


# The checksum is known only once every crop is written: the header holds a fixed-width placeholder that
# is overwritten in place at the end.
_CRC_FIELD = b'"crc32": "'
_CRC_PLACEHOLDER = "0" * 8


def _header_bytes(header: dict) -> tuple[bytes, int]:
    """(the header block, the offset of the checksum's 8 hex digits in it)."""
    body = json.dumps({**header, "crc32": _CRC_PLACEHOLDER}).encode("utf-8")
    total = math.ceil((16 + len(body)) / ALIGN) * ALIGN
    crc_at = 16 + body.rindex(_CRC_FIELD) + len(_CRC_FIELD)
    return MAGIC + struct.pack("<Q", len(body)) + body + b"\x00" * (total - 16 - len(body)), crc_at


def pixels_crc32(images: np.ndarray, chunk_bytes: int = 64 * 2**20) -> int:
    """CRC-32 of the pixel bytes, read in chunks (a memory-mapped file is never read into memory whole).

    What verifying costs: zlib's CRC-32 runs at several GB/s on one core (5.7 GB/s measured here), about
    1 s for ImageNet's 7.5 GB test cache and well under that for the other datasets; the pages it reads
    are the ones the evaluation reads next, so the file is read from disk once either way.
    """
    flat = images.reshape(-1)
    crc = 0
    for start in range(0, flat.size, chunk_bytes):
        crc = zlib.crc32(flat[start:start + chunk_bytes], crc)
    return crc


def write_cache(path: str, impaths: list[str], pil_part: Compose, key: str, num_workers: int = 0,
                dataset: str = "") -> None:
    """Decode, resize and crop every image (in `num_workers` loader workers) into `path`, atomically."""
    first = DecodedFiles(impaths[:1], dataset, pil_part)[0]
    header = {"version": FORMAT_VERSION, "key": key, "transform": repr(pil_part), "shape": list(first.shape),
              "impaths": list(impaths)}
    crops = decode_files(impaths, dataset, num_workers, pil_part)
    block, crc_at = _header_bytes(header)
    crc = 0
    with atomic_open(path, "wb") as f:
        f.write(block)
        for impath, crop in zip(impaths, crops):
            if crop.shape != first.shape:
                raise InvalidValue(f"{impath}: the test transform gave {crop.shape}, not {first.shape}; the evaluation "
                                 "cache needs one crop size (set DATALOADER.CACHE_EVAL False)")
            data = np.ascontiguousarray(crop).tobytes()
            crc = zlib.crc32(data, crc)  # computed while writing: no second pass over the pixels
            f.write(data)
        f.seek(crc_at)
        f.write(f"{crc:08x}".encode("ascii"))


def read_cache(path: str, key: str, verify: bool = True) -> tuple[np.memmap, dict[str, int]]:
    """(the images, N x H x W x 3, memory-mapped; row of each image path); CacheUnusable when stale/corrupt.
    `verify`: check the pixels against the header's CRC-32 (`pixels_crc32` says what it costs)."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        if f.read(8) != MAGIC:
            raise CacheUnusable("not an evaluation cache of this format (corrupt)")
        try:
            (length,) = struct.unpack("<Q", f.read(8))
            if length > size - 16:  # a garbage length must not make us read (or allocate) beyond the file
                raise ValueError(f"header length {length:,} in a file of {size:,} bytes")
            header = json.loads(f.read(length).decode("utf-8"))
            if not isinstance(header, dict):
                raise TypeError(f"the header is a JSON {type(header).__name__}")
            version, shape, impaths = header.get("version"), tuple(header["shape"]), list(header["impaths"])
            pixels = int(np.prod(shape))
            crc = int(header["crc32"], 16) if version == FORMAT_VERSION else None
        except (struct.error, ValueError, UnicodeDecodeError, TypeError, KeyError) as e:
            raise CacheUnusable(f"unreadable header (corrupt: {type(e).__name__})") from e
    if version != FORMAT_VERSION:
        raise CacheUnusable(f"format version {version}, this code writes {FORMAT_VERSION}")
    if header.get("key") != key:
        raise CacheUnusable("stale: the image list, an image file or the transform settings changed")
    offset = math.ceil((16 + length) / ALIGN) * ALIGN
    if len(shape) != 3 or size != offset + len(impaths) * pixels:
        raise CacheUnusable(f"{size:,} bytes instead of {offset + len(impaths) * pixels:,} (corrupt)")
    images = np.memmap(path, dtype=np.uint8, mode="r", offset=offset, shape=(len(impaths), *shape))
    if verify and pixels_crc32(images) != crc:
        raise CacheUnusable("corrupt: its pixels do not match their checksum")
    return images, {p: i for i, p in enumerate(impaths)}


class ForeignCacheFiles:
    """Where datasets without our side-files store (e.g. a third-party Dassl dataset class) keep the cache:
    beside their few-shot caches (`dataset_dir/split_fewshot`) when that folder is writable, else under
    `$CLIPFIT_CACHE` / `~/.cache/clipfit`. Such a dataset subsamples base/new classes itself, so the file
    name carries a digest of its image list: the base and the new subsets each keep their own file."""

    def __init__(self, dataset, impaths: list[str]):
        name = type(dataset).__name__
        root = hashlib.sha1((os.path.commonpath(impaths) if impaths else "").encode("utf-8")).hexdigest()[:8]
        self.fallback = os.path.join(cache_root(), "eval", f"{name}-{root}")
        dataset_dir = getattr(dataset, "dataset_dir", None)
        self.primary = dataset_dir if isinstance(dataset_dir, str) and os.path.isdir(dataset_dir) else None
        self.list_digest = hashlib.sha1("\n".join(impaths).encode("utf-8")).hexdigest()[:8]

    def _name(self, relpath: str) -> str:
        stem, ext = os.path.splitext(relpath)
        return f"{stem}-{self.list_digest}{ext}"

    def find(self, relpath: str) -> str | None:
        for folder in (self.primary, self.fallback):
            if folder and os.path.isfile(path := os.path.join(folder, self._name(relpath))):
                return path
        return None

    def save(self, relpath: str, write, announce=None) -> str:
        if self.primary:
            path = os.path.join(self.primary, self._name(relpath))
            try:
                write(path)
                return path
            except OSError as e:
                if e.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
                    raise
                # A read-only dataset folder: the per-user folder takes the file.
                print(f"eval cache: {self.primary} is read-only ({e.strerror}); writing the cache under "
                      f"{self.fallback} instead")
        path = os.path.join(self.fallback, self._name(relpath))
        write(path)
        return path


class EvalCache:
    """The cache file of one split, opened (or built) for a run: `rows(items)` maps a run's items to rows."""

    def __init__(self, path: str, images: np.memmap, index: dict[str, int]):
        self.path, self.images, self.index = path, images, index

    def __deepcopy__(self, memo) -> EvalCache:
        return self  # a read-only file: copies of a loader share it rather than read it into memory

    def __getstate__(self) -> dict:
        # A pickled cache names its file; unpickling maps it again (a memmap would pickle all its bytes).
        return {"path": self.path, "index": self.index, "offset": self.images.offset, "shape": self.images.shape}

    def __setstate__(self, state: dict) -> None:
        self.path, self.index = state["path"], state["index"]
        self.images = np.memmap(state["path"], dtype=np.uint8, mode="r", offset=state["offset"], shape=state["shape"])

    @property
    def nbytes(self) -> int:
        return int(self.images.size)

    def rows(self, items) -> np.ndarray | None:
        """Row of each item's image, or None when some image is not in the file."""
        try:
            return np.fromiter((self.index[d.impath] for d in items), dtype=np.int64, count=len(items))
        except KeyError:
            return None

    @classmethod
    def open(cls, files, split: str, items: list, pil_part: Compose, num_workers: int = 0,
             dataset: str = "") -> EvalCache:
        """Read the split's cache file, or (missing, stale, corrupt) build it; print what happened."""
        impaths = list(dict.fromkeys(d.impath for d in items))
        relpath = cache_relpath(split, pil_part)
        key = cache_key(impaths, pil_part)
        found = files.find(relpath)
        rebuilt = ""
        if found:
            try:
                cache = cls(found, *read_cache(found, key))
                print(f"eval cache: {len(impaths):,} {split} images read from {found} "
                      f"({cache.nbytes / 2**20:,.1f} MiB, memory-mapped)")
                return cache
            except (CacheUnusable, OSError) as e:
                rebuilt = f" (rebuilt: the old file was {e})"
        start = time.perf_counter()
        path = files.save(relpath, lambda p: write_cache(p, impaths, pil_part, key, num_workers, dataset))
        cache = cls(path, *read_cache(path, key, verify=False))  # its checksum was computed from these bytes
        print(f"eval cache: wrote {len(impaths):,} {split} images ({cache.nbytes / 2**20:,.1f} MiB) to {path} "
              f"in {time.perf_counter() - start:.1f} s{rebuilt}")
        return cache


def side_files(dataset, items: list):
    """The dataset's own side files (`DatasetBase.side_files`), else beside its few-shot caches or under
    `$CLIPFIT_CACHE` / `~/.cache/clipfit` (`ForeignCacheFiles`)."""
    hook = getattr(dataset, "side_files", None)  # a dataset class not built on DatasetBase may lack the hook
    files = hook() if hook is not None else None
    return files if files is not None else ForeignCacheFiles(dataset, list(dict.fromkeys(d.impath for d in items)))


class CachedEvalLoader:
    """Batches of Dassl's dict with "img" the uint8 N x H x W x 3 crops read from the cache, in the
    sampler's order; what `DataLoader(dataset)` would give, without decoding anything.

    To code that inspects or copies it, it is that DataLoader: `dataset` is the DatasetWrapper of the split
    (with the test transform the cache holds), `batch_size`, `sampler`, `num_workers`, `pin_memory` and
    `drop_last` are Dassl's, and a copy works on its own. Once the wrapper is not as built (its transform
    replaced, RETURN_IMG0 set), the batches come from that DataLoader: the cache holds no other transform."""

    def __init__(self, cache: EvalCache, rows: np.ndarray, dataset, sampler, batch_size: int, num_workers: int = 0,
                 pin_memory: bool = False):
        self.cache, self.rows, self.dataset, self.data_source = cache, rows, dataset, dataset.data_source
        self.source = dataset.transform
        self.sampler, self.batch_size, self.num_workers, self.pin_memory = sampler, batch_size, num_workers, pin_memory
        self.drop_last = False

    def __len__(self) -> int:
        return math.ceil(len(self.data_source) / self.batch_size)

    def as_built(self) -> bool:
        return self.dataset.transform is self.source and self.dataset.k_tfm == 1 and not self.dataset.return_img0

    def __iter__(self):
        if not self.as_built():
            yield from torch.utils.data.DataLoader(self.dataset, batch_size=self.batch_size, sampler=self.sampler,
                                                   num_workers=self.num_workers, pin_memory=self.pin_memory)
            return
        # Each iteration of a DataLoader draws its workers' base seed from the global RNG; drawing it
        # here too keeps the rest of the run (e.g. the next epoch's shuffle after a val pass) unchanged.
        torch.empty((), dtype=torch.int64).random_()
        order = np.fromiter(iter(self.sampler), dtype=np.int64, count=len(self.data_source))
        for start in range(0, len(order), self.batch_size):
            idx = order[start:start + self.batch_size]
            rows = self.rows[idx]
            if len(rows) and rows[-1] - rows[0] == len(rows) - 1 and np.all(np.diff(rows) == 1):
                images = np.array(self.cache.images[rows[0]:rows[-1] + 1])  # one contiguous read
            else:
                images = self.cache.images[rows]
            items = [self.data_source[i] for i in idx]
            yield {
                "label": torch.tensor([d.label for d in items]),
                "domain": torch.tensor([d.domain for d in items]),
                "impath": [d.impath for d in items],
                "index": torch.from_numpy(idx.copy()),
                "img": torch.from_numpy(images),
            }
