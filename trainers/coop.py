"""CoOp (Zhou et al., IJCV 2022, "Learning to Prompt for Vision-Language Models").

The class prompts are "[SOS] X X ... X {name}. [EOS]" where the X embeddings are learned context vectors
(shared by all classes, or class-specific with CSC) and everything else is CLIP's frozen token embeddings.
Only the context trains. The registered `prompt_learner` module is the prompt learner itself, so its
state dict is CoOp's (`ctx`; the fixed `token_prefix` / `token_suffix` embeddings are rebuilt from the
current class names and kept out of checkpoints), and checkpoints move between the original CoOp and
this one in both directions.

The prompts are cut to the longest prompt's EOT + 1 positions (about 20 instead of 77): the text tower is
causal, so the features are the same (see `clipfit.clip.text`).
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from clipfit.clip import TextEncoder, frozen_image_features
from clipfit.compat import TRAINER_REGISTRY
from clipfit.core.recipes import Recipe, RunSpec
from clipfit.errors import UserInputError

from .base import ClipMethod, ClipTrainer, method_node
from .context_prompts import CLASS_TOKEN_POSITIONS, ContextPrompts, context_vectors, token_order


class PromptLearner(ContextPrompts):
    """CoOp's prompt learner; its state dict is exactly `{"ctx": ...}`."""

    def __init__(
        self,
        encoder: TextEncoder,
        classnames: Sequence[str],
        n_ctx: int = 16,
        ctx_init: str = "",
        csc: bool = False,
        class_token_position: str = "end",
        initial: tuple[torch.Tensor, str] | None = None,
    ):
        if initial is None:  # else (vectors, prefix) of a method with another rule than CoOp's (ProGrad)
            if not ctx_init:
                print("Initializing class-specific contexts" if csc else "Initializing a generic context")
            elif csc:
                print("Note: CSC is ignored with CTX_INIT (as in CoOp): the context is generic")
            # n_cls only matters without CTX_INIT: context_vectors ignores it for an initial phrase.
            n_cls = len(classnames) if csc else 0
            initial = context_vectors(encoder, n_ctx, ctx_init, encoder.dtype, n_cls=n_cls)
        vectors, prefix = initial
        super().__init__(encoder, classnames, vectors, prefix)
        self.class_token_position = class_token_position
        order = None
        if class_token_position != "end":
            order = token_order(self.eot_index.tolist(), self.name_lens, self.n_ctx, self.length, class_token_position)
            order = order.to(self.eot_index.device)
        self.register_buffer("order", order, persistent=False)

    def forward(self) -> torch.Tensor:
        """Embedded prompts [n_cls, L, dim] in the class-token position's order."""
        ctx = self.ctx
        if ctx.dim() == 2:
            ctx = ctx.unsqueeze(0).expand(self.n_cls, -1, -1)
        prompts = torch.cat([self.token_prefix, ctx, self.token_suffix], dim=1)
        if self.order is not None:
            prompts = prompts.gather(1, self.order.unsqueeze(-1).expand(-1, -1, prompts.shape[-1]))
        return prompts


