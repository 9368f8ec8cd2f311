"""BeierZhu/Prompt-align's ProGrad pattern: cross-entropy projected away from the KL divergence to a frozen
zero-shot classifier with the Dassl.ProGrad.pytorch fork's `prograd_backward_and_update`."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from dassl.engine import TRAINER_REGISTRY, TrainerX
from dassl.optim import build_lr_scheduler, build_optimizer

from .color_net import ColorNet


@TRAINER_REGISTRY.register()
class ProGradProbe(TrainerX):
    def build_model(self):
        self.model = ColorNet(self.num_classes).to(self.device)
        self.zero_shot = nn.Linear(3, self.num_classes).to(self.device).requires_grad_(False)
        self.optim = build_optimizer(self.model, self.cfg.OPTIM)
        self.sched = build_lr_scheduler(self.optim, self.cfg.OPTIM)
        self.register_model("prompt_learner", self.model, self.optim, self.sched)

    def forward_backward(self, batch):
        image, label, _ = self.parse_batch_train(batch)
        output = self.model(image)
        with torch.no_grad():
            zero_shot = self.zero_shot(image.mean(dim=(2, 3)))
        xe_loss = F.cross_entropy(output, label)
        kl_loss = F.kl_div(F.log_softmax(output, dim=1), F.log_softmax(zero_shot, dim=1), reduction="batchmean",
                           log_target=True)
        self.prograd_backward_and_update(xe_loss, kl_loss, self.cfg.LOSS.LAMBDA)
        if (self.batch_idx + 1) == self.num_batches:
            self.update_lr()
        return {"xe_loss": xe_loss.item(), "kl_loss": kl_loss.item()}
