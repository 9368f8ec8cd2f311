"""ProGrad's gradient projection (Zhu et al., "Prompt-aligned Gradient for Prompt Tuning", ICCV 2023).

The API is that of the `Dassl.ProGrad.pytorch` fork shipped in BeierZhu/Prompt-align (also used by the
ProGrad trainers of htyao89/KgCoOp and htyao89/TCP): its `SimpleTrainer.prograd_backward_and_update(
loss_a, loss_b, lambda_=1, names=None)` back-propagates the "general" loss `loss_b` (ProGrad: the KL
divergence to zero-shot CLIP's predictions), keeps each parameter's gradient g_b, back-propagates the
task loss `loss_a` (cross-entropy) into fresh gradients g_a, and where the two conflict replaces g_a by its
projection as `project_conflicting` computes; then the optimizers step.

This module holds that procedure without the optimizer step, on plain modules, so that the engine
(`RegisteredModels.prograd_backward_and_update`) and the native ProGrad trainer (trainers/prograd.py, which
also runs on a real Dassl, whose trainers lack the fork's method) share one implementation. It is in
`clipfit/core` because both use it and trainers take nothing from the engine directly (only Dassl names, via
`clipfit.compat`).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn as nn


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


def backward_projected(loss_a: torch.Tensor, loss_b: torch.Tensor, modules: Sequence[nn.Module],
                       lambda_: float, zero_grad: Callable[[], None],
                       check_finite: Callable[[torch.Tensor], None]) -> None:
    """The fork's backward: `loss_b`'s gradients g_b kept, then `loss_a`'s into fresh gradients, projected away
    from g_b where they conflict, parameter by parameter of each module. No optimizer step.

    `zero_grad` clears the gradients (the trainer's optimizers' `zero_grad`, as in the fork: a parameter outside
    every optimizer keeps `loss_b`'s gradient and adds `loss_a`'s to it); `check_finite` raises on a
    non-finite loss, before its backward. Unlike the fork, each module's parameters pair with that module's own
    g_b (the fork pairs every module with the first one's list: the same for one module, as ProGrad has), and
    a parameter that `loss_b` does not reach keeps its `loss_a` gradient (the fork fails there).
    """
    zero_grad()
    check_finite(loss_b)
    loss_b.backward(retain_graph=True)
    general = [[None if p.grad is None else p.grad.clone() for p in module.parameters()] for module in modules]
    zero_grad()
    check_finite(loss_a)
    loss_a.backward()
    for module, kept in zip(modules, general):
        for param, general_grad in zip(module.parameters(), kept):
            if param.grad is not None and general_grad is not None:
                param.grad = project_conflicting(param.grad, general_grad, lambda_)
