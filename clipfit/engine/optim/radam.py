"""Rectified Adam (Liu et al., 2019) with the options of Dassl's `dassl.optim.radam.RAdam`.

Differs from `torch.optim.RAdam` where Dassl's does: weight decay shrinks the weights by `lr * wd`
(decoupled, not added to the gradient), the rectified step is used from a variance length of 5 on
(torch: above 5), and with `degenerated_to_sgd=False` the first steps leave the weights unchanged.
"""
from __future__ import annotations

import math

import torch
from torch.optim.optimizer import Optimizer


class RAdam(Optimizer):
    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        degenerated_to_sgd: bool = True,
    ):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if eps < 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        for i, beta in enumerate(betas):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {beta}")
        self.degenerated_to_sgd = degenerated_to_sgd
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

    def _step_size(self, step: int, beta1: float, beta2: float) -> tuple[float, bool]:
        """(step size, rectified?) at 1-based `step`; a size <= 0 means no update."""
        rho_inf = 2 / (1 - beta2) - 1
        beta2_t = beta2**step
        rho_t = rho_inf - 2 * step * beta2_t / (1 - beta2_t)
        bias1 = 1 - beta1**step
        if rho_t >= 5:
            rect = (rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
            return math.sqrt((1 - beta2_t) * rect) / bias1, True
        return (1.0 / bias1 if self.degenerated_to_sgd else -1.0), False

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    raise RuntimeError("RAdam does not support sparse gradients")
                grad = p.grad.float()
                weights = p.float()
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(weights)
                    state["exp_avg_sq"] = torch.zeros_like(weights)
                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
                exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                state["step"] += 1
                step_size, rectified = self._step_size(state["step"], beta1, beta2)
                if step_size <= 0:
                    continue
                if group["weight_decay"] != 0:
                    weights.add_(weights, alpha=-group["weight_decay"] * group["lr"])
                if rectified:
                    weights.addcdiv_(exp_avg, exp_avg_sq.sqrt().add_(group["eps"]), value=-step_size * group["lr"])
                else:
                    weights.add_(exp_avg, alpha=-step_size * group["lr"])
                p.copy_(weights)
        return loss
