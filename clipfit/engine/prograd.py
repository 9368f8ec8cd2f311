"""ProGrad's gradient projection (Zhu et al., "Prompt-aligned Gradient for Prompt Tuning", ICCV 2023).

The API is that of the `Dassl.ProGrad.pytorch` fork shipped in BeierZhu/Prompt-align (also used by the
ProGrad trainers of htyao89/KgCoOp and htyao89/TCP): its `SimpleTrainer.prograd_backward_and_update(
loss_a, loss_b, lambda_=1, names=None)` back-propagates the "general" loss `loss_b` (ProGrad: the KL
divergence to zero-shot CLIP's predictions), keeps each parameter's gradient g_b, back-propagates the
task loss `loss_a` (cross-entropy) into fresh gradients g_a, and where the two conflict replaces g_a by its
projection as `project_conflicting` computes; then the optimizers step. The engine's method is
`RegisteredModels.prograd_backward_and_update`; this module holds the math so that other trainers
(e.g. a native ProGrad trainer) reuse it.
"""
from __future__ import annotations

import torch


def project_conflicting(grad: torch.Tensor, general: torch.Tensor, lambda_: float = 1.0) -> torch.Tensor:
    """`grad` when its cosine with `general` is >= 0; otherwise `grad - lambda_ * (grad . u) * u`, with
    u = general / |general| (lambda_ = 1 removes the component along `general` entirely).

    The fork's operations in its order (norms over the whole tensor, dot products of the flattened
    tensors), so the result is the fork's to the bit. A zero gradient on either side gives a NaN cosine,
    which is not < 0: `grad` is returned unchanged, as in the fork.
    """
    general_unit = general / torch.linalg.norm(general)
    grad_unit = grad / torch.linalg.norm(grad)
    if torch.dot(grad_unit.flatten(), general_unit.flatten()) < 0:
        return grad - lambda_ * torch.dot(grad.flatten(), general_unit.flatten()) * general_unit
    return grad
