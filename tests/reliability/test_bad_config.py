"""Issue 26, config and schedule: YAML files that do not say what they seem to, schedules that cannot train,
flag values that are really missing ones. Each case: exit code, the message's words, nothing recorded."""
from __future__ import annotations

import os
import sys

import pytest
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_bad_input import REPO, assert_user_error, train  # noqa: E402

from clipfit.app.commands import train as train_command  # noqa: E402
from clipfit.app.results import find_result  # noqa: E402
from clipfit.errors import USER_ERROR_EXIT, UserInputError  # noqa: E402

TINY_DEMO = os.path.join(REPO, "configs", "trainers", "CLIPFit", "tiny_demo.yaml")


def with_config(capsys, data_root, out, text, *opts):
    path = out.parent / "trainer.yaml"
    path.write_text(text)
    return path, train(capsys, data_root, out, *opts, flags=("--config-file", str(path)))


def assert_nothing_written(out):
    assert not out.exists(), sorted(os.listdir(out))  # stopped while reading the config: no folder, no log


# --- YAML files ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text,key,lines,words", [
    ('OPTIM:\n  NAME: "sgd"\n  LR: 0.5\nDATALOADER:\n  NUM_WORKERS: 0\nOPTIM:\n  MAX_EPOCH: 1\n', "OPTIM", (1, 6),
     "every key of the first block would be dropped"),
    ("OPTIM:\n  LR: 0.1\n  MAX_EPOCH: 1\n  LR: 0.2\n", "OPTIM.LR", (2, 4), "the first value would be ignored"),
])
def test_a_key_or_block_set_twice_names_the_file_key_and_both_lines(data_root, tmp_path, capsys, text, key, lines,
                                                                   words):
    path, (code, _, err) = with_config(capsys, data_root, tmp_path / "out", text)
    assert_user_error(code, err, f"--config-file {path}: {key} is set twice, on line {lines[0]} and on line "
                                 f"{lines[1]}", words)
    assert_nothing_written(tmp_path / "out")


@pytest.mark.parametrize("text", ["", "# nothing set yet\n\n", "{}\n"])
def test_an_empty_trainer_config_is_an_error_not_the_engine_defaults(data_root, tmp_path, capsys, text):
    path, (code, _, err) = with_config(capsys, data_root, tmp_path / "out", text)
    assert_user_error(code, err, f"--config-file {path} is empty", "engine's defaults", "adam, lr 0.0003")
    assert_nothing_written(tmp_path / "out")


@pytest.mark.parametrize("text,line,nested,dotted", [
    ("OPTIM.LR: 5\n", 1, "`OPTIM:` then `  LR: 5`", "OPTIM.LR VALUE"),
    ("TRAINER:\n  CLIPFIT.LAMBDA: 2\n", 2, "`TRAINER:` then `  CLIPFIT:` then `    LAMBDA: 2`",
     "TRAINER.CLIPFIT.LAMBDA VALUE"),
])
def test_a_dotted_key_in_a_yaml_file_says_that_files_nest_keys(data_root, tmp_path, capsys, text, line, nested,
                                                              dotted):
    path, (code, _, err) = with_config(capsys, data_root, tmp_path / "out", text)
    assert_user_error(code, err, f"{path}, line {line}", "is a dotted key", nested, dotted, "command line")
    assert "did you mean" not in err
    assert_nothing_written(tmp_path / "out")


def test_every_yaml_reader_goes_through_the_one_loader(tmp_path, monkeypatch):
    """yacs's own merge_from_file (other repositories' train.py) and the jobs' config reading refuse it too."""
    from clipfit.app.jobs import Job
    from clipfit.compat import get_cfg_default

    twice = tmp_path / "twice.yaml"
    twice.write_text("OPTIM:\n  LR: 0.1\nOPTIM:\n  MAX_EPOCH: 3\n")
    with pytest.raises(UserInputError, match=r"twice.yaml: OPTIM is set twice, on line 1 and on line 3"):
        get_cfg_default().merge_from_file(str(twice))
    good = tmp_path / "good.yaml"
    good.write_text("OPTIM:\n  LR: 0.1\n  MAX_EPOCH: 3\nINPUT:\n  SIZE: (32, 32)\n")
    cfg = get_cfg_default()
    cfg.merge_from_file(str(good))  # a well-formed file merges as yacs merges it
    assert (cfg.OPTIM.LR, cfg.OPTIM.MAX_EPOCH, cfg.INPUT.SIZE) == (0.1, 3, (32, 32))

    job = Job("CLIPFit", "base2new_test", "demo_shapes", 1, cfg_override="tiny_demo")
    assert job.max_epoch() == 30
    monkeypatch.setattr(Job, "config_file", property(lambda self: str(twice)))  # an absolute path stays one
    with pytest.raises(UserInputError, match="OPTIM is set twice"):
        job.max_epoch()


