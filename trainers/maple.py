"""MaPLe: multi-modal prompt learning (Khattak et al., CVPR 2023, "MaPLe: Multi-modal Prompt Learning").

Prompts in both towers of a frozen CLIP, the image ones coupled to the text ones:

* text: the context `ctx` replaces the first N_CTX tokens after [SOS] of "{CTX_INIT} {name}." (the authors'
  rule, `vl_prompts.initial_text_context`); before each block j = 1..PROMPT_DEPTH-1 the deep text prompt
  `compound_prompts_text[j-1]` takes those positions;
* image: `proj(ctx)` (a linear text -> image width map) after the patch tokens, before ln_pre; before block j
  the coupled prompt `compound_prompt_projections[j-1](compound_prompts_text[j-1])` takes their place.

The loss is cross-entropy on CLIP's cosine logits. The trained tensors carry the authors' names. They are
drawn in the authors' order (the context when it starts random, `proj`, the deep text prompts, then one
linear map that every `compound_prompt_projections` entry starts as a copy of), so for the same random state
before the prompt learner the initial values are theirs. Unlike the authors' code, `proj` takes the model's
precision instead of always fp16 (their PREC fp32 fails on it), and widths are the backbone's, not 512/768.
"""
from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
import torch.nn as nn

from clipfit.clip import TextEncoder
from clipfit.compat import TRAINER_REGISTRY
from clipfit.core.recipes import Recipe, RunSpec

from .base import method_node
from .vl_prompts import ClassPrompts, PromptedClip, VLPromptTrainer, check_depth, initial_text_context, normal_prompts


class MultiModalPromptLearner(ClassPrompts):
    """MaPLe's prompts; the state dict holds exactly `ctx`, `proj.{weight,bias}`, `compound_prompts_text.<i>`
    and `compound_prompt_projections.<i>.{weight,bias}` (the fixed token embeddings come from the class names)."""

    def __init__(self, encoder: TextEncoder, classnames: Sequence[str], vision_width: int, n_ctx: int = 2,
                 ctx_init: str = "a photo of a", depth: int = 9, node: str = "TRAINER.MAPLE"):
        text_width = encoder.token_embedding.weight.shape[1]
        vectors, prefix = initial_text_context(encoder, n_ctx, ctx_init, encoder.dtype, node)
        proj = nn.Linear(text_width, vision_width)  # CPU, fp32: the authors' draws
        compound = normal_prompts(depth - 1, n_ctx, text_width)
        coupling = nn.Linear(text_width, vision_width)
        print(f"MaPLe design: multi-modal prompt learning, {n_ctx} tokens, prompt depth {depth}")
        super().__init__(encoder, classnames, vectors, prefix)
        self.proj = proj.to(device=vectors.device, dtype=vectors.dtype)
        self.compound_prompts_text = compound
        self.compound_prompt_projections = nn.ModuleList(copy.deepcopy(coupling) for _ in range(depth - 1))

    def image_prompts(self) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """(proj(ctx) after the patch tokens, the coupled deep prompts of blocks 1, 2, ...): text -> image."""
        deep = [layer(prompt) for layer, prompt in zip(self.compound_prompt_projections, self.compound_prompts_text)]
        return self.proj(self.ctx), deep


class MaPLeModel(PromptedClip):
    """Frozen CLIP + MaPLe's coupled prompts: cosine logits of the prompted image and text features."""

    def __init__(self, clip: nn.Module, classnames: Sequence[str], n_ctx: int = 2, ctx_init: str = "a photo of a",
                 depth: int = 9, node: str = "TRAINER.MAPLE"):
        super().__init__(clip)
        layers = min(len(self.text_encoder.transformer.resblocks), self.image_encoder.layers)
        check_depth(depth, layers, f"{node}.PROMPT_DEPTH")
        self.prompt_learner = MultiModalPromptLearner(self.text_encoder, classnames, self.image_encoder.width, n_ctx,
                                                      ctx_init, depth, node)

    def class_text_features(self) -> torch.Tensor:
        return self.prompted_text_features(self.prompt_learner, list(self.prompt_learner.compound_prompts_text))

    def encode_image(self, image: torch.Tensor) -> torch.Tensor:
        prompts, deep = self.prompt_learner.image_prompts()
        return self.image_encoder(image, prompts, deep)


class MaPLeRecipe(Recipe):
    """The authors' scripts: base-to-new 2 tokens at depth 9, 5 epochs; the ImageNet run of cross-dataset and
    domain generalization their cross-dataset config (depth 3, 2 epochs). No few-shot recipe is published:
    few-shot runs use the base-to-new config."""

    def cfg(self, run: RunSpec) -> str:
        return "vit_b16_c2_ep5_batch4_2ctx_cross_datasets" if run.transfer else "vit_b16_c2_ep5_batch4_2ctx"


@TRAINER_REGISTRY.register()
class MaPLe(VLPromptTrainer):
    """Multi-modal Prompt Learning (MaPLe), https://arxiv.org/abs/2210.03117."""

    CONFIG_NODE = "MAPLE"
    MODEL_NAME = "MultiModalPromptLearner"
    RECIPE = MaPLeRecipe("MaPLe")
    SCRIPT_FOLDER = "maple"

    @classmethod
    def extend_cfg(cls, cfg) -> None:
        super().extend_cfg(cfg)
        node = method_node()
        node.N_CTX = 2  # prompt tokens per tower
        node.CTX_INIT = "a photo of a"  # initial words of the text context (used with N_CTX <= 4)
        node.PROMPT_DEPTH = 9  # blocks with prompts (1: the input only)
        cfg.TRAINER.MAPLE = node

    def build_method(self, clip, classnames):
        node = self.method_cfg()
        print("Building custom CLIP")
        model = MaPLeModel(clip, classnames, node.N_CTX, node.CTX_INIT, node.PROMPT_DEPTH, "TRAINER.MAPLE")
        print("Turning off gradients in both the image and the text encoder")
        self.report_trained(model)
        return model
