"""Trainer classes with Dassl's constructor order, hooks, loop, printed lines and checkpoint rules."""
from __future__ import annotations

import datetime
import os.path as osp
import time

import numpy as np
import torch
import torch.nn as nn
from tqdm import tqdm

from ..core.checkpoints import load_pretrained_weights
from ..core.lr_schedule import check_lr_schedule, epoch_lrs
from ..errors import InvalidValue
from .config_checks import check_epochs, check_resume_folder, check_run_config, note_zero_lr
from .data.data_manager import DataManager
from .data.device_batches import run_device
from .epoch_progress import EpochProgress
from .evaluation import build_evaluator
from .modeling import SimpleNet
from .optim import build_lr_scheduler, build_optimizer
from .registry import TRAINER_REGISTRY, build_from_registry
from .summary_writer import make_summary_writer
from .trainer_models import RegisteredModels
from .utils.env import count_num_param
from .utils.tools import mkdir_if_missing


class TrainerBase(RegisteredModels):
    """The epoch loop, its hooks and the TensorBoard writer, over `RegisteredModels`."""

    def __init__(self):
        super().__init__()
        self._writer = None

    def init_writer(self, log_dir: str) -> None:
        if self.__dict__.get("_writer") is None:
            print(f"Initialize tensorboard (log_dir={log_dir})")
            self._writer = make_summary_writer(log_dir)

    def close_writer(self) -> None:
        if self._writer is not None:
            self._writer.close()

    def write_scalar(self, tag: str, scalar_value, global_step=None) -> None:
        if self._writer is not None:
            self._writer.add_scalar(tag, scalar_value, global_step)

    def train(self, start_epoch: int, max_epoch: int) -> None:
        self.start_epoch = start_epoch
        self.max_epoch = max_epoch
        self.before_train()
        for self.epoch in range(self.start_epoch, self.max_epoch):
            self.before_epoch()
            self.run_epoch()
            self.after_epoch()
        self.after_train()

    def before_train(self):
        pass

    def after_train(self):
        pass

    def before_epoch(self):
        pass

    def after_epoch(self):
        pass

    def run_epoch(self):
        raise NotImplementedError

    def test(self):
        raise NotImplementedError

    def parse_batch_train(self, batch):
        raise NotImplementedError

    def parse_batch_test(self, batch):
        raise NotImplementedError

    def forward_backward(self, batch):
        raise NotImplementedError

    def model_inference(self, input):
        raise NotImplementedError


