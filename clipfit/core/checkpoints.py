"""Checkpoint files in Dassl's layout, read and written in one place: which file of a run folder to load,
saving (atomically, with the RNG state), loading, resuming, and the errors that name a file that cannot be used.

Engine-neutral: the built-in engine saves, resumes and loads with these, the CLIP trainers load with them
under either engine, and a real Dassl's broken loader is replaced by `load_checkpoint` (`dassl_adapters`).
torch is imported by the functions that read or write a tensor file: the report reads DIGEST_LINE and the
file names without it (`clipfit report` imports no torch).
"""
from __future__ import annotations

import hashlib
import os
import random
import re
import shutil
import warnings
from collections import OrderedDict
from functools import partial
from typing import TYPE_CHECKING, Any

from ..errors import UserInputError
from .atomic_files import atomic_write

if TYPE_CHECKING:
    import torch.nn as nn

_EPOCH_FILE = re.compile(r"^model\.pth\.tar-(\d+)$")
# A log line naming a checkpoint file by its content: the report pairs an evaluation with the training run
# only when the run saved the very file the evaluation loaded (a FORCE=1 retrain writes other files).
DIGEST_LINE = re.compile(r"^Checkpoint sha256 ([0-9a-f]{64}): (saved|loaded) (.+)$")


def digest_line(action: str, fpath: str) -> str:
    """`Checkpoint sha256 <hex>: saved|loaded <path>` for the file at `fpath` (read whole, in chunks)."""
    digest = hashlib.sha256()
    with open(fpath, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return f"Checkpoint sha256 {digest.hexdigest()}: {action} {fpath}"


class CheckpointError(UserInputError):
    """A checkpoint file that cannot be used; the message names the file."""


class CheckpointNotFound(CheckpointError, FileNotFoundError):
    pass


def saved_epochs(fdir: str) -> list[int]:
    """The epochs of the `model.pth.tar-<epoch>` files in `fdir`, ascending."""
    try:
        names = os.listdir(fdir)
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(int(m.group(1)) for m in map(_EPOCH_FILE.match, names) if m)


def model_file(fdir: str, epoch: int | None) -> str:
    """The file to evaluate: `model.pth.tar-<epoch>`, or without an epoch `model-best.pth.tar` when it exists,
    else the newest epoch (the CLIP trainers never write a best model). Names the epochs present otherwise."""
    epochs = saved_epochs(fdir)
    present = (f"epochs present: {', '.join(map(str, epochs))}" if epochs
               else f"{fdir} holds no checkpoint: is --model-dir the training run's output folder?")
    if epoch is not None:
        fpath = os.path.join(fdir, f"model.pth.tar-{epoch}")
        if not os.path.exists(fpath):
            raise CheckpointNotFound(f"No model at {fpath} ({present}; pass one as --load-epoch)")
        return fpath
    best = os.path.join(fdir, "model-best.pth.tar")
    if os.path.exists(best):
        return best
    if not epochs:
        raise CheckpointNotFound(f"No model in {fdir}: {present}")
    print(f"No --load-epoch given: loading the newest epoch, {epochs[-1]} ({present})")
    return os.path.join(fdir, f"model.pth.tar-{epochs[-1]}")


def checkpoint_writer(checkpoint: dict, fpath: str) -> str | None:
    """The trainer that wrote `fpath`: its stored settings say so (`run_config`); a checkpoint of an older
    release or of Dassl has none, then its run folder's log.txt (train.py's argument dump `trainer: NAME`)."""
    saved = (checkpoint.get("run_config") or {}).get("TRAINER.NAME")
    if saved:
        return saved.strip("'\"")  # stored as repr()
    log = os.path.join(os.path.dirname(os.path.dirname(fpath)), "log.txt")
    try:
        with open(log, encoding="utf-8", errors="replace") as f:
            for _, line in zip(range(400), f):  # the dump is near the top; a long log is not read whole
                if line.startswith("trainer: ") and line.strip() != "trainer:":
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def check_trained_checkpoint(checkpoint, fpath: str) -> dict:
    """`checkpoint` when it is a training checkpoint (a dict with `state_dict`), else a CheckpointError."""
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        what = f"keys {sorted(checkpoint)[:8]}" if isinstance(checkpoint, dict) else f"a {type(checkpoint).__name__}"
        raise CheckpointError(
            f"{fpath} is not a training checkpoint: it holds {what}, no `state_dict`. Point at a folder written "
            "by train.py (<output>/<model name>/model.pth.tar-<epoch>)"
        )
    return checkpoint


def capture_rng_state() -> dict:
    """Every RNG a training epoch draws from (Python, numpy, torch, CUDA), so a resumed run matches."""
    import numpy as np
    import torch

    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict) -> None:
    import numpy as np
    import torch

    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


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
    import torch

    os.makedirs(save_dir, exist_ok=True)
    if remove_module_from_keys:
        state["state_dict"] = strip_module_prefix(state["state_dict"])
    if not model_name:
        model_name = "model.pth.tar-" + str(state["epoch"])
    fpath = os.path.join(save_dir, model_name)
    atomic_write(fpath, partial(torch.save, state))
    print(f"Checkpoint saved to {fpath}")
    print(digest_line("saved", fpath))
    atomic_write(os.path.join(save_dir, "checkpoint"), lambda f: f.write(os.path.basename(fpath) + "\n"), mode="w")
    if is_best:
        best_fpath = os.path.join(os.path.dirname(fpath), "model-best.pth.tar")
        shutil.copy(fpath, best_fpath)
        print(f'Best checkpoint saved to "{best_fpath}"')
    return fpath


