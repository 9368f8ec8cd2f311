"""The models a trainer registers, with their optimizers and schedulers: Dassl's checkpoint files,
resume and load rules, train/eval modes and optimizer steps (`TrainerBase` builds on it)."""
from __future__ import annotations

import os.path as osp
from collections import OrderedDict

import torch

from ..core.checkpoints import (
    apply_checkpoint,
    capture_rng_state,
    load_trained_checkpoint,
    model_file,
    pick_resume_checkpoint,
    pointed_checkpoint,
    save_checkpoint,
)
from ..core.prograd import backward_projected
from ..errors import UserInputError
from .config_checks import check_same_settings, note_unverified_resume, training_settings
from .utils.tools import tolist_if_not


class LossNotFinite(UserInputError, FloatingPointError):
    """Training diverged; the message says where, what is kept and what to try."""


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
                    # Extra key: a resumed run must have the settings of the run it continues.
                    "run_config": training_settings(self.cfg) if getattr(self, "cfg", None) else None,
                },
                osp.join(directory, name),
                is_best=is_best,
                model_name=model_name,
            )

    def resume_model_if_exist(self, directory: str) -> int:
        names = self.get_model_names()
        file_missing = any(not osp.exists(osp.join(directory, name)) for name in names)
        picked = None if file_missing else [pick_resume_checkpoint(osp.join(directory, name)) for name in names]
        if picked is None or None in picked:
            print("No checkpoint found, train from scratch")
            return 0
        print(f"Found checkpoint at {directory} (will resume training)")
        cfg = getattr(self, "cfg", None)
        for fpath, checkpoint in picked:
            if cfg is not None:
                check_same_settings(checkpoint.get("run_config"), cfg, fpath, checkpoint.get("epoch"))
                note_unverified_resume(checkpoint, fpath)
        start_epoch = 0
        for name, (fpath, checkpoint) in zip(names, picked):
            print(f'Loading checkpoint from "{fpath}"')
            start_epoch = apply_checkpoint(checkpoint, self._models[name], self._optims[name], self._scheds[name])
        return start_epoch

    def load_model(self, directory: str, epoch: int | None = None) -> None:
        if not directory:
            print(
                "Note that load_model() is skipped as no pretrained model is given "
                "(ignore this if it's done on purpose)"
            )
            return
        for name in self.get_model_names():
            model_path = model_file(osp.join(directory, name), epoch)
            checkpoint = load_trained_checkpoint(model_path)
            val_result = checkpoint.get("val_result")
            shown = f"{val_result:.1f}" if isinstance(val_result, (int, float)) else val_result
            print(f"Load {model_path} to {name} (epoch={checkpoint.get('epoch')}, val_result={shown})")
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
            raise LossNotFinite(self._divergence_message())

    def _divergence_message(self) -> str:
        where = ""
        if hasattr(self, "epoch"):
            where = f" at epoch {self.epoch + 1}/{getattr(self, 'max_epoch', '?')}"
            if hasattr(self, "batch_idx"):
                where += f", batch {self.batch_idx + 1}/{getattr(self, 'num_batches', '?')}"
        kept = "no checkpoint was saved yet"
        directory = getattr(self, "output_dir", None)
        saved = [pointed_checkpoint(osp.join(directory, n)) for n in self.get_model_names()] if directory else []
        if saved and all(p is not None and osp.isfile(p) for p in saved):
            kept = f"the last good checkpoint is kept ({', '.join(saved)}); re-running the same command resumes from it"
        cfg = getattr(self, "cfg", None)
        lr = f" (now {cfg.OPTIM.LR})" if cfg is not None else ""
        return (f"Loss is infinite or NaN{where}: training stopped; {kept}. Try a smaller OPTIM.LR{lr}, or fp32 "
                "precision (TRAINER.<NAME>.PREC fp32); with other settings use FORCE=1 or another --output-dir")

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

    def prograd_backward_and_update(self, loss_a: torch.Tensor, loss_b: torch.Tensor, lambda_: float = 1,
                                    names=None) -> None:
        """The `Dassl.ProGrad.pytorch` fork's method (see clipfit/core/prograd.py): step on `loss_a`'s gradients,
        projected away from `loss_b`'s where they conflict (a model without optimizer takes no step)."""
        names = self.get_model_names(names)
        backward_projected(loss_a, loss_b, [self._models[name] for name in names], lambda_,
                           lambda: self.model_zero_grad(names), self.detect_anomaly)
        self.model_update(names)
