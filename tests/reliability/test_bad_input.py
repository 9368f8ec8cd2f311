"""Every kind of bad input and fault of issue 13, one test (or one parametrized case) each.

Each case runs the real command in-process (train.py's `run`, the `clipfit` CLI, the runner, the CoOp parser)
and asserts the exit code and the key words of the message; a user error shows no traceback. The count of
cases is in the README's reliability paragraph: `pytest --collect-only -q tests/reliability` lists them.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

import pytest
import torch

from clipfit.app.commands import train as train_command
from clipfit.core.atomic_files import host_name
from clipfit.errors import USER_ERROR_EXIT, UserInputError, report_errors

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "results"))
import fake_logs  # noqa: E402

DATASET_CFG = os.path.join(REPO, "configs", "datasets", "demo_shapes.yaml")
TRAINER_CFG = os.path.join(REPO, "configs", "trainers", "CLIPFit", "vit_b16_ep10.yaml")
FAST = ["MODEL.BACKBONE.NAME", "tiny", "DATALOADER.NUM_WORKERS", "0", "DATASET.NUM_SHOTS", "2",
        "DATALOADER.TRAIN_X.BATCH_SIZE", "4", "DATALOADER.TEST.BATCH_SIZE", "8", "USE_CUDA", "False",
        "OPTIM.MAX_EPOCH", "1", "OPTIM.WARMUP_EPOCH", "0"]
DEAD_PID = 99_999_999  # above Linux's pid_max: never a live process


def train(capsys, root, out, *opts, flags=()):
    """train.py in-process: (exit code, stdout, stderr)."""
    argv = ["--root", str(root), "--seed", "1", "--trainer", "CLIPFit", "--dataset-config-file", DATASET_CFG,
            "--config-file", TRAINER_CFG, "--output-dir", str(out), *flags, *FAST, *opts]
    stdout = sys.stdout
    try:
        code = train_command.run(train_command.build_parser().parse_args(argv))
    finally:
        sys.stdout = stdout  # the run's log tee
    out_text, err_text = capsys.readouterr()
    return code, out_text, err_text


def assert_user_error(code, err, *words):
    assert code == USER_ERROR_EXIT, err
    assert "Traceback" not in err
    for word in words:
        assert word in err, f"{word!r} not in {err!r}"


# --- 1. FORCE=1: moved-aside folders are never results ------------------------------------------------------

def _b2n_train_run(root, seed_dir, accuracy):
    run_dir = os.path.join(root, "base2new", "train_base", "dtd", "shots_16", "CLIPFit", "vit_b16", seed_dir)
    fake_logs.write(run_dir, fake_logs.training_log(run_dir, accuracy, dataset="dtd", subsample="base"))
    return run_dir


def test_moved_aside_runs_are_not_in_the_report_or_the_parser(tmp_path, capsys):
    from clipfit.app.results.coop_parser import main as parse_main
    from clipfit.app.results.run_folders import is_run_folder, moved_aside_path

    new = _b2n_train_run(str(tmp_path), "seed1", 25.0)
    old = moved_aside_path(new)
    assert old.startswith(new + ".old-") and not is_run_folder(old)
    _b2n_train_run(str(tmp_path), os.path.basename(old), 20.0)
    from clipfit.app.cli import main

    assert main(["report", "--output-dir", str(tmp_path), "--out", str(tmp_path / "lb"), "--no-figures"]) == 0
    report = capsys.readouterr().out
    assert "25.00" in report and "20.00" not in report
    assert parse_main([os.path.dirname(new)]) == 0
    assert "* accuracy: 25.00% +- 0.00%" in capsys.readouterr().out


def test_demo_force_leaves_moved_aside_runs_out_of_its_leaderboard(tmp_path, capsys, monkeypatch):
    from clipfit.app.commands import demo
    from clipfit.app.jobs import Job

    output = tmp_path / "demo"
    runs = str(output / "runs")
    job = Job("CLIPFit", "base2new_train", "demo_shapes", 1, data_root=str(output / "data"), output_root=runs,
              cfg_override=demo.DEMO_CFG)
    for folder, accuracy in ((job.output_dir, 25.0), (job.output_dir + ".old-20260101-000000", 99.0)):
        fake_logs.write(folder, fake_logs.training_log(folder, accuracy, dataset="demo_shapes", cfg=demo.DEMO_CFG,
                                                       subsample="base"))
    monkeypatch.setattr(demo, "_run_step", lambda *args: (0, 0.0))  # the scripts ran (FORCE=1 moved the old run)
    parser = argparse.ArgumentParser()
    demo.add_arguments(parser)  # the command's own defaults (seed, trainers)
    assert demo.run(parser.parse_args(["--output", str(output), "--force"])) == 0
    out = capsys.readouterr().out
    assert "25.0" in out and "99.0" not in out


def test_force_refuses_to_move_a_run_in_use(tmp_path):
    from clipfit.app.run_lock import acquire
    from clipfit.app.runner import move_aside

    folder = tmp_path / "seed1"
    acquire(str(folder))  # this process: a live run
    with pytest.raises(UserInputError, match=f"in use by process {os.getpid()}"):
        move_aside(str(folder))


# --- 2. an empty image folder never makes a degenerate split ------------------------------------------------

def test_empty_image_folder_writes_no_split_and_data_check_says_so(tmp_path, capsys):
    from clipfit.app.cli import main

    images = tmp_path / "demo_shapes" / "images"
    images.mkdir(parents=True)
    code, _, err = train(capsys, tmp_path, tmp_path / "out")
    assert_user_error(code, err, "DemoShapes", "no images", str(images), "Nothing was written")
    assert not (tmp_path / "demo_shapes" / "split_DemoShapes.json").exists()
    assert main(["data", "check", "--root", str(tmp_path), "--datasets", "DemoShapes"]) == 1
    assert "no images found" in capsys.readouterr().out


def test_empty_imagenet_folders_write_no_preprocessed_lists(tmp_path, capsys):
    for sub in ("train", "val"):
        (tmp_path / "imagenet" / "images" / sub).mkdir(parents=True)
    (tmp_path / "imagenet" / "classnames.txt").write_text("")
    code, _, err = train(capsys, tmp_path, tmp_path / "out", "DATASET.NUM_SHOTS", "0",
                         flags=("--dataset-config-file", os.path.join(REPO, "configs", "datasets", "imagenet.yaml")))
    assert_user_error(code, err, "ImageNet", "no images for train / test", "Nothing was written")
    assert not (tmp_path / "imagenet" / "preprocessed.pkl").exists()


def test_an_empty_split_file_is_an_error_not_zero_images(data_root, tmp_path, capsys):
    from clipfit.app.cli import main

    root = tmp_path / "data"
    shutil.copytree(data_root, root)
    split = root / "demo_shapes" / "split_DemoShapes.json"
    split.write_text(json.dumps({"train": [], "val": [], "test": []}))
    code, _, err = train(capsys, root, tmp_path / "out")
    assert_user_error(code, err, str(split), "lists no images", "Delete it")
    assert main(["data", "check", "--root", str(root), "--datasets", "DemoShapes"]) == 1
    out = capsys.readouterr().out
    assert "broken" in out and "lists no images" in out


# --- 3. no epochs is no result -------------------------------------------------------------------------------

@pytest.mark.parametrize("epochs", ["0", "-2"])
def test_max_epoch_not_positive_is_an_error(data_root, tmp_path, capsys, epochs):
    code, out, err = train(capsys, data_root, tmp_path / "out", "OPTIM.MAX_EPOCH", epochs)
    assert_user_error(code, err, f"OPTIM.MAX_EPOCH is {epochs}", "--eval-only")
    assert "* accuracy" not in out


# --- 4. an explicit --resume must exist ------------------------------------------------------------------------

def test_resume_from_a_missing_folder_is_an_error(data_root, tmp_path, capsys):
    code, out, err = train(capsys, data_root, tmp_path / "out", flags=("--resume", str(tmp_path / "nope")))
    assert_user_error(code, err, "--resume", "nope", "no such folder")
    assert "train from scratch" not in out


# --- 5. a resumed run keeps its settings -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def finished_run(data_root, tmp_path_factory):
    """A 2-epoch run that kept both checkpoints (TRAIN.CHECKPOINT_FREQ 1)."""
    out = tmp_path_factory.mktemp("finished") / "run"
    argv = ["--root", data_root, "--seed", "1", "--trainer", "CLIPFit", "--dataset-config-file", DATASET_CFG,
            "--config-file", TRAINER_CFG, "--output-dir", str(out), *FAST, "OPTIM.MAX_EPOCH", "2",
            "TRAIN.CHECKPOINT_FREQ", "1"]
    stdout = sys.stdout
    try:
        assert train_command.run(train_command.build_parser().parse_args(argv)) == 0
    finally:
        sys.stdout = stdout
    return out


@pytest.mark.parametrize("opts,key", [(("OPTIM.LR", "0.01"), "OPTIM.LR"),
                                      (("OPTIM.MAX_EPOCH", "3"), "OPTIM.MAX_EPOCH")])
def test_resume_with_other_settings_stops_and_names_the_keys(finished_run, data_root, tmp_path, capsys, opts, key):
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    code, _, err = train(capsys, data_root, run, "OPTIM.MAX_EPOCH", "2", "TRAIN.CHECKPOINT_FREQ", "1", *opts)
    assert_user_error(code, err, key, "other settings", "FORCE=1", "another --output-dir")


def test_resume_from_another_folder_with_other_settings_names_that_folder(finished_run, data_root, tmp_path, capsys):
    code, _, err = train(capsys, data_root, tmp_path / "r2", "OPTIM.MAX_EPOCH", "2", "OPTIM.LR", "0.01",
                         flags=("--resume", str(finished_run)))
    assert_user_error(code, err, f"{finished_run} holds a finished run with other settings", "OPTIM.LR",
                      "--resume", "from scratch")
    assert "unfinished" not in err and f"{tmp_path / 'r2'} holds" not in err


def test_an_unfinished_run_with_other_settings_says_its_epoch(finished_run, data_root, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    os.remove(run / "prompt_learner" / "model.pth.tar-2")
    (run / "prompt_learner" / "checkpoint").write_text("model.pth.tar-1\n")
    code, _, err = train(capsys, data_root, run, "OPTIM.MAX_EPOCH", "2", "TRAIN.CHECKPOINT_FREQ", "1",
                         "OPTIM.LR", "0.01")
    assert_user_error(code, err, f"{run} holds an unfinished run (epoch 1 of 2)", "rerun the script with FORCE=1",
                      "another --output-dir")


def test_resume_after_moving_the_data_keeps_going(finished_run, data_root, tmp_path, capsys):
    """Where the data lies and the test batch size do not change what a run trains."""
    run, moved = tmp_path / "run", tmp_path / "moved_data"
    shutil.copytree(finished_run, run)
    shutil.copytree(data_root, moved)
    code, out, err = train(capsys, moved, run, "OPTIM.MAX_EPOCH", "2", "DATALOADER.TEST.BATCH_SIZE", "3")
    assert code == 0, err
    assert "Previous epoch: 2" in out and "* accuracy" in out


# --- 6. values that ran on without a word -----------------------------------------------------------------------

def test_negative_lambda_is_an_error(data_root, tmp_path, capsys):
    code, _, err = train(capsys, data_root, tmp_path / "out", "TRAINER.CLIPFIT.LAMBDA", "-5.0")
    assert_user_error(code, err, "TRAINER.CLIPFIT.LAMBDA is -5.0", "must not be negative")


@pytest.mark.parametrize("shots,words", [
    ("1000", "1000 shots; NOTE: 4 of 4 classes have fewer training images (3 to 3), and all of theirs are used"),
    ("0", "all training images (DATASET.NUM_SHOTS 0: no few-shot sampling)"),
    ("-3", "all training images (DATASET.NUM_SHOTS -3: no few-shot sampling)"),
])
def test_num_shots_the_data_cannot_give_are_shown(data_root, tmp_path, capsys, shots, words):
    code, out, err = train(capsys, data_root, tmp_path / "out", "DATASET.NUM_SHOTS", shots,
                           flags=("--eval-only",))
    assert code == 0, err
    assert words in out


def test_a_zero_learning_rate_is_noted(data_root, tmp_path, capsys):
    code, out, err = train(capsys, data_root, tmp_path / "out", "OPTIM.LR", "0.0")
    assert code == 0, err
    assert "Note: OPTIM.LR is 0: the optimizer changes no weight" in out


def test_seed_minus_one_says_there_is_no_fixed_seed(data_root, tmp_path, capsys):
    argv_seed = ["--seed", "-1"]
    code, out, err = train(capsys, data_root, tmp_path / "out", flags=("--eval-only", *argv_seed))
    assert code == 0, err
    assert "SEED is -1, so no fixed seed" in out
    assert "SEED is -1" in (tmp_path / "out" / "log.txt").read_text()


# --- 7. one run per output folder -----------------------------------------------------------------------------------

def _lock(folder, pid, hold=False):
    """A lock file naming `pid`; with `hold`, also held as a live run holds it (the caller closes the fd)."""
    import fcntl

    from clipfit.app.run_lock import lock_path

    os.makedirs(folder, exist_ok=True)
    fd = os.open(lock_path(str(folder)), os.O_RDWR | os.O_CREAT)
    os.write(fd, json.dumps({"pid": pid, "host": host_name(), "started": "earlier",
                             "command": "train.py other"}).encode())
    if hold:
        fcntl.flock(fd, fcntl.LOCK_EX)
        return fd
    os.close(fd)
    return None


def test_a_second_run_into_a_folder_in_use_refuses_naming_the_other(data_root, tmp_path, capsys):
    out = tmp_path / "out"
    fd = _lock(out, os.getppid(), hold=True)
    try:
        code, stdout, err = train(capsys, data_root, out)
    finally:
        os.close(fd)
    assert_user_error(code, err, "in use by process", str(os.getppid()), host_name(), "train.py other")
    assert not (out / "log.txt").exists()


def test_a_stale_lock_is_taken_over_with_a_notice(data_root, tmp_path, capsys):
    from clipfit.app.run_lock import lock_path

    out = tmp_path / "out"
    _lock(out, DEAD_PID)
    code, stdout, err = train(capsys, data_root, out, flags=("--eval-only",))
    assert code == 0, err
    assert f"Taking over the lock of {out} from process {DEAD_PID}" in stdout
    assert not os.path.exists(lock_path(str(out)))  # released at the end


# --- raw or misleading errors --------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["truncated", "empty", "garbage"])
def test_undecodable_image_names_the_file_and_the_dataset(data_root, tmp_path, capsys, kind):
    from clipfit.app.cli import main

    root = tmp_path / "data"
    shutil.copytree(data_root, root)
    image = sorted((root / "demo_shapes" / "images" / "red_circle").iterdir())[-1]  # a test image
    content = image.read_bytes()
    image.write_bytes({"truncated": content[: len(content) // 3], "empty": b"", "garbage": b"not a jpeg" * 50}[kind])
    workers = "1" if kind == "garbage" else "0"  # in a DataLoader worker, as with the default NUM_WORKERS 4
    code, _, err = train(capsys, root, tmp_path / "out", "DATALOADER.NUM_WORKERS", workers, flags=("--eval-only",))
    assert_user_error(code, err, str(image), "dataset DemoShapes", "clipfit data check")
    assert "Original Traceback" not in err
    assert main(["data", "check", "--root", str(root), "--datasets", "DemoShapes", "--images"]) == 1
    out = capsys.readouterr().out
    assert "1 image(s) cannot be decoded" in out and image.name in out


def _broken_checkpoint(path, kind):
    good = path.read_bytes()
    if kind == "truncated":
        path.write_bytes(good[: len(good) // 2])
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "garbage":
        path.write_bytes(b"\x00garbage" * 100)
    else:
        torch.save({"weights": 1}, path)


@pytest.mark.parametrize("kind", ["truncated", "empty", "garbage", "no state_dict"])
def test_a_broken_checkpoint_is_named_when_evaluating(finished_run, data_root, tmp_path, capsys, kind):
    model_dir = tmp_path / "train"
    shutil.copytree(finished_run, model_dir)
    ckpt = model_dir / "prompt_learner" / "model.pth.tar-2"
    _broken_checkpoint(ckpt, kind)
    code, _, err = train(capsys, data_root, tmp_path / "eval",
                         flags=("--eval-only", "--model-dir", str(model_dir), "--load-epoch", "2"))
    words = ("no `state_dict`",) if kind == "no state_dict" else ("cannot read the checkpoint", "delete it")
    assert_user_error(code, err, str(ckpt), *words)


def test_resume_falls_back_to_the_previous_good_checkpoint(finished_run, data_root, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    _broken_checkpoint(run / "prompt_learner" / "model.pth.tar-2", "truncated")
    code, out, err = train(capsys, data_root, run, "OPTIM.MAX_EPOCH", "2", "TRAIN.CHECKPOINT_FREQ", "1")
    assert code == 0, err
    assert "resuming from the previous good checkpoint" in out and "model.pth.tar-1" in out
    assert "Previous epoch: 1" in out and "epoch [2/2]" in out and "* accuracy" in out
    torch.load(run / "prompt_learner" / "model.pth.tar-2", weights_only=False)  # rewritten whole


def test_resume_with_no_readable_checkpoint_says_it_starts_over(data_root, tmp_path, capsys):
    run = tmp_path / "run"
    (run / "prompt_learner").mkdir(parents=True)
    (run / "prompt_learner" / "model.pth.tar-1").write_bytes(b"")
    (run / "prompt_learner" / "checkpoint").write_text("model.pth.tar-1\n")
    code, out, err = train(capsys, data_root, run)
    assert code == 0, err
    assert "no readable checkpoint in" in out and "train from scratch" in out and "* accuracy" in out


def test_model_dir_without_load_epoch_uses_the_newest_epoch(finished_run, data_root, tmp_path, capsys):
    code, out, err = train(capsys, data_root, tmp_path / "eval",
                           flags=("--eval-only", "--model-dir", str(finished_run)))
    assert code == 0, err
    assert "loading the newest epoch, 2 (epochs present: 1, 2)" in out and "* accuracy" in out


def test_a_missing_load_epoch_lists_the_epochs_present(finished_run, data_root, tmp_path, capsys):
    code, _, err = train(capsys, data_root, tmp_path / "eval",
                         flags=("--eval-only", "--model-dir", str(finished_run), "--load-epoch", "7"))
    assert_user_error(code, err, "model.pth.tar-7", "epochs present: 1, 2")


@pytest.mark.parametrize("key,value", [
    ("DATALOADER.TRAIN_X.BATCH_SIZE", "0"), ("DATALOADER.TRAIN_X.BATCH_SIZE", "-4"),
    ("DATALOADER.TEST.BATCH_SIZE", "0"), ("DATALOADER.NUM_WORKERS", "-1"), ("OPTIM.LR", "-0.1"),
    ("DATALOADER.CACHE_TRAIN_MAX_GB", "-1.0"),
])
def test_impossible_loader_and_optimizer_values_name_the_key(data_root, tmp_path, capsys, key, value):
    code, _, err = train(capsys, data_root, tmp_path / "out", key, value)
    assert_user_error(code, err, f"{key} is {value}", "config")


def test_a_diverging_loss_says_where_what_is_kept_and_what_to_try(data_root, tmp_path, capsys):
    out = tmp_path / "out"
    code, _, err = train(capsys, data_root, out, "OPTIM.LR", "1e10", "OPTIM.WARMUP_EPOCH", "0",
                         "OPTIM.MAX_EPOCH", "3", "TRAIN.CHECKPOINT_FREQ", "1")
    assert_user_error(code, err, "Loss is infinite or NaN at epoch", "batch", "OPTIM.LR (now 10000000000.0)")
    assert "last good checkpoint is kept" in err or "no checkpoint was saved yet" in err
    # The run's log says why it stopped, not only the terminal it ran in.
    assert err.strip().splitlines()[-1] in (out / "log.txt").read_text()


def test_an_output_dir_that_is_a_file(data_root, tmp_path, capsys):
    target = tmp_path / "a_file"
    target.write_text("")
    code, _, err = train(capsys, data_root, target)
    assert_user_error(code, err, str(target), "is a file", "--output-dir")


def test_a_read_only_output_folder(data_root, tmp_path, capsys, monkeypatch):
    import clipfit.app.run_lock as run_lock

    def denied(*args, **kwargs):  # tests may run as root, for whom chmod does not deny anything
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(run_lock.os, "open", denied)
    code, _, err = train(capsys, data_root, tmp_path / "out")
    assert_user_error(code, err, str(tmp_path / "out"), "not writable", "--output-dir")


def test_an_unwritable_cache_fallback(data_root, tmp_path, capsys, monkeypatch):
    import datasets._shared.storage as storage

    root = tmp_path / "data"
    shutil.copytree(data_root, root)
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("")
    monkeypatch.setattr(storage, "is_writable", lambda folder: False)  # a read-only dataset folder
    monkeypatch.setenv("CLIPFIT_CACHE", str(blocker / "cache"))
    code, _, err = train(capsys, root, tmp_path / "out", "DATASET.NUM_SHOTS", "1")
    assert_user_error(code, err, "is read-only", "CLIPFIT_CACHE", "shot_1-seed_1.pkl")


def test_an_int_for_a_float_key_is_that_float(tmp_path):
    yaml_file = tmp_path / "lambda.yaml"
    yaml_file.write_text("TRAINER:\n  CLIPFIT:\n    LAMBDA: 2\nOPTIM:\n  LR: 1\n")
    args = train_command.build_parser().parse_args(
        ["--trainer", "CLIPFit", "--config-file", str(yaml_file), "TRAINER.CLIPFIT.LAMBDA", "2"])
    cfg = train_command.setup_cfg(args)
    assert cfg.TRAINER.CLIPFIT.LAMBDA == 2.0 and isinstance(cfg.TRAINER.CLIPFIT.LAMBDA, float)
    assert cfg.OPTIM.LR == 1.0 and isinstance(cfg.OPTIM.LR, float)


def test_the_readme_lambda_command_runs(data_root, tmp_path, monkeypatch):
    """`LAMBDA=2 bash scripts/clipfit/few_shot.sh ...` builds options yacs accepts."""
    from clipfit.app.jobs import job_from_env

    monkeypatch.setenv("LAMBDA", "2")
    job = job_from_env("CLIPFit", "few_shot", ["demo_shapes", "2", "1"])
    args = train_command.build_parser().parse_args(job.command()[2:])
    assert train_command.setup_cfg(args).TRAINER.CLIPFIT.LAMBDA == 2.0


@pytest.mark.parametrize("with_log", [False, True])
def test_a_failed_job_points_at_the_real_log(data_root, tmp_path, with_log):
    from clipfit.app.jobs import Job
    from clipfit.app.runner import failure_hint

    job = Job("CLIPFit", "few_shot", "demo_shapes", 1, shots=2, data_root=data_root, output_root=str(tmp_path))
    if with_log:
        fake_logs.write(job.output_dir, "crashed\n")
        assert failure_hint(job) == f"see the message above and the run's log {os.path.join(job.output_dir, 'log.txt')}"
    else:
        assert "stopped before writing a log; its message is above" in failure_hint(job)
        assert not os.path.exists(job.output_dir)


def test_ctrl_c_prints_one_line_saying_how_to_resume(data_root, tmp_path, capsys, monkeypatch):
    from clipfit.engine.trainer import TrainerX

    def interrupt(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(TrainerX, "run_epoch", interrupt)
    out = tmp_path / "out"
    code, _, err = train(capsys, data_root, out)
    assert code == 130 and "Traceback" not in err
    assert err.strip() == f"Interrupted. Run the same command again to resume from the last checkpoint in {out}."


def test_temp_files_of_interrupted_writes_are_removed(data_root, tmp_path, capsys):
    from clipfit.core.atomic_files import atomic_write
    from datasets._shared.storage import DatasetFiles

    out = tmp_path / "out"
    (out / "prompt_learner").mkdir(parents=True)
    dead = out / "prompt_learner" / f".model.pth.tar-3.{DEAD_PID}@{host_name()}.k2j4.tmp"
    anonymous = out / "prompt_learner" / ".model.pth.tar-3.abc123.tmp"  # an older release's name
    live = out / f".log.{os.getpid()}@{host_name()}.zz.tmp"
    for path in (dead, anonymous, live):
        path.write_bytes(b"partial")
    os.utime(anonymous, (time.time() - 7200, time.time() - 7200))
    code, stdout, err = train(capsys, data_root, out, flags=("--eval-only",))
    assert code == 0, err
    assert not dead.exists() and not anonymous.exists() and live.exists()
    assert "Removed 2 temp file(s) of interrupted writes" in stdout

    cache_dir = tmp_path / "ds" / "split_fewshot"
    cache_dir.mkdir(parents=True)
    stale = cache_dir / f".shot_2-seed_1.pkl.{DEAD_PID}@{host_name()}.q1.tmp"
    stale.write_bytes(b"partial")
    DatasetFiles(str(tmp_path / "ds")).save("split_fewshot/x.txt", lambda p: atomic_write(p, lambda f: f.write(b"x")))
    assert not stale.exists()


# --- every user error: one message, no traceback unless CLIPFIT_DEBUG=1; internal errors keep theirs --------------

def test_clipfit_debug_shows_the_traceback(data_root, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CLIPFIT_DEBUG", "1")
    with pytest.raises(UserInputError, match="OPTIM.MAX_EPOCH is 0"):
        train(capsys, data_root, tmp_path / "out", "OPTIM.MAX_EPOCH", "0")


def test_internal_errors_keep_their_traceback_and_the_run_log_has_it_too(tmp_path):
    from clipfit.engine.utils.logger import setup_logger

    def bug():
        setup_logger(str(tmp_path))
        raise RuntimeError("a bug")

    stdout = sys.stdout
    try:
        with pytest.raises(RuntimeError, match="a bug"):
            report_errors(bug)
    finally:
        sys.stdout = stdout
    log = (tmp_path / "log.txt").read_text()
    assert "Traceback (most recent call last)" in log and "RuntimeError: a bug" in log


def test_a_worker_raised_user_error_is_shown_without_the_worker_traceback(capsys):
    from clipfit.engine.utils.images import ImageUnreadable

    def in_worker():
        raise ImageUnreadable("Caught ImageUnreadable in DataLoader worker process 0.\nOriginal Traceback (most "
                              "recent call last):\n  File x\nImageUnreadable: cannot read the image /a.jpg")

    assert report_errors(in_worker) == USER_ERROR_EXIT
    assert capsys.readouterr().err == "error: cannot read the image /a.jpg\n"


@pytest.mark.parametrize("flags,opts,words", [
    (("--trainer", "NoSuchTrainer"), (), ("unknown trainer 'NoSuchTrainer'", "CLIPFIT_PLUGINS")),
    ((), ("OPTIM.NAME", "adamx"), ("OPTIM.NAME is 'adamx'", "sgd")),
    ((), ("OPTIM.LR_SCHEDULER", "linear"), ("OPTIM.LR_SCHEDULER is 'linear'", "cosine")),
    (("--root", "/nonexistent/data"), (), ("dataset folder not found", "/nonexistent/data", "clipfit data check")),
    ((), ("MODEL.BACKBONE.NAME", "ViT-B/16"), ("ViT-B-16.pt", "MODEL.BACKBONE.WEIGHTS")),
    ((), ("MODEL.BACKBONE.NAME", "ViT-X/99"), ("unknown CLIP backbone 'ViT-X/99'", "MODEL.BACKBONE.NAME")),
    ((), ("TRAINER.CLIPFIT.PRESET", "lora"), ("unknown parameter preset 'lora'", "TRAINER.CLIPFIT.PRESET")),
    ((), ("DATASET.SUBSAMPLE_CLASSES", "half"), ("DATASET.SUBSAMPLE_CLASSES must be one of", "'half'")),
    ((), ("INPUT.TRANSFORMS", "('randaugment',)", "INPUT.RANDAUGMENT_M", "40"), ("INPUT.RANDAUGMENT_M is 40",
                                                                               "[0, 30]")),
    ((), ("DATALOADER.TRAIN_X.SAMPLER", "Foo"), ("Unknown sampler type: Foo", "RandomSampler")),
])
def test_errors_that_used_to_come_with_a_traceback(data_root, tmp_path, capsys, monkeypatch, flags, opts, words):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("CLIPFIT_OFFLINE", "1")
    code, _, err = train(capsys, data_root, tmp_path / "out", *opts, flags=flags)
    assert_user_error(code, err, *words)


@pytest.mark.parametrize("flags,opts,words", [
    (("--seed", "99999999999"), (), ("SEED is 99999999999", "between 0 and 2**32 - 1")),
    ((), ("TRAINER.CLIPFIT.TEMPLATE", "'{} {}'"), ("TRAINER.CLIPFIT.TEMPLATE '{} {}'", "exactly one {}")),
    ((), ("TRAINER.CLIPFIT.TEMPLATE", "'a {name} photo'"), ("exactly one {}", "no other braces")),
    ((), ("INPUT.SIZE", "(224,)"), ("INPUT.SIZE is (224,)", "two positive integers")),
    ((), ("INPUT.SIZE", "(0, 0)"), ("INPUT.SIZE is (0, 0)", "two positive integers")),
    ((), ("INPUT.TRANSFORMS", "('foo',)"), ("unknown transform(s) ['foo']", "random_resized_crop")),
    # A list flag just before the KEY VALUE options takes them all as its values.
    (("--target-domains", "b"), (), ("--target-domains took the config option(s) ['MODEL.BACKBONE.NAME'",
                                     "before another flag")),
])
def test_values_that_used_to_fail_deep_inside(data_root, tmp_path, capsys, flags, opts, words):
    code, _, err = train(capsys, data_root, tmp_path / "out", *opts, flags=flags)
    assert_user_error(code, err, *words)


@pytest.mark.parametrize("text,kind", [("- a\n- b\n", "list"), ("hello\n", "str")])
def test_a_config_file_that_is_not_a_mapping(data_root, tmp_path, capsys, text, kind):
    path = tmp_path / "trainer.yaml"
    path.write_text(text)
    code, _, err = train(capsys, data_root, tmp_path / "out", flags=("--config-file", str(path)))
    assert_user_error(code, err, f"--config-file {path}: must be a mapping of config keys", f"not a YAML {kind}")


def test_a_script_with_bad_input_exits_cleanly(tmp_path):
    """The whole path a user takes: bash script -> runner -> train.py, one subprocess."""
    env = dict(os.environ, PYTHON=sys.executable, DATA=str(tmp_path / "nodata"), OUTPUT=str(tmp_path / "out"),
               PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run(["bash", "scripts/clipfit/few_shot.sh", "demo_shapes", "2", "1"], cwd=REPO, env=env,
                          capture_output=True, text=True)
    assert proc.returncode == USER_ERROR_EXIT and "Traceback" not in proc.stderr
    assert "data root" in proc.stderr and "DATA=" in proc.stderr


# --- a checkpoint of another trainer or other settings --------------------------------------------------------------

COOP_CFG = os.path.join(REPO, "configs", "trainers", "CoOp", "tiny_demo.yaml")
COCOOP_CFG = os.path.join(REPO, "configs", "trainers", "CoCoOp", "vit_b16_c4_ep10_batch1_ctxv1.yaml")


@pytest.mark.parametrize("trainer,cfg", [("CoOp", COOP_CFG), ("CoCoOp", COCOOP_CFG)])
def test_a_clipfit_checkpoint_evaluated_by_another_trainer_names_the_writer(finished_run, data_root, tmp_path, capsys,
                                                                            trainer, cfg):
    code, _, err = train(capsys, data_root, tmp_path / "eval", "MODEL.BACKBONE.NAME", "tiny",
                         flags=("--trainer", trainer, "--config-file", cfg, "--eval-only",
                                "--model-dir", str(finished_run)))
    assert_user_error(code, err, "does not match", "written by CLIPFit", "missing from the checkpoint", "ctx",
                      "--trainer CLIPFit")


def test_a_coop_checkpoint_with_another_n_ctx_names_the_shapes(data_root, tmp_path, capsys):
    coop = ("--trainer", "CoOp", "--config-file", COOP_CFG)
    code, _, err = train(capsys, data_root, tmp_path / "coop", "MODEL.BACKBONE.NAME", "tiny", flags=coop)
    assert code == 0, err
    code, _, err = train(capsys, data_root, tmp_path / "eval", "MODEL.BACKBONE.NAME", "tiny", "TRAINER.COOP.N_CTX", "8",
                         flags=(*coop, "--eval-only", "--model-dir", str(tmp_path / "coop")))
    assert_user_error(code, err, "does not match", "shape mismatches", "ctx checkpoint (16,", "TRAINER.COOP")


# --- train.py's own flags ------------------------------------------------------------------------------------------

def test_no_trainer_is_said_before_anything_is_printed(capsys):
    code = train_command.run(train_command.build_parser().parse_args([]))
    out, err = capsys.readouterr()
    assert_user_error(code, err, "--trainer is required", "CLIPFit", "CoOp")
    assert out == ""


def test_a_missing_model_dir_says_the_folder_does_not_exist(data_root, tmp_path, capsys):
    code, _, err = train(capsys, data_root, tmp_path / "eval",
                         flags=("--eval-only", "--model-dir", str(tmp_path / "no")))
    assert_user_error(code, err, "--model-dir", str(tmp_path / "no"), "no such folder")


def test_model_dir_without_eval_only_is_noted(data_root, tmp_path, capsys):
    code, out, err = train(capsys, data_root, tmp_path / "out", "OPTIM.MAX_EPOCH", "1",
                           flags=("--no-train", "--model-dir", str(tmp_path)))
    assert code == 0, err
    assert "is used only with --eval-only" in out and "--resume" in out


def test_a_plugin_that_does_not_exist_is_a_user_error(data_root, tmp_path, capsys, monkeypatch):
    from clipfit.app.cli import main

    monkeypatch.setenv("CLIPFIT_PLUGINS", "no_such_mod")
    code, _, err = train(capsys, data_root, tmp_path / "out")
    assert_user_error(code, err, "CLIPFIT_PLUGINS names no_such_mod", "No module named 'no_such_mod'")
    code = main(["sweep", "--trainers", "CLIPFit", "--datasets", "demo_shapes", "--seeds", "1", "--dry-run"])
    assert_user_error(code, capsys.readouterr().err, "CLIPFIT_PLUGINS names no_such_mod")


def test_a_plugin_failing_inside_its_own_import_keeps_its_traceback(data_root, tmp_path, capsys, monkeypatch):
    (tmp_path / "broken_plugin.py").write_text("import no_such_dependency_of_the_plugin\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("CLIPFIT_PLUGINS", "broken_plugin")
    with pytest.raises(ImportError, match="no_such_dependency_of_the_plugin") as raised:
        train(capsys, data_root, tmp_path / "out")
    assert not isinstance(raised.value, UserInputError)


# --- the scripts' and the sweep's own inputs ------------------------------------------------------------------------

@pytest.mark.parametrize("dry_run", [False, True])
def test_a_sweep_with_a_missing_config_stem_lists_the_stems(tmp_path, capsys, dry_run):
    from clipfit.app.cli import main

    argv = ["sweep", "--trainers", "CLIPFit", "--datasets", "demo_shapes", "--seeds", "1", "--cfg", "nope",
            "--output", str(tmp_path / "out"), *(["--dry-run"] if dry_run else [])]
    code = main(argv)
    out, err = capsys.readouterr()
    assert_user_error(code, err, "configs/trainers/CLIPFit/nope.yaml", "tiny_demo", "vit_b16_ep10")
    assert "dry run" not in out


def test_opts_with_an_unclosed_quote_is_a_user_error(monkeypatch):
    from clipfit.app.jobs import job_from_env

    monkeypatch.setenv("OPTS", "OPTIM.LR '0.1")
    with pytest.raises(UserInputError, match="OPTS: no closing quotation"):
        job_from_env("CLIPFit", "few_shot", ["demo_shapes", "2", "1"])


@pytest.mark.parametrize("command", ["demo", "report"])
def test_an_output_path_that_is_a_file(tmp_path, capsys, command):
    from clipfit.app.cli import main

    target = tmp_path / "a_file"
    target.write_text("")
    argv = (["demo", "--output", str(target)] if command == "demo"
            else ["report", "--output-dir", str(tmp_path), "--out", str(target), "--no-figures"])
    if command == "report":
        _b2n_train_run(str(tmp_path / "runs"), "seed1", 25.0)
        argv[2] = str(tmp_path / "runs")
    code = main(argv)
    err = capsys.readouterr().err
    assert code != 0 and "Traceback" not in err
    assert str(target) in err and "is a file" in err and ("--output" if command == "demo" else "--out") in err


def _finished_b2n_test_job(data_root, tmp_path, monkeypatch):
    from clipfit.app.jobs import Job

    job = Job("CLIPFit", "base2new_test", "demo_shapes", 1, data_root=data_root, output_root=str(tmp_path / "out"),
              cfg_override="tiny_demo")
    train_dir = job.train_job.output_dir
    fake_logs.write(train_dir, fake_logs.training_log(train_dir, 30.0, dataset="demo_shapes", cfg="tiny_demo",
                                                      subsample="base"))
    fake_logs.write(job.output_dir, fake_logs.eval_log(job.output_dir, 40.0, dataset="demo_shapes", cfg="tiny_demo",
                                                       subsample="new"))
    for name, value in (("FORCE", "1"), ("CFG", "tiny_demo"), ("DATA", data_root), ("OUTPUT", str(tmp_path / "out"))):
        monkeypatch.setenv(name, value)
    return job


def test_force_with_a_bad_argument_keeps_the_finished_result(data_root, tmp_path, capsys, monkeypatch):
    from clipfit.app import runner

    job = _finished_b2n_test_job(data_root, tmp_path, monkeypatch)
    monkeypatch.setenv("LOAD_EPOCH", "abc")
    assert runner.main(["CLIPFit", "base2new_test", "demo_shapes", "1"]) == USER_ERROR_EXIT
    out, err = capsys.readouterr()
    assert "invalid int value: 'abc'" in err and "Traceback" not in err
    assert f"moved the previous run back to {job.output_dir}" in out + err
    assert runner.job_result(job) == 40.0
    assert not [p for p in os.listdir(os.path.dirname(job.output_dir)) if ".old-" in p]


def test_force_keeps_the_previous_run_aside_when_the_new_one_started(data_root, tmp_path, capsys, monkeypatch):
    from clipfit.app import runner

    job = _finished_b2n_test_job(data_root, tmp_path, monkeypatch)

    def started_then_failed(argv):
        fake_logs.write(job.output_dir, "started\n")
        return 1

    monkeypatch.setattr(runner, "run_train_in_process", started_then_failed)
    assert runner.main(["CLIPFit", "base2new_test", "demo_shapes", "1"]) == 1
    out, err = capsys.readouterr()
    assert "the new run failed after it started; the previous run stays at" in out + err
    assert [p for p in os.listdir(os.path.dirname(job.output_dir)) if ".old-" in p]
