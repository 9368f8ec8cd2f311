"""TensorBoard's `SummaryWriter` when the `tensorboard` package is installed; a writer that writes nothing
otherwise.

Real Dassl needs tensorboard; the built-in engine does not. Its own trainers then keep no writer (as
before), and `dassl.engine.trainer.SummaryWriter` (which repositories import from there, as from real
Dassl) is `NoOpSummaryWriter`: every call is accepted and does nothing, and the first one made says once
that no event files are written, so a run never fails for want of a logging package.
"""
from __future__ import annotations

_noted = False


class NoOpSummaryWriter:
    """Accepts SummaryWriter's constructor and every method (`add_scalar`, `flush`, `close`, ...); writes nothing."""

    def __init__(self, log_dir=None, *args, **kwargs):
        global _noted
        self.log_dir = log_dir
        if not _noted:
            _noted = True
            print(f"Note: tensorboard is not installed, so SummaryWriter(log_dir={log_dir}) writes no event files "
                  "(pip install tensorboard to get them)")

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        return _nothing

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass


def _nothing(*args, **kwargs) -> None:
    return None


def make_summary_writer(log_dir: str):
    """TensorBoard's writer when it is installed; None otherwise (the engine's trainers then write nothing)."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return None
    return SummaryWriter(log_dir=log_dir)