def load_checkpoint(fpath: str | None) -> Any:
    """Load a trusted local checkpoint (full pickle, so warm-up scheduler states load on torch >= 2.6)."""
    import torch

    if fpath is None:
        raise ValueError("File path is None")
    fpath = os.path.abspath(os.path.expanduser(fpath))
    if not os.path.exists(fpath):
        raise CheckpointNotFound(f'File is not found at "{fpath}"')
    map_location = None if torch.cuda.is_available() else "cpu"
    try:
        try:
            checkpoint = torch.load(fpath, map_location=map_location, weights_only=False)
        except UnicodeDecodeError:
            checkpoint = torch.load(fpath, map_location=map_location, weights_only=False, encoding="latin1")
        # Every trainer's evaluation loads through here (other repositories' load_model too): its log then
        # names the file by content, and the report pairs it with the run that saved that file.
        print(digest_line("loaded", fpath))
        return checkpoint
    except Exception as e:  # torch, zip and pickle each raise their own types for a damaged file
        size = os.path.getsize(fpath)
        raise CheckpointError(
            f"cannot read the checkpoint {fpath} ({size:,} bytes): {type(e).__name__}: {e}. The file is "
            "truncated, empty or not a checkpoint; delete it (a training run then resumes from an older one "
            "or starts over)"
        ) from e


def load_trained_checkpoint(fpath: str) -> dict:
    """A checkpoint written by save_checkpoint: a dict with at least `state_dict` and `epoch`."""
    return check_trained_checkpoint(load_checkpoint(fpath), fpath)


def pointed_checkpoint(fdir: str) -> str | None:
    """The path that `fdir/checkpoint` names (the newest save), or None without a pointer file."""
    try:
        with open(os.path.join(fdir, "checkpoint")) as pointer:
            name = pointer.readline().strip()
    except OSError:
        return None
    return os.path.join(fdir, name) if name else None


def _resume_candidates(fdir: str) -> list[str]:
    """The file named in `fdir/checkpoint` first, then the other epoch files, newest first."""
    pointed = pointed_checkpoint(fdir)
    paths = [pointed] if pointed else []
    paths += [os.path.join(fdir, f"model.pth.tar-{e}") for e in reversed(saved_epochs(fdir))]
    return list(dict.fromkeys(paths))


def pick_resume_checkpoint(fdir: str) -> tuple[str, dict] | None:
    """(path, checkpoint) of the newest readable checkpoint in `fdir`, saying which broken ones it passed over;
    None when there is none."""
    broken = []
    for fpath in _resume_candidates(fdir):
        if not os.path.exists(fpath):
            continue
        try:
            checkpoint = load_trained_checkpoint(fpath)
        except CheckpointError as e:
            print(f"WARNING: {e}")
            broken.append(os.path.basename(fpath))
            continue
        if broken:
            print(f"WARNING: resuming from the previous good checkpoint {fpath} instead of the unreadable "
                  f"{', '.join(broken)}")
        return fpath, checkpoint
    if broken:
        print(f"WARNING: no readable checkpoint in {fdir} ({', '.join(broken)} cannot be read)")
    return None


def apply_checkpoint(checkpoint: dict, model: nn.Module, optimizer=None, scheduler=None) -> int:
    """Load weights, optimizer, scheduler and RNG state; return the next epoch index."""
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


def resume_from_checkpoint(fdir: str, model: nn.Module, optimizer=None, scheduler=None) -> int:
    """Load the file named in `fdir/checkpoint` (or the newest good one); return the next epoch index."""
    picked = pick_resume_checkpoint(fdir)
    if picked is None:
        raise CheckpointNotFound(f"No readable checkpoint in {fdir}")
    print(f'Loading checkpoint from "{picked[0]}"')
    return apply_checkpoint(picked[1], model, optimizer, scheduler)


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
