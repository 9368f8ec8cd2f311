"""CLIPFit's regularisers: knowledge distillation towards the zero-shot text features, and the MSE
penalty on the change of the trained text biases (the paper's alternative)."""
from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F

from .precision import at_least_fp32

__all__ = ["kd_loss", "mse_bias_loss"]


def kd_loss(text_features: torch.Tensor, zero_shot_features: torch.Tensor) -> torch.Tensor:
    """CLIPFit's distillation term (KgCoOp's too): 1 - mean over classes of cos(w_k, w_k^zs). Computed in fp32 (or
    float64)."""
    if text_features.shape != zero_shot_features.shape:
        raise ValueError(
            f"kd_loss: current text features {tuple(text_features.shape)} and zero-shot features "
            f"{tuple(zero_shot_features.shape)} differ in shape; compute both over the same class prompts"
        )
    cos = F.cosine_similarity(at_least_fp32(text_features), at_least_fp32(zero_shot_features), dim=-1)
    return 1.0 - cos.mean()


def mse_bias_loss(current: Mapping[str, torch.Tensor], initial: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """CLIPFit's alternative regulariser: mean over the trained text-bias tensors (name -> tensor) of the
    squared L2 change from their initial values (sum of squares per tensor, then mean over tensors), in fp32."""
    if set(current) != set(initial):
        differ = sorted(set(current) ^ set(initial))[:5]
        raise KeyError(f"mse_bias_loss: current and initial parameters differ in names, e.g. {differ}")
    if not current:
        raise ValueError("mse_bias_loss: no parameters given")
    per_tensor = [(c.float() - initial[k].detach().to(c.device).float()).pow(2).sum() for k, c in current.items()]
    return torch.stack(per_tensor).mean()
