"""`DataManager`: Dassl's datasets-to-loaders step and its summary table. `build_data_loader` and
`DatasetWrapper` are importable from here as from Dassl's `dassl.data.data_manager`."""
from __future__ import annotations

from ...core.data_lists import class_table_problem, label_pairs
from ...errors import UserInputError, clean_message
from ..config_checks import check_positive
from ..config_defaults import config_value
from ..utils.images import ImageUnreadable
from .base_dataset import build_dataset
from .device_batches import run_device
from .eval_cache import EvalCache, side_files
from .loader_plan import LoaderPlan, plan_loaders
from .loaders import build_data_loader, build_train_loader, cached_eval_loader
from .transforms import build_transform
from .wrapper import DatasetWrapper

__all__ = ["DataManager", "DatasetWrapper", "build_data_loader", "dataset_summary_rows", "format_table"]


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


def check_class_table(cfg, dataset) -> None:
    """The class table of the lists a dataset class built (`clipfit.core.data_lists`): a wrong one otherwise trains
    and tests silently wrong, or fails deep in the loss (`IndexError: Target 3 is out of bounds`)."""
    parts = {"train": dataset.train_x, "val": dataset.val, "test": dataset.test}  # train_x is the "train" part
    problem = class_table_problem({k: map(label_pairs, v) for k, v in parts.items() if v})
    if problem:
        raise UserInputError(f"dataset {cfg.DATASET.NAME}: {problem}. Fix the lists its dataset class builds "
                             "(train_x, val, test)")


class DataManager:
    def __init__(self, cfg, custom_tfm_train=None, custom_tfm_test=None, dataset_wrapper=None):
        dataset = build_dataset(cfg)
        check_class_table(cfg, dataset)

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
        test_cfg = cfg.DATALOADER.TEST
        device = run_device(cfg)
        plan = plan_loaders(cfg, tfm_train, tfm_test, custom_tfm_test is not None, dataset_wrapper)
        train_loader_x = build_train_loader(cfg, dataset.train_x, tfm_train, device, train_x_cfg, dataset_wrapper,
                                            plan)
        train_loader_u = None
        if dataset.train_u:  # only then does Dassl read TRAIN_U (a repository's own config tree may lack it)
            same = config_value(cfg, "DATALOADER.TRAIN_U.SAME_AS_X")
            check_positive(cfg, "DATALOADER.TRAIN_X.BATCH_SIZE" if same else "DATALOADER.TRAIN_U.BATCH_SIZE")
            train_loader_u = loader(dataset.train_u, train_x_cfg if same else cfg.DATALOADER.TRAIN_U, tfm_train, True)
        eval_cache = self._eval_cache(cfg, dataset, plan)
        val_loader = test_loader = None
        if eval_cache is not None:
            # The val loader is built always (Dassl's), but evaluated only in these two settings.
            if cfg.TEST.SPLIT == "val" or cfg.TEST.FINAL_MODEL == "best_val":
                val_loader = cached_eval_loader(cfg, eval_cache, dataset.val, test_cfg, tfm_test, device, "val")
            test_loader = cached_eval_loader(cfg, eval_cache, dataset.test, test_cfg, tfm_test, device, "test")
            if test_loader is not None:
                plan.eval_images, plan.eval_bytes = len(eval_cache.index), eval_cache.nbytes
        if val_loader is None and dataset.val:
            val_loader = loader(dataset.val, test_cfg, tfm_test, False)
        if test_loader is None:
            test_loader = loader(dataset.test, test_cfg, tfm_test, False)
        self.loader_plan = plan
        print(f"Loaders: {plan.summary(device.type)}")

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
    def _eval_cache(cfg, dataset, plan: LoaderPlan):
        """The EvalCache of the whole test split when the plan reads one, else None (the reason printed)."""
        if not plan.cache_eval:
            return None
        items = dataset.full_test or dataset.test
        try:
            return EvalCache.open(side_files(dataset, items), "test", items, plan.eval_pil_part,
                                  cfg.DATALOADER.NUM_WORKERS, cfg.DATASET.NAME)
        except ImageUnreadable:
            raise  # the PIL path could not read that image either: the message names it
        except (OSError, UserInputError) as e:
            # The cache only saves time: a full disk or no writable folder must not stop the run.
            print(f"eval cache: off: {clean_message(e)}; test images are decoded at every evaluation")
            return None

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
