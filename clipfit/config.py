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
    # The authors' CLIPFit scripts pass these; nothing reads them.
    cfg.TRAINER.COOP.W1 = 1.0
    cfg.TRAINER.COOP.W2 = 1.0

    cfg.TRAINER.COCOOP = CN()
    cfg.TRAINER.COCOOP.N_CTX = 16
    cfg.TRAINER.COCOOP.CTX_INIT = ""
    cfg.TRAINER.COCOOP.PREC = "fp16"

    cfg.TRAINER.CLIPFIT = CN()

    cfg.DATASET.SUBSAMPLE_CLASSES = "all"  # all, base or new


def get_cfg() -> CN:
    cfg = get_cfg_default()
    extend_cfg(cfg)
    return cfg
