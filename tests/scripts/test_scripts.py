"""The real bash scripts end to end on the demo data with the tiny backbone, then the report."""
import os
import subprocess
import sys

import pytest

from clipfit.testing.demo import make_demo_dataset

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("scripts")
    make_demo_dataset(str(root / "data"), num_classes=4, images_per_class=6, size=32)
    return root


def bash(world, script, *args, **env):
    full = dict(os.environ, PYTHON=sys.executable, DATA=str(world / "data"), OUTPUT=str(world / "out"), CFG="tiny_demo",
                OPTS="OPTIM.MAX_EPOCH 1 OPTIM.WARMUP_EPOCH 0")
    full.update(env)
    for key in ("TRAINER", "FORCE", "LAMBDA"):
        if key not in env:
            full.pop(key, None)
    return subprocess.run(["bash", f"scripts/{script}", *args], cwd=REPO, env=full, capture_output=True, text=True)


def run_dir(world, split, trainer="CLIPFit"):
    return world / "out" / "base2new" / split / "demo_shapes" / "shots_16" / trainer / "tiny_demo" / "seed1"


def test_base2new_train_test_skip_force_and_report(world):
    train = bash(world, "clipfit/base2new_train.sh", "demo_shapes", "1")
    assert train.returncode == 0, train.stdout + train.stderr
    assert "python train.py --root" in train.stdout
    train_dir = run_dir(world, "train_base")
    assert (train_dir / "prompt_learner" / "model.pth.tar-1").is_file()
    assert "* accuracy:" in (train_dir / "log.txt").read_text()
    assert '"options": [' in (train_dir / "clipfit_job.json").read_text()  # what the report labels it with

    test = bash(world, "clipfit/base2new_test.sh", "demo_shapes", "1")
    assert test.returncode == 0, test.stdout + test.stderr
    test_log = (run_dir(world, "test_new") / "log.txt").read_text()
    assert f"--model-dir {train_dir}" in test.stdout and "SUBSAMPLE NEW CLASSES!" in test_log
    assert "* accuracy:" in test_log

    again = bash(world, "clipfit/base2new_train.sh", "demo_shapes", "1")
    assert again.returncode == 0
    assert "Skip CLIPFit demo_shapes seed 1: train on base classes: finished at" in again.stdout
    assert "FORCE=1 reruns it" in again.stdout and "log.txt" in os.listdir(train_dir)
    assert not [f for f in os.listdir(train_dir) if f.startswith("log.txt-")]

    other = bash(world, "clipfit/base2new_train.sh", "demo_shapes", "1", OPTS="")  # tiny_demo's 30 epochs
    assert other.returncode == 2 and other.stdout == ""
    assert "holds a finished run (accuracy" in other.stderr
    assert ("with other settings than asked for: OPTIM.MAX_EPOCH: 1 then, 30 now; OPTIM.WARMUP_EPOCH: 0 then, 1 now. "
            "It is not skipped") in other.stderr
    assert "FORCE=1" in other.stderr and "OUTPUT=DIR" in other.stderr and "log.txt" in os.listdir(train_dir)

    forced = bash(world, "clipfit/base2new_train.sh", "demo_shapes", "1", FORCE="1")
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert "FORCE=1: moved the previous run to" in forced.stdout
    moved = [p for p in os.listdir(train_dir.parent) if p.startswith("seed1.old-")]
    assert len(moved) == 1 and (train_dir / "log.txt").is_file()

    report = subprocess.run(
        [sys.executable, "-m", "clipfit", "report", "--output-dir", str(world / "out"), "--no-published"],
        cwd=REPO, capture_output=True, text=True,
    )
    assert report.returncode == 0, report.stderr
    assert "| CLIPFit tiny_demo (OPTIM.MAX_EPOCH 1; OPTIM.WARMUP_EPOCH 0) " in report.stdout
    assert "Demo shapes (synthetic)" in report.stdout
    with open(world / "out" / "leaderboard.png", "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_test_before_train_is_explained(world):
    proc = bash(world, "clipfit/base2new_test.sh", "demo_shapes", "2")
    assert proc.returncode == 2
    assert "needs the finished training run" in proc.stderr
    assert "bash scripts/clipfit/base2new_train.sh demo_shapes 2" in proc.stderr


def test_missing_data_root_and_bad_usage(world, tmp_path):
    proc = bash(world, "clipfit/base2new_train.sh", "demo_shapes", "1", DATA=str(tmp_path / "nope"), FORCE="1")
    assert proc.returncode == 2 and f"data root {tmp_path / 'nope'} does not exist" in proc.stderr
    proc = bash(world, "clipfit/few_shot.sh", "demo_shapes", "1")
    assert proc.returncode == 2 and "usage: few_shot.sh DATASET SHOTS SEED" in proc.stderr


def test_a_dataset_missing_from_the_data_root_is_said_before_train_py_starts(world, tmp_path):
    """The first command of a new user (`base2new_train.sh imagenet 1`) on a root without that dataset: one line,
    before train.py prints its config, and no run folder is made (a later run would call it unfinished)."""
    (tmp_path / "data").mkdir()
    proc = bash(world, "clipfit/xd_train.sh", "1", DATA=str(tmp_path / "data"), OUTPUT=str(tmp_path / "out"))
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == (
        f"error: ImageNet: dataset folder not found: {tmp_path / 'data' / 'imagenet'}. Put the dataset there as "
        "DATASETS.md#imagenet describes (symlinks are fine), or set DATA to the folder that holds imagenet/. "
        "`clipfit data check --root <DATA>` lists what is missing.\n")
    assert not (tmp_path / "out").exists()


def test_scripts_run_python_from_path_by_hand_and_the_callers_interpreter_when_told(tmp_path):
    """CoOp's habit by hand (`python` from PATH); PYTHON, which `clipfit demo`, the sweep and the tests set to
    their own interpreter, wins."""
    fake = tmp_path / "python"
    fake.write_text('#!/bin/sh\necho "python from PATH: $*"\n')
    fake.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "PYTHON"}
    env["PATH"] = f"{tmp_path}{os.pathsep}{env.get('PATH', '')}"
    by_hand = subprocess.run(["bash", "scripts/coop/few_shot.sh", "dtd", "4", "1"], cwd=REPO, env=env,
                             capture_output=True, text=True)
    assert by_hand.stdout.strip() == "python from PATH: -m clipfit.app.runner CoOp few_shot dtd 4 1"
    told = subprocess.run(["bash", "scripts/coop/few_shot.sh", "dtd", "4", "1"], cwd=REPO,
                          env={**env, "PYTHON": "echo"}, capture_output=True, text=True)
    assert told.stdout.strip() == "-m clipfit.app.runner CoOp few_shot dtd 4 1"
