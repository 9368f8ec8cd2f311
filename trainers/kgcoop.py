"""KgCoOp (Yao et al., CVPR 2023, "Visual-Language Prompt Tuning with Knowledge-guided Context Optimization").

CoOp's learned context, trained with cross-entropy plus W times the distance between the learned class text
features and the hand-crafted prompt's ones: 1 - mean over classes of cos(w_k, w_k^clip), as the authors'
code computes it (their paper writes a squared Euclidean distance; for unit vectors that is 2 - 2 cos, so
the same gradient direction at twice the weight). The hand-crafted features are CLIP's on the dataset's
template (CoOp's, but "a photo of a {}, a type of texture." for DTD), encoded once from the fp32 weights and
kept out of checkpoints.

The authors' keys are kept: everything is read from TRAINER.COOP (N_CTX, CSC, CTX_INIT, PREC,
CLASS_TOKEN_POSITION and W, the weight), so their configs and script options work unchanged. Their
`CTX_INIT: True` starts the context from "a photo of a" (4 tokens, whatever N_CTX says); a phrase starts it
from that phrase. The prompt learner's state dict is CoOp's (`ctx`): checkpoints move between CoOp, the
authors' KgCoOp and this one (theirs also hold untrained `bias_vectors` and `meta_net.*`, ignored here).

Differences from their code, none of which changes the fp32 maths: the hand-crafted features come from the
fp32 weights in every precision (their copy of CLIP is fp16 in every precision); CLASS_TOKEN_POSITION is
honoured as in CoOp (theirs always puts the name at the end); PREC amp works (theirs fails on the loss
tuple) and bf16 is accepted; they draw more random numbers after the context (untrained modules and a second
CLIP), so the data order of a seed differs from theirs.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from clipfit.clip import (
    TextEncoder,
    at_least_fp32,
    cosine_logits,
    ensemble_text_features,
    kd_loss,
)
from clipfit.compat import TRAINER_REGISTRY
from clipfit.core.recipes import FixedRecipe, RunSpec
from clipfit.errors import UserInputError

from .coop import CoOp, CoOpModel

AUTHORS_CTX_INIT = "a photo of a"  # what their `CTX_INIT: True` starts from


def hand_crafted_features(clip: nn.Module, classnames: Sequence[str], template: str) -> torch.Tensor:
    """CLIP's normalised text features [n_cls, dim] of the template for every class name, without gradient:
    zero-shot CLIP's classifier for one template."""
    with torch.no_grad():
        return ensemble_text_features(TextEncoder(clip), classnames, [template])


class KgCoOpModel(CoOpModel):
    """CoOp's model with KgCoOp's loss against fixed hand-crafted class text features [n_cls, dim]."""

    def __init__(self, clip: nn.Module, classnames: Sequence[str], hand_crafted: torch.Tensor, weight: float,
                 n_ctx: int = 16, ctx_init: str = "", csc: bool = False, class_token_position: str = "end"):
        super().__init__(clip, classnames, n_ctx, ctx_init, csc, class_token_position)
        self.register_buffer("hand_crafted", hand_crafted.detach(), persistent=False)
        self.weight = weight

    def loss(self, image: torch.Tensor, label: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, dict]:
        text = self.class_text_features()  # one text pass serves both terms
        logits = cosine_logits(self.encode_image(image), text, self.logit_scale)
        ce = F.cross_entropy(at_least_fp32(logits), label)
        # Their nn.CosineSimilarity has eps 1e-7, kd_loss 1e-8: it only bounds norms, and these are 1.
        return ce + self.weight * kd_loss(text, self.hand_crafted), logits, {}


class KgCoOpRecipe(FixedRecipe):
    """The authors' scripts, every setting: vit_b16_ep100_ctxv1 (CTX_INIT True: "a photo of a", N_CTX 4, a
    generic context at the end, W 8.0: their scripts' values, written in the config files); the knob WEIGHT
    (their scripts' second argument) replaces W."""

    knobs = ("WEIGHT",)

    def opts(self, run: RunSpec) -> list[str]:
        return ["TRAINER.COOP.W", run.knob("WEIGHT")] if run.knob("WEIGHT") else []


@TRAINER_REGISTRY.register()
class KgCoOp(CoOp):
    """Knowledge-guided Context Optimization (KgCoOp), https://arxiv.org/abs/2303.13283."""

    RECIPE = KgCoOpRecipe("KgCoOp", "vit_b16_ep100_ctxv1")
    SCRIPT_FOLDER = "kgcoop"
    # The authors' hand-crafted templates: the datasets' own, but for DTD.
    TEMPLATE_OVERRIDES = {"DescribableTextures": "a photo of a {}, a type of texture."}
    # Their prompt learner also saves an untrained `bias_vectors` and `meta_net` (never used).
    UNTRAINED_CHECKPOINT_KEYS = (*CoOp.UNTRAINED_CHECKPOINT_KEYS, "bias_vectors", "meta_net.")

    @classmethod
    def extend_cfg(cls, cfg) -> None:
        """Adds the authors' W (the weight of the hand-crafted-feature distance) to CoOp's TRAINER.COOP."""
        super().extend_cfg(cfg)
        cfg.TRAINER.COOP.W = 1.0

    def check_cfg(self, cfg) -> None:
        super().check_cfg(cfg)
        if cfg.TRAINER.COOP.W < 0:
            raise UserInputError(f"TRAINER.COOP.W is {cfg.TRAINER.COOP.W}: KgCoOp's weight must not be negative "
                                 "(the authors use 8.0; 0 is CoOp)")

    def check_ctx_init(self, cfg) -> None:
        """True/False (the authors' switch) or a phrase."""

    def build_teachers(self, clip, classnames) -> None:
        template = self.dataset_template()
        print(f'Hand-crafted prompt: "{template}"')
        self.hand_crafted = hand_crafted_features(clip, classnames, template)

    def build_method(self, clip, classnames):
        node = self.cfg.TRAINER.COOP
        ctx_init = AUTHORS_CTX_INIT if node.CTX_INIT is True else (node.CTX_INIT or "")
        print("Building custom CLIP")
        model = KgCoOpModel(clip, classnames, self.hand_crafted, node.W, node.N_CTX, ctx_init, node.CSC,
                            node.CLASS_TOKEN_POSITION)
        print(f"Turning off gradients in both the image and the text encoder; W = {node.W}")
        return model
