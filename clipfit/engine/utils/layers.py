"""Freezing, unfreezing and initialising layers by Dassl's rules, and its old step-decay helper (`dassl.utils`
names)."""
from __future__ import annotations

import torch.nn as nn


def set_bn_to_eval(m: nn.Module) -> None:
    """For `model.apply`: BatchNorm layers stop updating their running statistics (weights still train)."""
    if "BatchNorm" in type(m).__name__:
        m.eval()


def open_all_layers(model: nn.Module) -> None:
    model.train()
    for p in model.parameters():
        p.requires_grad = True


def open_specified_layers(model: nn.Module, open_layers) -> None:
    """Train only the named direct children of `model`; every other child is frozen and in eval mode."""
    if isinstance(model, nn.DataParallel):
        model = model.module
    if isinstance(open_layers, str):
        open_layers = [open_layers]
    for layer in open_layers:
        assert hasattr(model, layer), f"{layer} is not an attribute"
    for name, module in model.named_children():
        is_open = name in open_layers
        module.train(is_open)
        for p in module.parameters():
            p.requires_grad = is_open


def init_network_weights(model: nn.Module, init_type: str = "normal", gain: float = 0.02) -> None:
    """Conv/Linear weights by `init_type` (biases 0); BatchNorm and affine InstanceNorm to weight 1, bias 0."""
    inits = {
        "normal": lambda w: nn.init.normal_(w, 0.0, gain),
        "xavier": lambda w: nn.init.xavier_normal_(w, gain=gain),
        "kaiming": lambda w: nn.init.kaiming_normal_(w, a=0, mode="fan_in"),
        "orthogonal": lambda w: nn.init.orthogonal_(w, gain=gain),
    }

    def init(m: nn.Module) -> None:
        kind = type(m).__name__
        if hasattr(m, "weight") and ("Conv" in kind or "Linear" in kind):
            if init_type not in inits:
                raise NotImplementedError(f"init_type {init_type!r}; use one of {list(inits)}")
            inits[init_type](m.weight.data)
            if getattr(m, "bias", None) is not None:
                nn.init.constant_(m.bias.data, 0.0)
        elif "BatchNorm" in kind or ("InstanceNorm" in kind and m.weight is not None and m.bias is not None):
            nn.init.constant_(m.weight.data, 1.0)
            nn.init.constant_(m.bias.data, 0.0)

    model.apply(init)


def adjust_learning_rate(optimizer, base_lr: float, epoch: int, stepsize: int = 20, gamma: float = 0.1,
                         linear_decay: bool = False, final_lr: float = 0, max_epoch: int = 100) -> None:
    """Dassl's deprecated manual schedule: set every group's lr to `base_lr` decayed by `gamma` each
    `stepsize` epochs, or (`linear_decay`) moved linearly from `base_lr` towards `final_lr` over `max_epoch`."""
    if linear_decay:
        done = epoch / max_epoch
        lr = done * final_lr + (1.0 - done) * base_lr
    else:
        lr = base_lr * (gamma ** (epoch // stepsize))
    for group in optimizer.param_groups:
        group["lr"] = lr
