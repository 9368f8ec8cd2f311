"""CoCoOp (Zhou et al., CVPR 2022, "Conditional Prompt Learning for Vision-Language Models").

CoOp's generic context plus a meta-net pi (Linear(vis, vis/16) -> ReLU -> Linear(vis/16, ctx_dim), fed
with the normalised image feature): image x gets the context ctx + pi(x), so every image has its own
class text features, and logit(x, k) = scale * cos(f(x), g(prompt_k(x))).

The original loops over the images of a batch in Python, one text pass of n_cls prompts each. Here the
B x n_cls (image, class) prompts go through the text tower in one batched pass (prompts cut to the longest
EOT + 1, as everywhere in clipfit), so batches above 1 are practical. An image's prompts all begin with
[SOS] + its context, so those positions run once per image and each pair runs only its class's positions
(`TextEncoder.forward_prefixed`). When the pairs' tokens would
need more activation memory than a budget, the pairs are split into chunks, each still one batched
pass; while training, each chunk runs under activation checkpointing, so only one chunk's activations
are alive at a time (at the price of recomputing the chunks' forward during backward).
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

from clipfit.clip import TextEncoder, at_least_fp32, autocast, input_dtype
from clipfit.compat import TRAINER_REGISTRY
from clipfit.core.recipes import FixedRecipe

from .base import ClipTrainer, method_node
from .context_prompts import ContextPrompts, context_vectors
from .coop import FrozenClipMethod

GiB = 2**30


class PromptLearner(ContextPrompts):
    """CoCoOp's prompt learner: state dict `ctx`, `meta_net.linear1.{weight,bias}`, `meta_net.linear2.{weight,bias}`."""

    def __init__(self, encoder: TextEncoder, classnames: Sequence[str], vis_dim: int, n_ctx: int = 16,
                 ctx_init: str = "", half: bool = False):
        vectors, prefix = context_vectors(encoder, n_ctx, ctx_init, encoder.dtype)
        super().__init__(encoder, classnames, vectors, prefix)
        ctx_dim = vectors.shape[-1]
        self.meta_net = nn.Sequential(OrderedDict([
            ("linear1", nn.Linear(vis_dim, vis_dim // 16)),
            ("relu", nn.ReLU(inplace=True)),
            ("linear2", nn.Linear(vis_dim // 16, ctx_dim)),
        ])).to(vectors.device)
        if half:
            self.meta_net.half()

    def shifted_context(self, image_features: torch.Tensor) -> torch.Tensor:
        """ctx + pi(x) for every image: [B, n_ctx, ctx_dim] from normalised image features [B, vis_dim]."""
        return self.ctx.unsqueeze(0) + self.meta_net(image_features).unsqueeze(1)


class CoCoOpModel(FrozenClipMethod):
    """Frozen CLIP + CoCoOp's prompt learner; logits of all (image, class) pairs in batched text passes."""

    # Activation memory allowed for one text pass (an estimate, see `_bytes_per_token`); more -> chunks.
    # 6 GiB keeps ViT-B/16 at 500 classes and batch 4 in one pass (measured peak 6.3 GB on an H200, fp16).
    train_memory_budget = 6 * GiB
    eval_memory_budget = 1 * GiB

    def __init__(self, clip: nn.Module, classnames: Sequence[str], n_ctx: int = 16, ctx_init: str = "",
                 half: bool = False):
        super().__init__(clip)
        vis_dim = clip.visual.output_dim
        self.prompt_learner = PromptLearner(self.text_encoder, classnames, vis_dim, n_ctx, ctx_init, half)

    def class_text_features(self) -> torch.Tensor:
        raise NotImplementedError("CoCoOp's class text features depend on the image: use forward(image)")

    def _bytes_per_token(self, training: bool) -> int:
        """Rough activation bytes per prompt token: saved for backward in all layers (training), or
        the transient peak of one layer (evaluation)."""
        transformer = self.text_encoder.transformer
        device_type = self.prompt_learner.ctx.device.type
        half = self.text_encoder.dtype != torch.float32 or torch.is_autocast_enabled(device_type)
        itemsize = 2 if half else 4
        if training:  # layer norm inputs (fp32), q/k/v/out of attention, 3 MLP-wide tensors: ~16 x width
            return transformer.layers * transformer.width * 16 * itemsize
        return transformer.width * 16 * itemsize

    def tokens_per_pair(self) -> int:
        """Text positions one (image, class) pair costs on average: its suffix (up to its EOT where
        unpadded), plus its copy of the image's prefix keys and values (2 of the ~16 widths a token keeps
        per layer); the whole prompt without sharing."""
        learner = self.prompt_learner
        if not self.text_encoder.share_prefix:
            return learner.length
        suffix_tokens = learner.pair_layout(0, learner.n_cls).tokens
        return -(-suffix_tokens // learner.n_cls) + -(-learner.prefix_length // 8)

    def pairs_per_chunk(self, training: bool) -> int:
        budget = self.train_memory_budget if training else self.eval_memory_budget
        return max(1, budget // (self.tokens_per_pair() * self._bytes_per_token(training)))

    def text_passes(self, n_pairs: int, training: bool) -> tuple[int, int]:
        """(number of text passes, pairs per pass) for n_pairs (image, class) prompts: equal chunks within budget."""
        chunks = -(-n_pairs // self.pairs_per_chunk(training))
        return chunks, -(-n_pairs // chunks)

    def _pair_logits(
        self, ctx_shifted: torch.Tensor, image_features: torch.Tensor, start: int, end: int
    ) -> torch.Tensor:
        """logit(b, k) for the flat pair indices start..end-1 (pair i = image i // n_cls, class i % n_cls)."""
        learner = self.prompt_learner
        index = torch.arange(start, end, device=image_features.device)
        image_idx, class_idx = index // learner.n_cls, index % learner.n_cls
        # Image b's prompts all start with [SOS] + ctx + pi(x_b): run once per image, shared by its classes.
        layout = learner.pair_layout(start, end, ctx_shifted.shape[0])
        text = self.text_encoder.forward_prefixed(
            learner.context_prefix(ctx_shifted), learner.token_suffix[class_idx], learner.eot_index[class_idx],
            image_idx, layout,
        )
        text = F.normalize(text, dim=-1)
        return self.logit_scale.exp() * (at_least_fp32(image_features[image_idx]) * at_least_fp32(text)).sum(dim=-1)

    def conditioned_logits(self, image_features: torch.Tensor) -> torch.Tensor:
        """Logits [B, n_cls] of normalised image features, each image with its own context."""
        ctx_shifted = self.prompt_learner.shifted_context(image_features)
        training = torch.is_grad_enabled() and ctx_shifted.requires_grad
        n_pairs = image_features.shape[0] * self.prompt_learner.n_cls
        chunks, step = self.text_passes(n_pairs, training)
        if chunks == 1:
            logits = self._pair_logits(ctx_shifted, image_features, 0, n_pairs)
        else:
            parts = []
            for start in range(0, n_pairs, step):
                end = min(start + step, n_pairs)
                if training:
                    part = checkpoint(self._pair_logits, ctx_shifted, image_features, start, end,
                                      use_reentrant=False, preserve_rng_state=False)
                else:
                    part = self._pair_logits(ctx_shifted, image_features, start, end)
                parts.append(part)
            logits = torch.cat(parts)
        return logits.view(image_features.shape[0], self.prompt_learner.n_cls)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.conditioned_logits(F.normalize(self.encode_image(image), dim=-1))


@TRAINER_REGISTRY.register()
class CoCoOp(ClipTrainer):
    """Conditional Context Optimization (CoCoOp), https://arxiv.org/abs/2203.05557."""

    CONFIG_NODE = "COCOOP"
    RECIPE = FixedRecipe("CoCoOp", "vit_b16_c4_ep10_batch1_ctxv1")  # the CoCoOp paper's, every setting
    SCRIPT_FOLDER = "cocoop"

    @classmethod
    def extend_cfg(cls, cfg) -> None:
        super().extend_cfg(cfg)
        node = method_node()
        node.N_CTX = 16
        node.CTX_INIT = ""
        cfg.TRAINER.COCOOP = node

    def build_method(self, clip, classnames):
        node = self.cfg.TRAINER.COCOOP
        print("Building custom CLIP")
        model = CoCoOpModel(clip, classnames, node.N_CTX, node.CTX_INIT, half=self.precision == "fp16")
        print("Turning off gradients in both the image and the text encoder")
        enabled = sorted(n for n, p in model.named_parameters() if p.requires_grad)
        print(f"Parameters to be updated: {enabled}")
        return model

    def trained_module(self) -> nn.Module:
        return self.model.prompt_learner

    def forward_backward(self, batch) -> dict:
        summary = super().forward_backward(batch)
        summary.pop("acc", None)  # CoCoOp reports the loss only
        return summary

    @torch.no_grad()
    def model_inference(self, image: torch.Tensor) -> torch.Tensor:
        """No class-feature cache: the text features depend on the image (chunked batched passes)."""
        with autocast(self.precision, self.device):
            return self.model(image.to(input_dtype(self.precision))).float()
