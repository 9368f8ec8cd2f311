"""The authors' code in this process, unchanged on disk: their checkout at the end of sys.path, Dassl (this
project's engine served as `dassl`, or a real Dassl checkout), and only these process-local patches:

* their vendored `clip` downloads weights in `clip._download`: it returns the benchmark's local weights file;
* `.cuda()` on tensors and modules is a no-op (their PromptSRC calls it unconditionally; the benchmark is CPU);
* their trainer modules are imported under the package name `authors_trainers` (this project's is `trainers`),
  with the trainer registry emptied meanwhile so that their `MaPLe` does not clash with ours;
* `half_as_identity()`: while their forward and backward run at fp32, `Tensor.half()` returns the tensor. Their
  code casts the prompts (and PromptSRC its teacher features) to fp16 in every precision: at PREC fp32 that
  rounds the prompts and their gradients to fp16 (and PromptSRC's fp32 matmul then fails). The comparison of
  the fp32 maths turns that cast off; `fp16_casts_kept` in the output measures it left on.
"""
from __future__ import annotations

import contextlib
import importlib
import subprocess
import sys
import types
from pathlib import Path
from types import SimpleNamespace

import torch

PACKAGE = "authors_trainers"


def _no_cuda(obj, *args, **kwargs):
    return obj


class AuthorsCode:
    def __init__(self, checkout: str, weights: str, dassl: str | None = None):
        self.checkout = Path(checkout).resolve()
        missing = [p for p in ("trainers", "clip/clip.py") if not (self.checkout / p).exists()]
        if missing:
            raise SystemExit(f"--authors {checkout}: not an authors' checkout (no {', '.join(missing)} there)")
        if dassl is None:
            from clipfit.dassl_shim import SITE_DIR

            dassl = SITE_DIR
        sys.path.insert(0, str(dassl))
        sys.path.append(str(self.checkout))  # last: their trainers/ and datasets/ must not shadow ours (their
        # trainer modules are imported by path below); nothing else provides their `clip`
        import clip.clip as clip_module  # their vendored package

        clip_module._download = lambda url, root=None: str(weights)
        torch.Tensor.cuda = _no_cuda
        torch.nn.Module.cuda = _no_cuda
        package = types.ModuleType(PACKAGE)
        package.__path__ = [str(self.checkout / "trainers")]
        sys.modules[PACKAGE] = package
        self.dassl = dassl

    def commit(self) -> str:
        proc = subprocess.run(["git", "-C", str(self.checkout), "rev-parse", "HEAD"], capture_output=True, text=True)
        return proc.stdout.strip() or "unknown (not a git checkout)"

    def module(self, name: str):
        """Their `trainers/<name>.py`, imported with the trainer registry set aside."""
        from dassl.engine import TRAINER_REGISTRY

        saved = dict(TRAINER_REGISTRY._obj_map)
        TRAINER_REGISTRY._obj_map.clear()
        try:
            return importlib.import_module(f"{PACKAGE}.{name}")
        finally:
            TRAINER_REGISTRY._obj_map.clear()
            TRAINER_REGISTRY._obj_map.update(saved)

    def build_trainer(self, cls: type, cfg, classnames: list[str]):
        """Their trainer class as Dassl builds it, without the data loaders: their own `build_model`."""
        from dassl.engine.trainer import TrainerBase

        trainer = cls.__new__(cls)
        TrainerBase.__init__(trainer)
        trainer.cfg, trainer.device = cfg, torch.device("cpu")
        trainer.dm = SimpleNamespace(dataset=SimpleNamespace(classnames=list(classnames)))
        trainer.build_model()
        return trainer


@contextlib.contextmanager
def half_as_identity():
    original = torch.Tensor.half
    torch.Tensor.half = lambda self, *args, **kwargs: self
    try:
        yield
    finally:
        torch.Tensor.half = original
