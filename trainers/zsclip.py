"""Zero-shot CLIP, CoOp's baselines: ZeroshotCLIP (one hand-written prompt per dataset) and
ZeroshotCLIP2 (prompt ensemble: CLIP's seven selected ImageNet templates, plus the dataset's own for
every dataset but ImageNet).

Nothing trains: the class text features are computed once when the model is built, and evaluation is one
image pass and one matmul. Used with `--eval-only` and no `--model-dir` (load_model prints the skip note).
The precision is `TRAINER.COOP.PREC`, as in CoOp's scripts, which pass CoOp's configs.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from clipfit.clip import (
    IMAGENET_TEMPLATES_SELECT,
    TextEncoder,
    autocast,
    ensemble_text_features,
    prompt_for,
)
from clipfit.compat import TRAINER_REGISTRY
from clipfit.core.recipes import FixedRecipe

from .base import ClipMethod, ClipTrainer
from .coop import add_coop_keys


class ZeroShotModel(ClipMethod):
    """Frozen CLIP with fixed class text features (a non-persistent buffer)."""

    def __init__(self, clip: nn.Module, text_features: torch.Tensor):
        super().__init__(clip)
        clip.requires_grad_(False)
        self.register_buffer("text_features", text_features.detach(), persistent=False)

    def class_text_features(self) -> torch.Tensor:
        return self.text_features


@TRAINER_REGISTRY.register()
class ZeroshotCLIP(ClipTrainer):
    CONFIG_NODE = "COOP"
    RECIPE = FixedRecipe("CoOp", "vit_b16")
    SCRIPT_FOLDER = "zsclip"  # ZeroshotCLIP2 runs through them too: TRAINER=ZeroshotCLIP2
    ZERO_SHOT = True

    @classmethod
    def extend_cfg(cls, cfg) -> None:
        super().extend_cfg(cfg)
        add_coop_keys(cfg)  # the one TRAINER.COOP definition: CoOp's scripts pass CoOp's configs

    def templates(self) -> list[str]:
        return [self.dataset_template()]

    def build_method(self, clip, classnames):
        templates = self.templates()
        if len(templates) == 1:
            print(f'Prompt template: "{templates[0]}" (e.g. "{prompt_for(templates[0], classnames[0])}")')
        else:
            print(f"Prompt ensembling (n={len(templates)})")
        with torch.no_grad(), autocast(self.precision, self.device):
            features = ensemble_text_features(TextEncoder(clip), classnames, templates)
        return ZeroShotModel(clip, features)

    def trained_module(self) -> None:
        return None


@TRAINER_REGISTRY.register()
class ZeroshotCLIP2(ZeroshotCLIP):
    """Prompt ensembling. The template list is built per instance (CoOp appended to a class-level list,
    so a second trainer in the same process used the custom template twice)."""

    RECIPE = ZeroshotCLIP.RECIPE

    def templates(self) -> list[str]:
        templates = list(IMAGENET_TEMPLATES_SELECT)
        if self.cfg.DATASET.NAME != "ImageNet":
            templates.append(self.dataset_template())
        return templates
