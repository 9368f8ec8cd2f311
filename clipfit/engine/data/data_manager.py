"""`DataManager`, `DatasetWrapper` and the loader rules of Dassl (samplers, drop_last, summary table)."""
from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset as TorchDataset
from torch.utils.data import default_collate
from torchvision.transforms import Compose, Normalize, Resize, ToTensor

from ...errors import UnsupportedOption
from ..utils.files import read_image
from .base_dataset import build_dataset
from .decoded import decode_train_set
from .device_batches import DeviceLoader, ToUint8HWC, device_normalizer, run_device, split_at_to_tensor
from .eval_cache import CachedEvalLoader, EvalCache, side_files, split_test_transform
from .gpu_augment import GpuAugment
from .samplers import build_sampler
from .transforms import INTERPOLATION_MODES, build_transform


def build_data_loader(
    cfg,
    sampler_type: str = "SequentialSampler",
    data_source=None,
    batch_size: int = 64,
    n_domain: int = 0,
    n_ins: int = 2,
    tfm=None,
    is_train: bool = True,
    dataset_wrapper=None,
    decoded=None,
    raw_uint8: bool = False,
    num_workers: int | None = None,
) -> torch.utils.data.DataLoader:
    """Dassl's loader. clipfit additions: `decoded` (a `DecodedImages` read instead of the files) and
    `raw_uint8` (batches hold the untransformed uint8 images as a list, for INPUT.GPU_AUGMENT)."""
    sampler = build_sampler(
        sampler_type, cfg=cfg, data_source=data_source, batch_size=batch_size, n_domain=n_domain, n_ins=n_ins
    )
    if dataset_wrapper is None:
        dataset_wrapper = DatasetWrapper
    wrapper = dataset_wrapper(cfg, data_source, transform=tfm, is_train=is_train)
    wrapper.decoded, wrapper.raw_uint8 = decoded, raw_uint8
    # Dassl's rule: drop the last partial batch only when at least one full batch exists.
    loader = torch.utils.data.DataLoader(
        wrapper,
        batch_size=batch_size,
        sampler=sampler,
        num_workers=cfg.DATALOADER.NUM_WORKERS if num_workers is None else num_workers,
        drop_last=is_train and len(data_source) >= batch_size,
        pin_memory=(torch.cuda.is_available() and cfg.USE_CUDA) and not raw_uint8,
        collate_fn=collate_images_as_list if raw_uint8 else None,
    )
    assert len(loader) > 0
    return loader


def collate_images_as_list(samples: list[dict]) -> dict:
    """The default collation, except "img": images of different sizes stay a list."""
    images = [sample.pop("img") for sample in samples]
    batch = default_collate(samples)
    batch["img"] = images
    return batch


def dataset_summary_rows(cfg, dataset) -> list[list[str]]:
    rows = [["Dataset", cfg.DATASET.NAME]]
    if cfg.DATASET.SOURCE_DOMAINS:
        rows.append(["Source", cfg.DATASET.SOURCE_DOMAINS])
    if cfg.DATASET.TARGET_DOMAINS:
        rows.append(["Target", cfg.DATASET.TARGET_DOMAINS])
    rows.append(["# classes", f"{dataset.num_classes:,}"])
    rows.append(["# train_x", f"{len(dataset.train_x):,}"])
    if dataset.train_u:
        rows.append(["# train_u", f"{len(dataset.train_u):,}"])
    if dataset.val:
        rows.append(["# val", f"{len(dataset.val):,}"])
    rows.append(["# test", f"{len(dataset.test):,}"])
    return rows


def format_table(rows: list[list]) -> str:
    """tabulate's "simple" layout without headers; a plain fallback when tabulate is absent."""
    try:
        from tabulate import tabulate

        return tabulate(rows)
    except ImportError:
        cells = [[str(c) for c in row] for row in rows]
        widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
        rule = "  ".join("-" * w for w in widths)
        lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
        return "\n".join([rule, *lines, rule])


