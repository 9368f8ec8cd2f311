"""Config values that would otherwise fail deep inside torch with a message that names no config key."""
from __future__ import annotations

import ast
import os

from ..errors import UserInputError
from .config_defaults import config_value as value_of

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


# Keys that do not change a run's result: where things are, how fast it runs, how it is logged.
_NOT_RESULT = ("OUTPUT_DIR", "RESUME", "DATASET.ROOT", "DATALOADER.NUM_WORKERS", "DATALOADER.TEST.",
               "DATALOADER.CACHE_EVAL", "DATALOADER.CACHE_TRAIN", "DATALOADER.CACHE_TRAIN_MAX_GB",
               "TRAIN.PRINT_FREQ", "TRAIN.CHECKPOINT_FREQ", "USE_CUDA", "VERBOSE", "MODEL.BACKBONE.WEIGHTS",
               "MODEL.INIT_WEIGHTS")
# Nor what a run trains: a resumed run may also be tested another way. But it keeps its loader workers: each
# draws the augmentation's random numbers from its own seed, so another count continues on other crops (a
# finished run measures the same thing with any count).
_NOT_TRAINING = (*(k for k in _NOT_RESULT if k != "DATALOADER.NUM_WORKERS"), "TEST.")


def _flatten(node, prefix: str = "", text=repr) -> dict[str, str]:
    out = {}
    for key, value in node.items():
        if hasattr(value, "items"):
            out.update(_flatten(value, f"{prefix}{key}.", text))
        else:
            out[prefix + key] = text(value)
    return out


def _kept(settings: dict[str, str], skipped: tuple[str, ...]) -> dict[str, str]:
    return {k: v for k, v in settings.items()
            if not any(k == skip or (skip.endswith(".") and k.startswith(skip)) for skip in skipped)}


def training_settings(cfg) -> dict[str, str]:
    """The config values that decide what a run trains, as text; stored in its checkpoints."""
    return _kept(_flatten(cfg), _NOT_TRAINING)


def result_settings(settings: dict[str, str]) -> dict[str, str]:
    """Of a run's flat config (dotted key -> value as text), the keys that decide its result."""
    return _kept(settings, _NOT_RESULT)


def printed_settings(cfg) -> dict[str, str]:
    """The config as train.py prints it into log.txt (yacs's `str(cfg)`: dotted keys, `str` of each value),
    so it compares with what the log reader parses back."""
    return _flatten(cfg, text=str)


def _literal(text: str):
    """A value's text as the Python value it spells (lists as tuples), else the text itself: `8` and `8.0`,
    `(64, 64)` and `[64, 64]` are the same setting written by different releases or by repr and str."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return text
    return tuple(value) if isinstance(value, list) else value


def differing_settings(saved: dict[str, str], current: dict[str, str]) -> list[str]:
    """The keys whose values differ, sorted; the one comparison of recorded and asked-for settings.

    A key only one side has comes from a plugin imported in one run only (another class's node) or from
    another release's defaults: it is not compared."""
    return sorted(k for k in saved.keys() & current.keys()
                  if saved[k] != current[k] and _literal(saved[k]) != _literal(current[k]))


def differences_text(saved: dict[str, str], current: dict[str, str], keys: list[str]) -> str:
    """`KEY: old then, new now; ...`: how a stop for other settings names them."""
    return "; ".join(f"{k}: {saved[k]} then, {current[k]} now{_WHY_IT_MATTERS.get(k, '')}" for k in keys)


def check_same_settings(saved: dict[str, str] | None, cfg, checkpoint: str, epoch: int | None = None) -> None:
    """A resumed run continues the saved one only with its settings (its scheduler and epochs come along).

    `checkpoint` is the file found, `epoch` the one it was saved at: the message names the run folder it lies
    in (the --resume folder, which need not be the --output-dir) and says whether that run had finished."""
    if not saved:
        return
    current = training_settings(cfg)
    differ = differing_settings(saved, current)
    if not differ:
        return
    shown = differences_text(saved, current, differ)
    run_dir = os.path.dirname(os.path.dirname(checkpoint))  # <run>/<model name>/model.pth.tar-N
    if cfg.RESUME and os.path.normpath(cfg.RESUME) != os.path.normpath(cfg.OUTPUT_DIR):
        way_out = (f"give --resume a run of these settings, or leave --resume out to train into "
                   f"{cfg.OUTPUT_DIR} from scratch")
    else:
        way_out = ("pass the values it started with, rerun the script with FORCE=1 (it moves the old run aside), "
                   "move that folder away, or pass another --output-dir")
    raise UserInputError(
        f"{run_dir} holds {_which_run(saved, epoch)} with other settings ({checkpoint}): {shown}. A run resumes "
        f"only with the settings it started with: {way_out}"
    )


def note_unverified_resume(checkpoint: dict, fpath: str) -> None:
    """A checkpoint without the stored settings or RNG state (Dassl's, an older clipfit's) still resumes, but
    loudly: nothing shows that the settings are the ones the run started with, nor can the run end as an
    uninterrupted one would."""
    lacks = [what for key, what in (("run_config", "run settings"), ("rng_state", "RNG state"))
             if checkpoint.get(key) is None]
    if not lacks:
        return
    consequences = []
    if "run settings" in lacks:
        consequences.append("nothing shows that this run's settings (OPTIM.LR, OPTIM.MAX_EPOCH, ...) are the ones it "
                            "started with: a changed one is taken without a check")
    if "RNG state" in lacks:
        consequences.append("the rest of the run draws other random numbers, so it does not end with the weights of "
                            "the uninterrupted run")
    bar = "!" * 78
    print(f"{bar}\n!! WARNING: {fpath} holds no {' and no '.join(lacks)} (written by Dassl or an older clipfit). "
          f"Resuming from it anyway, but {'; and '.join(consequences)}. For a result you can vouch for, train from "
          f"scratch: FORCE=1 with the scripts, or another --output-dir.\n{bar}")


_WHY_IT_MATTERS = {
    "DATALOADER.NUM_WORKERS": " (the random crops and flips come from the loader workers' seeds, so another count "
                              "trains on other images than the run that started)",
}


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
