"""A finished run answers for its settings: the runner skips it only for the job that made it, the sweep's plan
says so, and the report labels (or leaves out) runs by what they ran with. The logs here are what train.py
writes: its real argument header and config dump (`print_args`), then a result."""
import contextlib
import dataclasses
import io
import os

import pytest

from clipfit.app.commands.train import build_parser, print_args, setup_cfg
from clipfit.app.jobs import Job
from clipfit.app.results import build_report
from clipfit.app.run_settings import write_job_record
from clipfit.app.runner import SKIPPED, absolute_path, run_job
from clipfit.app.sweep.plan import Plan
from clipfit.errors import UserInputError

TOY = ("MODEL.BACKBONE.NAME", "tiny", "OPTIM.MAX_EPOCH", "1")


def finished(job: Job, accuracy: float = 50.0, dump: bool = True) -> str:
    """Write the log of `job`'s finished run (as train.py prints it; `dump=False`: a log without the header)."""
    args = build_parser().parse_args(job.command()[2:])
    args.config_file, args.dataset_config_file = map(absolute_path, (args.config_file, args.dataset_config_file))
    out = io.StringIO()
    if dump:
        with contextlib.redirect_stdout(out):
            print_args(args, setup_cfg(args))
    out.write(f"Finish training\n=> result\n* accuracy: {accuracy}%\n")
    directory = absolute_path(job.output_dir)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "log.txt"), "w") as f:
        f.write(out.getvalue())
    if dump:
        write_job_record(job)  # as the runner does when train.py ends well
    return directory


def clipfit_job(root, *opts: str, **fields) -> Job:
    return Job("CLIPFit", "base2new_train", "demo_shapes", 1, output_root=str(root), extra_opts=opts, **fields)


def test_a_finished_run_is_skipped_only_for_the_settings_that_made_it(tmp_path, capsys):
    toy, real = clipfit_job(tmp_path, *TOY), clipfit_job(tmp_path)
    assert toy.output_dir == real.output_dir and toy.output_dir.endswith("CLIPFit/vit_b16_ep100/seed1")
    directory = finished(toy)

    assert run_job(toy) == SKIPPED  # the same options again: nothing to do
    assert "Skip CLIPFit demo_shapes seed 1: train on base classes: finished at" in capsys.readouterr().out
    with pytest.raises(UserInputError) as stop:
        run_job(real)
    message = str(stop.value)
    assert (f"{real.output_dir} holds a finished run (accuracy 50.00%, log.txt) with other settings than asked for: "
            "MODEL.BACKBONE.NAME: tiny then, ViT-B/16 now; OPTIM.MAX_EPOCH: 1 then, 100 now. It is not skipped"
            in message)
    assert "rerun with FORCE=1" in message and "another output root (OUTPUT=DIR" in message
    assert sorted(os.listdir(directory)) == ["clipfit_job.json", "log.txt"]  # neither rerun nor moved

    lambda_2 = clipfit_job(tmp_path, *TOY, knobs=(("LAMBDA", "2"),))  # a knob is a setting too
    with pytest.raises(UserInputError, match=r"with other settings than asked for: TRAINER\.CLIPFIT\.LAMBDA: 8\.0 "
                                             r"then, 2\.0 now\. It is"):
        run_job(lambda_2)


def test_where_the_data_lies_and_how_fast_it_loads_are_not_other_settings(tmp_path, capsys):
    finished(clipfit_job(tmp_path, *TOY))
    elsewhere = dataclasses.replace(clipfit_job(tmp_path, *TOY, "DATALOADER.NUM_WORKERS", "0",
                                                "DATALOADER.CACHE_TRAIN", "False"), data_root="/elsewhere")
    assert run_job(elsewhere) == SKIPPED
    assert "(accuracy 50.00%); FORCE=1 reruns it" in capsys.readouterr().out


def test_a_log_without_recorded_settings_counts_as_matching_and_says_so(tmp_path, capsys):
    finished(clipfit_job(tmp_path, *TOY), dump=False)
    assert run_job(clipfit_job(tmp_path)) == SKIPPED
    assert ("(accuracy 50.00%); its log records no settings, so they were not compared; FORCE=1 reruns it"
            in capsys.readouterr().out)


def test_the_sweep_plan_stops_a_finished_run_of_other_settings_and_force_reruns_it(tmp_path):
    toy, real = clipfit_job(tmp_path, *TOY), clipfit_job(tmp_path)
    finished(toy, 40.0)
    same = Plan.build([toy])
    assert same.to_skip == list(same.jobs) and same.headline() == "1 job(s): 0 to run, 1 finished (skipped)"
    plan = Plan.build([real])
    assert plan.to_run == list(plan.jobs) and plan.to_skip == []
    assert plan.line(plan[1]) == (
        f"#1 stop  CLIPFit demo_shapes seed 1: train on base classes -> {real.output_dir}  (finished: 40.00% with "
        "other settings: MODEL.BACKBONE.NAME: tiny then, ViT-B/16 now; OPTIM.MAX_EPOCH: 1 then, 100 now; --force "
        "moves it aside and reruns it)")
    assert plan.headline() == ("1 job(s): 0 to run, 0 finished (skipped), 1 finished with other settings (they "
                               "stop, naming them)")
    forced = Plan.build([real], force=True)
    assert forced.line(forced[1]).startswith("#1 rerun") and forced.to_run == list(forced.jobs)


