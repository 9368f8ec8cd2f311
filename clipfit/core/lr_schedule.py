"""The lr of every epoch as the run's own scheduler will set it, and the schedules that cannot train.

Read by stepping a copy of the real scheduler over a stand-in optimizer, so that what the run summary
prints and what is refused is what the run will do, whatever the scheduler class (the built-in engine's,
real Dassl's or a plugin's), with no formula of its own to drift from it. Engine-neutral.
"""
from __future__ import annotations

import copy
import warnings

import torch

from ..errors import UserInputError


def epoch_lrs(scheduler, epochs: int) -> list[list[float]]:
    """[epoch][param group]: the lr in effect during each of the first `epochs` epochs of a freshly built
    `scheduler` (stepped once per epoch, after its last batch, as the trainers do). Touches neither the
    scheduler nor its optimizer: the copy steps a stand-in holding the same param-group settings."""
    optimizer = scheduler.optimizer
    stand_in = torch.optim.SGD(
        [{**{k: v for k, v in group.items() if k != "params"}, "params": [torch.zeros(1, requires_grad=True)]}
         for group in optimizer.param_groups], lr=0.0)  # each group brings its own lr (maybe a negative one)
    probe = copy.deepcopy(scheduler, {id(optimizer): stand_in})  # a warm-up's successor shares the stand-in too
    lrs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "lr_scheduler.step() before optimizer.step()": the stand-in never steps
        for _ in range(epochs):
            lrs.append([group["lr"] for group in stand_in.param_groups])
            probe.step()
    return lrs


def _span(first: int, last: int) -> str:
    return f"epoch {first}" if first == last else f"epochs {first}-{last}"


def _values(lrs: list[float]) -> str:
    low, high, first, last = min(lrs), max(lrs), lrs[0], lrs[-1]
    if low == high:
        return f"{first:.3g}"
    if len(lrs) <= 4:
        return ", ".join(f"{lr:.3g}" for lr in lrs)
    text = f"{first:.3g} to {last:.3g}"
    return text if {low, high} == {first, last} else f"{text}, between {low:.3g} and {high:.3g}"


def describe_lr_schedule(lrs: list[list[float]], warmup_epochs: int) -> str:
    """`epoch 1 (warm-up): 1e-05; epochs 2-30: 0.1 to 0.000274` for the first param group's lr."""
    first_group = [row[0] for row in lrs]
    warm = min(max(warmup_epochs, 0), len(first_group))
    parts = []
    if warm:
        parts.append(f"{_span(1, warm)} (warm-up): {_values(first_group[:warm])}")
    if warm < len(first_group):
        parts.append(f"{_span(warm + 1, len(first_group))}: {_values(first_group[warm:])}")
    return "; ".join(parts)


def _keys_that_go_negative(optim_cfg) -> list[str]:
    """The OPTIM keys whose negative value the schedule would turn into a negative lr (another repository's
    config tree may lack some of Dassl's keys: `get`)."""
    warmup = {"constant": "WARMUP_CONS_LR", "linear": "WARMUP_MIN_LR"}.get(optim_cfg.get("WARMUP_TYPE"))
    keys = ["LR"]
    if optim_cfg.get("LR_SCHEDULER") in ("single_step", "multi_step"):
        keys.append("GAMMA")
    if optim_cfg.get("WARMUP_EPOCH", 0) > 0 and warmup:
        keys.append(warmup)
    if optim_cfg.get("STAGED_LR", False):
        keys.append("BASE_LR_MULT")
    return [f"OPTIM.{k} ({optim_cfg[k]})" for k in keys if optim_cfg.get(k, 0) < 0]


def check_lr_schedule(optim_cfg, lrs: list[list[float]]) -> None:
    """Refuse a schedule that cannot train as configured: warm-up through every epoch (the base lr is never
    used), or a negative lr in any epoch (gradient ascent). `lrs` is `epoch_lrs` of the run's scheduler."""
    warmup, epochs = optim_cfg.get("WARMUP_EPOCH", 0), optim_cfg.MAX_EPOCH
    if 0 < epochs <= warmup:
        raise UserInputError(
            f"OPTIM.WARMUP_EPOCH is {warmup} and OPTIM.MAX_EPOCH {epochs}: every epoch would be a warm-up epoch "
            f"({describe_lr_schedule(lrs, warmup)}) and none would run at OPTIM.LR {optim_cfg.LR}. Set "
            "OPTIM.WARMUP_EPOCH below OPTIM.MAX_EPOCH (0 for no warm-up)")
    negative = [epoch for epoch, row in enumerate(lrs, 1) if any(lr < 0 for lr in row)]
    if negative:
        keys = _keys_that_go_negative(optim_cfg) or [f"OPTIM.LR_SCHEDULER ({optim_cfg.get('LR_SCHEDULER')})"]
        shown = ", ".join(map(str, negative[:5])) + (", ..." if len(negative) > 5 else "")
        raise UserInputError(
            f"the lr schedule is negative in epoch(s) {shown} of {epochs} ({describe_lr_schedule(lrs, warmup)}): "
            f"the optimizer would climb the loss instead of descending it. Caused by {', '.join(keys)}; make "
            f"{'it' if len(keys) == 1 else 'them'} 0 or more")
