"""Dassl's network registry (whole models, e.g. image generators) and its builder; it starts empty."""
from __future__ import annotations

import torch.nn as nn

from ..registry import Registry, build_module

NETWORK_REGISTRY = Registry("NETWORK")


def build_network(name: str, verbose: bool = True, **kwargs) -> nn.Module:
    return build_module(NETWORK_REGISTRY, name, "Network", verbose, **kwargs)
