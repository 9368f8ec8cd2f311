"""The grid, the plan, name validation and the command line's input errors (no job runs here)."""
import os

import pytest

from clipfit.app.jobs import Job
from clipfit.app.sweep import Grid, Plan, parse_datasets, parse_settings, parse_trainers
from clipfit.app.sweep.slurm import parse_time
from clipfit.errors import UserInputError


def grid(**kw):
    base = dict(trainers=("CLIPFit",), settings=("base2new",), seeds=(1,), output_root="/tmp/none")
    return Grid(**{**base, **kw})


def test_base2new_pairs_train_then_test_with_the_scripts_jobs():
    jobs = grid(datasets=("dtd", "eurosat"), seeds=(1, 2)).jobs()
    assert [(j.protocol, j.dataset, j.seed) for j in jobs[:4]] == [
        ("base2new_train", "dtd", 1), ("base2new_test", "dtd", 1),
        ("base2new_train", "dtd", 2), ("base2new_test", "dtd", 2)]
    assert len(jobs) == 8
    script_job = Job("CLIPFit", "base2new_test", "dtd", 2, 16, "./data", "/tmp/none")
    assert jobs[3] == script_job and jobs[3].command() == script_job.command()


def test_all_datasets_follow_each_protocol():
    jobs = grid(trainers=("ZeroshotCLIP",), settings=("base2new", "xd", "dg")).jobs()
    by_protocol = {}
    for job in jobs:
        by_protocol.setdefault(job.protocol, []).append(job.dataset)
    assert len(by_protocol["base2new_train"]) == 11
    assert by_protocol["xd_train"] == ["imagenet"]  # once for xd and dg (same output folder)
    assert len(by_protocol["xd_test"]) == 10 + 4


def test_shared_output_folders_are_run_once():
    jobs = grid(settings=("few_shot", "xd"), datasets=("imagenet", "dtd")).jobs()
    dirs = [j.output_dir for j in jobs]
    assert len(dirs) == len(set(dirs))
    # the 16-shot ImageNet few-shot run is the transfer source: no separate xd_train job
    assert not [j for j in jobs if j.protocol == "xd_train"]
    plan = Plan.build(jobs)
    source = next(p for p in plan.jobs if p.job.protocol == "few_shot" and p.job.dataset == "imagenet"
                  and p.job.shots == 16)
    assert [p.job.dataset for p in plan.jobs if p.needs == source.number] == ["dtd"]
    # zero-shot runs ignore the shots: one few-shot run per dataset and seed
    zs = grid(trainers=("ZeroshotCLIP",), settings=("few_shot",), datasets=("dtd",)).jobs()
    assert len(zs) == 1


def test_shots_default_per_protocol_and_override():
    few = grid(settings=("few_shot",), datasets=("dtd",)).jobs()
    assert [j.shots for j in few] == [1, 2, 4, 8, 16]
    assert {j.shots for j in grid(datasets=("dtd",)).jobs()} == {16}
    assert {j.shots for j in grid(datasets=("dtd",), shots=(4,)).jobs()} == {4}


def test_names_are_matched_case_insensitively_and_unknown_ones_listed():
    assert parse_trainers(["clipfit", "CoOp", "CLIPFit"]) == ("CLIPFit", "CoOp")
    assert parse_settings(["few-shot", "XD"]) == ("few_shot", "xd")
    assert parse_datasets(["all"]) is None
    assert parse_datasets(["DTD"]) == ("dtd",)
    with pytest.raises(UserInputError, match=r"unknown trainer\(s\) 'Nope'; known: CLIPFit, CoOp, CoCoOp"):
        parse_trainers(["Nope"])
    with pytest.raises(UserInputError, match=r"unknown protocol\(s\) 'fewshot'; known: base2new, few_shot, xd, dg"):
        parse_settings(["fewshot"])
    with pytest.raises(UserInputError, match=r"unknown dataset\(s\) 'mnist'; known: caltech101, demo_shapes, dtd"):
        parse_datasets(["dtd", "mnist"])


def test_the_demo_dataset_runs_when_named_and_is_not_in_all():
    jobs = grid(settings=("base2new", "few_shot"), datasets=("demo_shapes",), shots=(2,)).jobs()
    assert [(j.protocol, j.dataset) for j in jobs] == [("base2new_train", "demo_shapes"),
                                                       ("base2new_test", "demo_shapes"), ("few_shot", "demo_shapes")]
    assert "demo_shapes" not in {j.dataset for j in grid(settings=("base2new", "few_shot"), shots=(2,)).jobs()}
    with pytest.raises(UserInputError, match="protocol xd has none of the given datasets"):
        grid(settings=("xd",), datasets=("demo_shapes",)).jobs()


def test_datasets_outside_the_protocols_are_rejected():
    with pytest.raises(UserInputError, match="'imagenetv2' is not part of the chosen protocol"):
        grid(datasets=("dtd", "imagenetv2")).jobs()
    with pytest.raises(UserInputError, match="protocol dg has none of the given datasets"):
        grid(settings=("dg",), datasets=("dtd",)).jobs()
    with pytest.raises(UserInputError, match="KEY VALUE pairs"):
        grid(extra_opts=("OPTIM.MAX_EPOCH",)).jobs()
    with pytest.raises(UserInputError, match=r"--seeds must be 0 or more, got -1: a negative seed means no fixed"):
        grid(seeds=(-1,)).jobs()
    with pytest.raises(UserInputError, match=r"--shots must be 1 or more, got 0 \(the benchmarks use 1, 2, 4"):
        grid(settings=("few_shot",), shots=(0, 4)).jobs()
    assert {job.seed for job in grid(seeds=(0,)).jobs()} == {0}  # seed 0 is a fixed seed, as in the scripts


