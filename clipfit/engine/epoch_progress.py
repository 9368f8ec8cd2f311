"""The per-batch meters, progress line and TensorBoard scalars of Dassl's epoch loops."""
from __future__ import annotations

import datetime
import time

from .meters import AverageMeter, MetricMeter


class EpochProgress:
    """The per-batch timing meters, progress line and TensorBoard scalars of Dassl's epoch loops."""

    def __init__(self, trainer):
        self.trainer = trainer
        self.losses = MetricMeter()
        self.batch_time = AverageMeter()
        self.data_time = AverageMeter()
        self.end = time.time()

    def data_ready(self) -> None:
        self.data_time.update(time.time() - self.end)

    def step_done(self, loss_summary) -> None:
        t = self.trainer
        self.batch_time.update(time.time() - self.end)
        self.losses.update(loss_summary)
        meet_freq = (t.batch_idx + 1) % t.cfg.TRAIN.PRINT_FREQ == 0
        only_few_batches = t.num_batches < t.cfg.TRAIN.PRINT_FREQ
        if meet_freq or only_few_batches:
            nb_remain = t.num_batches - t.batch_idx - 1
            nb_remain += (t.max_epoch - t.epoch - 1) * t.num_batches
            eta = str(datetime.timedelta(seconds=int(self.batch_time.avg * nb_remain)))
            info = [
                f"epoch [{t.epoch + 1}/{t.max_epoch}]",
                f"batch [{t.batch_idx + 1}/{t.num_batches}]",
                f"time {self.batch_time.val:.3f} ({self.batch_time.avg:.3f})",
                f"data {self.data_time.val:.3f} ({self.data_time.avg:.3f})",
                f"{self.losses}",
                f"lr {t.get_current_lr():.4e}",
                f"eta {eta}",
            ]
            print(" ".join(info))
        n_iter = t.epoch * t.num_batches + t.batch_idx
        for name, meter in self.losses.meters.items():
            t.write_scalar("train/" + name, meter.avg, n_iter)
        t.write_scalar("train/lr", t.get_current_lr(), n_iter)
        self.end = time.time()
