"""How two computations are compared: relative differences of tensors, and the loss terms recorded as the
torch.nn.functional calls that compute them return (both codes call the same functions)."""
from __future__ import annotations

import contextlib
from collections.abc import Mapping

import torch
import torch.nn.functional as F


def rel_diff(ours: torch.Tensor, theirs: torch.Tensor) -> float:
    """max |ours - theirs| / max |theirs|, in float64 (0 when both are all zero)."""
    a, b = ours.detach().double().cpu(), theirs.detach().double().cpu()
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: ours {tuple(a.shape)}, theirs {tuple(b.shape)}")
    scale = float(b.abs().max()) if b.numel() else 0.0
    diff = float((a - b).abs().max()) if b.numel() else 0.0
    return diff / scale if scale else diff


def rel_diffs(ours: Mapping[str, torch.Tensor], theirs: Mapping[str, torch.Tensor]) -> dict[str, float]:
    """Per name of `theirs` (mapped names): the relative difference; both must hold the same names."""
    if set(ours) != set(theirs):
        raise ValueError(f"different tensors: only ours {sorted(set(ours) - set(theirs))[:5]}, only theirs "
                         f"{sorted(set(theirs) - set(ours))[:5]}")
    return {name: rel_diff(ours[name], theirs[name]) for name in theirs}


def worst(diffs: Mapping[str, float], count: int = 3) -> dict[str, object]:
    ranked = sorted(diffs.items(), key=lambda item: -item[1])
    return {"max": ranked[0][1] if ranked else 0.0, "tensors": len(diffs), "worst": dict(ranked[:count])}


@contextlib.contextmanager
def recorded(names: tuple[str, ...]):
    """Records (name#k, first argument, output) of each call of the torch.nn.functional functions `names`."""
    calls: list[tuple[str, torch.Tensor, torch.Tensor]] = []
    originals = {name: getattr(F, name) for name in names}
    counts = dict.fromkeys(names, 0)

    def wrap(name):
        def call(*args, **kwargs):
            out = originals[name](*args, **kwargs)
            counts[name] += 1
            calls.append((f"{name}#{counts[name]}", args[0].detach().clone(), out.detach().clone()))
            return out
        return call

    for name in names:
        setattr(F, name, wrap(name))
    try:
        yield calls
    finally:
        for name, function in originals.items():
            setattr(F, name, function)
