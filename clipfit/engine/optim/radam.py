"""Rectified Adam (Liu et al., 2019) and its companions, with the options of Dassl's `dassl.optim.radam`:
`RAdam`, `PlainRAdam` and `AdamW` (Adam with decoupled weight decay and a linear warm-up).

Differs from `torch.optim.RAdam` where Dassl's does: weight decay shrinks the weights by `lr * wd`
(decoupled, not added to the gradient), the rectified step is used from a variance length of 5 on
(torch: above 5), and with `degenerated_to_sgd=False` the first steps leave the weights unchanged.
"""
from __future__ import annotations

import math

import torch
from torch.optim.optimizer import Optimizer


class _AdamMoments(Optimizer):
    """The part the three share: argument checks, the fp32 moment estimates and the per-parameter loop.
    Subclasses say how one parameter moves (`_update`)."""

    def __init__(self, params, lr, betas, eps, **defaults):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if eps < 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        for i, beta in enumerate(betas):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {beta}")
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, **defaults))

    def _update(self, weights, exp_avg, exp_avg_sq, step: int, group: dict) -> bool:
        """Move `weights` (fp32) in place at 1-based `step`; False when this step leaves them as they are."""
        raise NotImplementedError

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
                    raise RuntimeError(f"{type(self).__name__} does not support sparse gradients")
                # At least fp32 arithmetic (fp16 moments would underflow); fp64 parameters stay fp64.
                dtype = torch.promote_types(p.dtype, torch.float32)
                grad = p.grad.to(dtype)
                weights = p.to(dtype)
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(weights)
                    state["exp_avg_sq"] = torch.zeros_like(weights)
                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
                exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                state["step"] += 1
                if self._update(weights, exp_avg, exp_avg_sq, state["step"], group):
                    p.copy_(weights)
        return loss


class RAdam(_AdamMoments):
    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        degenerated_to_sgd: bool = True,
    ):
        self.degenerated_to_sgd = degenerated_to_sgd
        super().__init__(params, lr, betas, eps, weight_decay=weight_decay)

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

    def _update(self, weights, exp_avg, exp_avg_sq, step, group):
        step_size, rectified = self._step_size(step, *group["betas"])
        if step_size <= 0:
            return False
        if group["weight_decay"] != 0:
            weights.add_(weights, alpha=-group["weight_decay"] * group["lr"])
        if rectified:
            weights.addcdiv_(exp_avg, exp_avg_sq.sqrt().add_(group["eps"]), value=-step_size * group["lr"])
        else:
            weights.add_(exp_avg, alpha=-step_size * group["lr"])
        return True


class PlainRAdam(RAdam):
    """Dassl's RAdam without the cache of step sizes: the same update, the rectification computed each step.
    Ours already computes it each step, so the two differ in name only (kept for `from dassl.optim.radam
    import PlainRAdam`)."""


class AdamW(_AdamMoments):
    """Adam with decoupled weight decay whose learning rate rises linearly over the first `warmup` steps
    (from 1e-8 + lr/warmup at step 1 to lr at step `warmup`); `warmup=0` is plain AdamW."""

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, warmup: int = 0):
        super().__init__(params, lr, betas, eps, weight_decay=weight_decay, warmup=warmup)

    def _update(self, weights, exp_avg, exp_avg_sq, step, group):
        beta1, beta2 = group["betas"]
        lr = 1e-8 + step * group["lr"] / group["warmup"] if step < group["warmup"] else group["lr"]
        if group["weight_decay"] != 0:
            weights.add_(weights, alpha=-group["weight_decay"] * lr)
        # eps is added to sqrt(v) before the bias correction of v (torch.optim.AdamW adds it after).
        step_size = lr * math.sqrt(1 - beta2**step) / (1 - beta1**step)
        weights.addcdiv_(exp_avg, exp_avg_sq.sqrt().add_(group["eps"]), value=-step_size)
        return True
