"""Issue 26, resume: what a resume may change, and a checkpoint that cannot say what it continues."""
from __future__ import annotations

import os
import shutil
import sys

import pytest
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_bad_input import assert_user_error, train  # noqa: E402

from clipfit.app.results import find_result, log_files  # noqa: E402

TWO_EPOCHS = ("OPTIM.MAX_EPOCH", "2", "TRAIN.CHECKPOINT_FREQ", "1")


@pytest.fixture(scope="module")
def interrupted_run(data_root, tmp_path_factory):
    """A 2-epoch run (0 loader workers) stopped after epoch 1: its folder as a resume finds it."""
    out = tmp_path_factory.mktemp("interrupted") / "run"
    capsys = _NoCapture()
    code, _, err = train(capsys, data_root, out, *TWO_EPOCHS)
    assert code == 0, err
    os.remove(out / "prompt_learner" / "model.pth.tar-2")
    (out / "prompt_learner" / "checkpoint").write_text("model.pth.tar-1\n")
    log = (out / "log.txt").read_text()
    (out / "log.txt").write_text(log[:log.index("epoch [2/2]")])  # as a run stopped during epoch 2 leaves it
    assert find_result(str(out)) is None
    return out


class _NoCapture:
    """`train` reads its output from capsys; a module fixture has none (the output goes to pytest's)."""

    @staticmethod
    def readouterr():
        return "", ""


def _copy(run, tmp_path):
    target = tmp_path / "run"
    shutil.copytree(run, target)
    return target


def test_resume_with_another_number_of_loader_workers_is_refused(interrupted_run, data_root, tmp_path, capsys):
    run = _copy(interrupted_run, tmp_path)
    code, _, err = train(capsys, data_root, run, *TWO_EPOCHS, "DATALOADER.NUM_WORKERS", "1")
    assert_user_error(code, err, "holds an unfinished run (epoch 1 of 2) with other settings",
                      "DATALOADER.NUM_WORKERS: 0 then, 1 now", "loader workers' seeds",
                      "pass the values it started with", "FORCE=1")
    assert not (run / "prompt_learner" / "model.pth.tar-2").exists() and find_result(str(run)) is None


def test_the_number_of_loader_workers_changes_what_a_run_trains(data_root, tmp_path, capsys):
    """Why the rule holds: the same seed and settings with 0 and with 1 worker train other weights."""
    weights = []
    for workers in ("0", "1"):
        out = tmp_path / f"w{workers}"
        code, _, err = train(capsys, data_root, out, "DATALOADER.NUM_WORKERS", workers)
        assert code == 0, err
        weights.append(torch.load(out / "prompt_learner" / "model.pth.tar-1", weights_only=False)["state_dict"])
    assert weights[0].keys() == weights[1].keys()
    assert any(not torch.equal(weights[0][k], weights[1][k]) for k in weights[0])


@pytest.mark.parametrize("kept", [("state_dict", "epoch", "optimizer", "scheduler", "val_result"),  # Dassl's keys
                                  ("state_dict", "epoch", "optimizer", "scheduler", "val_result", "rng_state")])
def test_a_checkpoint_without_run_settings_resumes_with_a_loud_notice(interrupted_run, data_root, tmp_path, capsys,
                                                                     kept):
    run = _copy(interrupted_run, tmp_path)
    path = run / "prompt_learner" / "model.pth.tar-1"
    checkpoint = torch.load(path, weights_only=False)
    torch.save({k: v for k, v in checkpoint.items() if k in kept}, path)
    code, out, err = train(capsys, data_root, run, *TWO_EPOCHS, "OPTIM.LR", "0.5")  # another lr: not checkable
    assert code == 0, err
    lacks = "run settings" if "rng_state" in kept else "run settings and no RNG state"
    notice = f"!! WARNING: {path} holds no {lacks} (written by Dassl or an older clipfit). Resuming from it anyway"
    assert notice in out and "a changed one is taken without a check" in out and "FORCE=1" in out
    assert ("does not end with the weights of the uninterrupted run" in out) == ("rng_state" not in kept)
    assert "Previous epoch: 1" in out and "epoch [2/2]" in out
    with open(log_files(str(run))[-1]) as log:  # the resumed run's own log (log.txt-<time>) keeps it too
        assert notice in log.read()


def test_a_checkpoint_with_its_settings_resumes_without_a_notice(interrupted_run, data_root, tmp_path, capsys):
    run = _copy(interrupted_run, tmp_path)
    code, out, err = train(capsys, data_root, run, *TWO_EPOCHS)
    assert code == 0, err
    assert "WARNING" not in out and "Previous epoch: 1" in out and "* accuracy" in out
