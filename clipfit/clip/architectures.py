"""Backbone names and how to build each architecture (without weights).

A backbone name is what users write in `MODEL.BACKBONE.NAME`. Three families are accepted:

* OpenAI / CoOp names (`ViT-B/16`, `RN50`, ...): mapped to the open_clip architecture with QuickGELU,
  since the OpenAI weights were trained with it (plain GELU gives silently wrong features).
* open_clip architecture names (`ViT-B-16`, `ViT-B-16-quickgelu`, ...), used with an open_clip
  `pretrained` tag such as `laion2b_s34b_b88k`.
* `tiny` and `tiny-rn`: the real `open_clip.model.CLIP` class with very small widths and random
  weights. They are test/demo backbones: they build in milliseconds, exercise every code path of the
  full-size models (same parameter names, same modules), and learn nothing useful.

The registry is plain data, like open_clip's pretrained table; `register_backbone` adds entries
(tests use it to exercise the weight lookup with a tiny architecture).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import open_clip
import torch
from open_clip.model import CLIP, CLIPTextCfg, CLIPVisionCfg

from ..errors import InvalidValue

__all__ = [
    "BackboneSpec",
    "BACKBONES",
    "register_backbone",
    "resolve_backbone",
    "list_backbones",
    "build_architecture",
    "build_tiny_clip",
    "build_random_clip",
]

# Builds an architecture with random weights; receives the requested image size (None = native).
Builder = Callable[[int | None], CLIP]


@dataclass(frozen=True)
class BackboneSpec:
    """One accepted backbone name.

    Attributes:
        name: the name users write (`ViT-B/16`).
        arch: the open_clip architecture (`ViT-B-16-quickgelu`), or a descriptive id for custom builders.
        openai_file: file name in `~/.cache/clip/` as openai/CLIP saves it (`ViT-B-16.pt`); "" if none.
        pretrained: default open_clip pretrained tag for the same weights (`openai`); "" if none.
        builder: custom architecture builder; None means `open_clip.get_model_config(arch)`.
        random_weights: the backbone is meant to be used with random weights (tiny test models):
            no weight lookup happens unless a weights file is given explicitly.
    """

    name: str
    arch: str
    openai_file: str = ""
    pretrained: str = ""
    builder: Builder | None = None
    random_weights: bool = False


def build_tiny_clip(image_size: int | None = None, vision: str = "vit") -> CLIP:
    """A very small CLIP of the OpenAI architecture (random init), for tests and demos.

    Text tower: width 64, 2 layers, 2 heads, context 77, the real 49,408-token vocabulary (so the
    real tokenizer works). Vision: a 2-layer ViT of width 64 with patch 16 (`vision="vit"`), or a
    ModifiedResNet of width 8 with one bottleneck per stage (`vision="rn"`, has BatchNorm and an
    attention pool like RN50). QuickGELU as in OpenAI CLIP. Deterministic given torch's seed.
    `image_size` defaults to 224 so CoOp-style configs (INPUT.SIZE 224) work unchanged; any multiple
    of 16 (ViT) or 32 (RN) works.
    """
    size = 224 if image_size is None else int(image_size)
    if vision == "vit":
        vision_cfg = CLIPVisionCfg(layers=2, width=64, head_width=32, patch_size=16, image_size=size)
    elif vision == "rn":
        vision_cfg = CLIPVisionCfg(layers=(1, 1, 1, 1), width=8, head_width=64, image_size=size)
    else:
        raise ValueError(f"build_tiny_clip: vision must be 'vit' or 'rn', got {vision!r}")
    text_cfg = CLIPTextCfg(context_length=77, vocab_size=49408, width=64, heads=2, layers=2)
    return CLIP(embed_dim=64, vision_cfg=vision_cfg, text_cfg=text_cfg, quick_gelu=True)


def _openai(name: str, arch: str, openai_file: str) -> BackboneSpec:
    return BackboneSpec(name=name, arch=arch, openai_file=openai_file, pretrained="openai")


BACKBONES: dict[str, BackboneSpec] = {}


def register_backbone(spec: BackboneSpec, overwrite: bool = False) -> BackboneSpec:
    """Adds a backbone name to the registry (returns it, so it can be used as a one-liner)."""
    if spec.name in BACKBONES and not overwrite:
        raise ValueError(f"backbone name {spec.name!r} is already registered; pass overwrite=True to replace it")
    BACKBONES[spec.name] = spec
    return spec


for _spec in (
    _openai("RN50", "RN50-quickgelu", "RN50.pt"),
    _openai("RN101", "RN101-quickgelu", "RN101.pt"),
    _openai("RN50x4", "RN50x4-quickgelu", "RN50x4.pt"),
    _openai("RN50x16", "RN50x16-quickgelu", "RN50x16.pt"),
    _openai("RN50x64", "RN50x64-quickgelu", "RN50x64.pt"),
    _openai("ViT-B/32", "ViT-B-32-quickgelu", "ViT-B-32.pt"),
    _openai("ViT-B/16", "ViT-B-16-quickgelu", "ViT-B-16.pt"),
    _openai("ViT-L/14", "ViT-L-14-quickgelu", "ViT-L-14.pt"),
    _openai("ViT-L/14@336px", "ViT-L-14-336-quickgelu", "ViT-L-14-336px.pt"),
    BackboneSpec("tiny", "tiny-vit", builder=lambda size: build_tiny_clip(size, "vit"), random_weights=True),
    BackboneSpec("tiny-rn", "tiny-rn", builder=lambda size: build_tiny_clip(size, "rn"), random_weights=True),
):
    register_backbone(_spec)


def list_backbones() -> list:
    """Registered backbone names (OpenAI/CoOp spellings and the tiny test backbones)."""
    return list(BACKBONES)


def _open_clip_arch_spec(name: str) -> BackboneSpec | None:
    # Only built-in configs: open_clip would fetch 'hf-hub:' names over the network.
    if name not in open_clip.list_models():
        return None
    return BackboneSpec(name=name, arch=name)


def resolve_backbone(name: str) -> BackboneSpec:
    """Maps a user-facing backbone name to its spec.

    Registered names match exactly, then case-insensitively (`vit-b/16`); anything else is tried as
    an open_clip architecture name.
    """
    if name in BACKBONES:
        return BACKBONES[name]
    by_lower = {key.lower(): spec for key, spec in BACKBONES.items()}
    if name.lower() in by_lower:
        return by_lower[name.lower()]
    spec = _open_clip_arch_spec(name)
    if spec is not None:
        return spec
    raise InvalidValue(
        f"unknown CLIP backbone {name!r} (MODEL.BACKBONE.NAME). Use one of the OpenAI/CoOp names "
        f"{list_backbones()} or an "
        f"open_clip architecture name (open_clip.list_models(), e.g. 'ViT-B-16') together with a "
        f"pretrained tag."
    )


def build_architecture(
    spec: BackboneSpec, image_size: int | None = None, force_quick_gelu: bool = False
) -> CLIP:
    """The model of `spec` with random weights (fp32, CPU, train mode as constructed)."""
    if spec.builder is not None:
        return spec.builder(image_size)
    config = open_clip.get_model_config(spec.arch)
    if config is None:
        raise InvalidValue(f"open_clip has no architecture config named {spec.arch!r} (backbone {spec.name!r}, "
                           "MODEL.BACKBONE.NAME)")
    # User choices (MODEL.BACKBONE.NAME) that clipfit cannot train: one message naming the key, no traceback.
    if config.pop("custom_text", False) or "hf_model_name" in config.get("text_cfg", {}):
        raise InvalidValue(
            f"architecture {spec.arch!r} (MODEL.BACKBONE.NAME) uses a custom (e.g. Hugging Face) text tower; clipfit "
            f"needs the OpenAI CLIP text transformer (open_clip.model.CLIP). Pick an architecture such as ViT-B-16."
        )
    if "timm_model_name" in config.get("vision_cfg", {}):
        raise InvalidValue(
            f"architecture {spec.arch!r} (MODEL.BACKBONE.NAME) uses a timm image tower; clipfit supports the "
            f"open_clip ViT and ModifiedResNet image towers (e.g. ViT-B-16, RN50)."
        )
    native = config["vision_cfg"]["image_size"]
    if image_size is not None and int(image_size) != native:
        raise ValueError(
            f"backbone {spec.name!r} takes {native}x{native} images but image_size={image_size} was "
            f"requested; set INPUT.SIZE to ({native}, {native})."
        )
    if force_quick_gelu:
        config["quick_gelu"] = True
    return CLIP(**config)


def build_random_clip(name: str, image_size: int | None = None) -> CLIP:
    """A full-size (or tiny) CLIP by name with random weights, in eval mode; for tests and benchmarks.

    Never looks for weight files. Deterministic given torch's seed.
    """
    spec = resolve_backbone(name)
    model = build_architecture(spec, image_size)
    return model.float().eval()


def native_image_size(model: torch.nn.Module) -> int:
    """Input resolution of the image tower (square)."""
    size = model.visual.image_size
    return int(size[0] if isinstance(size, (tuple, list)) else size)
