"""What every CLIP trainer shares: precision, trained-only checkpoints, cached evaluation.

A method is an `nn.Module` (`ClipMethod`) around an open_clip CLIP; the trainer registers the module
that holds its trained parameters under CoOp's name `prompt_learner` (or its authors' name, MODEL_NAME),
builds Dassl's optimizer and scheduler over it, and runs one training step / one cached evaluation the
same way for every method.
"""
from __future__ import annotations

import os
import os.path as osp
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F
from yacs.config import CfgNode as CN

from clipfit.clip import (
    PRECISIONS,
    TextFeatureCache,
    at_least_fp32,
    autocast,
    convert_model,
    cosine_logits,
    input_dtype,
    load_trained_state_dict,
    make_grad_scaler,
    resolve_precision,
    resolve_template,
)
from clipfit.clip.torch_compile import check_compile_mode, compile_step
from clipfit.compat import (
    TrainerX,
    build_lr_scheduler,
    build_optimizer,
    compute_accuracy,
    load_checkpoint,
    load_pretrained_weights,
)
from clipfit.core.checkpoints import check_trained_checkpoint, checkpoint_writer, model_file
from clipfit.core.recipes import Recipe
from clipfit.errors import UserInputError

from .clip_loader import check_backbone_weights, load_backbone
from .run_summary import run_summary_lines

REGISTERED_NAME = "prompt_learner"


def method_node() -> CN:
    """A TRAINER.<NODE> holding the keys `ClipTrainer.check_cfg` reads: precision and torch.compile."""
    node = CN()
    node.PREC = "fp16"
    node.COMPILE = False  # torch.compile the training step (clipfit addition)
    node.COMPILE_MODE = "default"  # torch.compile mode: default, reduce-overhead (CUDA graphs), max-autotune
    return node


class TrainedOnlyState(nn.Module):
    """A module whose state dict holds only its trained parameters, loaded strictly by name.

    Keeps checkpoints small (the trained tensors, not the whole CLIP) in either engine, since Dassl's
    save/resume/load all go through `state_dict()` / `load_state_dict()`.
    """

    def freeze_trained_names(self) -> None:
        self._trained_names = [n for n, p in self.named_parameters() if p.requires_grad]

    def state_dict(self, *args, destination=None, prefix="", keep_vars=False):
        params = dict(self.named_parameters())
        out = OrderedDict() if destination is None else destination
        for name in self._trained_names:
            out[prefix + name] = params[name] if keep_vars else params[name].detach()
        return out

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        load_trained_state_dict(self, state_dict, self._trained_names, source="checkpoint")
        return nn.modules.module._IncompatibleKeys([], [])


class ClipMethod(nn.Module):
    """A CLIP classifier: image features against one text feature per class, CLIP's logit scale."""

    def __init__(self, clip: nn.Module):
        super().__init__()
        self.clip = clip

    @property
    def logit_scale(self) -> torch.Tensor:
        return self.clip.logit_scale

    def encode_image(self, image: torch.Tensor) -> torch.Tensor:
        return self.clip.encode_image(image)

    def class_text_features(self) -> torch.Tensor:
        """Normalised text features of every class, [n_classes, dim] (with grad when training)."""
        raise NotImplementedError

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return cosine_logits(self.encode_image(image), self.class_text_features(), self.logit_scale)

    def loss(self, image: torch.Tensor, label: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, dict]:
        """(total loss, logits, extra scalars to log). Methods with regularisers override this."""
        logits = self(image)
        return F.cross_entropy(at_least_fp32(logits), label), logits, {}

    def train(self, mode: bool = True):
        # The frozen CLIP keeps eval behaviour (BatchNorm statistics of RN backbones stay fixed).
        super().train(mode)
        self.clip.eval()
        return self


