"""Loading a CLIP model with its weights: `load_clip`.

Weight lookup, first hit wins:

1. an explicit file (`weights_path`, the `MODEL.BACKBONE.WEIGHTS` config key): an OpenAI TorchScript
   archive, a `torch.save`d state dict or a `.safetensors` file (`weight_files`);
2. the OpenAI cache `~/.cache/clip/<file>`, with the file names openai/CLIP uses (`ViT-B-16.pt`, ...);
3. open_clip's own cache, then a download through open_clip when a network is reachable
   (`weight_lookup`, which also says when and why downloads are skipped).

Nothing found -> `ClipWeightsNotFound` naming the files looked for and the three ways to provide them.
Random weights only when asked for (`random_init=True`, or the `tiny` test backbones).
The model comes back in fp32 and eval mode, with a `ClipInfo` in `model.clip_info`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch
from open_clip.constants import OPENAI_DATASET_MEAN, OPENAI_DATASET_STD
from open_clip.model import CLIP, set_model_preprocess_cfg
from open_clip.pretrained import get_pretrained_cfg, list_pretrained_tags_by_model
from open_clip.transformer import QuickGELU

from ..errors import InvalidValue
from .architectures import BackboneSpec, build_architecture, native_image_size, resolve_backbone
from .weight_files import (
    CONFIG_KEY,
    ClipWeightsNotFound,
    existing_weights_file,
    load_state_dict_strict,
    read_state_dict,
)
from .weight_lookup import locate, not_found_message

__all__ = ["ClipInfo", "find_weights", "load_clip", "get_clip_info"]


@dataclass(frozen=True)
class ClipInfo:
    """What `load_clip` built: attached to the model as `model.clip_info`.

    `weights` is one of "file" (explicit path), "openai-cache", "open_clip" (its cache or a download),
    "random"; `weights_path` is the file used ("" for random weights).
    """

    name: str
    arch: str
    image_size: int
    context_length: int
    weights: str
    weights_path: str
    pretrained: str
    quick_gelu: bool
    mean: tuple[float, float, float]
    std: tuple[float, float, float]


def get_clip_info(model: torch.nn.Module) -> ClipInfo:
    """The `ClipInfo` that `load_clip` attached; a clear error for models built some other way."""
    info = getattr(model, "clip_info", None)
    if info is None:
        raise AttributeError("this model has no clip_info: it was not built by clipfit.clip.load_clip")
    return info


def _check_tag(spec: BackboneSpec, tag: str) -> None:
    if tag and not get_pretrained_cfg(spec.arch, tag):
        known = list_pretrained_tags_by_model(spec.arch)
        raise InvalidValue(
            f"open_clip has no pretrained tag {tag!r} (MODEL.BACKBONE.TAG) for architecture {spec.arch!r} "
            f"(backbone {spec.name!r}); " + (f"known tags: {known}" if known else "it has no pretrained weights")
            + f". Leave MODEL.BACKBONE.TAG empty for the backbone's default; to load a file, pass it as weights_path "
            f"({CONFIG_KEY})."
        )


def _needs_quick_gelu(spec: BackboneSpec, tag: str) -> bool:
    # e.g. 'ViT-B-16' + 'openai': the weights were trained with QuickGELU, the plain config uses GELU.
    return bool(tag and get_pretrained_cfg(spec.arch, tag).get("quick_gelu", False))


def _weights_file(
    spec: BackboneSpec, tag: str, weights_path: str, random: bool, cache_dir: str | None
) -> tuple[Path | None, str]:
    """(file, kind) of the weights to load; kind is "file", "openai-cache", "open_clip" or "random" (no file)."""
    if weights_path:
        return Path(os.path.expanduser(weights_path)), "file"
    if random:
        return None, "random"
    lookup = locate(spec, tag, cache_dir)
    if lookup.path is None:
        raise ClipWeightsNotFound(not_found_message(spec, tag, lookup))
    return lookup.path, lookup.kind


def _resolve(name: str, pretrained: str, weights_path: str) -> tuple[BackboneSpec, str, str]:
    """(backbone spec, pretrained tag, explicit weights file) of what load_clip is asked for."""
    spec = resolve_backbone(name)
    tag = pretrained or spec.pretrained
    if pretrained and not weights_path and os.path.isfile(os.path.expanduser(pretrained)):
        weights_path, tag = pretrained, spec.pretrained  # open_clip also accepts a file as `pretrained`
    _check_tag(spec, tag)
    return spec, tag, weights_path


def find_weights(
    name: str, pretrained: str = "", weights_path: str = "", cache_dir: str | None = None, random_init: bool = False
) -> Path | None:
    """The weights file `load_clip` with these arguments would read (None: random weights), found without
    building the model, so that a run can say that its weights are missing before it prepares its data.

    Raises what load_clip raises when the weights are missing (ClipWeightsNotFound, with the places looked at
    and the ways to provide them) or the backbone or tag is unknown."""
    spec, tag, weights_path = _resolve(name, pretrained, weights_path)
    file, _ = _weights_file(spec, tag, weights_path, random_init or spec.random_weights, cache_dir)
    return existing_weights_file(file) if file is not None else None


def load_clip(
    name: str,
    pretrained: str = "",
    weights_path: str = "",
    device: str | torch.device = "cpu",
    image_size: int | None = None,
    cache_dir: str | None = None,
    random_init: bool = False,
) -> CLIP:
    """Builds the CLIP backbone `name` with its weights (fp32, eval mode, on `device`).

    Args:
        name: OpenAI/CoOp name (`ViT-B/16`, `RN50`, ...), open_clip architecture (`ViT-B-16`), or
            `tiny` / `tiny-rn` (random test backbones).
        pretrained: open_clip pretrained tag (default `openai` for the OpenAI names).
        weights_path: explicit weights file (`MODEL.BACKBONE.WEIGHTS`); takes precedence.
        device: where the model goes.
        image_size: input resolution; only the tiny backbones accept sizes other than the native one.
        cache_dir: open_clip's download cache (None = its defaults).
        random_init: build with random weights and look for no file (config MODEL.BACKBONE.PRETRAINED False).

    Raises:
        ClipWeightsNotFound: no weights found.
        ClipWeightsMismatch: the weights do not fit the architecture.
        ClipWeightsUnreadable: the file is not a weights file.
    """
    spec, tag, weights_path = _resolve(name, pretrained, weights_path)
    quick_gelu = _needs_quick_gelu(spec, tag)

    file, kind = _weights_file(spec, tag, weights_path, random_init or spec.random_weights, cache_dir)
    state = read_state_dict(file) if file is not None else None
    model = build_architecture(spec, image_size, force_quick_gelu=quick_gelu)
    if state is not None:
        load_state_dict_strict(model, state, source=str(file), arch=spec.arch)
    model = model.float().eval().to(device)
    # A tag describes the weights only when they came from a cache/download for that tag.
    weights_tag = tag if kind in ("openai-cache", "open_clip") else ""
    return _attach_info(model, spec, weights_tag, kind, file)


def _attach_info(model: CLIP, spec: BackboneSpec, tag: str, kind: str, file: Path | None) -> CLIP:
    cfg = get_pretrained_cfg(spec.arch, tag) if tag else {}
    mean = tuple(cfg.get("mean", OPENAI_DATASET_MEAN))
    std = tuple(cfg.get("std", OPENAI_DATASET_STD))
    size = native_image_size(model)
    set_model_preprocess_cfg(
        model,
        {
            "size": size,
            "mean": mean,
            "std": std,
            "interpolation": cfg.get("interpolation", "bicubic"),
            "resize_mode": cfg.get("resize_mode", "shortest"),
        },
    )
    model.clip_info = ClipInfo(
        name=spec.name,
        arch=spec.arch,
        image_size=size,
        context_length=int(model.context_length),
        weights=kind,
        weights_path=str(file) if file is not None else "",
        pretrained=tag,
        quick_gelu=isinstance(model.transformer.resblocks[0].mlp.gelu, QuickGELU),
        mean=mean,
        std=std,
    )
    return model
