"""The models a trainer registers, with their optimizers and schedulers: Dassl's checkpoint files,
resume and load rules, train/eval modes and optimizer steps (`TrainerBase` builds on it)."""
from __future__ import annotations

import os.path as osp
from collections import OrderedDict

import torch

from .utils.checkpoint import load_checkpoint, resume_from_checkpoint, save_checkpoint
from .utils.files import tolist_if_not
from .utils.rng import capture_rng_state


class RegisteredModels:
    """`_models`, `_optims`, `_scheds`: OrderedDicts keyed by registered name (CoOp-style trainers use them)."""

    def __init__(self):
        self._models = OrderedDict()
        self._optims = OrderedDict()
        self._scheds = OrderedDict()

    def register_model(self, name: str = "model", model=None, optim=None, sched=None) -> None:
        if self.__dict__.get("_models") is None:
            raise AttributeError("Cannot assign model before super().__init__() call")
        if self.__dict__.get("_optims") is None:
            raise AttributeError("Cannot assign optim before super().__init__() call")
        if self.__dict__.get("_scheds") is None:
            raise AttributeError("Cannot assign sched before super().__init__() call")
        assert name not in self._models, "Found duplicate model names"
        self._models[name] = model
        self._optims[name] = optim
        self._scheds[name] = sched

    def get_model_names(self, names=None) -> list[str]:
        names_real = list(self._models.keys())
        if names is not None:
            names = tolist_if_not(names)
            for name in names:
                assert name in names_real
            return names
        return names_real

    def save_model(
        self, epoch: int, directory: str, is_best: bool = False, val_result=None, model_name: str = ""
    ) -> None:
        rng_state = capture_rng_state()
        for name in self.get_model_names():
            optim = self._optims[name]
            sched = self._scheds[name]
            save_checkpoint(
                {
                    "state_dict": self._models[name].state_dict(),
                    "epoch": epoch + 1,
                    "optimizer": optim.state_dict() if optim is not None else None,
                    "scheduler": sched.state_dict() if sched is not None else None,
                    "val_result": val_result,
                    # Extra key (ignored by Dassl): a resumed run continues with the same randomness.
                    "rng_state": rng_state,
                },
                osp.join(directory, name),
                is_best=is_best,
                model_name=model_name,
            )

    def resume_model_if_exist(self, directory: str) -> int:
        names = self.get_model_names()
        file_missing = any(not osp.exists(osp.join(directory, name)) for name in names)
        if file_missing:
            print("No checkpoint found, train from scratch")
            return 0
        print(f"Found checkpoint at {directory} (will resume training)")
        start_epoch = 0
        for name in names:
            path = osp.join(directory, name)
            start_epoch = resume_from_checkpoint(path, self._models[name], self._optims[name], self._scheds[name])
        return start_epoch

    def load_model(self, directory: str, epoch: int | None = None) -> None:
        if not directory:
            print(
                "Note that load_model() is skipped as no pretrained model is given "
                "(ignore this if it's done on purpose)"
            )
            return
        names = self.get_model_names()
        model_file = "model-best.pth.tar" if epoch is None else f"model.pth.tar-{epoch}"
        for name in names:
            model_path = osp.join(directory, name, model_file)
            if not osp.exists(model_path):
                raise FileNotFoundError(f"No model at {model_path}")
            checkpoint = load_checkpoint(model_path)
            val_result = checkpoint["val_result"]
            shown = f"{val_result:.1f}" if isinstance(val_result, (int, float)) else val_result
            print(f"Load {model_path} to {name} (epoch={checkpoint['epoch']}, val_result={shown})")
            self._models[name].load_state_dict(checkpoint["state_dict"])

    def set_model_mode(self, mode: str = "train", names=None) -> None:
        for name in self.get_model_names(names):
            if mode == "train":
                self._models[name].train()
            elif mode in ("test", "eval"):
                self._models[name].eval()
            else:
                raise KeyError(mode)

    def update_lr(self, names=None) -> None:
        for name in self.get_model_names(names):
            if self._scheds[name] is not None:
                self._scheds[name].step()

    def detect_anomaly(self, loss: torch.Tensor) -> None:
        if not torch.isfinite(loss).all():
            raise FloatingPointError("Loss is infinite or NaN!")

    def model_zero_grad(self, names=None) -> None:
        for name in self.get_model_names(names):
            if self._optims[name] is not None:
                self._optims[name].zero_grad()

    def model_backward(self, loss: torch.Tensor) -> None:
        self.detect_anomaly(loss)
        loss.backward()

    def model_update(self, names=None) -> None:
        for name in self.get_model_names(names):
            if self._optims[name] is not None:
                self._optims[name].step()

    def model_backward_and_update(self, loss: torch.Tensor, names=None) -> None:
        self.model_zero_grad(names)
        self.model_backward(loss)
        self.model_update(names)