class ClipTrainer(TrainerX):
    """Base of the CLIP trainers. Subclasses set CONFIG_NODE, add that node in `extend_cfg` (calling
    `super().extend_cfg(cfg)` first) and implement `build_method`; a benchmark method also carries RECIPE,
    SCRIPT_FOLDER and ZERO_SHOT (`clipfit.core.recipes`)."""

    CONFIG_NODE = ""
    # The method's prompt templates where they differ from the datasets' own (CoOp's), by DATASET.NAME.
    TEMPLATE_OVERRIDES: dict[str, str] = {}
    # Keys (prefixes) of the authors' checkpoints that hold no trained tensor (fixed embeddings): not loaded.
    UNTRAINED_CHECKPOINT_KEYS: tuple[str, ...] = ("token_prefix", "token_suffix")
    MODEL_NAME = REGISTERED_NAME  # the registered (and checkpoint folder) name of the trained module
    # Read from the class itself, never inherited (`clipfit.app.trainers_catalog`): a subclass is another method
    # (or an alias) and gets the scripts and recipe of its own only by setting them. ZERO_SHOT is inherited.
    RECIPE: Recipe | None = None  # the published recipe behind the scripts
    SCRIPT_FOLDER: str | None = None  # its scripts/<folder>/
    ZERO_SHOT = False  # it only evaluates

    @classmethod
    def extend_cfg(cls, cfg: CN) -> None:
        """The CLIP backbone weights, read by every CLIP trainer. MODEL.BACKBONE.PRETRAINED False = random init.
        The root of the trainers' chain: Dassl's TrainerX has no extend_cfg (`clipfit.config.get_cfg`)."""
        cfg.MODEL.BACKBONE.WEIGHTS = ""  # explicit file: an OpenAI TorchScript .pt or a state dict
        cfg.MODEL.BACKBONE.TAG = ""  # open_clip pretrained tag, e.g. laion2b_s34b_b88k (default: openai)

    def method_cfg(self, cfg=None):
        return getattr((cfg or self.cfg).TRAINER, self.CONFIG_NODE)

    def check_cfg(self, cfg) -> None:
        node, name = self.method_cfg(cfg), f"TRAINER.{self.CONFIG_NODE}"
        if node.PREC not in PRECISIONS:
            raise UserInputError(f"{name}.PREC is {node.PREC!r}; use one of {list(PRECISIONS)}")
        check_compile_mode(node.COMPILE_MODE, f"{name}.COMPILE_MODE")
        if node.COMPILE_MODE != "default" and not node.COMPILE:
            raise UserInputError(f"{name}.COMPILE_MODE {node.COMPILE_MODE} needs {name}.COMPILE True as well")
        check_backbone_weights(cfg)  # Dassl calls check_cfg before it builds the data loaders

    def dataset_template(self) -> str:
        """The method's hand-written template of the dataset: its override, else the dataset class's (third-party
        Dassl datasets have none: the default, with a notice)."""
        name = self.cfg.DATASET.NAME
        return self.TEMPLATE_OVERRIDES.get(name) or resolve_template(getattr(type(self.dm.dataset), "template", None),
                                                                     name)

    def build_method(self, clip: nn.Module, classnames: list[str]) -> ClipMethod:
        raise NotImplementedError

    def build_teachers(self, clip: nn.Module, classnames: list[str]) -> None:
        """Hook: runs on the loaded CLIP while its weights are still fp32, before the precision conversion,
        for frozen teachers that are encoded once in fp32 (as the authors' separate fp32 CLIP copies)."""

    def trained_module(self) -> nn.Module | None:
        """The module registered (and checkpointed) as MODEL_NAME; None for zero-shot methods."""
        return self.model

    def build_model(self) -> None:
        cfg = self.cfg
        classnames = self.dm.dataset.classnames
        self.precision = resolve_precision(self.method_cfg().PREC, self.device)
        print(f"Loading CLIP (backbone: {cfg.MODEL.BACKBONE.NAME})")
        clip = load_backbone(cfg, self.device)
        self.build_teachers(clip, classnames)
        convert_model(clip, self.precision)
        self.model = self.build_method(clip, classnames).to(self.device)
        self.scaler = make_grad_scaler(self.precision, self.device)
        self.text_cache = TextFeatureCache(self.model.class_text_features, list(self.model.parameters()))
        node = self.method_cfg()
        if node.COMPILE:
            print(f"Compiling the training step with torch.compile, mode {node.COMPILE_MODE} "
                  "(the first steps are slow)")
            self.training_loss = compile_step(self.training_loss, node.COMPILE_MODE)
        trained = self.trained_module()
        if trained is not None:
            if cfg.MODEL.INIT_WEIGHTS:
                load_pretrained_weights(trained, cfg.MODEL.INIT_WEIGHTS)
            self.optim = build_optimizer(trained, cfg.OPTIM)
            self.sched = build_lr_scheduler(self.optim, cfg.OPTIM)
            self.register_model(self.MODEL_NAME, trained, self.optim, self.sched)
        self.print_run_summary(classnames)

    def num_trainable(self) -> int:
        return sum(p.numel() for p in self.model.parameters() if p.requires_grad)

    def print_run_summary(self, classnames: list[str]) -> None:
        print("\n".join(run_summary_lines(self, classnames)))

    def before_train(self) -> None:
        if self.num_trainable() == 0:
            raise UserInputError(
                f"{self.cfg.TRAINER.NAME}: nothing is trainable (check the parameter preset/patterns); "
                "use --eval-only to evaluate the model as it is"
            )
        super().before_train()

    def after_epoch(self) -> None:
        """Dassl's rules, plus a rolling checkpoint of the latest epoch so an interrupted run resumes.

        With TRAIN.CHECKPOINT_FREQ 0 (the default) Dassl saves only the last epoch; here the newest epoch
        is also kept until the next one is saved, so the folder ends as Dassl's (one file per model).
        """
        super().after_epoch()
        if self.cfg.TRAIN.CHECKPOINT_FREQ > 0 or not self.get_model_names():
            return
        if self.epoch + 1 < self.max_epoch:
            self.save_model(self.epoch, self.output_dir)
        for name in self.get_model_names():
            # The previous epoch's rolling file (checkpoints are named by epoch + 1).
            stale = osp.join(self.output_dir, name, f"model.pth.tar-{self.epoch}")
            if osp.exists(stale):
                os.remove(stale)

    def parse_batch_train(self, batch):
        return self.parse_batch_test(batch)  # (image, label), without Dassl's domain

    def training_loss(self, image, label):
        """Hook for torch.compile: the forward half of a step."""
        with autocast(self.precision, self.device):
            return self.model.loss(image.to(input_dtype(self.precision)), label)

    def forward_backward(self, batch) -> dict:
        image, label = self.parse_batch_train(batch)
        loss, logits, extras = self.training_loss(image, label)
        # The scaler is enabled only for amp; disabled, it passes the loss through and just steps.
        self.model_zero_grad()
        self.model_backward(self.scaler.scale(loss))
        for name in self.get_model_names():
            self.scaler.step(self._optims[name])
        self.scaler.update()
        summary = {"loss": loss.item(), "acc": compute_accuracy(logits, label)[0].item()}
        summary.update({k: float(v) for k, v in extras.items()})
        if (self.batch_idx + 1) == self.num_batches:
            self.update_lr()
        return summary

    @torch.no_grad()
    def model_inference(self, image: torch.Tensor) -> torch.Tensor:
        """One image-encoder pass and one matmul: class text features come from the cache."""
        with autocast(self.precision, self.device):
            features = F.normalize(self.model.encode_image(image.to(input_dtype(self.precision))), dim=-1)
            return cosine_logits(features, self.text_cache.get(), self.model.logit_scale, normalized=True).float()

    def load_model(self, directory: str, epoch: int | None = None) -> None:
        """CoOp's loader: Dassl's file names, tolerant of the authors' untrained keys (UNTRAINED_CHECKPOINT_KEYS)."""
        if not directory:
            print("Note that load_model() is skipped as no pretrained model is given")
            return
        for name in self.get_model_names():
            model_path = model_file(osp.join(directory, name), epoch)
            checkpoint = check_trained_checkpoint(load_checkpoint(model_path), model_path)
            state_dict = checkpoint["state_dict"]
            for key in [k for k in state_dict if k.startswith(self.UNTRAINED_CHECKPOINT_KEYS)]:
                del state_dict[key]
            print(f'Loading weights to {name} from "{model_path}" (epoch = {checkpoint.get("epoch")})')
            self._load_checked(name, state_dict, model_path, checkpoint_writer(checkpoint, model_path))

    def _load_checked(self, name: str, state_dict: dict, model_path: str, writer: str | None) -> None:
        """Every method's checkpoint goes through the one strict loader, so a file of another trainer or other
        settings is one message naming it (not torch's `Missing key(s)` / `size mismatch` traceback)."""
        module = self._models[name]
        this = self.cfg.TRAINER.NAME
        source = model_path if not writer else f"{model_path} (written by {writer})"
        if writer and writer != this:
            how = f"It is a {writer} checkpoint and this is {this}: load it with --trainer {writer} and its config."
        else:
            how = f"Load it with the same MODEL.BACKBONE.NAME and TRAINER.{this.upper()} options it was trained with."
        load_trained_state_dict(module, state_dict, list(module.state_dict()), source=source, how_to_load=how)
