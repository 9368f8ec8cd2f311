"""Trainers registered in TRAINER_REGISTRY (import through clipfit.app.plugins.import_plugins)."""
from . import (  # noqa: F401
    clipfit,  # noqa: F401
    cocoop,
    coop,
    ivlp,
    kgcoop,
    maple,
    prograd,
    promptsrc,
    zsclip,
)