class DataManager:
    def __init__(self, cfg, custom_tfm_train=None, custom_tfm_test=None, dataset_wrapper=None):
        dataset = build_dataset(cfg)

        if custom_tfm_train is None:
            tfm_train = build_transform(cfg, is_train=True)
        else:
            print("* Using custom transform for training")
            tfm_train = custom_tfm_train
        if custom_tfm_test is None:
            tfm_test = build_transform(cfg, is_train=False)
        else:
            print("* Using custom transform for testing")
            tfm_test = custom_tfm_test

        def loader(data_source, loader_cfg, tfm, is_train):
            return build_data_loader(
                cfg,
                sampler_type=loader_cfg.SAMPLER,
                data_source=data_source,
                batch_size=loader_cfg.BATCH_SIZE,
                n_domain=loader_cfg.get("N_DOMAIN", 0),
                n_ins=loader_cfg.get("N_INS", 2),
                tfm=tfm,
                is_train=is_train,
                dataset_wrapper=dataset_wrapper,
            )

        train_x_cfg = cfg.DATALOADER.TRAIN_X
        u_cfg = train_x_cfg if cfg.DATALOADER.TRAIN_U.SAME_AS_X else cfg.DATALOADER.TRAIN_U
        test_cfg = cfg.DATALOADER.TEST
        device = run_device(cfg)
        train_loader_x = build_train_loader(cfg, dataset.train_x, tfm_train, device, train_x_cfg, dataset_wrapper)
        train_loader_u = loader(dataset.train_u, u_cfg, tfm_train, True) if dataset.train_u else None
        custom = custom_tfm_test is not None or dataset_wrapper is not None
        eval_cache = self._eval_cache(cfg, dataset, tfm_test, custom)
        val_loader = test_loader = None
        if eval_cache is not None:
            cache, normalize = eval_cache
            val_loader = cached_eval_loader(cache, dataset.val, test_cfg, normalize, device, "val")
            test_loader = cached_eval_loader(cache, dataset.test, test_cfg, normalize, device, "test")
        if val_loader is None and dataset.val:
            val_loader = loader(dataset.val, test_cfg, tfm_test, False)
        if test_loader is None:
            test_loader = loader(dataset.test, test_cfg, tfm_test, False)

        self._num_classes = dataset.num_classes
        self._num_source_domains = len(cfg.DATASET.SOURCE_DOMAINS)
        self._lab2cname = dataset.lab2cname
        self.dataset = dataset
        self.train_loader_x = train_loader_x
        self.train_loader_u = train_loader_u
        self.val_loader = val_loader
        self.test_loader = test_loader
        if cfg.VERBOSE:
            self.show_dataset_summary(cfg)

    @staticmethod
    def _eval_cache(cfg, dataset, tfm_test, custom: bool):
        """(EvalCache, Normalize or None) for the test split, or None (the reason printed) to read with PIL."""
        if not cfg.DATALOADER.CACHE_EVAL:
            print("eval cache: off (DATALOADER.CACHE_EVAL False); test images are decoded at every evaluation")
            return None
        parts = None if custom or tfm_test is None else split_test_transform(tfm_test)
        if parts is None:
            print("eval cache: off: a custom test transform or dataset wrapper, or a test transform other than "
                  "resize/crop + ToTensor + Normalize; test images are decoded at every evaluation")
            return None
        pil_part, normalize = parts
        items = getattr(dataset, "full_test", None) or dataset.test
        cache = EvalCache.open(side_files(dataset, items), "test", items, pil_part, cfg.DATALOADER.NUM_WORKERS,
                               cfg.DATASET.NAME)
        return cache, normalize

    @property
    def num_classes(self) -> int:
        return self._num_classes

    @property
    def num_source_domains(self) -> int:
        return self._num_source_domains

    @property
    def lab2cname(self) -> dict:
        return self._lab2cname

    def show_dataset_summary(self, cfg) -> None:
        print(format_table(dataset_summary_rows(cfg, self.dataset)))


def build_train_loader(cfg, items: list, tfm, device: torch.device, loader_cfg=None, dataset_wrapper=None):
    """train_x's loader: Dassl's, reading the decoded set (DATALOADER.CACHE_TRAIN) and augmenting on the device
    (INPUT.GPU_AUGMENT) when they are on."""
    loader_cfg = loader_cfg or cfg.DATALOADER.TRAIN_X
    gpu_augment = GpuAugment(cfg, device) if cfg.INPUT.GPU_AUGMENT else None
    decoded = convert = None
    # A trainer's own wrapper may read and transform images its own way: it gets Dassl's loader as it is.
    own_wrapper = dataset_wrapper is not None and dataset_wrapper is not DatasetWrapper
    if own_wrapper and (cfg.DATALOADER.CACHE_TRAIN or gpu_augment is not None):
        print("train cache: off: the trainer has its own dataset wrapper; images are decoded every epoch")
        if gpu_augment is not None:
            raise UnsupportedOption("INPUT.GPU_AUGMENT True does not work with a trainer's own dataset wrapper: "
                                    "set INPUT.GPU_AUGMENT False")
    elif cfg.DATALOADER.CACHE_TRAIN and (tfm is not None or gpu_augment is not None):
        decoded = decode_train_set(items, cfg.DATALOADER.CACHE_TRAIN_MAX_GB, cfg.DATALOADER.NUM_WORKERS,
                                   cfg.DATASET.NAME)
        parts = split_at_to_tensor(tfm)
        simple = cfg.DATALOADER.K_TRANSFORMS == 1 and not cfg.DATALOADER.RETURN_IMG0
        if gpu_augment is None and parts is not None and simple:
            # The random PIL steps stay in the loader, in their order; the loader hands over uint8
            # and ToTensor/Normalize run batched on the device (the same values).
            tfm = Compose([*parts[0].transforms, ToUint8HWC()])
            convert = device_normalizer(parts[1], device)
    elif not cfg.DATALOADER.CACHE_TRAIN:
        print("train cache: off (DATALOADER.CACHE_TRAIN False); images are decoded every epoch")
    loader = build_data_loader(
        cfg, sampler_type=loader_cfg.SAMPLER, data_source=items, batch_size=loader_cfg.BATCH_SIZE,
        n_domain=loader_cfg.get("N_DOMAIN", 0), n_ins=loader_cfg.get("N_INS", 2), tfm=tfm, is_train=True,
        dataset_wrapper=dataset_wrapper, decoded=decoded, raw_uint8=gpu_augment is not None,
        # Handing decoded arrays over as they are is a memory gather: workers would only add the copy
        # through shared memory.
        num_workers=0 if gpu_augment is not None and decoded is not None else None,
    )
    if convert is not None:
        return DeviceLoader(loader, convert)
    if gpu_augment is None:
        return loader
    where = "in this process (no loader workers needed)" if decoded is not None else "with the loader workers"
    print(f"INPUT.GPU_AUGMENT: random resized crop, flip and normalisation run on {device}, the decoded images "
          f"are gathered {where} (close to, not bit-identical with, the PIL transforms)")
    return DeviceLoader(loader, gpu_augment)


