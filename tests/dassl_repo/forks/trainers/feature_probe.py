"""jusiro/CLAP's pattern: deep-copy the train and test loaders, read their attributes, build a DataLoader of
the copied train dataset and extract features before training."""
import copy

import torch
import torch.nn.functional as F
from dassl.engine import TRAINER_REGISTRY, TrainerX
from dassl.metrics import compute_accuracy
from dassl.optim import build_lr_scheduler, build_optimizer

from .color_net import ColorNet


@TRAINER_REGISTRY.register()
class FeatureProbe(TrainerX):
    def build_model(self):
        self.model = ColorNet(self.num_classes).to(self.device)
        self.optim = build_optimizer(self.model, self.cfg.OPTIM)
        self.sched = build_lr_scheduler(self.optim, self.cfg.OPTIM)
        self.register_model("probe", self.model, self.optim, self.sched)

    def before_train(self):
        super().before_train()
        for name in ("train_loader_x", "test_loader"):
            loader = getattr(self, name)
            print(f"{name}: {type(loader.dataset).__name__} batch_size={loader.batch_size} "
                  f"num_workers={loader.num_workers} pin_memory={loader.pin_memory} len={len(loader)} "
                  f"transform={[type(t).__name__ for t in loader.dataset.transform.transforms]}")
        labels, features = self.extract_features("train")
        test_labels, test_features = self.extract_features("test")
        again = [b["img"] for b in self.test_loader]
        copied = [b["img"] for b in copy.deepcopy(self.test_loader)]
        same = all(torch.equal(a, b) for a, b in zip(again, copied)) and len(again) == len(copied)
        print(f"features: train {tuple(features.shape)} labels {labels.tolist()} test {tuple(test_features.shape)}; "
              f"a copied test loader gives the same images: {same}")

    def extract_features(self, partition):
        if partition == "train":
            data_loader = copy.deepcopy(self.train_loader_x)
            data_loader.dataset.transform = self.test_loader.dataset.transform
            data_loader = torch.utils.data.DataLoader(
                copy.deepcopy(self.train_loader_x.dataset), batch_size=self.train_loader_x.batch_size,
                sampler=self.train_loader_x.sampler, num_workers=self.train_loader_x.num_workers,
                drop_last=False, pin_memory=self.train_loader_x.pin_memory)
        else:
            data_loader = copy.deepcopy(self.test_loader)
        labels, features = [], []
        for batch in data_loader:
            image, label = self.parse_batch_test(batch)
            labels.append(label)
            features.append(self.model.features(image))
        return torch.cat(labels), torch.cat(features)

    def forward_backward(self, batch):
        image, label, _ = self.parse_batch_train(batch)
        output = self.model(image)
        loss = F.cross_entropy(output, label)
        self.model_backward_and_update(loss)
        if (self.batch_idx + 1) == self.num_batches:
            self.update_lr()
        return {"loss": loss.item(), "acc": compute_accuracy(output, label)[0].item()}