# --- the lr schedule ------------------------------------------------------------------------------------------

def _optimizer_and_scheduler(**optim):
    from clipfit.compat import build_lr_scheduler, build_optimizer, get_cfg_default

    cfg = get_cfg_default()
    cfg.OPTIM.NAME, cfg.OPTIM.LR, cfg.OPTIM.MAX_EPOCH, cfg.OPTIM.LR_SCHEDULER = "sgd", 0.1, 6, "cosine"
    for key, value in optim.items():
        cfg.OPTIM[key] = value
    optimizer = build_optimizer(torch.nn.Linear(2, 2), cfg.OPTIM)
    return cfg.OPTIM, optimizer, build_lr_scheduler(optimizer, cfg.OPTIM)


@pytest.mark.parametrize("optim", [
    {"WARMUP_EPOCH": 1, "WARMUP_TYPE": "constant", "WARMUP_CONS_LR": 1e-5},
    {"WARMUP_EPOCH": 2, "WARMUP_TYPE": "linear", "WARMUP_MIN_LR": 1e-4},
    {"LR_SCHEDULER": "multi_step", "STEPSIZE": (2, 4), "GAMMA": 0.5},
    {"LR_SCHEDULER": "single_step", "STEPSIZE": (3,), "WARMUP_EPOCH": 1, "WARMUP_RECOUNT": False},
])
def test_the_lrs_read_from_a_copy_are_the_ones_the_run_then_uses(optim):
    from clipfit.core.lr_schedule import epoch_lrs

    optim_cfg, optimizer, scheduler = _optimizer_and_scheduler(**optim)
    predicted = epoch_lrs(scheduler, optim_cfg.MAX_EPOCH)
    assert scheduler.last_epoch == 0 and optimizer.param_groups[0]["lr"] == predicted[0][0]  # untouched
    used = []
    for _ in range(optim_cfg.MAX_EPOCH):  # the training loop: one optimizer step, then the scheduler's
        used.append([group["lr"] for group in optimizer.param_groups])
        optimizer.step()
        scheduler.step()
    assert predicted == used  # the same arithmetic in the same order: equal, not just close


def test_the_run_summary_prints_the_lr_of_every_epoch(data_root, tmp_path, capsys):
    code, out, err = train(capsys, data_root, tmp_path / "out", "OPTIM.MAX_EPOCH", "3", "OPTIM.WARMUP_EPOCH", "1",
                           flags=("--config-file", TINY_DEMO, "--no-train"))
    assert code == 0, err
    # tiny_demo: sgd lr 0.1, cosine over 3 epochs after 1 constant warm-up epoch at 1e-5
    assert "  lr per epoch: epoch 1 (warm-up): 1e-05; epochs 2-3: 0.1, 0.075\n" in out
    # the loader plan, as DataManager printed it: the decoded training set, the test images from the cache
    plan = next(line for line in out.splitlines() if line.startswith("Loaders: "))
    assert plan.startswith("Loaders: train: decoded (") and "; eval: cache (" in plan
    assert f"  loaders: {plan[len('Loaders: '):]}\n" in out


def test_warm_up_through_every_epoch_is_refused(data_root, tmp_path, capsys):
    out, warmup, epochs = tmp_path / "out", "2", "2"
    code, stdout, err = train(capsys, data_root, out, "OPTIM.MAX_EPOCH", epochs, "OPTIM.WARMUP_EPOCH", warmup,
                              flags=("--config-file", TINY_DEMO))
    assert_user_error(code, err, f"OPTIM.WARMUP_EPOCH is {warmup} and OPTIM.MAX_EPOCH {epochs}",
                      "every epoch would be a warm-up epoch", f"epochs 1-{epochs} (warm-up): 1e-05",
                      "none would run at OPTIM.LR 0.1", "Set OPTIM.WARMUP_EPOCH below OPTIM.MAX_EPOCH")
    assert f"  lr per epoch: epochs 1-{epochs} (warm-up): 1e-05\n" in stdout  # the summary says the same
    assert not (out / "prompt_learner").exists() and find_result(str(out)) is None


def test_a_negative_gamma_is_refused_naming_the_key(data_root, tmp_path, capsys):
    out = tmp_path / "out"
    code, _, err = train(capsys, data_root, out, "OPTIM.MAX_EPOCH", "3", "OPTIM.LR_SCHEDULER", "single_step",
                         "OPTIM.STEPSIZE", "(1,)", "OPTIM.GAMMA", "-1.0", flags=("--config-file", TINY_DEMO))
    assert_user_error(code, err, "the lr schedule is negative in epoch(s) 2 of 3", "climb the loss",
                      "Caused by OPTIM.GAMMA (-1.0)", "0 or more")
    assert not (out / "prompt_learner").exists() and find_result(str(out)) is None


