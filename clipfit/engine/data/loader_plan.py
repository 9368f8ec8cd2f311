"""Which way a run's images reach the model: decided once, here, from the config, the transforms and the wrapper.

The training set is read from the image files every epoch (Dassl's way) or decoded once into memory
(DATALOADER.CACHE_TRAIN); its last steps may run batched on the device (ToTensor/Normalize, or the whole
augmentation with INPUT.GPU_AUGMENT). The test set is read from the files at every evaluation, or from the
evaluation cache (DATALOADER.CACHE_EVAL: the resized, cropped uint8 images in one file). The loaders
(`loaders.py`) and `DataManager` follow the plan; building may still fall back to the files (a decoded set
that would not fit in memory, a cache that cannot be written) and says so. `LoaderPlan.summary()` is the
line every run prints (DataManager, and the CLIP trainers' run summary), e.g.
`Loaders: train: decoded (96 images, 0.3 MiB), normalised on cuda; eval: cache (2,400 images, 73.0 MiB)`.
"""
from __future__ import annotations

from dataclasses import dataclass

from torchvision.transforms import Compose

from ...errors import UnsupportedOption
from ..config_defaults import engine_option
from .device_batches import split_at_to_tensor
from .eval_cache import split_test_transform
from .wrapper import DatasetWrapper

# What the training batches' last steps are on the device: nothing, ToTensor/Normalize, or the augmentation.
ON_DEVICE = ("", "normalised", "augmented")


@dataclass
class LoaderPlan:
    """The plan (decided by `plan_loaders`), then what building the loaders made of it (`train_images`, ...)."""

    decode_train: bool = False  # decode the training set once into memory
    train_on_device: str = ""  # one of ON_DEVICE
    train_pil_part: Compose | None = None  # "normalised": the random PIL steps the loader keeps
    eval_pil_part: Compose | None = None  # the test transform's resize/crop the evaluation cache holds; None: files
    # filled in while the loaders are built: what was decoded and cached (0: it fell back to the files)
    train_images: int = 0
    train_bytes: int = 0
    eval_images: int = 0
    eval_bytes: int = 0

    @property
    def cache_eval(self) -> bool:
        return self.eval_pil_part is not None

    def summary(self, device: str = "") -> str:
        """`train: ...; eval: ...`: how the images were read (what the run summary and DataManager print)."""
        train = f"decoded ({self.train_images:,} images, {self.train_bytes / 2**20:,.1f} MiB)" if self.train_images \
            else "files"
        if self.train_on_device:
            train += f", {self.train_on_device} on {device or 'the device'}"
        evaluation = f"cache ({self.eval_images:,} images, {self.eval_bytes / 2**20:,.1f} MiB)" if self.eval_images \
            else "files"
        return f"train: {train}; eval: {evaluation}"


def plan_train(cfg, tfm, dataset_wrapper=None, plan: LoaderPlan | None = None) -> LoaderPlan:
    """The training half of the plan (printing why a cache is off); UnsupportedOption for what cannot work."""
    plan = plan or LoaderPlan()
    gpu_augment = engine_option(cfg, "INPUT.GPU_AUGMENT")
    cache_train = engine_option(cfg, "DATALOADER.CACHE_TRAIN")
    # A trainer's own wrapper may read and transform images its own way: it gets Dassl's loader as it is.
    own_wrapper = dataset_wrapper is not None and dataset_wrapper is not DatasetWrapper
    plan.train_on_device = "augmented" if gpu_augment else ""
    if own_wrapper and (cache_train or gpu_augment):
        print("train cache: off: the trainer has its own dataset wrapper; images are decoded every epoch")
        if gpu_augment:
            raise UnsupportedOption("INPUT.GPU_AUGMENT True does not work with a trainer's own dataset wrapper: "
                                    "set INPUT.GPU_AUGMENT False")
    elif cache_train and (tfm is not None or gpu_augment):
        plan.decode_train = True
        parts = split_at_to_tensor(tfm)
        simple = cfg.DATALOADER.K_TRANSFORMS == 1 and not cfg.DATALOADER.RETURN_IMG0
        if not gpu_augment and parts is not None and simple:
            # The random PIL steps stay in the loader, in their order; the loader hands over uint8 and
            # ToTensor/Normalize run batched on the device (the same values).
            plan.train_on_device, plan.train_pil_part = "normalised", parts[0]
    elif not cache_train:
        print("train cache: off (DATALOADER.CACHE_TRAIN False); images are decoded every epoch")
    return plan


def plan_eval(cfg, tfm_test, custom: bool, plan: LoaderPlan | None = None) -> LoaderPlan:
    """The evaluation half of the plan (printing why the cache is off). `custom`: a custom test transform or
    dataset wrapper, whose images the cache cannot hold."""
    plan = plan or LoaderPlan()
    if not engine_option(cfg, "DATALOADER.CACHE_EVAL"):
        print("eval cache: off (DATALOADER.CACHE_EVAL False); test images are decoded at every evaluation")
        return plan
    parts = None if custom or tfm_test is None else split_test_transform(tfm_test)
    if parts is None:
        print("eval cache: off: a custom test transform or dataset wrapper, or a test transform other than "
              "resize/crop + ToTensor + Normalize; test images are decoded at every evaluation")
        return plan
    plan.eval_pil_part = parts[0]
    return plan


def plan_loaders(cfg, tfm_train, tfm_test, custom_test: bool, dataset_wrapper=None) -> LoaderPlan:
    """The one decision of how a run reads its images (see the module docstring)."""
    plan = plan_train(cfg, tfm_train, dataset_wrapper)
    return plan_eval(cfg, tfm_test, custom_test or dataset_wrapper is not None, plan)
