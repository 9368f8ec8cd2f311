"""open_clip's ViT image tower with learned prompt tokens (VPT, IVLP, MaPLe, PromptSRC).

As the authors' modified CLIP does it: the shallow prompts [n, width] are appended after the patch tokens,
once the class and positional embeddings are in (so they get no position) and before `ln_pre`; deep prompts
take the same last n positions before blocks 1, 2, ... (`clipfit.clip.deep_prompts`). The class token is
pooled as usual. Without prompts the tower is open_clip's own forward.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from open_clip.transformer import VisionTransformer
from torch import nn

from .deep_prompts import check_deep_prompts, run_blocks

__all__ = ["PromptedImageEncoder", "frozen_image_features", "takes_prompts"]


def _prompt_problem(visual: nn.Module) -> str:
    """Why the image tower `visual` cannot take prompts; "" when it can."""
    if not isinstance(visual, VisionTransformer):
        return (f"prompted image encoding needs a ViT image tower; this CLIP has {type(visual).__name__} "
                "(RN backbones take no prompt tokens): use a ViT backbone such as ViT-B/16")
    if not isinstance(visual.patch_dropout, nn.Identity) or not visual.transformer.batch_first:
        return "prompted image encoding needs a batch-first ViT without patch dropout (OpenAI's CLIP)"
    return ""


def takes_prompts(visual: nn.Module) -> bool:
    """Whether `PromptedImageEncoder` can wrap the image tower `visual` (OpenAI's ViTs can; RN towers cannot)."""
    return not _prompt_problem(visual)


def frozen_image_features(visual: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """image -> features [B, embed_dim] of the image tower `visual` for a frozen tower: on OpenAI's ViTs
    `PromptedImageEncoder.class_token_features` (the last block for the pooled class token only: the same maths,
    less of it), otherwise (RN towers) the tower itself."""
    return PromptedImageEncoder(visual).class_token_features if takes_prompts(visual) else visual


class PromptedImageEncoder(nn.Module):
    """The image tower of `visual` (an open_clip VisionTransformer, shared, not copied) taking prompts."""

    def __init__(self, visual: nn.Module):
        super().__init__()
        problem = _prompt_problem(visual)
        if problem:
            raise TypeError(problem)
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
        return self._tower(x, deep_prompts, x.shape[1] - prompts.shape[0])

    def class_token_features(self, image: torch.Tensor) -> torch.Tensor:
        """Image features [B, embed_dim] without prompts, computed as the prompted path does: the last block
        runs for the pooled class token only (the other tokens give it their keys and values). The same maths as
        open_clip's forward, equal up to rounding (other kernels, so `forward` without prompts stays open_clip's
        own), with most of the last block's work skipped: for frozen towers (CoOp's family)."""
        x = self._embed(image)
        return self._tower(x, (), x.shape[1])

    def _tower(self, x: torch.Tensor, deep_prompts: Sequence[torch.Tensor], start: int) -> torch.Tensor:
        """ln_pre, the blocks (deep prompts from position `start` on) and the pooling and projection."""
        v = self.visual
        x = v.ln_pre(x)
        if self._pools_class_token:  # only the class token's output is needed from the last block
            pooled = v.ln_post(run_blocks(v.transformer.resblocks, x, deep_prompts, start, pool_index=0)[:, 0])
        else:
            pooled, _ = v._pool(run_blocks(v.transformer.resblocks, x, deep_prompts, start))
        return pooled @ v.proj if v.proj is not None else pooled
