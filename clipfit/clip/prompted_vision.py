"""open_clip's ViT image tower with learned prompt tokens (VPT, IVLP, MaPLe, PromptSRC).

As the authors' modified CLIP does it: the shallow prompts [n, width] are appended after the patch tokens,
once the class and positional embeddings are in (so they get no position) and before `ln_pre`; deep prompts
take the same last n positions before blocks 1, 2, ... (`clipfit.clip.deep_prompts`). The class token is
pooled as usual. Without prompts the tower is open_clip's own forward.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from open_clip.transformer import VisionTransformer
from torch import nn

from .deep_prompts import check_deep_prompts, run_blocks

__all__ = ["PromptedImageEncoder"]


class PromptedImageEncoder(nn.Module):
    """The image tower of `visual` (an open_clip VisionTransformer, shared, not copied) taking prompts."""

    def __init__(self, visual: nn.Module):
        super().__init__()
        if not isinstance(visual, VisionTransformer):
            raise TypeError(f"prompted image encoding needs a ViT image tower; this CLIP has {type(visual).__name__} "
                            "(RN backbones take no prompt tokens): use a ViT backbone such as ViT-B/16")
        if not isinstance(visual.patch_dropout, nn.Identity) or not visual.transformer.batch_first:
            raise TypeError("prompted image encoding needs a batch-first ViT without patch dropout (OpenAI's CLIP)")
        self.visual = visual
        # OpenAI's pooling: ln_post, then the class token (ln_post is per token, so it may come after the pick).
        self._pools_class_token = (visual.attn_pool is None and visual.pool_type == "tok"
                                   and not visual.final_ln_after_pool)

    @property
    def width(self) -> int:
        return self.visual.transformer.width

    @property
    def layers(self) -> int:
        return len(self.visual.transformer.resblocks)

    def _embed(self, image: torch.Tensor) -> torch.Tensor:
        """Patch tokens with the class token in front and the positional embedding added: [B, 1 + grid^2, width]."""
        v = self.visual
        x = v.conv1(image)
        x = x.reshape(x.shape[0], x.shape[1], -1).permute(0, 2, 1)
        cls = v.class_embedding.to(x.dtype).view(1, 1, -1).expand(x.shape[0], -1, -1)
        return torch.cat([cls, x], dim=1) + v.positional_embedding.to(x.dtype)

    def forward(self, image: torch.Tensor, prompts: torch.Tensor | None = None,
                deep_prompts: Sequence[torch.Tensor] = ()) -> torch.Tensor:
        """Image features [B, embed_dim] (projected, not normalised) with `prompts` [n, width] after the patch
        tokens and `deep_prompts` [n, width] each in their place before blocks 1..len(deep_prompts)."""
        if prompts is None:
            if deep_prompts:
                raise ValueError("deep image prompts need the shallow ones (the positions they take)")
            return self.visual(image)
        check_deep_prompts(deep_prompts, self.layers)
        if deep_prompts and deep_prompts[0].shape != prompts.shape:
            raise ValueError(f"deep image prompts {tuple(deep_prompts[0].shape)} must have the shape of the "
                             f"shallow ones {tuple(prompts.shape)}: they take the same positions")
        x = self._embed(image)
        x = torch.cat([x, prompts.to(x.dtype).unsqueeze(0).expand(x.shape[0], -1, -1)], dim=1)
        v = self.visual
        x = v.ln_pre(x)
        start = x.shape[1] - prompts.shape[0]
        if self._pools_class_token:  # only the class token's output is needed from the last block
            pooled = v.ln_post(run_blocks(v.transformer.resblocks, x, deep_prompts, start, pool_index=0)[:, 0])
        else:
            pooled, _ = v._pool(run_blocks(v.transformer.resblocks, x, deep_prompts, start))
        return pooled @ v.proj if v.proj is not None else pooled