class FrozenClipMethod(ClipMethod):
    """A frozen CLIP with a text encoder over learned prompts (CoOp, CoCoOp)."""

    def __init__(self, clip: nn.Module):
        super().__init__(clip)
        clip.requires_grad_(False)
        self.text_encoder = TextEncoder(clip)
        self.image_features = frozen_image_features(clip.visual)  # ViTs: the last block for the class token only

    def encode_image(self, image: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():  # the image tower is frozen: no graph
            return self.image_features(image)


class CoOpModel(FrozenClipMethod):
    """Frozen CLIP + CoOp's learned context; class text features from the truncated prompts."""

    def __init__(self, clip: nn.Module, classnames: Sequence[str], n_ctx: int = 16, ctx_init: str = "",
                 csc: bool = False, class_token_position: str = "end"):
        super().__init__(clip)
        self.prompt_learner = PromptLearner(self.text_encoder, classnames, n_ctx, ctx_init, csc, class_token_position,
                                            self.initial_context(classnames, n_ctx, ctx_init))

    def initial_context(self, classnames: Sequence[str], n_ctx: int, ctx_init: str) -> tuple[torch.Tensor, str] | None:
        """Hook: the (vectors, prefix) the context starts from; None: CoOp's rule."""
        return None

    def class_text_features(self) -> torch.Tensor:
        learner = self.prompt_learner
        if learner.ctx.dim() == 2 and learner.class_token_position == "end":
            # A generic context at the start: every prompt begins with [SOS] + ctx, run once.
            prefix = learner.context_prefix(learner.ctx.unsqueeze(0))
            features = self.text_encoder.forward_prefixed(
                prefix, learner.token_suffix, learner.eot_index, layout=learner.pair_layout(0, learner.n_cls)
            )
        else:
            features = self.text_encoder.forward_embeddings(learner(), learner.eot_index)
        return F.normalize(features, dim=-1)


def add_coop_keys(cfg) -> None:
    """TRAINER.COOP, CoOp's keys; zero-shot CLIP reads its PREC too (CoOp's scripts pass it CoOp's configs).
    A node already there is kept: KgCoOp adds its W to it, and ProGrad's chain runs this after KgCoOp's."""
    if "COOP" in cfg.TRAINER:
        return
    node = method_node()
    node.N_CTX = 16
    node.CSC = False
    # Initial words; None (no type) lets the authors' KgCoOp and ProGrad configs write `CTX_INIT: True`.
    node.CTX_INIT = None
    node.CLASS_TOKEN_POSITION = "end"
    # The authors' CLIPFit scripts pass these; nothing reads them.
    node.W1 = 1.0
    node.W2 = 1.0
    cfg.TRAINER.COOP = node


class CoOpRecipe(Recipe):
    """CoCoOp paper's CoOp for base-to-new (ctxv1, 200 epochs, 50 on ImageNet); CoOp paper's few-shot epochs.
    The context (NCTX, CSC, CTP) names a folder level of few-shot runs, as in CoOp's scripts."""

    knobs = ("NCTX", "CSC", "CTP")
    KEYS = {"NCTX": "TRAINER.COOP.N_CTX", "CSC": "TRAINER.COOP.CSC", "CTP": "TRAINER.COOP.CLASS_TOKEN_POSITION"}
    # What the few-shot folder names when a knob is unset: CoOp's scripts' values, which are the config's
    # defaults (CoOp.extend_cfg) and which no config file of configs/trainers/CoOp/ changes.
    DEFAULTS = {"NCTX": "16", "CSC": "False", "CTP": "end"}

    def cfg(self, run: RunSpec) -> str:
        if run.protocol.startswith("base2new"):
            return "vit_b16_ep50_ctxv1" if run.dataset == "imagenet" else "vit_b16_ctxv1"
        if run.dataset == "imagenet":
            return "vit_b16_ep50"
        return {1: "vit_b16_ep50", 2: "vit_b16_ep100", 4: "vit_b16_ep100"}.get(run.shots, "vit_b16")

    def context(self, run: RunSpec) -> tuple[str, str, str]:
        return tuple(run.knob(name, default) for name, default in self.DEFAULTS.items())

    def opts(self, run: RunSpec) -> list[str]:
        """Only the knobs the user set: the config file's values (or the config's defaults) hold otherwise."""
        return [item for name, key in self.KEYS.items() if run.knob(name) for item in (key, run.knob(name))]

    def variant(self, run: RunSpec) -> str:
        return "nctx{}_csc{}_ctp{}".format(*self.context(run))


@TRAINER_REGISTRY.register()
class CoOp(ClipTrainer):
    """Context Optimization (CoOp), https://arxiv.org/abs/2109.01134."""

    CONFIG_NODE = "COOP"
    RECIPE = CoOpRecipe("CoOp")
    SCRIPT_FOLDER = "coop"

    @classmethod
    def extend_cfg(cls, cfg) -> None:
        super().extend_cfg(cfg)
        add_coop_keys(cfg)

    def check_cfg(self, cfg) -> None:
        super().check_cfg(cfg)
        self.check_ctx_init(cfg)
        position = cfg.TRAINER.COOP.CLASS_TOKEN_POSITION
        if position not in CLASS_TOKEN_POSITIONS:
            raise UserInputError(
                f"TRAINER.COOP.CLASS_TOKEN_POSITION is {position!r}; use one of {list(CLASS_TOKEN_POSITIONS)}"
            )

    def check_ctx_init(self, cfg) -> None:
        """CoOp's CTX_INIT is a phrase (or empty); True/False are KgCoOp's and ProGrad's switch."""
        value = cfg.TRAINER.COOP.CTX_INIT
        if isinstance(value, bool):
            raise UserInputError(f"TRAINER.COOP.CTX_INIT is {value}: {cfg.TRAINER.NAME} takes the initial words "
                                 "(e.g. a_photo_of_a) or nothing; True/False is KgCoOp's and ProGrad's switch")

    def build_method(self, clip, classnames):
        node = self.cfg.TRAINER.COOP
        print("Building custom CLIP")
        model = CoOpModel(clip, classnames, node.N_CTX, node.CTX_INIT, node.CSC, node.CLASS_TOKEN_POSITION)
        print("Turning off gradients in both the image and the text encoder")
        return model

    def trained_module(self) -> nn.Module:
        return self.model.prompt_learner
