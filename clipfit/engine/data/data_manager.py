"""`DataManager`, `DatasetWrapper` and the loader rules of Dassl (samplers, drop_last, summary table)."""
from __future__ import annotations

import torch
from torch.utils.data import Dataset as TorchDataset
from torchvision.transforms import Compose, Normalize, Resize, ToTensor

from ..utils.files import read_image
from .base_dataset import build_dataset
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
) -> torch.utils.data.DataLoader:
    sampler = build_sampler(
        sampler_type, cfg=cfg, data_source=data_source, batch_size=batch_size, n_domain=n_domain, n_ins=n_ins
    )
    if dataset_wrapper is None:
        dataset_wrapper = DatasetWrapper
    # Dassl's rule: drop the last partial batch only when at least one full batch exists.
    loader = torch.utils.data.DataLoader(
        dataset_wrapper(cfg, data_source, transform=tfm, is_train=is_train),
        batch_size=batch_size,
        sampler=sampler,
        num_workers=cfg.DATALOADER.NUM_WORKERS,
        drop_last=is_train and len(data_source) >= batch_size,
        pin_memory=(torch.cuda.is_available() and cfg.USE_CUDA),
    )
    assert len(loader) > 0
    return loader


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
        train_loader_x = loader(dataset.train_x, train_x_cfg, tfm_train, True)
        train_loader_u = loader(dataset.train_u, u_cfg, tfm_train, True) if dataset.train_u else None
        val_loader = loader(dataset.val, test_cfg, tfm_test, False) if dataset.val else None
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

    def __getitem__(self, idx: int) -> dict:
        item = self.data_source[idx]
        output = {"label": item.label, "domain": item.domain, "impath": item.impath, "index": idx}
        img0 = read_image(item.impath, self.cfg.DATASET.NAME)
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
