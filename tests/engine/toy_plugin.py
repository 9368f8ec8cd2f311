"""A tiny dataset and trainer registered the Dassl way, for end-to-end tests of train.py."""
import os

import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

from clipfit.compat import (
    DATASET_REGISTRY,
    TRAINER_REGISTRY,
    DatasetBase,
    Datum,
    TrainerX,
    build_lr_scheduler,
    build_optimizer,
    compute_accuracy,
)

COLORS = {"red": (220, 30, 30), "green": (30, 200, 40), "blue": (30, 40, 220)}


def make_toy_images(root: str, per_class: int = 8) -> None:
    g = torch.Generator().manual_seed(0)
    for name, rgb in COLORS.items():
        folder = os.path.join(root, "toy_colors", name)
        os.makedirs(folder, exist_ok=True)
        for i in range(per_class):
            noise = torch.randint(-20, 21, (3,), generator=g).tolist()
            color = tuple(max(0, min(255, c + n)) for c, n in zip(rgb, noise))
            Image.new("RGB", (20, 20), color).save(os.path.join(folder, f"{i}.png"))


@DATASET_REGISTRY.register()
class ToyColors(DatasetBase):
    dataset_dir = "toy_colors"

    def __init__(self, cfg):
        root = os.path.join(os.path.abspath(os.path.expanduser(cfg.DATASET.ROOT)), self.dataset_dir)
        train, test = [], []
        for label, name in enumerate(sorted(os.listdir(root))):
            files = sorted(os.listdir(os.path.join(root, name)))
            items = [Datum(os.path.join(root, name, f), label, 0, name) for f in files]
            train += items[:6]
            test += items[6:]
        super().__init__(train_x=train, val=test, test=test)


class ColorNet(nn.Module):
    def __init__(self, n_classes):
        super().__init__()
        self.fc = nn.Linear(3, n_classes)

    def forward(self, x):
        return self.fc(x.mean(dim=(2, 3)))


@TRAINER_REGISTRY.register()
class ToyTrainer(TrainerX):
    def build_model(self):
        self.model = ColorNet(self.num_classes).to(self.device)
        self.optim = build_optimizer(self.model, self.cfg.OPTIM)
        self.sched = build_lr_scheduler(self.optim, self.cfg.OPTIM)
        self.register_model("net", self.model, self.optim, self.sched)

    def forward_backward(self, batch):
        image, label = batch["img"].to(self.device), batch["label"].to(self.device)
        if int(os.environ.get("TOY_CRASH_AT_EPOCH", -1)) == self.epoch:
            raise KeyboardInterrupt("simulated interruption")
        output = self.model(image)
        loss = F.cross_entropy(output, label)
        if int(os.environ.get("TOY_NAN_AT_EPOCH", -1)) == self.epoch:
            loss = loss * float("nan")
        self.model_backward_and_update(loss)
        if (self.batch_idx + 1) == self.num_batches:
            self.update_lr()
        return {"loss": loss.item(), "acc": compute_accuracy(output, label)[0].item()}
