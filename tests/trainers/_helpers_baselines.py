"""Shared pieces of the CoOp / CoCoOp / zero-shot CLIP tests (CPU, tiny backbone unless stated)."""
import functools
import os
import re
import subprocess
import sys

import pytest
import torch

from clipfit.app.plugins import import_plugins
from clipfit.clip import build_random_clip, load_clip
from clipfit.compat import build_trainer, set_random_seed
from clipfit.config import get_cfg
from clipfit.testing.demo import make_demo_dataset

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATASET_CONFIG = "configs/datasets/demo_shapes.yaml"
# Small, fast runs on the demo data: tiny backbone, no workers, few shots.
FAST_OPTS = ("MODEL.BACKBONE.NAME", "tiny", "DATALOADER.NUM_WORKERS", "0", "DATASET.NUM_SHOTS", "2",
             "DATALOADER.TRAIN_X.BATCH_SIZE", "4", "DATALOADER.TEST.BATCH_SIZE", "8")
ACCURACY = re.compile(r"^\* accuracy: ([\d.]+)%$", re.M)


def write_demo(root) -> str:
    make_demo_dataset(str(root), num_classes=4, images_per_class=6, size=32)
    return str(root)


@functools.lru_cache(maxsize=1)
def vitb16():
    """One full-size ViT-B/16 with random weights per test process (a few seconds to build).

    Shared: tests may build CoOp/CoCoOp models around it (they freeze it) but must not change its weights.
    """
    torch.manual_seed(0)
    return build_random_clip("ViT-B/16")


def tiny_clip(seed: int = 0):
    torch.manual_seed(seed)
    return load_clip("tiny")


def assert_same_update(got: dict, expected: dict, initial: dict) -> None:
    """State dicts after one optimizer step, from two mathematically equal steps (compiled and eager).

    torch.compile reorders fp32 reductions, so the updates differ by rounding noise that depends on the CPU
    and thread count: allowed is a thousandth of each tensor's update plus a few fp32 ulps of its values
    (the rounding of `w - lr * g`). A wrong step changes the update by its own order, far above that.
    """
    assert set(got) == set(expected) == set(initial)
    for name, value in expected.items():
        update = (value - initial[name]).abs().max()
        ulps = 4 * torch.finfo(torch.float32).eps * value.abs().max()
        torch.testing.assert_close(got[name], value, atol=float(1e-3 * update + ulps), rtol=0, msg=name)


def make_cfg(data_root, out_dir, trainer, config, opts=(), dataset_config=DATASET_CONFIG):
    """The frozen config of a fast CPU run (FAST_OPTS, seed 1) of `trainer` with `config` on the demo data."""
    import_plugins()
    cfg = get_cfg()
    cfg.merge_from_file(os.path.join(REPO, dataset_config))
    cfg.merge_from_file(os.path.join(REPO, config))
    cfg.TRAINER.NAME = trainer
    cfg.DATASET.ROOT = str(data_root)
    cfg.OUTPUT_DIR = str(out_dir)
    cfg.SEED = 1
    cfg.merge_from_list([*FAST_OPTS, "USE_CUDA", "False", *opts])
    cfg.freeze()
    return cfg


def make_trainer(data_root, out_dir, trainer, config, opts=(), dataset_config=DATASET_CONFIG):
    cfg = make_cfg(data_root, out_dir, trainer, config, opts, dataset_config)
    set_random_seed(cfg.SEED)
    return build_trainer(cfg)


def run_train_py(*args) -> str:
    """Runs train.py in a subprocess (CPU), asserts success, returns stdout + stderr."""
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", CLIPFIT_OFFLINE="1")
    proc = subprocess.run([sys.executable, "train.py", *map(str, args)], cwd=REPO, env=env,
                          capture_output=True, text=True)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    return output


def accuracy(output: str) -> float:
    found = ACCURACY.findall(output)
    assert found, output[-3000:]
    return float(found[-1])


def train_then_reload(data_root, out_dir, trainer, config, epochs, opts=()):
    """Train through train.py, then `--eval-only --load-epoch` from the output dir; asserts that the reload
    loaded the last epoch's prompt learner and reproduces the accuracy. Returns the training run's output."""
    # The same seed in both runs: the tiny backbone's random weights come from it.
    common = ["--root", data_root, "--seed", "1", "--trainer", trainer, "--dataset-config-file", DATASET_CONFIG,
              "--config-file", config]
    opts = [*FAST_OPTS, "OPTIM.MAX_EPOCH", str(epochs), "DATASET.SUBSAMPLE_CLASSES", "base", *opts]
    trained = run_train_py(*common, "--output-dir", out_dir / "train", *opts)
    reloaded = run_train_py(*common, "--output-dir", out_dir / "eval", "--eval-only", "--model-dir", out_dir / "train",
                            "--load-epoch", str(epochs), *opts)
    assert "Loading weights to prompt_learner from" in reloaded and f"(epoch = {epochs})" in reloaded
    assert accuracy(reloaded) == accuracy(trained)
    return trained


def interrupt_training(trainer, monkeypatch, epoch: int = 2) -> None:
    """Train until Ctrl-C arrives in the first batch of (0-based) `epoch`, as a user stopping a run would."""
    original = trainer.forward_backward

    def crash(batch):
        if trainer.epoch == epoch:
            raise KeyboardInterrupt
        return original(batch)

    monkeypatch.setattr(trainer, "forward_backward", crash)
    with pytest.raises(KeyboardInterrupt):
        trainer.train()


def assert_ctx_checkpoints_cross_load(trainer, data_root, tmp_path, theirs: dict, coop_opts=()) -> None:
    """`trainer` (saved at epoch 1 in tmp_path/a) loads the authors' checkpoint `theirs` (its "ctx" wins) and
    CoOp's, and CoOp loads the trainer's: CoOp's family shares one prompt learner."""
    folder = tmp_path / "authors" / "prompt_learner"
    folder.mkdir(parents=True)
    torch.save({"state_dict": theirs, "epoch": 100, "optimizer": None, "scheduler": None}, folder / "model.pth.tar-100")
    trainer.load_model(str(tmp_path / "authors"), epoch=100)
    assert torch.equal(trainer.model.prompt_learner.ctx.detach(), theirs["ctx"])
    coop = make_trainer(data_root, tmp_path / "coop", "CoOp", "configs/trainers/CoOp/vit_b16_ep50.yaml", opts=coop_opts)
    coop.save_model(0, str(tmp_path / "coop"))
    trainer.load_model(str(tmp_path / "coop"), epoch=1)
    assert torch.equal(trainer.model.prompt_learner.ctx, coop.model.prompt_learner.ctx)
    coop.load_model(str(tmp_path / "a"), epoch=1)
    saved = torch.load(tmp_path / "a" / "prompt_learner" / "model.pth.tar-1", weights_only=False)
    assert torch.equal(coop.model.prompt_learner.ctx.detach(), saved["state_dict"]["ctx"])
