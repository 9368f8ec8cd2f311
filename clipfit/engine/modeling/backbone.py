"""`Backbone` (a feature extractor that knows its output width), its registry and the ResNets.

The ResNets are torchvision's (the same layer names as Dassl's, so Dassl checkpoints load) without the
final fc layer: `forward` returns the globally average-pooled features, `out_features` wide.
`pretrained=True` loads torchvision's original ImageNet weights, the ones Dassl downloads.
"""
from __future__ import annotations

import torch
import torch.nn as nn
from torchvision.models.resnet import BasicBlock, Bottleneck, conv3x3  # noqa: F401  (Dassl's resnet names)

from ...errors import UnsupportedOption, real_dassl_advice
from ..registry import Registry, build_module

BACKBONE_REGISTRY = Registry("BACKBONE")

# The names Dassl's backbone registry holds that this engine does not build: asked for one, the user gets
# "that is a Dassl backbone" rather than "unknown name, do you mean resnet18".
_DEPTHS = (18, 50, 101)
DASSL_ONLY_BACKBONES = frozenset({
    "alexnet", "vgg16", "cnn_digitsdg", "cnn_digitsingle", "cnn_digit5_m3sda", "wide_resnet_28_2",
    "wide_resnet_16_4", "mobilenetv2", "preact_resnet18",
    *(f"shufflenet_v2_x{w}" for w in ("0_5", "1_0", "1_5", "2_0")),
    *(f"efficientnet_b{i}" for i in range(8)),
    *(f"resnet{d}_{mix}_l{layers}" for d in _DEPTHS for mix in ("ms", "efdmix") for layers in ("123", "12", "1")),
    *(f"resnet{d}_dynamic" for d in _DEPTHS),
    *(f"resnet{d}_dynamic_ms_l{layers}" for d in _DEPTHS for layers in ("123", "12", "1")),
})


class Backbone(nn.Module):
    @property
    def out_features(self) -> int | None:
        """Width of the features `forward` returns (subclasses set `self._out_features`)."""
        return self.__dict__.get("_out_features")


def build_backbone(name: str, verbose: bool = True, **kwargs) -> nn.Module:
    if name in DASSL_ONLY_BACKBONES and name not in BACKBONE_REGISTRY:
        raise UnsupportedOption(
            f"backbone {name!r} is one of Dassl's backbones, which clipfit's built-in engine does not serve "
            f"(it builds {', '.join(BACKBONE_REGISTRY.registered_names())}); {real_dassl_advice()}, or register "
            "a backbone of that name into BACKBONE_REGISTRY yourself (e.g. from a module in CLIPFIT_PLUGINS)"
        )
    return build_module(BACKBONE_REGISTRY, name, "Backbone", verbose, **kwargs)


class ResNet(Backbone):
    def __init__(self, depth: int, pretrained: bool = True, **kwargs):
        super().__init__()
        import torchvision

        net = getattr(torchvision.models, f"resnet{depth}")(weights="IMAGENET1K_V1" if pretrained else None, **kwargs)
        self._out_features = net.fc.in_features
        for name, child in net.named_children():
            if name != "fc":
                self.add_module(name, child)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return torch.flatten(self.avgpool(x), 1)


@BACKBONE_REGISTRY.register()
def resnet18(pretrained: bool = True, **kwargs) -> ResNet:
    return ResNet(18, pretrained, **kwargs)


@BACKBONE_REGISTRY.register()
def resnet34(pretrained: bool = True, **kwargs) -> ResNet:
    return ResNet(34, pretrained, **kwargs)


@BACKBONE_REGISTRY.register()
def resnet50(pretrained: bool = True, **kwargs) -> ResNet:
    return ResNet(50, pretrained, **kwargs)


@BACKBONE_REGISTRY.register()
def resnet101(pretrained: bool = True, **kwargs) -> ResNet:
    return ResNet(101, pretrained, **kwargs)


@BACKBONE_REGISTRY.register()
def resnet152(pretrained: bool = True, **kwargs) -> ResNet:
    return ResNet(152, pretrained, **kwargs)


# Dassl's `dassl.modeling.backbone.resnet` helpers. Its blocks are torchvision's (the same layers), and the
# weights torchvision's ImageNet ones, as `ResNet(pretrained=True)` loads them.
model_urls = {f"resnet{d}": f"https://download.pytorch.org/models/resnet{d}-{h}.pth" for d, h in (
    (18, "f37072fd"), (34, "b627a593"), (50, "0676ba61"), (101, "63fe2227"), (152, "394f9c45"))}


def init_pretrained_weights(model: nn.Module, model_url: str) -> None:
    """Load the weights at `model_url` into `model`, keeping only the tensors whose name and shape match."""
    from torch.utils import model_zoo

    own = model.state_dict()
    pretrained = {k: v for k, v in model_zoo.load_url(model_url).items() if k in own and own[k].size() == v.size()}
    own.update(pretrained)
    model.load_state_dict(own)
