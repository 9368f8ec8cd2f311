"""IVLP: independent vision-language prompting, the deep-prompting baseline of MaPLe (Khattak et al., CVPR 2023).

Both towers of a frozen CLIP get their own learned prompts, with no coupling between them:

* text: the context `ctx` replaces the first N_CTX_TEXT tokens after [SOS] of "{CTX_INIT} {name}." (the
  authors' rule, `vl_prompts.initial_text_context`); before each block 1..PROMPT_DEPTH_TEXT-1 a deep prompt
  of its own (`deep_ctx`) takes those positions;
* image: N_CTX_VISION tokens `vision_ctx` after the patch tokens (before ln_pre), and before each block
  1..PROMPT_DEPTH_VISION-1 a deep prompt of its own (`vision_deep_ctx`); depth 0 leaves the image tower as it is.

The loss is cross-entropy on CLIP's cosine logits. The prompts are drawn in the order the authors' model
construction draws them (image prompts, deep text prompts, then the text context when it starts random); their
values for a seed differ from the authors' runs, whose draws are interleaved with building their CLIP.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn

from clipfit.clip import TextEncoder
from clipfit.compat import TRAINER_REGISTRY
from clipfit.core.recipes import Recipe, RunSpec
from clipfit.errors import UserInputError

from .base import method_node
from .vl_prompts import ClassPrompts, PromptedClip, VLPromptTrainer, check_depth, initial_text_context, normal_prompts


class VLPromptLearner(ClassPrompts):
    """IVLP's (and PromptSRC's) prompts; the state dict holds exactly `ctx`, `deep_ctx.<i>`, `vision_ctx` and
    `vision_deep_ctx.<i>` (the fixed token embeddings are rebuilt from the class names)."""

    def __init__(self, encoder: TextEncoder, classnames: Sequence[str], vision_width: int, n_ctx_text: int = 2,
                 n_ctx_vision: int = 2, ctx_init: str = "a photo of a", depth_text: int = 9, depth_vision: int = 9,
                 node: str = "TRAINER.IVLP"):
        vision = normal_prompts(depth_vision, n_ctx_vision, vision_width)
        deep_text = normal_prompts(depth_text - 1, n_ctx_text, encoder.token_embedding.weight.shape[1])
        vectors, prefix = initial_text_context(encoder, n_ctx_text, ctx_init, encoder.dtype, node)
        print(f"Independent V-L design: {n_ctx_text} text and {n_ctx_vision} image prompt tokens, prompt depth "
              f"{depth_text} (text) and {depth_vision} (image)")
        super().__init__(encoder, classnames, vectors, prefix)
        self.deep_ctx = deep_text
        self.vision_ctx = vision[0] if len(vision) else None
        self.vision_deep_ctx = nn.ParameterList(list(vision)[1:])

    def image_prompts(self) -> tuple[torch.Tensor | None, list[torch.Tensor]]:
        """(prompts after the patch tokens, deep prompts of blocks 1, 2, ...)."""
        return self.vision_ctx, list(self.vision_deep_ctx)


class IVLPModel(PromptedClip):
    """Frozen CLIP + IVLP's prompts: cosine logits of the prompted image and text features."""

    def __init__(self, clip: nn.Module, classnames: Sequence[str], n_ctx_text: int = 2, n_ctx_vision: int = 2,
                 ctx_init: str = "a photo of a", depth_text: int = 9, depth_vision: int = 9,
                 node: str = "TRAINER.IVLP"):
        super().__init__(clip)
        check_depth(depth_text, len(self.text_encoder.transformer.resblocks), f"{node}.PROMPT_DEPTH_TEXT")
        check_depth(depth_vision, self.image_encoder.layers, f"{node}.PROMPT_DEPTH_VISION", minimum=0)
        if depth_vision and n_ctx_vision < 1:
            raise UserInputError(f"{node}.N_CTX_VISION is {n_ctx_vision} with PROMPT_DEPTH_VISION {depth_vision}: "
                                 "image prompts need at least one token (or set PROMPT_DEPTH_VISION 0)")
        self.prompt_learner = VLPromptLearner(self.text_encoder, classnames, self.image_encoder.width, n_ctx_text,
                                              n_ctx_vision, ctx_init, depth_text, depth_vision, node)

    def class_text_features(self) -> torch.Tensor:
        return self.prompted_text_features(self.prompt_learner, list(self.prompt_learner.deep_ctx))

    def encode_image(self, image: torch.Tensor) -> torch.Tensor:
        prompts, deep = self.prompt_learner.image_prompts()
        return self.image_encoder(image, prompts, deep)


class IVLPRecipe(Recipe):
    """MaPLe's repository: 2+2 tokens at depth 12, 5 epochs, for base-to-new and the ImageNet (cross-dataset) run;
    no few-shot recipe is published, so few-shot runs use the same config."""

    def cfg(self, run: RunSpec) -> str:
        return "vit_b16_c2_ep5_batch4_2+2ctx"


def add_vl_prompt_keys(node, n_ctx: int, depth: int) -> None:
    """The prompt keys of IVLP and PromptSRC, with their defaults in the authors' train.py."""
    node.N_CTX_VISION = n_ctx  # image prompt tokens
    node.N_CTX_TEXT = n_ctx  # text prompt tokens
    node.CTX_INIT = "a photo of a"  # initial words of the text context (used with N_CTX_TEXT <= 4)
    node.PROMPT_DEPTH_VISION = depth  # image blocks with prompts (0: none)
    node.PROMPT_DEPTH_TEXT = depth  # text blocks with prompts (1: the input only)


@TRAINER_REGISTRY.register()
class IVLP(VLPromptTrainer):
    """Independent vision-language prompting (MaPLe's baseline), https://arxiv.org/abs/2210.03117."""

    CONFIG_NODE = "IVLP"
    MODEL_NAME = "VLPromptLearner"
    RECIPE = IVLPRecipe("IVLP")
    SCRIPT_FOLDER = "independent-vlp"  # the authors' folder name

    @classmethod
    def extend_cfg(cls, cfg) -> None:
        super().extend_cfg(cfg)
        node = method_node()
        add_vl_prompt_keys(node, n_ctx=2, depth=9)
        cfg.TRAINER.IVLP = node

    def build_method(self, clip, classnames):
        node = self.method_cfg()
        print("Building custom CLIP")
        model = IVLPModel(clip, classnames, node.N_CTX_TEXT, node.N_CTX_VISION, node.CTX_INIT, node.PROMPT_DEPTH_TEXT,
                          node.PROMPT_DEPTH_VISION, f"TRAINER.{self.CONFIG_NODE}")
        print("Turning off gradients in both the image and the text encoder")
        self.report_trained(model)
        return model
