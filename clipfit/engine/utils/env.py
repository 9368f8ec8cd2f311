"""Seeding, environment report and parameter counting."""
from __future__ import annotations

import random

import numpy as np
import torch

from ...errors import InvalidValue


def set_random_seed(seed: int) -> None:
    if not 0 <= seed < 2**32:  # numpy's range; checked before any generator is touched
        raise InvalidValue(f"SEED is {seed}: a fixed seed must be between 0 and 2**32 - 1 (--seed N)")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)


def collect_env_info() -> str:
    import PIL
    from torch.utils.collect_env import get_pretty_env_info

    return get_pretty_env_info() + f"\n        Pillow ({PIL.__version__})"


def count_num_param(model=None, params=None) -> int:
    if model is not None:
        return sum(p.numel() for p in model.parameters())
    if params is not None:
        return sum(p.numel() for p in params)
    raise ValueError("model and params must be provided")
