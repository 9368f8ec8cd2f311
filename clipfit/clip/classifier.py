"""CLIP as a classifier: class text features and the cosine logits of images against them."""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from .templates import prompt_for
from .text import TextEncoder, TokenizedPrompts, tokenize_prompts

__all__ = ["cosine_logits", "compute_text_features", "ensemble_text_features"]


def cosine_logits(
    image_features: torch.Tensor,
    text_features: torch.Tensor,
    logit_scale: torch.Tensor,
    normalized: bool = False,
) -> torch.Tensor:
    """`logit_scale.exp() * norm(image) @ norm(text).T`: [batch, classes].

    Pass `normalized=True` when both inputs are already L2-normalised (e.g. cached text features).
    """
    if not normalized:
        image_features = F.normalize(image_features, dim=-1)
        text_features = F.normalize(text_features, dim=-1)
    text_features = text_features.to(image_features.dtype)
    return logit_scale.exp() * image_features @ text_features.t()


def compute_text_features(
    encoder: TextEncoder, prompts: TokenizedPrompts, chunk_size: int | None = None
) -> torch.Tensor:
    """L2-normalised class text features [n_classes, embed_dim], in chunks of `chunk_size` prompts if given.

    Runs under the caller's grad mode: wrap in `torch.no_grad()` for zero-shot/teacher features.
    """
    if chunk_size and chunk_size < len(prompts):
        features = torch.cat([
            encoder.forward_tokens(prompts.tokens[i : i + chunk_size], prompts.eot_index[i : i + chunk_size],
                                   prompts.prefix_length)
            for i in range(0, len(prompts), chunk_size)
        ])
    else:
        features = encoder.encode(prompts)
    return F.normalize(features, dim=-1)


def ensemble_text_features(encoder: TextEncoder, classnames: Sequence[str], templates: Sequence[str],
                           chunk_size: int = 1000) -> torch.Tensor:
    """Class text features [n_cls, dim]: the mean of the L2-normalised features of every template,
    renormalised (one template: its normalised features). Runs under the caller's grad/autocast mode."""
    device = encoder.token_embedding.weight.device
    total = None
    for template in templates:
        prompts = tokenize_prompts([prompt_for(template, name) for name in classnames], device=device, names=classnames)
        features = compute_text_features(encoder, prompts, chunk_size=chunk_size)
        total = features if total is None else total + features
    if len(templates) == 1:
        return total
    return F.normalize(total / len(templates), dim=-1)
