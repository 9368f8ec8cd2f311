"""CLIP for clipfit: backbone loading (open_clip), prompt templates, truncated text encoding,
parameter selection, precision modes, the cosine classifier with its evaluation cache, CLIPFit's
regularisers and trained-parameter checkpoints. Knows nothing about the engine."""
from __future__ import annotations

from .architectures import (
    BACKBONES,
    BackboneSpec,
    build_random_clip,
    build_tiny_clip,
    list_backbones,
    register_backbone,
    resolve_backbone,
)
from .classifier import compute_text_features, cosine_logits, ensemble_text_features
from .feature_cache import TextFeatureCache
from .loading import ClipInfo, find_weights, get_clip_info, load_clip
from .params import PRESETS, Selection, select_trainable
from .precision import (
    PRECISIONS,
    at_least_fp32,
    autocast,
    convert_model,
    input_dtype,
    make_grad_scaler,
    resolve_precision,
)
from .prompted_vision import PromptedImageEncoder, frozen_image_features, takes_prompts
from .regularisers import kd_loss, mse_bias_loss
from .templates import DEFAULT_TEMPLATE, IMAGENET_TEMPLATES, IMAGENET_TEMPLATES_SELECT, prompt_for, resolve_template
from .text import TextEncoder, TokenizedPrompts, tokenize, tokenize_prompts
from .trained_state import TrainedStateMismatch, load_trained_state_dict
from .weight_files import CONFIG_KEY, ClipWeightsMismatch, ClipWeightsNotFound, ClipWeightsUnreadable, read_state_dict
from .weight_lookup import openai_cache_dir

__all__ = [
    "BACKBONES", "BackboneSpec", "build_random_clip", "build_tiny_clip", "list_backbones", "register_backbone",
    "resolve_backbone", "TextFeatureCache", "TrainedStateMismatch", "compute_text_features",
    "cosine_logits", "ensemble_text_features", "kd_loss", "load_trained_state_dict", "mse_bias_loss", "CONFIG_KEY",
    "ClipInfo", "ClipWeightsMismatch", "ClipWeightsNotFound", "ClipWeightsUnreadable", "find_weights", "get_clip_info",
    "load_clip",
    "openai_cache_dir", "read_state_dict", "PRESETS", "Selection", "select_trainable", "PRECISIONS", "at_least_fp32",
    "autocast",
    "convert_model", "input_dtype", "make_grad_scaler", "resolve_precision", "DEFAULT_TEMPLATE",
    "IMAGENET_TEMPLATES", "IMAGENET_TEMPLATES_SELECT", "prompt_for", "resolve_template", "TextEncoder",
    "PromptedImageEncoder", "frozen_image_features", "takes_prompts",
    "TokenizedPrompts", "tokenize", "tokenize_prompts",
]
