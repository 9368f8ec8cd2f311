"""The project's config tree: Dassl's defaults plus the keys CoOp, CoCoOp and CLIPFit read."""
from __future__ import annotations

from yacs.config import CfgNode as CN

from .compat import get_cfg_default


def extend_cfg(cfg: CN) -> None:
    """Add trainer and dataset keys (CoOp's names and defaults) to a Dassl default config."""
    cfg.TRAINER.COOP = CN()
    cfg.TRAINER.COOP.N_CTX = 16
    cfg.TRAINER.COOP.CSC = False
    cfg.TRAINER.COOP.CTX_INIT = ""
    cfg.TRAINER.COOP.PREC = "fp16"
    cfg.TRAINER.COOP.CLASS_TOKEN_POSITION = "end"
    cfg.TRAINER.COOP.COMPILE = False  # torch.compile the training step (clipfit addition)
    cfg.TRAINER.COOP.COMPILE_MODE = "default"  # torch.compile mode: default, reduce-overhead (CUDA graphs), max-autotune
    # The authors' CLIPFit scripts pass these; nothing reads them.
    cfg.TRAINER.COOP.W1 = 1.0
    cfg.TRAINER.COOP.W2 = 1.0

    cfg.TRAINER.COCOOP = CN()
    cfg.TRAINER.COCOOP.N_CTX = 16
    cfg.TRAINER.COCOOP.CTX_INIT = ""
    cfg.TRAINER.COCOOP.PREC = "fp16"
    cfg.TRAINER.COCOOP.COMPILE = False  # torch.compile the training step (clipfit addition)
    cfg.TRAINER.COCOOP.COMPILE_MODE = "default"  # torch.compile mode: default, reduce-overhead (CUDA graphs), max-autotune

    # CLIP backbone weights, shared by every CLIP trainer. MODEL.BACKBONE.PRETRAINED False = random init.
    cfg.MODEL.BACKBONE.WEIGHTS = ""  # explicit file: an OpenAI TorchScript .pt or a state dict
    cfg.MODEL.BACKBONE.TAG = ""  # open_clip pretrained tag, e.g. laion2b_s34b_b88k (default: openai)

    cfg.TRAINER.CLIPFIT = CN()
    cfg.TRAINER.CLIPFIT.PREC = "fp16"  # fp16 (authors' runs), amp, bf16 or fp32
    cfg.TRAINER.CLIPFIT.PRESET = "clipfit"  # clipfit, bitfit, layernorm, text_bias, full or none
    cfg.TRAINER.CLIPFIT.TEXT_PATTERNS = ()  # globs replacing the preset's text-tower selection
    cfg.TRAINER.CLIPFIT.IMAGE_PATTERNS = ()  # globs replacing the preset's image-tower selection
    cfg.TRAINER.CLIPFIT.LAMBDA = 8.0  # weight of the regulariser
    cfg.TRAINER.CLIPFIT.REG = "kd"  # kd (distillation to zero-shot text features), mse (bias change) or none
    cfg.TRAINER.CLIPFIT.TEMPLATE = ""  # prompt template with {}; empty = the dataset's hand-written one
    cfg.TRAINER.CLIPFIT.COMPILE = False  # torch.compile the training step
    cfg.TRAINER.CLIPFIT.COMPILE_MODE = "default"  # torch.compile mode: default, reduce-overhead (CUDA graphs), max-autotune

    cfg.DATASET.SUBSAMPLE_CLASSES = "all"  # all, base or new


def get_cfg() -> CN:
    cfg = get_cfg_default()
    extend_cfg(cfg)
    return cfg
