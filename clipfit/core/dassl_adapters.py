"""Narrow fixes that let a real Dassl (0.6.x) run on current PyTorch, applied by the switch (`compat`).

Each fix first probes the installed Dassl for its breakage and is applied only when the probe fails, so
a Dassl that has been fixed upstream is left as it is:
- its warm-up schedulers pass `verbose` positionally to `LRScheduler.__init__`, which torch removed;
- its `load_checkpoint` relies on `torch.load`'s old full-pickle default, but its checkpoints hold the
  warm-up scheduler's successor object, which `weights_only=True` (torch >= 2.6) refuses.
"""
from __future__ import annotations

import contextlib
import importlib
import io
import os
import pickle
import sys
import tempfile
import warnings

import torch


def _probe_optimizer() -> torch.optim.Optimizer:
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)


def _warmup_breaks(lr_scheduler_module) -> bool:
    optimizer = _probe_optimizer()
    successor = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lr_scheduler_module.ConstantWarmupScheduler(optimizer, successor, 1, 1e-5)
    except TypeError as e:
        return "positional argument" in str(e)
    return False


def _fix_warmup(lr_scheduler_module) -> None:
    base = lr_scheduler_module._BaseWarmupScheduler
    parent = base.__mro__[1]

    def __init__(self, optimizer, successor, warmup_epoch, last_epoch=-1, verbose=False):
        self.successor = successor
        self.warmup_epoch = warmup_epoch
        parent.__init__(self, optimizer, last_epoch)  # without `verbose`, which torch no longer takes

    base.__init__ = __init__


def _load_checkpoint_breaks(load_checkpoint) -> bool:
    """Whether Dassl's loader refuses a checkpoint holding a scheduler object, as its warm-up ones do."""
    optimizer = _probe_optimizer()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "probe.pth.tar")
        torch.save({"scheduler": torch.optim.lr_scheduler.StepLR(optimizer, step_size=1)}, path)
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # its "Unable to load checkpoint" line
                load_checkpoint(path)
        except pickle.UnpicklingError:  # what torch's weights_only loader raises for a refused object
            return True
    return False


def _fix_load_checkpoint(original) -> None:
    """Rebind every reference to Dassl's loader (dassl.utils, its torchtools, the trainer module...) to the
    engine's, which has Dassl's behaviour and messages and loads trusted local files as a full pickle."""
    from .checkpoints import load_checkpoint

    for name, module in list(sys.modules.items()):
        if (name == "dassl" or name.startswith("dassl.")) and getattr(module, "load_checkpoint", None) is original:
            module.load_checkpoint = load_checkpoint


def _module_if_present(name: str):
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def adapt_dassl() -> list[str]:
    """Apply the fixes the importable Dassl needs; print one line naming them; return them."""
    import dassl
    import dassl.utils

    adapted = []
    lr_scheduler = _module_if_present("dassl.optim.lr_scheduler")
    if hasattr(lr_scheduler, "ConstantWarmupScheduler") and _warmup_breaks(lr_scheduler):
        _fix_warmup(lr_scheduler)
        adapted.append("warm-up schedulers call LRScheduler.__init__ without the removed `verbose` argument")
    if _load_checkpoint_breaks(dassl.utils.load_checkpoint):
        _fix_load_checkpoint(dassl.utils.load_checkpoint)
        adapted.append("load_checkpoint loads its own checkpoints with weights_only=False")
    if adapted:
        version = getattr(dassl, "__version__", "?")
        print(f"clipfit: adapted Dassl {version} to torch {torch.__version__}: {'; '.join(adapted)}",
              file=sys.stderr)
    return adapted
