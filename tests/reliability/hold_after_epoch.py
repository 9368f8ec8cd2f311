"""A CLIPFIT_PLUGINS module for the SIGTERM tests: once epoch HOLD_AFTER_EPOCH is over (and saved), the run
writes the file HOLD_MARKER and waits, so the test sends its signal at a known point of training."""
import os
import time

from clipfit.engine.trainer import SimpleTrainer

_after_epoch = SimpleTrainer.after_epoch


def _after_epoch_then_hold(self):
    _after_epoch(self)
    if self.epoch + 1 == int(os.environ["HOLD_AFTER_EPOCH"]):
        with open(os.environ["HOLD_MARKER"], "w") as f:
            f.write(str(os.getpid()))
        time.sleep(600)  # the test's SIGTERM ends this wait; the test fails long before it runs out


SimpleTrainer.after_epoch = _after_epoch_then_hold
