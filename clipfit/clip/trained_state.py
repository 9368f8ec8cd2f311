"""Loading a checkpoint of the trained parameters only, strictly by name and shape."""
from __future__ import annotations

from collections.abc import Iterable, Mapping

import torch
from torch import nn

from ..errors import UserInputError
from ._report import mismatch_lines

__all__ = ["TrainedStateMismatch", "load_trained_state_dict"]


class TrainedStateMismatch(UserInputError, RuntimeError):
    """A trained-parameters checkpoint does not fit the model's parameter selection."""


def load_trained_state_dict(
    model: nn.Module, state: Mapping[str, torch.Tensor], expected_names: Iterable[str], source: str = "checkpoint",
    how_to_load: str = "Load it with the same MODEL.BACKBONE.NAME and parameter preset it was trained with.",
) -> None:
    """Copies trained parameters into `model`, strictly: the names must be exactly `expected_names`
    (parameters of `model`) and the shapes must agree. Values are cast to the model's dtypes.

    Raises `TrainedStateMismatch` naming the missing / unexpected / wrongly shaped entries, then `how_to_load`.
    """
    expected = list(expected_names)
    params = {**dict(model.named_buffers()), **dict(model.named_parameters())}  # a persistent buffer may be saved
    missing = [n for n in expected if n not in state]
    expected_set = set(expected)
    unexpected = [n for n in state if n not in expected_set]
    wrong_shape = [
        f"{n} checkpoint {tuple(state[n].shape)} vs model {tuple(params[n].shape)}"
        for n in expected
        if n in state and tuple(state[n].shape) != tuple(params[n].shape)
    ]
    if missing or unexpected or wrong_shape:
        lines = [f"{source} does not match the trained parameters of this model ({len(expected)} tensors):"]
        lines += mismatch_lines(
            [
                ("missing from the checkpoint", missing),
                ("not trained by this model", unexpected),
                ("shape mismatches", wrong_shape),
            ]
        )
        lines.append(how_to_load)
        raise TrainedStateMismatch("\n".join(lines))
    with torch.no_grad():
        for name in expected:
            params[name].copy_(state[name].to(device=params[name].device, dtype=params[name].dtype))
