"""torch.compile of a training step in one of the modes the configs accept (model-agnostic)."""
from __future__ import annotations

from collections.abc import Callable

import torch

from ..errors import UserInputError

__all__ = ["COMPILE_MODES", "check_compile_mode", "compile_step"]

COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")


def check_compile_mode(mode: str, what: str = "torch.compile mode") -> None:
    """A `UserInputError` naming `what` (e.g. the config key) unless `mode` is one of COMPILE_MODES."""
    if mode not in COMPILE_MODES:
        raise UserInputError(f"{what} is {mode!r}; use one of {list(COMPILE_MODES)}")


def compile_step(fn: Callable, mode: str = "default") -> Callable:
    """torch.compile in one of COMPILE_MODES (reduce-overhead replays CUDA graphs: fewest launches)."""
    check_compile_mode(mode)
    return torch.compile(fn, mode=None if mode == "default" else mode)
