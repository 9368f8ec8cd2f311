"""Which checkpoint file of a run folder to load, and the errors that name a file that cannot be used.

Engine-neutral: the built-in engine resumes with these, and the CLIP trainers load with them under either engine.
"""
from __future__ import annotations

import hashlib
import os
import re

from .errors import UserInputError

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
