"""What both codes are built from: one config, one random OpenAI-layout weights file, and our trainer built the way
the authors' is (its own `build_model`, no data loaders)."""
from __future__ import annotations

import contextlib
import os
from pathlib import Path
from types import SimpleNamespace

import torch

from ._compare import recorded

REPO = Path(__file__).resolve().parents[2]


def weights_file(path: Path, seed: int) -> Path:
    """Random ViT-B/16 weights in OpenAI's layout (open_clip's initialisation, `seed`), rounded to values fp16 holds
    exactly: the authors' loader casts the model to fp16 before PREC fp32 casts it back, losslessly so. Kept."""
    if path.exists():
        return path
    from clipfit.clip import build_random_clip

    torch.manual_seed(seed)
    state = {k: v.half().float() if v.is_floating_point() else v
             for k, v in build_random_clip("ViT-B/16").state_dict().items()}
    partial = path.with_suffix(".partial")
    torch.save(state, partial)
    os.replace(partial, path)
    return path


def make_cfg(adapter, weights: Path, output_dir: str):
    """Our config tree (the trainer's node has the authors' keys) with the method's config file, at fp32 on the CPU
    and without the warm-up epoch (whose 1e-5 learning rate would leave a step's change below fp32's resolution)."""
    from clipfit.app.plugins import import_plugins
    from clipfit.compat import TRAINER_REGISTRY
    from clipfit.config import get_cfg

    import_plugins()
    cfg = get_cfg()
    cfg.merge_from_file(str(REPO / adapter.config))
    node = TRAINER_REGISTRY.get(adapter.method).CONFIG_NODE
    cfg.merge_from_list(["TRAINER.NAME", adapter.method, "MODEL.BACKBONE.WEIGHTS", str(weights),
                         f"TRAINER.{node}.PREC", "fp32", "OPTIM.WARMUP_EPOCH", "0", "OUTPUT_DIR", output_dir,
                         "USE_CUDA", "False", *adapter.opts])
    cfg.freeze()
    return cfg


def our_trainer(cfg, classnames: list[str]):
    """Our trainer class with its own `build_model`, on the CPU, without data loaders."""
    from clipfit.compat import TRAINER_REGISTRY
    from clipfit.engine.trainer import TrainerBase

    cls = TRAINER_REGISTRY.get(cfg.TRAINER.NAME)
    trainer = cls.__new__(cls)
    TrainerBase.__init__(trainer)
    trainer.cfg, trainer.device = cfg, torch.device("cpu")
    trainer.dm = SimpleNamespace(dataset=SimpleNamespace(classnames=list(classnames), train_x=[]))
    trainer.train_loader_x, trainer.output_dir = [], cfg.OUTPUT_DIR
    trainer.epoch, trainer.max_epoch = 0, cfg.OPTIM.MAX_EPOCH
    trainer.build_model()
    return trainer


@contextlib.contextmanager
def reseeded(cls: type | None, seed: int):
    """`cls.__init__` starts from torch.manual_seed(seed): both codes' prompt learners draw from the same state."""
    if cls is None:
        yield
        return
    original = cls.__init__

    def init(self, *args, **kwargs):
        torch.manual_seed(seed)
        original(self, *args, **kwargs)

    cls.__init__ = init
    try:
        yield
    finally:
        cls.__init__ = original


def checkpoint_bytes(trainer, directory: str) -> int:
    """Size of the checkpoint file `save_model` writes for the trainer's registered model(s)."""
    trainer.save_model(0, directory)
    total = 0
    for name in trainer.get_model_names():
        path = os.path.join(directory, name, "model.pth.tar-1")
        total += os.path.getsize(path)
        os.remove(path)
    return total


def train_step(trainer, batch, calls_of: tuple[str, ...] = (), last_batch: bool = False):
    """One `forward_backward` (not the epoch's last batch unless `last_batch`), recording the loss functions."""
    trainer.set_model_mode("train")
    trainer.batch_idx, trainer.num_batches = (0, 1) if last_batch else (0, 10)
    with recorded(calls_of) as calls:
        summary = trainer.forward_backward(batch)
    return summary, calls