class SimpleTrainer(TrainerBase):
    """Builds data, model and evaluator from a config; runs Dassl's test/save schedule."""

    def __init__(self, cfg):
        super().__init__()
        check_run_config(cfg)
        self.check_cfg(cfg)
        self.device = run_device(cfg)
        self.start_epoch = self.epoch = 0
        self.max_epoch = cfg.OPTIM.MAX_EPOCH
        self.output_dir = cfg.OUTPUT_DIR
        self.cfg = cfg
        self.build_data_loader()
        self.build_model()
        self.evaluator = build_evaluator(cfg, lab2cname=self.lab2cname)
        self.best_result = -np.inf

    def check_cfg(self, cfg) -> None:
        """Hook for trainers to validate their config keys before anything is built."""

    def build_data_loader(self) -> None:
        dm = DataManager(self.cfg)
        self.train_loader_x = dm.train_loader_x
        self.train_loader_u = dm.train_loader_u
        self.val_loader = dm.val_loader
        self.test_loader = dm.test_loader
        self.num_classes = dm.num_classes
        self.num_source_domains = dm.num_source_domains
        self.lab2cname = dm.lab2cname
        self.dm = dm

    def build_model(self) -> None:
        """Dassl's default: a `SimpleNet` classifier (cfg.MODEL) with its optimizer and scheduler, as `model`."""
        cfg = self.cfg
        print("Building model")
        self.model = SimpleNet(cfg, cfg.MODEL, self.num_classes)
        if cfg.MODEL.INIT_WEIGHTS:
            load_pretrained_weights(self.model, cfg.MODEL.INIT_WEIGHTS)
        self.model.to(self.device)
        print(f"# params: {count_num_param(self.model):,}")
        self.optim = build_optimizer(self.model, cfg.OPTIM)
        self.sched = build_lr_scheduler(self.optim, cfg.OPTIM)
        self.register_model("model", self.model, self.optim, self.sched)
        device_count = torch.cuda.device_count()
        if device_count > 1 and self.device.type == "cuda":
            print(f"Detected {device_count} GPUs (use nn.DataParallel)")
            self.model = nn.DataParallel(self.model)

    def train(self) -> None:
        super().train(self.start_epoch, self.max_epoch)

    def before_train(self) -> None:
        check_epochs(self.cfg)
        for sched in (s for s in self._scheds.values() if s is not None):  # before a resume moves them on
            try:
                lrs = epoch_lrs(sched, self.max_epoch)
            except (TypeError, ValueError):  # a plugin's scheduler stepped another way (on a metric, per batch)
                continue
            check_lr_schedule(self.cfg.OPTIM, lrs)
        note_zero_lr(self.cfg)
        directory = self.cfg.OUTPUT_DIR
        if self.cfg.RESUME:
            directory = self.cfg.RESUME
            check_resume_folder(directory, self.get_model_names())
        self.start_epoch = self.resume_model_if_exist(directory)
        writer_dir = osp.join(self.output_dir, "tensorboard")
        mkdir_if_missing(writer_dir)
        self.init_writer(writer_dir)
        self.time_start = time.time()

    def after_train(self) -> None:
        print("Finish training")
        do_test = not self.cfg.TEST.NO_TEST
        if do_test:
            if self.cfg.TEST.FINAL_MODEL == "best_val":
                print("Deploy the model with the best val performance")
                self.load_model(self.output_dir)
            else:
                print("Deploy the last-epoch model")
            self.test()
        elapsed = round(time.time() - self.time_start)
        print(f"Elapsed: {datetime.timedelta(seconds=elapsed)}")
        self.close_writer()

    def after_epoch(self) -> None:
        last_epoch = (self.epoch + 1) == self.max_epoch
        do_test = not self.cfg.TEST.NO_TEST
        freq = self.cfg.TRAIN.CHECKPOINT_FREQ
        meet_checkpoint_freq = (self.epoch + 1) % freq == 0 if freq > 0 else False
        if do_test and self.cfg.TEST.FINAL_MODEL == "best_val":
            curr_result = self.test(split="val")
            if curr_result > self.best_result:
                self.best_result = curr_result
                self.save_model(self.epoch, self.output_dir, val_result=curr_result, model_name="model-best.pth.tar")
        if meet_checkpoint_freq or last_epoch:
            self.save_model(self.epoch, self.output_dir)

    @torch.no_grad()
    def test(self, split: str | None = None) -> float:
        self.set_model_mode("eval")
        self.evaluator.reset()
        if split is None:
            split = self.cfg.TEST.SPLIT
        if split == "val" and self.val_loader is not None:
            data_loader = self.val_loader
        else:
            split = "test"
            data_loader = self.test_loader
        print(f"Evaluate on the *{split}* set")
        for batch in tqdm(data_loader, desc=f"eval {split}", leave=False):
            input, label = self.parse_batch_test(batch)
            output = self.model_inference(input)
            self.evaluator.process(output, label)
        results = self.evaluator.evaluate()
        note = getattr(data_loader, "note", None)
        if note:  # e.g. how long reading the evaluation cache took; after Dassl's result block, not inside it
            print(note)
        for k, v in results.items():
            self.write_scalar(f"{split}/{k}", v, self.epoch)
        return list(results.values())[0]

    def model_inference(self, input):
        return self.model(input)

    def parse_batch_test(self, batch):
        return batch["img"].to(self.device), batch["label"].to(self.device)

    def get_current_lr(self, names=None) -> float:
        name = self.get_model_names(names)[0]
        return self._optims[name].param_groups[0]["lr"]


class TrainerXU(SimpleTrainer):
    """Training on labelled (`train_loader_x`) and unlabelled (`train_loader_u`) batches side by side.

    An epoch has TRAIN.COUNT_ITER batches (`train_x`, `train_u` or `smaller_one`); the other loader starts
    over when it runs out.
    """

    def run_epoch(self) -> None:
        self.set_model_mode("train")
        len_x, len_u = len(self.train_loader_x), len(self.train_loader_u)
        counts = {"train_x": len_x, "train_u": len_u, "smaller_one": min(len_x, len_u)}
        if self.cfg.TRAIN.COUNT_ITER not in counts:
            raise InvalidValue(f"TRAIN.COUNT_ITER must be one of {list(counts)}, got {self.cfg.TRAIN.COUNT_ITER!r}")
        self.num_batches = counts[self.cfg.TRAIN.COUNT_ITER]
        iter_x, iter_u = iter(self.train_loader_x), iter(self.train_loader_u)
        progress = EpochProgress(self)
        for self.batch_idx in range(self.num_batches):
            batch_x, iter_x = _next_or_restart(iter_x, self.train_loader_x)
            batch_u, iter_u = _next_or_restart(iter_u, self.train_loader_u)
            progress.data_ready()
            progress.step_done(self.forward_backward(batch_x, batch_u))

    def parse_batch_train(self, batch_x, batch_u):
        return batch_x["img"].to(self.device), batch_x["label"].to(self.device), batch_u["img"].to(self.device)


def _next_or_restart(iterator, loader):
    try:
        return next(iterator), iterator
    except StopIteration:
        iterator = iter(loader)
        return next(iterator), iterator


class TrainerX(SimpleTrainer):
    """Supervised training over `train_loader_x` with Dassl's per-batch progress line."""

    def run_epoch(self) -> None:
        self.set_model_mode("train")
        self.num_batches = len(self.train_loader_x)
        progress = EpochProgress(self)
        for self.batch_idx, batch in enumerate(self.train_loader_x):
            progress.data_ready()
            progress.step_done(self.forward_backward(batch))

    def parse_batch_train(self, batch):
        input = batch["img"].to(self.device)
        label = batch["label"].to(self.device)
        domain = batch["domain"].to(self.device)
        return input, label, domain


def build_trainer(cfg):
    return build_from_registry(TRAINER_REGISTRY, cfg.TRAINER.NAME, "trainer", cfg.VERBOSE, cfg)
