"""Checkpoint save / load / resume in Dassl's layout, written atomically."""
from __future__ import annotations

import os
import shutil
import warnings
from collections import OrderedDict
from functools import partial
from typing import Any

import torch
import torch.nn as nn

from ...files import atomic_write
from .files import mkdir_if_missing
from .rng import restore_rng_state


def strip_module_prefix(state_dict: dict) -> OrderedDict:
    return OrderedDict((k[7:] if k.startswith("module.") else k, v) for k, v in state_dict.items())


def save_checkpoint(
    state: dict,
    save_dir: str,
    is_best: bool = False,
    remove_module_from_keys: bool = True,
    model_name: str = "",
) -> str:
    """Save `state` to `save_dir/<model_name or model.pth.tar-EPOCH>` and update the `checkpoint` pointer."""
    mkdir_if_missing(save_dir)
    if remove_module_from_keys:
        state["state_dict"] = strip_module_prefix(state["state_dict"])
    if not model_name:
        model_name = "model.pth.tar-" + str(state["epoch"])
    fpath = os.path.join(save_dir, model_name)
    atomic_write(fpath, partial(torch.save, state))
    print(f"Checkpoint saved to {fpath}")
    atomic_write(os.path.join(save_dir, "checkpoint"), lambda f: f.write(os.path.basename(fpath) + "\n"), mode="w")
    if is_best:
        best_fpath = os.path.join(os.path.dirname(fpath), "model-best.pth.tar")
        shutil.copy(fpath, best_fpath)
        print(f'Best checkpoint saved to "{best_fpath}"')
    return fpath


def load_checkpoint(fpath: str | None) -> Any:
    """Load a trusted local checkpoint (full pickle, so warm-up scheduler states load on torch >= 2.6)."""
    if fpath is None:
        raise ValueError("File path is None")
    fpath = os.path.abspath(os.path.expanduser(fpath))
    if not os.path.exists(fpath):
        raise FileNotFoundError(f'File is not found at "{fpath}"')
    map_location = None if torch.cuda.is_available() else "cpu"
    try:
        return torch.load(fpath, map_location=map_location, weights_only=False)
    except UnicodeDecodeError:
        return torch.load(fpath, map_location=map_location, weights_only=False, encoding="latin1")
    except Exception:
        print(f'Unable to load checkpoint from "{fpath}"')
        raise


def resume_from_checkpoint(fdir: str, model: nn.Module, optimizer=None, scheduler=None) -> int:
    """Load the file named in `fdir/checkpoint`; return the next epoch index."""
    with open(os.path.join(fdir, "checkpoint")) as checkpoint:
        model_name = checkpoint.readlines()[0].strip("\n")
        fpath = os.path.join(fdir, model_name)
    print(f'Loading checkpoint from "{fpath}"')
    checkpoint = load_checkpoint(fpath)
    model.load_state_dict(checkpoint["state_dict"])
    print("Loaded model weights")
    if optimizer is not None and checkpoint.get("optimizer") is not None:
        optimizer.load_state_dict(checkpoint["optimizer"])
        print("Loaded optimizer")
    if scheduler is not None and checkpoint.get("scheduler") is not None:
        scheduler.load_state_dict(checkpoint["scheduler"])
        print("Loaded scheduler")
    if checkpoint.get("rng_state") is not None:
        restore_rng_state(checkpoint["rng_state"])
    start_epoch = checkpoint["epoch"]
    print(f"Previous epoch: {start_epoch}")
    return start_epoch


def load_pretrained_weights(model: nn.Module, weight_path: str) -> None:
    """Copy every tensor of the file whose name and shape match the model; report what was discarded."""
    checkpoint = load_checkpoint(weight_path)
    state_dict = checkpoint["state_dict"] if "state_dict" in checkpoint else checkpoint
    model_dict = model.state_dict()
    matched, discarded = OrderedDict(), []
    for k, v in strip_module_prefix(state_dict).items():
        if k in model_dict and model_dict[k].size() == v.size():
            matched[k] = v
        else:
            discarded.append(k)
    model_dict.update(matched)
    model.load_state_dict(model_dict)
    if not matched:
        warnings.warn(f"Cannot load {weight_path} (check the key names manually)")
    else:
        print(f"Successfully loaded pretrained weights from {weight_path}")
        if discarded:
            print(f"Layers discarded due to unmatched keys or size: {discarded}")
