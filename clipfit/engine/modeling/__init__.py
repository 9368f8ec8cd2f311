"""Dassl's `dassl.modeling`: backbone, head and network registries, their builders and `SimpleNet`."""
from .backbone import BACKBONE_REGISTRY, Backbone, build_backbone
from .head import HEAD_REGISTRY, MLP, build_head
from .network import NETWORK_REGISTRY, build_network
from .simple_net import SimpleNet

__all__ = [
    "BACKBONE_REGISTRY", "Backbone", "build_backbone", "HEAD_REGISTRY", "MLP", "build_head", "NETWORK_REGISTRY",
    "build_network", "SimpleNet",
]