def test_plan_links_tests_to_their_training_job_and_marks_finished_runs(tmp_path):
    jobs = grid(trainers=("CLIPFit", "ZeroshotCLIP"), datasets=("dtd",), output_root=str(tmp_path)).jobs()
    finished = jobs[0].output_dir
    os.makedirs(finished)
    with open(os.path.join(finished, "log.txt"), "w") as f:
        f.write("=> result\n* total: 100\n* correct: 70\n* accuracy: 70.0%\n* error: 30.0%\n* macro_f1: 70.0%\n"
                "Elapsed: 0:00:01\n")
    plan = Plan.build(jobs)
    assert [p.needs for p in plan.jobs] == [None, 1, None, None]  # zero-shot tests need no training run
    assert plan.jobs[0].result == 70.0 and [p.number for p in plan.to_skip] == [1]
    lines = plan.lines()
    assert lines[0].startswith("#1 skip  CLIPFit dtd seed 1: train on base classes -> ")
    assert lines[0].endswith(f"{finished}  (finished: 70.00%)")
    assert lines[1].startswith("#2 run   CLIPFit dtd seed 1: test on new classes")
    assert lines[1].endswith("(needs #1 (finished))")
    assert "needs" not in lines[3]
    forced = Plan.build(jobs, force=True)
    assert not forced.to_skip and forced.lines()[0].startswith("#1 rerun")
    assert plan.jobs[1].name == "002-CLIPFit-base2new_test-dtd-16shots-seed1"


@pytest.mark.parametrize("text,minutes", [("90", 90), ("10:30", 11), ("2:00:00", 120), ("1-00:00:00", 1440),
                                          ("1-2", 1560), ("0-0:1", 1)])
def test_slurm_time_formats(text, minutes):
    assert parse_time(text) == minutes


def test_bad_slurm_time():
    with pytest.raises(UserInputError, match="--time"):
        parse_time("two hours")


@pytest.mark.parametrize("args,message", [
    (["--trainers", "Nope"], "unknown trainer(s) 'Nope'; known: CLIPFit"),
    (["--trainers", "CLIPFit", "--datasets", "mnist"], "unknown dataset(s) 'mnist'"),
    (["--trainers", "CLIPFit", "--protocols", "b2n"], "unknown protocol(s) 'b2n'; known: base2new, few_shot, xd, dg"),
    (["--trainers", "CLIPFit", "--partition", "gpu"], "--partition: SLURM option(s), used only with --executor slurm"),
    (["--trainers", "CLIPFit", "--executor", "slurm", "--report"], "--report with --executor slurm needs --wait"),
    (["--trainers", "CLIPFit", "--executor", "slurm", "--sbatch", "mail-type"], "use KEY=VALUE"),
    (["--trainers", "CLIPFit", "--gpus-per-job", "0"], "at least 1"),
])
def test_cli_input_errors_exit_2(sweep, args, message):
    code, out, err = sweep(*args, "--dry-run")
    assert code == 2
    assert err.startswith("error: ") and message in err


def test_print_commands_without_dry_run_is_an_input_error_and_runs_nothing(sweep, tmp_path):
    code, out, err = sweep("--trainers", "ZeroshotCLIP", "--datasets", "dtd", "--seeds", "1",
                           "--data", tmp_path, "--output", tmp_path / "out", "--print-commands")
    assert code == 2
    assert err == "error: --print-commands is used only with --dry-run\n"
    assert out == "" and not (tmp_path / "out").exists()


def test_running_without_the_data_root_is_an_input_error(sweep, tmp_path):
    code, _, err = sweep("--trainers", "ZeroshotCLIP", "--datasets", "dtd", "--seeds", "1",
                         "--data", tmp_path / "missing", "--output", tmp_path / "out")
    assert code == 2 and "does not exist" in err
    assert not (tmp_path / "out").exists()


def test_dry_run_prints_one_line_per_job_and_runs_nothing(sweep, tmp_path):
    code, out, _ = sweep("--trainers", "CLIPFit", "CoOp", "--datasets", "dtd", "eurosat", "--seeds", "1", "2",
                         "--data", tmp_path, "--output", tmp_path / "out", "--dry-run", "--print-commands")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "clipfit sweep: 16 job(s): 16 to run, 0 finished (skipped)"
    job_lines = [line for line in lines if line.startswith("#")]
    assert len(job_lines) == 16
    out_root = str(tmp_path / "out")
    assert job_lines[1] == (f"#2  run   CLIPFit dtd seed 1: test on new classes -> {out_root}/base2new/test_new/dtd/"
                            "shots_16/CLIPFit/vit_b16_ep100/seed1  (needs #1)")
    assert sum(line.startswith("    python train.py") for line in lines) == 16
    assert lines[-1] == "dry run: nothing was run"
    assert not os.path.exists(out_root)
