"""The data loaders: Dassl's `build_data_loader`, and the train/eval loaders that read the decoded training set,
augment on the device or read the evaluation cache."""
from __future__ import annotations

import torch
from torch.utils.data import default_collate
from torchvision.transforms import Compose

from ..config_defaults import engine_option
from .decoded import decode_train_set
from .device_batches import DeviceItems, DeviceLoader, ToUint8HWC, device_normalizer, split_at_to_tensor
from .eval_cache import CachedEvalLoader
from .gpu_augment import GpuAugment
from .loader_plan import LoaderPlan, plan_train
from .samplers import build_sampler
from .wrapper import DatasetWrapper


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
    device_items: bool = False,
    head=None,
    num_workers: int | None = None,
) -> torch.utils.data.DataLoader:
    """Dassl's loader. clipfit additions: `decoded` (a `DecodedImages` read instead of the files), and
    `device_items`: the loader reads `DeviceItems` of the wrapper (images after `head`, the PIL steps of
    `tfm` ending in uint8; with `head` None the untransformed uint8 images, as a list, for INPUT.GPU_AUGMENT)."""
    sampler = build_sampler(
        sampler_type, cfg=cfg, data_source=data_source, batch_size=batch_size, n_domain=n_domain, n_ins=n_ins
    )
    if dataset_wrapper is None:
        dataset_wrapper = DatasetWrapper
    wrapper = dataset_wrapper(cfg, data_source, transform=tfm, is_train=is_train)
    if decoded is not None:  # only ever for our wrapper (plan_train): a user's wrapper gets no attribute set
        wrapper.decoded = decoded
    raw_uint8 = device_items and head is None
    # Dassl's rule: drop the last partial batch only when at least one full batch exists.
    loader = torch.utils.data.DataLoader(
        DeviceItems(wrapper, tfm, head) if device_items else wrapper,
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


def build_train_loader(cfg, items: list, tfm, device: torch.device, loader_cfg=None, dataset_wrapper=None,
                       plan: LoaderPlan | None = None):
    """train_x's loader as `plan` says (`loader_plan.plan_train` when not given): Dassl's, reading the decoded set
    (DATALOADER.CACHE_TRAIN) and normalising or augmenting on the device (INPUT.GPU_AUGMENT)."""
    loader_cfg = loader_cfg or cfg.DATALOADER.TRAIN_X
    plan = plan or plan_train(cfg, tfm, dataset_wrapper)
    gpu_augment = GpuAugment(cfg, device) if plan.train_on_device == "augmented" else None
    decoded = convert = head = None
    if plan.decode_train:
        decoded = decode_train_set(items, engine_option(cfg, "DATALOADER.CACHE_TRAIN_MAX_GB"),
                                   cfg.DATALOADER.NUM_WORKERS, cfg.DATASET.NAME)
        if decoded is not None:
            plan.train_images, plan.train_bytes = len(decoded.impaths), decoded.nbytes
    if plan.train_on_device == "normalised":
        head = Compose([*plan.train_pil_part.transforms, ToUint8HWC()])
        convert = device_normalizer(split_at_to_tensor(tfm)[1], device)
    loader = build_data_loader(
        cfg, sampler_type=loader_cfg.SAMPLER, data_source=items, batch_size=loader_cfg.BATCH_SIZE,
        n_domain=loader_cfg.get("N_DOMAIN", 0), n_ins=loader_cfg.get("N_INS", 2), tfm=tfm, is_train=True,
        dataset_wrapper=dataset_wrapper, decoded=decoded, device_items=convert is not None or gpu_augment is not None,
        head=head,
        # Handing decoded arrays over as they are is a memory gather: workers would only add the copy
        # through shared memory.
        num_workers=0 if gpu_augment is not None and decoded is not None else None,
    )
    if convert is not None:
        return DeviceLoader(loader, convert, dataset=loader.dataset.wrapper)
    if gpu_augment is None:
        return loader
    where = "in this process (no loader workers needed)" if decoded is not None else "with the loader workers"
    print(f"INPUT.GPU_AUGMENT: random resized crop, flip and normalisation run on {device}, the decoded images "
          f"are gathered {where} (close to, not bit-identical with, the PIL transforms)")
    return DeviceLoader(loader, gpu_augment, dataset=loader.dataset.wrapper)


def cached_eval_loader(cfg, cache, items, loader_cfg, tfm, device, split: str):
    """A loader of `items` from the evaluation cache, normalised on `device`; None when some image is not
    in the file (then the PIL loader is used). `tfm` is the test transform the cache was built for."""
    if not items:
        return None
    rows = cache.rows(items)
    if rows is None:
        why = ("the few-shot val set differs per seed and is small" if split == "val"
               else f"some of its images are not in {cache.path}")
        print(f"eval cache: not used for {split} ({why}); its images are decoded at every evaluation")
        return None
    sampler = build_sampler(loader_cfg.SAMPLER, data_source=items)
    convert = device_normalizer(split_at_to_tensor(tfm)[1], device)
    wrapper = DatasetWrapper(cfg, items, transform=tfm, is_train=False)
    pin_memory = torch.cuda.is_available() and cfg.USE_CUDA
    cached = CachedEvalLoader(cache, rows, wrapper, sampler, loader_cfg.BATCH_SIZE, cfg.DATALOADER.NUM_WORKERS,
                              pin_memory)

    return DeviceLoader(cached, convert, CacheReport(cached, split))


class CacheReport:
    """What a pass over a cached eval loader took, for the trainer to print (nothing when it did not read
    the cache). A class, not a closure, so that the loader can be copied and pickled."""

    def __init__(self, loader: CachedEvalLoader, split: str):
        self.loader, self.split = loader, split

    def __call__(self, seconds: float, count: int) -> str | None:
        if not self.loader.as_built():
            return None
        return f"eval: {count:,} {self.split} images from cache in {seconds:.1f} s ({self.loader.cache.path})"
