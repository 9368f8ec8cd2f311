"""train.py end to end on CPU with a trainer and dataset registered from a plugin module."""
import os
import re
import subprocess
import sys

import pytest
import torch
from toy_plugin import make_toy_images

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    make_toy_images(str(root))
    return str(root)


def run_train(data_root, out_dir, *extra, env=None, check=True):
    cmd = [
        sys.executable, "train.py", "--root", data_root, "--seed", "1", "--trainer", "ToyTrainer",
        "--output-dir", str(out_dir), *extra,
    ]
    opts = ["DATASET.NAME", "ToyColors", "DATALOADER.NUM_WORKERS", "0", "DATALOADER.TRAIN_X.BATCH_SIZE", "4",
            "INPUT.SIZE", "(16, 16)", "INPUT.TRANSFORMS", "('normalize',)", "OPTIM.NAME", "sgd", "OPTIM.LR", "0.5",
            "OPTIM.LR_SCHEDULER", "cosine", "OPTIM.WARMUP_EPOCH", "1", "OPTIM.WARMUP_TYPE", "constant",
            "USE_CUDA", "False"]
    pythonpath = HERE + os.pathsep + os.environ.get("PYTHONPATH", "")
    full_env = dict(os.environ, PYTHONPATH=pythonpath, CLIPFIT_PLUGINS="toy_plugin")
    full_env.update(env or {})
    proc = subprocess.run(cmd + opts, cwd=REPO, env=full_env, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"train.py failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def accuracy(text):
    return float(re.findall(r"^\* accuracy: ([\d.]+)%$", text, re.M)[-1])


def test_train_then_eval_only_reproduces_accuracy(data_root, tmp_path):
    out = tmp_path / "run"
    proc = run_train(data_root, out, "OPTIM.MAX_EPOCH", "2")
    log = (out / "log.txt").read_text()
    assert (out / "net" / "model.pth.tar-2").is_file()
    assert sorted(os.listdir(out / "net")) == ["checkpoint", "model.pth.tar-2"]
    assert "Finish training\nDeploy the last-epoch model\nEvaluate on the *test* set\n=> result\n* total: 6\n" in log
    assert re.search(r"^epoch \[2/2\] batch \[4/4\] time [\d.]+ \([\d.]+\) data [\d.]+ \([\d.]+\) "
                     r"loss [\d.]+ \([\d.]+\) acc [\d.]+ \([\d.]+\) lr \d\.\d{4}e[+-]\d\d eta \d+:\d\d:\d\d$",
                     log, re.M)
    assert "Setting fixed seed: 1" in proc.stdout and "Setting fixed seed: 1" not in log
    assert "** Config **" in log and "Loading trainer: ToyTrainer" in log and "Loading evaluator: Classification" in log
    trained_acc = accuracy(log)

    eval_out = tmp_path / "eval"
    run_train(data_root, eval_out, "--eval-only", "--model-dir", str(out), "--load-epoch", "2")
    eval_log = (eval_out / "log.txt").read_text()
    assert f"Load {out}/net/model.pth.tar-2 to net (epoch=2, val_result=None)" in eval_log
    assert accuracy(eval_log) == trained_acc


def test_eval_only_missing_checkpoint_names_path(data_root, tmp_path):
    (tmp_path / "nothing").mkdir()
    proc = run_train(data_root, tmp_path / "e", "--eval-only", "--model-dir", str(tmp_path / "nothing"),
                     "--load-epoch", "5", check=False)
    assert proc.returncode != 0
    assert f"No model at {tmp_path}/nothing/net/model.pth.tar-5" in proc.stderr


def test_eval_only_without_model_dir_warns_untrained(data_root, tmp_path):
    proc = run_train(data_root, tmp_path / "e", "--eval-only")
    assert "load_model() is skipped" in proc.stdout
    assert "evaluating an UNTRAINED ToyTrainer model" in proc.stdout
    assert "* accuracy:" in proc.stdout


def _final_weights(out):
    return torch.load(out / "net" / "model.pth.tar-3", weights_only=False)["state_dict"]


def test_interrupted_run_resumes_to_identical_weights(data_root, tmp_path):
    args = ("OPTIM.MAX_EPOCH", "3", "TRAIN.CHECKPOINT_FREQ", "1")
    straight = tmp_path / "straight"
    run_train(data_root, straight, *args)

    resumed = tmp_path / "resumed"
    crashed = run_train(data_root, resumed, *args, env={"TOY_CRASH_AT_EPOCH": "2"}, check=False)
    assert crashed.returncode != 0 and (resumed / "net" / "model.pth.tar-2").is_file()
    proc = run_train(data_root, resumed, *args)
    assert f"Found checkpoint at {resumed} (will resume training)" in proc.stdout
    assert "Previous epoch: 2" in proc.stdout and "epoch [1/3]" not in proc.stdout and "epoch [3/3]" in proc.stdout
    a, b = _final_weights(straight), _final_weights(resumed)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_nan_loss_stops_and_keeps_last_good_checkpoint(data_root, tmp_path):
    out = tmp_path / "nan"
    proc = run_train(data_root, out, "OPTIM.MAX_EPOCH", "3", "TRAIN.CHECKPOINT_FREQ", "1",
                     env={"TOY_NAN_AT_EPOCH": "1"}, check=False)
    assert proc.returncode != 0
    assert "Loss is infinite or NaN at epoch 2/3" in proc.stderr and "last good checkpoint is kept" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert sorted(os.listdir(out / "net")) == ["checkpoint", "model.pth.tar-1"]
    state = torch.load(out / "net" / "model.pth.tar-1", weights_only=False)["state_dict"]
    assert all(torch.isfinite(v).all() for v in state.values())
