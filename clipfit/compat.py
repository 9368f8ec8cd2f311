"""The one switch between the built-in engine and a real Dassl installation.

Public: trainers and datasets, ours and plugin authors', import every Dassl name from here.

`CLIPFIT_ENGINE=builtin` (default) re-exports `clipfit.engine`; `CLIPFIT_ENGINE=dassl` re-exports the
same names from an importable `dassl` package. Trainers and datasets import Dassl names only from here,
so everything they register lands in one engine's registries. The two are never mixed; a real Dassl that
breaks on current PyTorch is fixed first, narrowly (`dassl_adapters`).

Why the engine is chosen once, at import: a trainer or dataset class registers itself in the registry it
imported (`@TRAINER_REGISTRY.register()`) and subclasses the `TrainerX` / `DatasetBase` it imported, both
when its module is first imported. A switch made later would leave the classes registered in, and built on,
the other engine. So `ENGINE` is read from the environment when this module is first imported, and a real
Dassl is loaded (and fixed) whole then.

How the names get here: the built-in engine's are imported on first use (module `__getattr__`, see
`core/lazy_exports.py`), so that `import datasets` (what `clipfit --help`, `data check` and `report` read)
does not wait for torch; that is also why the commands import heavy modules inside their functions. A static
reader (IDE, type checker, a person) follows the explicit imports under `TYPE_CHECKING` below to each
name's definition in the built-in engine.
"""
from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING

from .core.lazy_exports import lazy_exports
from .errors import UserInputError

ENGINE_ENV = "CLIPFIT_ENGINE"
ENGINES = ("builtin", "dassl")

# name -> module of real Dassl that defines it
_DASSL_SOURCES = {
    "get_cfg_default": "dassl.config",
    "TRAINER_REGISTRY": "dassl.engine",
    "TrainerBase": "dassl.engine.trainer",
    "SimpleTrainer": "dassl.engine",
    "TrainerX": "dassl.engine",
    "build_trainer": "dassl.engine",
    "DATASET_REGISTRY": "dassl.data.datasets",
    "Datum": "dassl.data.datasets",
    "DatasetBase": "dassl.data.datasets",
    "build_dataset": "dassl.data.datasets",
    "DataManager": "dassl.data",
    "DatasetWrapper": "dassl.data",
    "build_data_loader": "dassl.data.data_manager",
    "build_transform": "dassl.data.transforms",
    "INTERPOLATION_MODES": "dassl.data.transforms.transforms",
    "EVALUATOR_REGISTRY": "dassl.evaluation",
    "build_evaluator": "dassl.evaluation",
    "compute_accuracy": "dassl.metrics",
    "build_optimizer": "dassl.optim",
    "build_lr_scheduler": "dassl.optim",
    "AverageMeter": "dassl.utils",
    "MetricMeter": "dassl.utils",
    "Registry": "dassl.utils",
    "check_availability": "dassl.utils",
    "check_isfile": "dassl.utils",
    "collect_env_info": "dassl.utils",
    "count_num_param": "dassl.utils",
    "listdir_nohidden": "dassl.utils",
    "load_checkpoint": "dassl.utils",
    "load_pretrained_weights": "dassl.utils",
    "mkdir_if_missing": "dassl.utils",
    "read_image": "dassl.utils",
    "read_json": "dassl.utils",
    "resume_from_checkpoint": "dassl.utils",
    "save_checkpoint": "dassl.utils",
    "set_random_seed": "dassl.utils",
    "setup_logger": "dassl.utils",
    "write_json": "dassl.utils",
}
__all__ = sorted(_DASSL_SOURCES) + ["ENGINE"]

if TYPE_CHECKING:  # the same names, for static readers only (tests/engine/test_compat_switch.py keeps them equal)
    from .engine.config_defaults import get_cfg_default  # noqa: F401
    from .engine.data.base_dataset import DatasetBase, Datum, build_dataset  # noqa: F401
    from .engine.data.data_manager import DataManager, DatasetWrapper, build_data_loader  # noqa: F401
    from .engine.data.transforms import INTERPOLATION_MODES, build_transform  # noqa: F401
    from .engine.evaluation import build_evaluator  # noqa: F401
    from .engine.meters import AverageMeter, MetricMeter  # noqa: F401
    from .engine.metrics import compute_accuracy  # noqa: F401
    from .engine.optim import build_lr_scheduler, build_optimizer  # noqa: F401
    from .engine.registry import (  # noqa: F401
        DATASET_REGISTRY,
        EVALUATOR_REGISTRY,
        TRAINER_REGISTRY,
        Registry,
        check_availability,
    )
    from .engine.trainer import SimpleTrainer, TrainerBase, TrainerX, build_trainer  # noqa: F401
    from .engine.utils import (  # noqa: F401
        check_isfile,
        collect_env_info,
        count_num_param,
        listdir_nohidden,
        load_checkpoint,
        load_pretrained_weights,
        mkdir_if_missing,
        read_image,
        read_json,
        resume_from_checkpoint,
        save_checkpoint,
        set_random_seed,
        setup_logger,
        write_json,
    )


class EngineUnavailable(UserInputError, ImportError):
    """CLIPFIT_ENGINE names an engine that cannot be used here."""


def selected_engine() -> str:
    engine = os.environ.get(ENGINE_ENV, "builtin").strip().lower() or "builtin"
    if engine not in ENGINES:
        raise EngineUnavailable(f"{ENGINE_ENV}={engine!r} is not an engine; use one of {list(ENGINES)}")
    return engine


def _load_dassl() -> dict:
    names = {}
    for name, module_name in _DASSL_SOURCES.items():
        try:
            module = importlib.import_module(module_name)
        except Exception as e:  # Dassl imports many optional packages at import time
            raise EngineUnavailable(
                f"{ENGINE_ENV}=dassl but `import {module_name}` failed: {type(e).__name__}: {e}. "
                "Install Dassl.pytorch and its requirements (e.g. tensorboard, scikit-learn, gdown, tabulate) "
                f"in this environment, or unset {ENGINE_ENV} to use the built-in engine."
            ) from e
        if not hasattr(module, name):
            raise EngineUnavailable(
                f"{ENGINE_ENV}=dassl but {module_name} has no `{name}`; this Dassl version is not supported "
                f"(expected Dassl.pytorch >= 0.6). Unset {ENGINE_ENV} to use the built-in engine."
            )
        names[name] = getattr(module, name)
    from .core.dassl_adapters import adapt_dassl

    adapt_dassl()
    # a fix may have rebound a function in Dassl's modules: re-export what they hold now
    return {name: getattr(importlib.import_module(module_name), name) for name, module_name in _DASSL_SOURCES.items()}


# The built-in engine's names are imported on first use (see the module docstring); a real Dassl whole, below.
__getattr__ = lazy_exports(__name__, {".engine": tuple(_DASSL_SOURCES)})[0]


ENGINE = selected_engine()
if ENGINE == "dassl":
    globals().update(_load_dassl())
