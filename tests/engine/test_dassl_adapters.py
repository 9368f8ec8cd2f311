"""The switch's fixes for a real Dassl on current PyTorch, on stand-ins that have Dassl's two breakages
(real Dassl is on no package registry; test_real_dassl.py runs the trainers on one where installed)."""
import os
import subprocess
import sys
import textwrap
import types

import pytest
import torch
from test_compat_switch import FAKE_DASSL

from clipfit.core import dassl_adapters
from clipfit.core.checkpoints import load_checkpoint as engine_load_checkpoint
from clipfit.engine.optim import lr_scheduler as engine_lr_scheduler

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Dassl 0.6.3's shape of the two breakages, as documented: `verbose` handed positionally to
# LRScheduler.__init__, and torch.load left at its default (weights_only=True on torch >= 2.6).
BROKEN_LR_SCHEDULER = textwrap.dedent("""\
    import torch
    from torch.optim.lr_scheduler import LRScheduler

    class _BaseWarmupScheduler(LRScheduler):
        def __init__(self, optimizer, successor, warmup_epoch, last_epoch=-1, verbose=False):
            self.successor = successor
            self.warmup_epoch = warmup_epoch
            super().__init__(optimizer, last_epoch, verbose)

        def step(self, epoch=None):
            if self.last_epoch >= self.warmup_epoch:
                self.successor.step(epoch)
                self._last_lr = self.successor.get_last_lr()
            else:
                super().step(epoch)

    class ConstantWarmupScheduler(_BaseWarmupScheduler):
        def __init__(self, optimizer, successor, warmup_epoch, cons_lr, last_epoch=-1, verbose=False):
            self.cons_lr = cons_lr
            super().__init__(optimizer, successor, warmup_epoch, last_epoch, verbose)

        def get_lr(self):
            if self.last_epoch >= self.warmup_epoch:
                return self.successor.get_last_lr()
            return [self.cons_lr for _ in self.base_lrs]

    def build_lr_scheduler(optimizer, optim_cfg):
        successor = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, float(optim_cfg.MAX_EPOCH))
        return ConstantWarmupScheduler(optimizer, successor, optim_cfg.WARMUP_EPOCH, optim_cfg.WARMUP_CONS_LR)
    """)
BROKEN_TORCHTOOLS = textwrap.dedent("""\
    import torch

    def load_checkpoint(fpath):
        try:
            return torch.load(fpath, map_location="cpu")
        except Exception:
            print(f'Unable to load checkpoint from "{fpath}"')
            raise
    """)


def _module(name, source):
    module = types.ModuleType(name)
    exec(source, module.__dict__)
    return module


def _optimizer():
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=0.002)


def test_a_dassl_without_the_breakages_is_left_alone():
    assert not dassl_adapters._warmup_breaks(engine_lr_scheduler)
    assert not dassl_adapters._load_checkpoint_breaks(engine_load_checkpoint)


def test_the_warmup_fix_keeps_dassls_schedule():
    broken = _module("dassl_standin_lr_scheduler", BROKEN_LR_SCHEDULER)
    assert dassl_adapters._warmup_breaks(broken)
    dassl_adapters._fix_warmup(broken)
    assert not dassl_adapters._warmup_breaks(broken)
    optimizer = _optimizer()
    successor = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, 4.0)
    sched = broken.ConstantWarmupScheduler(optimizer, successor, 1, 1e-5)
    lrs = []
    for _ in range(3):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        sched.step()
    assert lrs == pytest.approx([1e-5, 0.002, 0.002 * (1 + 0.7071067811865476) / 2])


def test_the_checkpoint_fix_rebinds_every_reference_and_loads_scheduler_objects(tmp_path, monkeypatch):
    torchtools = _module("dassl.utils.torchtools", BROKEN_TORCHTOOLS)
    utils = types.ModuleType("dassl.utils")
    trainer = types.ModuleType("dassl.engine.trainer")
    utils.load_checkpoint = trainer.load_checkpoint = torchtools.load_checkpoint
    for module in (torchtools, utils, trainer):
        monkeypatch.setitem(sys.modules, module.__name__, module)
    assert dassl_adapters._load_checkpoint_breaks(torchtools.load_checkpoint)
    dassl_adapters._fix_load_checkpoint(torchtools.load_checkpoint)
    assert torchtools.load_checkpoint is utils.load_checkpoint is trainer.load_checkpoint is engine_load_checkpoint
    path = tmp_path / "model.pth.tar-1"
    optimizer = _optimizer()
    torch.save({"scheduler": torch.optim.lr_scheduler.StepLR(optimizer, 1).__dict__, "epoch": 1}, path)
    assert utils.load_checkpoint(str(path))["epoch"] == 1


def test_the_switch_fixes_a_broken_dassl_and_says_what_it_adapted(tmp_path):
    files = dict(FAKE_DASSL)
    files["dassl/__init__.py"] = '__version__ = "0.6.3"\n'
    files["dassl/optim/lr_scheduler.py"] = BROKEN_LR_SCHEDULER
    files["dassl/optim/__init__.py"] = (
        "from clipfit.engine.optim import build_optimizer\nfrom .lr_scheduler import build_lr_scheduler\n")
    files["dassl/utils/torchtools.py"] = BROKEN_TORCHTOOLS
    files["dassl/utils/__init__.py"] += "from .torchtools import load_checkpoint\n"
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    code = textwrap.dedent("""\
        import torch
        import clipfit.compat as c
        import dassl.utils.torchtools
        cfg = c.get_cfg_default()
        cfg.merge_from_list(["OPTIM.NAME", "sgd", "OPTIM.LR_SCHEDULER", "cosine", "OPTIM.WARMUP_EPOCH", "1",
                             "OPTIM.WARMUP_TYPE", "constant"])
        model = torch.nn.Linear(2, 2)
        optim = c.build_optimizer(model, cfg.OPTIM)
        sched = c.build_lr_scheduler(optim, cfg.OPTIM)
        torch.save({"state_dict": model.state_dict(), "scheduler": sched.state_dict(), "epoch": 1}, "ckpt")
        print(type(sched.state_dict()["successor"]).__name__, c.load_checkpoint("ckpt")["epoch"],
              dassl.utils.torchtools.load_checkpoint is c.load_checkpoint)
        """)
    env = dict(os.environ, CLIPFIT_ENGINE="dassl", PYTHONPATH=f"{tmp_path}{os.pathsep}{REPO}")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    *noted, printed = proc.stdout.splitlines()
    assert printed.split() == ["CosineAnnealingLR", "1", "True"], proc.stderr
    assert [line.split()[:4] for line in noted] == [["Checkpoint", "sha256", noted[0].split()[2], "loaded"]]
    notice = [line for line in proc.stderr.splitlines() if line.startswith("clipfit: adapted")]
    assert notice == [
        f"clipfit: adapted Dassl 0.6.3 to torch {torch.__version__}: warm-up schedulers call LRScheduler.__init__ "
        "without the removed `verbose` argument; load_checkpoint loads its own checkpoints with weights_only=False"
    ]