def cached_eval_loader(cache, items, loader_cfg, normalize, device, split: str):
    """A loader of `items` from the evaluation cache, normalised on `device`; None when some image is not
    in the file (then the PIL loader is used)."""
    if not items:
        return None
    rows = cache.rows(items)
    if rows is None:
        if split == "test":
            print(f"eval cache: not used for {split}: some of its images are not in {cache.path}")
        return None
    sampler = build_sampler(loader_cfg.SAMPLER, data_source=items)
    convert = device_normalizer(normalize, device)

    def report(seconds: float, count: int) -> str:
        return f"eval: {count:,} {split} images from cache in {seconds:.1f} s ({cache.path})"

    return DeviceLoader(CachedEvalLoader(cache, rows, items, sampler, loader_cfg.BATCH_SIZE), convert, report)


class DatasetWrapper(TorchDataset):
    """Reads an image per `Datum` and applies the transform(s); returns Dassl's batch dict."""

    def __init__(self, cfg, data_source, transform=None, is_train: bool = False):
        self.cfg = cfg
        self.data_source = data_source
        self.transform = transform
        self.is_train = is_train
        self.k_tfm = cfg.DATALOADER.K_TRANSFORMS if is_train else 1
        self.return_img0 = cfg.DATALOADER.RETURN_IMG0
        if self.k_tfm > 1 and transform is None:
            raise ValueError(f"Cannot augment the image {self.k_tfm} times because transform is None")
        to_tensor = [Resize(cfg.INPUT.SIZE, interpolation=INTERPOLATION_MODES[cfg.INPUT.INTERPOLATION]), ToTensor()]
        if "normalize" in cfg.INPUT.TRANSFORMS:
            to_tensor.append(Normalize(mean=cfg.INPUT.PIXEL_MEAN, std=cfg.INPUT.PIXEL_STD))
        self.to_tensor = Compose(to_tensor)

    def __len__(self) -> int:
        return len(self.data_source)

    # Set by DataManager: the decoded training set (`DecodedImages`) to read instead of the files, and
    # whether to hand over the uint8 image untransformed (INPUT.GPU_AUGMENT: the device augments it).
    decoded = None
    raw_uint8 = False

    def read(self, impath: str):
        if self.decoded is not None and impath in self.decoded:
            return self.decoded.pil(impath)
        return read_image(impath, self.cfg.DATASET.NAME)

    def __getitem__(self, idx: int) -> dict:
        item = self.data_source[idx]
        output = {"label": item.label, "domain": item.domain, "impath": item.impath, "index": idx}
        if self.raw_uint8:
            if self.decoded is not None and item.impath in self.decoded:
                output["img"] = torch.from_numpy(self.decoded.array(item.impath))
            else:
                output["img"] = torch.from_numpy(np.asarray(self.read(item.impath), dtype=np.uint8).copy())
            return output
        img0 = self.read(item.impath)
        if self.transform is not None:
            if isinstance(self.transform, (list, tuple)):
                for i, tfm in enumerate(self.transform):
                    keyname = "img" if i == 0 else f"img{i + 1}"
                    output[keyname] = self._transform_image(tfm, img0)
            else:
                output["img"] = self._transform_image(self.transform, img0)
        else:
            output["img"] = img0
        if self.return_img0:
            output["img0"] = self.to_tensor(img0)
        return output

    def _transform_image(self, tfm, img0):
        images = [tfm(img0) for _ in range(self.k_tfm)]
        return images[0] if len(images) == 1 else images
