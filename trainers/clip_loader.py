"""The CLIP backbone a run's config names (MODEL.BACKBONE, INPUT.SIZE), loaded and checked."""
from __future__ import annotations

import torch
import torch.nn as nn

from clipfit.clip import find_weights, get_clip_info, load_clip
from clipfit.errors import UserInputError


def _clip_arguments(cfg) -> dict:
    """What MODEL.BACKBONE asks load_clip for (name, tag, weights file, random weights)."""
    backbone = cfg.MODEL.BACKBONE
    if not backbone.NAME:
        raise UserInputError("MODEL.BACKBONE.NAME is empty: set it in the trainer config or with --backbone")
    return {"name": backbone.NAME, "pretrained": backbone.TAG, "weights_path": backbone.WEIGHTS,
            "random_init": not backbone.PRETRAINED}


def check_backbone_weights(cfg) -> None:
    """Raise now, before the data is prepared (minutes on ImageNet), when the weights load_backbone needs
    are missing; the error is load_backbone's own."""
    find_weights(**_clip_arguments(cfg))


def load_backbone(cfg, device: torch.device) -> nn.Module:
    """The CLIP of MODEL.BACKBONE (weights file, OpenAI cache, open_clip cache), fp32, eval mode."""
    arguments = _clip_arguments(cfg)
    backbone = cfg.MODEL.BACKBONE
    image_size = cfg.INPUT.SIZE[0]
    if not backbone.PRETRAINED:
        print(f"MODEL.BACKBONE.PRETRAINED is False: {backbone.NAME} starts from RANDOM weights")
    model = load_clip(**arguments, device=device,
                      image_size=image_size if backbone.NAME.startswith("tiny") else None)
    native = get_clip_info(model).image_size
    if native != image_size or cfg.INPUT.SIZE[0] != cfg.INPUT.SIZE[1]:
        raise UserInputError(
            f"INPUT.SIZE {tuple(cfg.INPUT.SIZE)} does not match {backbone.NAME}'s input resolution {native}; "
            f"set INPUT.SIZE ({native}, {native})"
        )
    return model
