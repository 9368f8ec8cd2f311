"""Dassl's head registry and its `mlp` head."""
from __future__ import annotations

import torch.nn as nn

from ..registry import Registry, build_module

HEAD_REGISTRY = Registry("HEAD")

_ACTIVATIONS = {"relu": nn.ReLU, "leaky_relu": nn.LeakyReLU}


def build_head(name: str, verbose: bool = True, **kwargs) -> nn.Module:
    return build_module(HEAD_REGISTRY, name, "Head", verbose, **kwargs)


class MLP(nn.Module):
    """Linear [+ BatchNorm1d] + activation [+ Dropout] per hidden layer; `out_features` is the last width."""

    def __init__(self, in_features: int = 2048, hidden_layers=(), activation: str = "relu", bn: bool = True,
                 dropout: float = 0.0):
        super().__init__()
        if isinstance(hidden_layers, int):
            hidden_layers = [hidden_layers]
        assert len(hidden_layers) > 0
        if activation not in _ACTIVATIONS:
            raise NotImplementedError(f"activation {activation!r}; use one of {list(_ACTIVATIONS)}")
        self.out_features = hidden_layers[-1]
        layers = []
        for width in hidden_layers:
            layers.append(nn.Linear(in_features, width))
            if bn:
                layers.append(nn.BatchNorm1d(width))
            layers.append(_ACTIVATIONS[activation](inplace=True))
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            in_features = width
        self.mlp = nn.Sequential(*layers)

    def forward(self, x):
        return self.mlp(x)


@HEAD_REGISTRY.register()
def mlp(**kwargs) -> MLP:
    return MLP(**kwargs)
