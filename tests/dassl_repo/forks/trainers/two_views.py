"""ShuvenduRoy/CoPrompt's pattern (two RandAugment views per image, DATALOADER.K_TRANSFORMS 2) with
Koorye/DePT's imports: names real Dassl's `dassl.engine.trainer` holds because it imports them."""
import time

import torch.nn.functional as F
from dassl.engine import TRAINER_REGISTRY, TrainerX
from dassl.engine.trainer import (
    AverageMeter,
    MetricMeter,
    OrderedDict,
    SummaryWriter,
    build_backbone,
    build_head,
    load_checkpoint,
    resume_from_checkpoint,
    save_checkpoint,
    tolist_if_not,
)
from dassl.optim import build_lr_scheduler, build_optimizer

from .color_net import ColorNet

IMPORTED = (build_backbone, build_head, load_checkpoint, resume_from_checkpoint, save_checkpoint, tolist_if_not)


@TRAINER_REGISTRY.register()
class TwoViews(TrainerX):
    def build_model(self):
        self.model = ColorNet(self.num_classes).to(self.device)
        self.optim = build_optimizer(self.model, self.cfg.OPTIM)
        self.sched = build_lr_scheduler(self.optim, self.cfg.OPTIM)
        self.register_model("two_views", self.model, self.optim, self.sched)

    def init_writer(self, log_dir):
        self._writer = SummaryWriter(log_dir=log_dir)

    def run_epoch(self):
        self.set_model_mode("train")
        losses, batch_time = MetricMeter(), AverageMeter()
        self.num_batches = len(self.train_loader_x)
        shapes = OrderedDict()
        end = time.time()
        for self.batch_idx, batch in enumerate(self.train_loader_x):
            shapes[self.batch_idx] = [tuple(view.shape) for view in batch["img"]]
            losses.update(self.forward_backward(batch))
            batch_time.update(time.time() - end)
            end = time.time()
        print(f"two views per image: {shapes[0]}; {losses}")

    def parse_batch_train(self, batch):
        image1, image2 = batch["img"]
        return image1.to(self.device), image2.to(self.device), batch["label"].to(self.device)

    def forward_backward(self, batch):
        image1, image2, label = self.parse_batch_train(batch)
        loss = F.cross_entropy(self.model(image1), label) + F.cross_entropy(self.model(image2), label)
        self.model_backward_and_update(loss)
        if (self.batch_idx + 1) == self.num_batches:
            self.update_lr()
        return {"loss": loss.item()}
