"""CLIP for clipfit: backbone loading (open_clip), prompt templates, truncated text encoding,
parameter selection, precision modes and classification helpers. Knows nothing about the engine."""
from .backbones import (
    BACKBONES,
    BackboneSpec,
    build_random_clip,
    build_tiny_clip,
    list_backbones,
    register_backbone,
    resolve_backbone,
)
from .classifier import (
    TextFeatureCache,
    TrainedStateMismatch,
    checkpoint_metadata,
    compute_text_features,
    cosine_logits,
    kd_loss,
    load_trained_state_dict,
    mse_bias_loss,
    trained_state_dict,
)
from .loading import (
    CONFIG_KEY,
    ClipInfo,
    ClipWeightsMismatch,
    ClipWeightsNotFound,
    ClipWeightsUnreadable,
    get_clip_info,
    load_clip,
    openai_cache_dir,
    read_state_dict,
)
from .params import PRESETS, Selection, select_trainable
from .precision import PRECISIONS, at_least_fp32, autocast, convert_model, input_dtype, make_grad_scaler, resolve_precision
from .templates import DEFAULT_TEMPLATE, IMAGENET_TEMPLATES_SELECT, prompt_for, resolve_template
from .text import TextEncoder, TokenizedPrompts, tokenize, tokenize_prompts

__all__ = [
    "BACKBONES", "BackboneSpec", "build_random_clip", "build_tiny_clip", "list_backbones", "register_backbone",
    "resolve_backbone", "TextFeatureCache", "TrainedStateMismatch", "checkpoint_metadata", "compute_text_features",
    "cosine_logits", "kd_loss", "load_trained_state_dict", "mse_bias_loss", "trained_state_dict", "CONFIG_KEY",
    "ClipInfo", "ClipWeightsMismatch", "ClipWeightsNotFound", "ClipWeightsUnreadable", "get_clip_info", "load_clip",
    "openai_cache_dir", "read_state_dict", "PRESETS", "Selection", "select_trainable", "PRECISIONS", "at_least_fp32",
    "autocast",
    "convert_model", "input_dtype", "make_grad_scaler", "resolve_precision", "DEFAULT_TEMPLATE",
    "IMAGENET_TEMPLATES_SELECT", "prompt_for", "resolve_template", "TextEncoder",
    "TokenizedPrompts", "tokenize", "tokenize_prompts",
]