def _report_world(root):
    """A quick check with the tiny CLIP in a benchmark folder, a tiny_demo run with 1 epoch, the demo's run."""
    finished(clipfit_job(root, *TOY), 31.0)
    finished(clipfit_job(root, "OPTIM.MAX_EPOCH", "1", cfg_override="tiny_demo"), 42.0)
    finished(Job("CLIPFit", "base2new_train", "demo_shapes", 1, output_root=str(root / "demo" / "runs"),
                 cfg_override="tiny_demo"), 53.0)


def test_the_report_labels_what_ran_and_leaves_out_the_demo_and_other_backbones(tmp_path):
    _report_world(tmp_path)
    report = build_report(str(tmp_path))
    assert [(m.label, m.published) for m in report.base2new.methods] == [("CLIPFit tiny_demo (OPTIM.MAX_EPOCH 1)",
                                                                          None)]
    assert len(report.runs) == 1 and report.runs[0].value == 42.0
    assert report.left_out == (
        f"Left out 2 run folders: 1 under {tmp_path / 'demo'} (the demo's); 1 with another backbone than their "
        "config's: base2new/train_base/demo_shapes/shots_16/CLIPFit/vit_b16_ep100/seed1 (backbone tiny). "
        "`clipfit report --all-runs` includes them.")
    assert report.left_out in report.markdown()

    every = build_report(str(tmp_path), all_runs=True)
    labels = {m.label: every.base2new.rows[("demo_shapes", m)].base.mean for m in every.base2new.methods}
    assert labels == {"CLIPFit tiny_demo": 53.0, "CLIPFit tiny_demo (OPTIM.MAX_EPOCH 1)": 42.0,
                      "CLIPFit vit_b16_ep100 (backbone tiny; OPTIM.MAX_EPOCH 1)": 31.0}
    assert every.left_out == ""
    demo_only = build_report(str(tmp_path / "demo"))  # the demo's own folder as the root: nothing left out
    assert [m.label for m in demo_only.base2new.methods] == ["CLIPFit tiny_demo"] and demo_only.left_out == ""


def test_a_run_without_a_job_record_is_labelled_by_its_backbone_only(tmp_path):
    """train.py by hand (or another tool) writes no record: the report, which imports no trainer, names only a
    backbone other than the config file's."""
    toy = finished(clipfit_job(tmp_path, *TOY))
    os.remove(os.path.join(toy, "clipfit_job.json"))
    every = build_report(str(tmp_path), all_runs=True)
    assert [m.label for m in every.base2new.methods] == ["CLIPFit vit_b16_ep100 (backbone tiny)"]


def test_report_command_names_the_flag_and_stops_when_everything_is_left_out(tmp_path, capsys):
    from clipfit.app.cli import main

    _report_world(tmp_path)
    assert main(["report", "--output-dir", str(tmp_path), "--quiet", "--no-figures"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("Left out 2 run folders: 1 under") and "--all-runs" in out

    only_toy = tmp_path / "toy"
    finished(clipfit_job(only_toy, *TOY))
    assert main(["report", "--output-dir", str(only_toy), "--no-figures"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: no runs to report under {only_toy}: left out 1 run folder: 1 with another "
                          "backbone than their config's") and "`clipfit report --all-runs` includes them." in err
    assert main(["report", "--output-dir", str(only_toy), "--no-figures", "--all-runs", "--quiet"]) == 0


def test_a_value_edited_in_the_trainer_yaml_is_the_one_the_run_prints(tmp_path):
    """The scripts pass a key only when its knob is set, so the config file's value takes effect (issue 22)."""
    from clipfit.app.results.logs import scan_log

    with open(os.path.join(absolute_path("configs/trainers/CLIPFit"), "vit_b16_ep100.yaml")) as f:
        published = f.read()
    assert "    LAMBDA: 8.0\n" in published
    (tmp_path / "edited.yaml").write_text(published.replace("    LAMBDA: 8.0\n", "    LAMBDA: 3.5\n"))
    edited = str(tmp_path / "edited")  # CFG takes a stem; an absolute one names a file outside configs/

    def printed_lambda(job: Job) -> str:
        finished(job)
        return scan_log(os.path.join(absolute_path(job.output_dir), "log.txt")).config["TRAINER.CLIPFIT.LAMBDA"]

    assert printed_lambda(clipfit_job(tmp_path / "a", cfg_override=edited)) == "3.5"
    assert printed_lambda(clipfit_job(tmp_path / "b", cfg_override=edited, knobs=(("LAMBDA", "4.0"),))) == "4.0"
