"""Trainers registered in TRAINER_REGISTRY (import through clipfit.app.plugins.import_plugins)."""
from . import clipfit  # noqa: F401
from . import coop, cocoop, zsclip  # noqa: F401
