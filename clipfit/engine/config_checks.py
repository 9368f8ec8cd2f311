"""Config values that would otherwise fail deep inside torch with a message that names no config key."""
from __future__ import annotations

import os

from ..errors import UserInputError
from .config import config_value as value_of

# DATALOADER.TRAIN_U.BATCH_SIZE is checked where a train_u set exists (check_positive, DataManager).
_POSITIVE = ("DATALOADER.TRAIN_X.BATCH_SIZE", "DATALOADER.TEST.BATCH_SIZE")
_NOT_NEGATIVE = ("DATALOADER.NUM_WORKERS", "DATALOADER.CACHE_TRAIN_MAX_GB", "OPTIM.LR")
_FIX = " (set it in the config file or as KEY VALUE)"


def _not_positive(cfg, key: str) -> str | None:
    value = value_of(cfg, key)
    return f"{key} is {value}; it must be a positive integer" if value <= 0 else None


def check_positive(cfg, key: str) -> None:
    if (bad := _not_positive(cfg, key)) is not None:
        raise UserInputError("invalid config: " + bad + _FIX)


def check_run_config(cfg) -> None:
    """Raise one UserInputError naming every key of the run whose value cannot work."""
    bad = [msg for key in _POSITIVE if (msg := _not_positive(cfg, key)) is not None]
    bad += [f"{key} is {value_of(cfg, key)}; it must not be negative" for key in _NOT_NEGATIVE
            if value_of(cfg, key) < 0]
    size = value_of(cfg, "INPUT.SIZE")
    if len(size) != 2 or not all(isinstance(s, int) and s > 0 for s in size):
        bad.append(f"INPUT.SIZE is {tuple(size)}; it must be (height, width), two positive integers")
    from .optim.lr_scheduler import AVAI_SCHEDS
    from .optim.optimizer import AVAI_OPTIMS

    for key, known in (("OPTIM.NAME", AVAI_OPTIMS), ("OPTIM.LR_SCHEDULER", AVAI_SCHEDS)):
        if value_of(cfg, key) not in known:
            bad.append(f"{key} is {value_of(cfg, key)!r}; use one of {list(known)}")
    if bad:
        raise UserInputError("invalid config: " + "; ".join(bad) + _FIX)


def check_epochs(cfg) -> None:
    """Training needs at least one epoch; with none the untrained model's accuracy would pass for a result."""
    if cfg.OPTIM.MAX_EPOCH <= 0:
        raise UserInputError(
            f"OPTIM.MAX_EPOCH is {cfg.OPTIM.MAX_EPOCH}: training needs at least 1 epoch; set a positive "
            "OPTIM.MAX_EPOCH, or use --eval-only to evaluate the model without training"
        )


def note_zero_lr(cfg) -> None:
    if cfg.OPTIM.LR == 0:
        print("Note: OPTIM.LR is 0: the optimizer changes no weight after the warmup epochs, so the result is close "
              "to the initial model's; set OPTIM.LR to train")


# Keys that do not change what a run trains: where things are, how fast, how it is tested or logged.
_NOT_TRAINING = ("OUTPUT_DIR", "RESUME", "DATASET.ROOT", "DATALOADER.NUM_WORKERS", "DATALOADER.TEST.", "TEST.",
                 "TRAIN.PRINT_FREQ", "TRAIN.CHECKPOINT_FREQ", "USE_CUDA", "VERBOSE", "MODEL.BACKBONE.WEIGHTS",
                 "MODEL.INIT_WEIGHTS")


def _flatten(node, prefix: str = "") -> dict[str, str]:
    out = {}
    for key, value in node.items():
        if hasattr(value, "items"):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = repr(value)
    return out


def training_settings(cfg) -> dict[str, str]:
    """The config values that decide what a run trains, as text; stored in its checkpoints."""
    return {k: v for k, v in _flatten(cfg).items()
            if not any(k == skip or (skip.endswith(".") and k.startswith(skip)) for skip in _NOT_TRAINING)}


def check_same_settings(saved: dict[str, str] | None, cfg, checkpoint: str, epoch: int | None = None) -> None:
    """A resumed run continues the saved one only with its settings (its scheduler and epochs come along).

    `checkpoint` is the file found, `epoch` the one it was saved at: the message names the run folder it lies
    in (the --resume folder, which need not be the --output-dir) and says whether that run had finished."""
    if not saved:
        return
    current = training_settings(cfg)
    # A key only one side has comes from a plugin imported in one run only: it is another class's node.
    differ = sorted(k for k in saved.keys() & current.keys() if saved[k] != current[k])
    if not differ:
        return
    shown = "; ".join(f"{k}: {saved[k]} then, {current[k]} now" for k in differ)
    run_dir = os.path.dirname(os.path.dirname(checkpoint))  # <run>/<model name>/model.pth.tar-N
    if cfg.RESUME and os.path.normpath(cfg.RESUME) != os.path.normpath(cfg.OUTPUT_DIR):
        way_out = (f"give --resume a run of these settings, or leave --resume out to train into "
                   f"{cfg.OUTPUT_DIR} from scratch")
    else:
        way_out = ("rerun the script with FORCE=1 (it moves the old run aside), move that folder away, "
                   "or pass another --output-dir")
    raise UserInputError(
        f"{run_dir} holds {_which_run(saved, epoch)} with other settings ({checkpoint}): {shown}. A run resumes "
        f"only with the settings it started with: {way_out}"
    )


def _which_run(saved: dict[str, str], epoch: int | None) -> str:
    """'a finished run' / 'an unfinished run (epoch 3 of 10)' when the checkpoint's epoch says, else 'a run'."""
    try:
        max_epoch = int(saved.get("OPTIM.MAX_EPOCH", ""))
    except ValueError:
        return "a run"
    if not isinstance(epoch, int):
        return "a run"
    return "a finished run" if epoch >= max_epoch else f"an unfinished run (epoch {epoch} of {max_epoch})"


def check_resume_folder(directory: str, names: list[str]) -> None:
    """An explicit --resume must lead to checkpoints; training from scratch instead would pass unnoticed."""
    if not os.path.isdir(directory):
        raise UserInputError(f"--resume {directory}: no such folder; give the output folder of the run to resume")
    missing = [n for n in names if not os.path.isdir(os.path.join(directory, n))]
    if missing:
        raise UserInputError(
            f"--resume {directory}: no checkpoint there (expected {os.path.join(directory, missing[0])}/); "
            "give the output folder of the run to resume, or leave --resume out to train from scratch"
        )
