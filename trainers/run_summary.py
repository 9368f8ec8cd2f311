"""The run summary a CLIP trainer prints before training: method, data, backbone, trained parameters,
schedule, the learning rate of every epoch, the loader plan and the output folder."""
from __future__ import annotations

from collections import Counter

from clipfit.clip import get_clip_info
from clipfit.core.lr_schedule import describe_lr_schedule, epoch_lrs


def run_summary_lines(trainer, classnames: list[str]) -> list[str]:
    """The `** Run summary **` block a CLIP trainer prints once its model is built."""
    cfg, info = trainer.cfg, get_clip_info(trainer.model.clip)
    weights = info.weights_path or info.pretrained or info.weights
    lines = [
        "** Run summary **",
        f"  method: {cfg.TRAINER.NAME} on {cfg.DATASET.NAME} ({len(classnames)} classes, "
        f"subsample {cfg.DATASET.SUBSAMPLE_CLASSES}, {shots_description(trainer)})",
        f"  backbone: {info.name} ({info.arch}, weights: {weights}), precision {trainer.precision} on {trainer.device}",
        f"  trainable parameters: {trainer.num_trainable():,}",
        f"  schedule: {cfg.OPTIM.MAX_EPOCH} epochs x {len(trainer.train_loader_x)} batches of "
        f"{cfg.DATALOADER.TRAIN_X.BATCH_SIZE}, {cfg.OPTIM.NAME} lr {cfg.OPTIM.LR} ({cfg.OPTIM.LR_SCHEDULER})",
        f"  output: {cfg.OUTPUT_DIR}",
    ]
    plan = getattr(trainer.dm, "loader_plan", None)  # the built-in engine's (a real Dassl decides no plan)
    if plan is not None:
        lines.insert(-1, f"  loaders: {plan.summary(trainer.device.type)}")
    if trainer.trained_module() is not None:  # what the scheduler will set, stepped on a copy of it
        lrs = describe_lr_schedule(epoch_lrs(trainer.sched, cfg.OPTIM.MAX_EPOCH), cfg.OPTIM.WARMUP_EPOCH)
        lines.insert(-1, f"  lr per epoch: {lrs}")
    return lines


def shots_description(trainer) -> str:
    """What NUM_SHOTS means for this run: Dassl's "all images" below 1, and the classes that have fewer."""
    shots = trainer.cfg.DATASET.NUM_SHOTS
    if shots < 1:
        return f"all training images (DATASET.NUM_SHOTS {shots}: no few-shot sampling)"
    counts = Counter(item.label for item in trainer.dm.dataset.train_x)
    short = sorted(n for n in counts.values() if n < shots)
    if not short:
        return f"{shots} shots"
    return (f"{shots} shots; NOTE: {len(short)} of {len(counts)} classes have fewer training images "
            f"({short[0]} to {short[-1]}), and all of theirs are used")
