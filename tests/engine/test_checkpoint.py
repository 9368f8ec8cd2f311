import os
from unittest import mock

import pytest
import torch

from clipfit.compat import load_checkpoint, load_pretrained_weights, resume_from_checkpoint, save_checkpoint


def _state(model, epoch=3):
    return {"state_dict": model.state_dict(), "epoch": epoch, "optimizer": None, "scheduler": None, "val_result": None}


def test_save_layout_and_pointer(tmp_path, capsys):
    model = torch.nn.Linear(3, 2)
    state = _state(model)
    state["state_dict"] = {"module." + k: v for k, v in state["state_dict"].items()}
    fpath = save_checkpoint(state, str(tmp_path / "prompt_learner"))
    assert fpath == str(tmp_path / "prompt_learner" / "model.pth.tar-3")
    assert (tmp_path / "prompt_learner" / "checkpoint").read_text() == "model.pth.tar-3\n"
    assert f"Checkpoint saved to {fpath}" in capsys.readouterr().out
    ckpt = load_checkpoint(fpath)
    assert set(ckpt) == {"state_dict", "epoch", "optimizer", "scheduler", "val_result"}
    assert list(ckpt["state_dict"]) == ["weight", "bias"]


def test_interrupted_save_leaves_no_truncated_file(tmp_path):
    model = torch.nn.Linear(3, 2)
    save_checkpoint(_state(model, 1), str(tmp_path))
    good = (tmp_path / "model.pth.tar-1").read_bytes()

    def crash(obj, f, *a, **k):
        f.write(b"partial")
        raise KeyboardInterrupt

    with mock.patch("torch.save", crash), pytest.raises(KeyboardInterrupt):
        save_checkpoint(_state(model, 1), str(tmp_path))
    assert (tmp_path / "model.pth.tar-1").read_bytes() == good
    assert sorted(os.listdir(tmp_path)) == ["checkpoint", "model.pth.tar-1"]


def test_load_errors(tmp_path):
    with pytest.raises(ValueError, match="File path is None"):
        load_checkpoint(None)
    with pytest.raises(FileNotFoundError, match="File is not found at"):
        load_checkpoint(str(tmp_path / "nope.pth"))


def test_resume_returns_next_epoch(tmp_path):
    model = torch.nn.Linear(3, 2)
    save_checkpoint(_state(model, 2), str(tmp_path))
    other = torch.nn.Linear(3, 2)
    assert resume_from_checkpoint(str(tmp_path), other) == 2
    assert torch.equal(other.weight, model.weight)


def test_load_pretrained_weights_keeps_matching_keys(tmp_path, capsys):
    src = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Linear(2, 5))
    torch.save({"state_dict": {"module." + k: v for k, v in src.state_dict().items()}}, tmp_path / "w.pth")
    dst = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Linear(2, 4))
    load_pretrained_weights(dst, str(tmp_path / "w.pth"))
    assert torch.equal(dst[0].weight, src[0].weight)
    out = capsys.readouterr().out
    assert "Successfully loaded pretrained weights" in out
    assert "Layers discarded due to unmatched keys or size: ['1.weight', '1.bias']" in out
