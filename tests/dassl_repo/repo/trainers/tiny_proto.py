"""Two small trainers: TinyProto builds its own model (CoOp's pattern), TinyVanilla uses Dassl's default
SimpleNet (a registered backbone, optionally the mlp head)."""
import os.path as osp

import torch
import torch.nn as nn
import torch.nn.functional as F
from dassl.engine import TRAINER_REGISTRY, TrainerX
from dassl.metrics import compute_accuracy
from dassl.modeling import BACKBONE_REGISTRY, Backbone
from dassl.optim import build_lr_scheduler, build_optimizer
from dassl.utils import load_checkpoint, load_pretrained_weights


class ColorNet(nn.Module):
    def __init__(self, num_classes):
        super().__init__()
        self.proj = nn.Linear(3, 8)
        self.fc = nn.Linear(8, num_classes)

    def forward(self, image):
        return self.fc(torch.relu(self.proj(image.mean(dim=(2, 3)))))


@TRAINER_REGISTRY.register()
class TinyProto(TrainerX):
    def check_cfg(self, cfg):
        assert cfg.TRAINER.TINYPROTO.PREC in ["fp32"]

    def build_model(self):
        cfg = self.cfg
        classnames = self.dm.dataset.classnames
        print(f"Building ColorNet for {len(classnames)} classes")
        self.model = ColorNet(len(classnames))
        if cfg.MODEL.INIT_WEIGHTS:
            load_pretrained_weights(self.model, cfg.MODEL.INIT_WEIGHTS)
        self.model.to(self.device)
        self.optim = build_optimizer(self.model, cfg.OPTIM)
        self.sched = build_lr_scheduler(self.optim, cfg.OPTIM)
        self.register_model("color_net", self.model, self.optim, self.sched)

    def forward_backward(self, batch):
        image, label = self.parse_batch_train(batch)
        output = self.model(image)
        loss = F.cross_entropy(output, label)
        self.model_backward_and_update(loss)
        summary = {"loss": loss.item(), "acc": compute_accuracy(output, label)[0].item()}
        if (self.batch_idx + 1) == self.num_batches:
            self.update_lr()
        return summary

    def parse_batch_train(self, batch):
        return batch["img"].to(self.device), batch["label"].to(self.device)

    def load_model(self, directory, epoch=None):
        if not directory:
            print("Note that load_model() is skipped as no pretrained model is given")
            return
        model_file = "model-best.pth.tar" if epoch is None else f"model.pth.tar-{epoch}"
        for name in self.get_model_names():
            model_path = osp.join(directory, name, model_file)
            if not osp.exists(model_path):
                raise FileNotFoundError(f'Model not found at "{model_path}"')
            checkpoint = load_checkpoint(model_path)
            print(f'Loading weights to {name} from "{model_path}" (epoch = {checkpoint["epoch"]})')
            self._models[name].load_state_dict(checkpoint["state_dict"], strict=False)


class MeanColor(Backbone):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(3))
        self._out_features = 3

    def forward(self, x):
        return x.mean(dim=(2, 3)) * self.scale


@BACKBONE_REGISTRY.register()
def mean_color(pretrained=True, **kwargs):
    return MeanColor()


@TRAINER_REGISTRY.register()
class TinyVanilla(TrainerX):
    def forward_backward(self, batch):
        image, label, _domain = self.parse_batch_train(batch)
        output = self.model(image)
        loss = F.cross_entropy(output, label)
        self.model_backward_and_update(loss)
        summary = {"loss": loss.item(), "acc": compute_accuracy(output, label)[0].item()}
        if (self.batch_idx + 1) == self.num_batches:
            self.update_lr()
        return summary