@pytest.mark.parametrize("optim,keys", [
    ({"WARMUP_EPOCH": 1, "WARMUP_TYPE": "constant", "WARMUP_CONS_LR": -1e-5}, "OPTIM.WARMUP_CONS_LR (-1e-05)"),
    ({"WARMUP_EPOCH": 2, "WARMUP_TYPE": "linear", "WARMUP_MIN_LR": -1e-4}, "OPTIM.WARMUP_MIN_LR (-0.0001)"),
    ({"LR_SCHEDULER": "multi_step", "STEPSIZE": (2, 4), "GAMMA": -0.5}, "OPTIM.GAMMA (-0.5)"),
])
def test_every_key_that_makes_the_lr_negative_is_named(optim, keys):
    from clipfit.core.lr_schedule import check_lr_schedule, epoch_lrs

    optim_cfg, _, scheduler = _optimizer_and_scheduler(**optim)
    with pytest.raises(UserInputError, match=r"the lr schedule is negative .* Caused by " + keys.replace(
            "(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        check_lr_schedule(optim_cfg, epoch_lrs(scheduler, optim_cfg.MAX_EPOCH))


def test_more_warm_up_epochs_than_epochs_are_refused_too():
    from clipfit.core.lr_schedule import check_lr_schedule, epoch_lrs

    optim_cfg, _, scheduler = _optimizer_and_scheduler(MAX_EPOCH=2, WARMUP_EPOCH=3, WARMUP_TYPE="constant",
                                                       WARMUP_CONS_LR=1e-5)
    with pytest.raises(UserInputError, match=r"OPTIM.WARMUP_EPOCH is 3 and OPTIM.MAX_EPOCH 2: every epoch would be "
                                             r"a warm-up epoch \(epochs 1-2 \(warm-up\): 1e-05\)"):
        check_lr_schedule(optim_cfg, epoch_lrs(scheduler, optim_cfg.MAX_EPOCH))


def test_a_gamma_the_schedule_never_applies_is_not_refused():
    from clipfit.core.lr_schedule import check_lr_schedule, epoch_lrs

    optim_cfg, _, scheduler = _optimizer_and_scheduler(GAMMA=-0.5)  # cosine: GAMMA is not read
    check_lr_schedule(optim_cfg, epoch_lrs(scheduler, optim_cfg.MAX_EPOCH))


# --- the backbone tag ------------------------------------------------------------------------------------------

def test_an_unknown_backbone_tag_is_one_message_without_a_traceback(data_root, tmp_path, capsys):
    code, _, err = train(capsys, data_root, tmp_path / "out", "MODEL.BACKBONE.TAG", "nonsense")
    assert_user_error(code, err, "no pretrained tag 'nonsense' (MODEL.BACKBONE.TAG)", "'tiny'",
                      "it has no pretrained weights", "Leave MODEL.BACKBONE.TAG empty")
    assert err.count("\n") == 1  # the one line
    assert "Traceback" not in (tmp_path / "out" / "log.txt").read_text()


# --- flag values that are missing ones ----------------------------------------------------------------------------

@pytest.mark.parametrize("argv,words", [
    (["--output-dir", "", "--seed", "1"], "got '', an empty value"),
    (["--output-dir=--seed", "1"], "got '--seed', another flag"),
    (["--output-dir", "DATASET.NUM_SHOTS", "16"], "got 'DATASET.NUM_SHOTS', a config key"),
    (["--root", "", "--output-dir", "out"], "argument --root: got ''"),
    (["--config-file", " "], "argument --config-file: got ' '"),
])
def test_a_flag_whose_value_is_missing_is_a_usage_error(capsys, argv, words):
    with pytest.raises(SystemExit) as stop:
        train_command.build_parser().parse_args(argv)
    err = capsys.readouterr().err
    assert stop.value.code == USER_ERROR_EXIT and words in err and "its value is missing" in err


def test_the_other_commands_path_flags_refuse_a_missing_value(capsys):
    from clipfit.app.cli import main

    for argv in (["report", "--output-dir", ""], ["report", "--out", "--no-figures"],
                 ["sweep", "--trainers", "CLIPFit", "--output", "", "--dry-run"]):
        with pytest.raises(SystemExit) as stop:
            main(argv)
        assert stop.value.code == USER_ERROR_EXIT, argv
    assert capsys.readouterr().err.count("its value is missing") == 2  # `--out --no-figures`: argparse's own error


def test_an_empty_env_knob_is_the_default_not_an_empty_path(monkeypatch):
    from clipfit.app.jobs import job_from_env

    monkeypatch.setenv("OUTPUT", "")
    monkeypatch.setenv("DATA", " ")
    job = job_from_env("CLIPFit", "few_shot", ["demo_shapes", "2", "1"])
    assert (job.output_root, job.data_root) == ("./output", "./data")
    assert job.output_dir.startswith("./output" + os.sep)
