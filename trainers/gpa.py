"""Gaussian prompt aggregation (GPA), PromptSRC's ensemble of the prompts over the epochs.

After epoch e (1..N) the trained tensors are added to a running sum with the weight w_e, the density of
N(GPA_MEAN, GPA_STD^2) at e, normalised over the N epochs; after the last epoch the tensors become the sum.
The authors keep the sum in memory only (a resumed run starts it over) and over the whole model, frozen
weights included, in the parameters' dtype. Here it covers the trained tensors only, in fp32, as buffers of
the module that is checkpointed, so every checkpoint holds it and an interrupted run resumes with it.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch
from torch import nn

__all__ = ["gaussian_weights", "GaussianPromptAggregation"]


def gaussian_weights(epochs: int, mean: float, std: float) -> list[float]:
    """w_e for e = 1..epochs: the N(mean, std^2) density at e over its sum (float64, as the authors' numpy)."""
    density = [math.exp(-0.5 * ((e - mean) / std) ** 2) / (std * math.sqrt(2 * math.pi)) for e in range(1, epochs + 1)]
    total = sum(density)
    return [d / total for d in density]


class GaussianPromptAggregation(nn.Module):
    """The weighted sum of the tensors `names` over the epochs done so far (`epochs`), as persistent buffers."""

    def __init__(self, params: Mapping[str, torch.Tensor], weights: Sequence[float]):
        super().__init__()
        self.weights = list(weights)
        self._buffers_of = {name: "sum_" + name.replace(".", "__") for name in params}
        for name, param in params.items():
            self.register_buffer(self._buffers_of[name], torch.zeros_like(param, dtype=torch.float32))
        self.register_buffer("epochs", torch.zeros((), dtype=torch.long))

    def add(self, epoch: int, params: Mapping[str, torch.Tensor]) -> None:
        """Adds w_{epoch+1} * params after the 0-based `epoch` (which must be the next one to add)."""
        done = int(self.epochs)
        if epoch != done:
            raise RuntimeError(f"GPA: epoch {epoch + 1} finished, but the aggregate holds {done} epochs (it should "
                               f"hold {epoch}); the checkpoint does not belong to this run")
        with torch.no_grad():
            for name, param in params.items():
                getattr(self, self._buffers_of[name]).add_(param.detach().float(), alpha=self.weights[epoch])
            self.epochs += 1

    def complete(self) -> bool:
        return int(self.epochs) == len(self.weights)

    def load_into(self, params: Mapping[str, torch.Tensor]) -> None:
        """Makes the tensors the aggregate (cast to their dtypes)."""
        with torch.no_grad():
            for name, param in params.items():
                param.copy_(getattr(self, self._buffers_of[name]))
