"""Issue 26, what a report combines: a New (test_new) or transfer target is paired with its training run only
when it evaluated that run's very checkpoint (by sha256); one unreadable log does not stop a report."""
from __future__ import annotations

import os
import re
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "results"))
import fake_logs  # noqa: E402

from clipfit.app import runner  # noqa: E402
from clipfit.app.cli import main as cli  # noqa: E402
from clipfit.app.results import build_report, find_result, log_files  # noqa: E402
from clipfit.testing.demo import make_demo_dataset  # noqa: E402

OLD, NEW = "a" * 64, "b" * 64


def _digest(path: str, action: str, digest: str) -> None:
    with open(path, "a") as f:
        f.write(f"Checkpoint sha256 {digest}: {action} out/train/prompt_learner/model.pth.tar-2\n")


def _pair(root, seed, base, new, saved, loaded):
    written = fake_logs.b2n_run(root, "dtd", "CLIPFit", "vit_b16", seed, base=base, new=new)
    _digest(written["base"], "saved", saved)
    if loaded is not None:
        _digest(written["new"], "loaded", loaded)
    return written


def _dtd_row(report):
    return next(row for row in fake_logs.md_rows(report.markdown()) if row[:2] == ["DTD", "CLIPFit vit_b16"])


@pytest.mark.parametrize("loaded,why", [(OLD, "it evaluated out/train/prompt_learner/model.pth.tar-2 (sha256 "
                                              "aaaaaaaaaaaa...), a file the training run now in"),
                                        (None, "its log names no checkpoint hash, so it ran before the training run")])
def test_a_new_run_of_a_retrained_base_run_is_stale_and_left_out(tmp_path, loaded, why):
    _pair(tmp_path, 1, 80.0, 70.0, saved=NEW, loaded=loaded)  # seed 1: base retrained (FORCE=1), new is old
    _pair(tmp_path, 2, 82.0, 60.0, saved=NEW, loaded=NEW)  # seed 2: new evaluated this very base model
    report = build_report(str(tmp_path))
    row = report.base2new.rows[("dtd", next(iter(report.base2new.methods)))]
    assert (row.base.mean, row.base.n) == (81.0, 2)
    assert (row.new.mean, row.new.n, row.new.seeds) == (60.0, 1, (2,))  # the stale 70.0 is in no cell
    assert row.hm == pytest.approx(2 * 81.0 * 60.0 / 141.0)
    assert _dtd_row(report)[3] == "60.00 ± 0.00 (1/2)"
    stale = [line for line in report.base2new.missing if "stale" in line]
    assert len(stale) == 1
    assert stale[0].startswith("CLIPFit vit_b16 · DTD · New (test_new) seed 1: stale, left out of the table: ")
    assert why in stale[0] and "rerun base2new_test for dtd seed 1" in stale[0]
    assert "70.00" not in report.markdown()


def test_runs_without_checkpoint_hashes_are_paired_as_before(tmp_path):
    fake_logs.b2n_run(tmp_path, "dtd", "CLIPFit", "vit_b16", 1, base=80.0, new=70.0)  # an older release, or Dassl
    report = build_report(str(tmp_path))
    assert _dtd_row(report)[2:5] == ["80.00 ± 0.00 (1)", "70.00 ± 0.00 (1)", "74.67"]
    assert not [line for line in report.base2new.missing if "stale" in line]


def test_a_transfer_target_of_a_retrained_source_is_stale(tmp_path):
    source = fake_logs.few_shot_run(tmp_path, "imagenet", "CLIPFit", "vit_b16", 16, 1, 70.0)
    target = fake_logs.transfer_run(tmp_path, "dtd", "CLIPFit", "vit_b16", 1, 45.0)
    _digest(source, "saved", NEW)
    _digest(target, "loaded", OLD)
    report = build_report(str(tmp_path))
    table = report.transfer[0]
    assert table.cells[(table.methods[0], "dtd")] is None
    assert any("CLIPFit vit_b16 · DTD seed 1: stale" in line and "rerun xd_test for dtd seed 1" in line
               for line in table.missing)


def test_the_scripts_rerun_a_stale_new_run_after_a_force_retrain(tmp_path, capsys, monkeypatch):
    """Train, evaluate, retrain with FORCE=1 and other settings, then the test script again: it reruns the
    stale evaluation (instead of `Skip ... finished`), and the report pairs the new runs."""
    make_demo_dataset(str(tmp_path / "data"), num_classes=4, images_per_class=6, size=32)
    for name, value in (("CFG", "tiny_demo"), ("DATA", str(tmp_path / "data")), ("OUTPUT", str(tmp_path / "out")),
                        ("OPTS", "OPTIM.MAX_EPOCH 2 DATASET.NUM_SHOTS 2")):
        monkeypatch.setenv(name, value)
    for name in ("FORCE", "TRAINER", "LAMBDA", "LOAD_EPOCH", "CLIPFIT_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    job = runner.job_from_env("CLIPFit", "base2new_test", ["demo_shapes", "1"])

    def script(protocol, force=""):
        monkeypatch.setenv("FORCE", force)
        stdout = sys.stdout
        try:
            assert runner.main(["CLIPFit", protocol, "demo_shapes", "1"]) == 0
        finally:
            sys.stdout = stdout
        return capsys.readouterr().out

    script("base2new_train")
    first = script("base2new_test")
    assert "Checkpoint sha256 " in first and runner.stale_evaluation(job) is None
    monkeypatch.setenv("OPTS", "OPTIM.MAX_EPOCH 2 DATASET.NUM_SHOTS 2 OPTIM.LR 0.05")
    script("base2new_train", force="1")
    assert runner.stale_evaluation(job) is not None and runner.job_result(job) is None
    again = script("base2new_test")
    assert "Skip " not in again
    assert f"Rerun {job.describe()}: the finished run at {job.output_dir} is stale: it evaluated " in again
    assert "Stale run: moved the previous run to" in again and "* accuracy:" in again
    assert runner.stale_evaluation(job) is None and runner.job_result(job) is not None
    saved = re.findall(r"Checkpoint sha256 (\w+): saved .*model\.pth\.tar-2$",
                       open(log_files(runner.absolute_path(job.train_job.output_dir))[-1]).read(), re.M)
    loaded = re.findall(r"Checkpoint sha256 (\w+): loaded", open(log_files(runner.absolute_path(job.output_dir))[-1])
                        .read())
    assert loaded == saved[-1:]
    report = build_report(str(tmp_path / "out"))
    assert not [line for line in report.base2new.missing if "stale" in line]


def test_a_sweep_plans_to_rerun_an_evaluation_whose_training_job_runs_again(tmp_path):
    from clipfit.app.jobs import Job
    from clipfit.app.sweep import Plan

    evaluation = Job("CLIPFit", "base2new_test", "dtd", 1, output_root=str(tmp_path), cfg_override="vit_b16_ep10")
    fake_logs.write(evaluation.output_dir, fake_logs.eval_log(evaluation.output_dir, 70.0, dataset="dtd",
                                                              cfg="vit_b16_ep10", subsample="new"))
    plan = Plan.build([evaluation.train_job, evaluation])  # the training run is unfinished: it runs again
    assert [p.job.protocol for p in plan.to_run] == ["base2new_train", "base2new_test"]
    assert "with the model that #1 trains again" in plan.line(plan[2])
    assert [p.job.protocol for p in Plan.build([evaluation]).to_skip] == ["base2new_test"]  # no training job here


# --- one unreadable log ----------------------------------------------------------------------------------------

@pytest.fixture
def unreadable_log(tmp_path, monkeypatch):
    """Two base-to-new seeds; seed 2's log.txt cannot be opened (as for a file of another user: root can read
    anything, so the refusal is simulated)."""
    import clipfit.app.results.logs as logs

    fake_logs.b2n_run(tmp_path, "dtd", "CLIPFit", "vit_b16", 1, base=80.0, new=70.0)
    blocked = fake_logs.b2n_run(tmp_path, "dtd", "CLIPFit", "vit_b16", 2, base=90.0, new=60.0)["base"]

    def guarded_open(path, *args, **kwargs):
        if os.path.abspath(path) == os.path.abspath(blocked):
            raise PermissionError(13, "Permission denied", path)
        return open(path, *args, **kwargs)

    monkeypatch.setattr(logs, "open", guarded_open, raising=False)
    return blocked


def test_an_unreadable_log_is_skipped_and_named_by_the_report(tmp_path, capsys, unreadable_log):
    assert cli(["report", "--output-dir", str(tmp_path), "--no-figures"]) == 0
    out = capsys.readouterr().out
    rel = os.path.relpath(os.path.dirname(unreadable_log), tmp_path)
    assert f"- {rel}: cannot read log.txt (Permission denied): skipped, not a result" in out
    assert "80.00 ± 0.00 (1/2)" in out and "90.00" not in out  # seed 1 counts, seed 2's Base is not a result
    assert find_result(os.path.dirname(unreadable_log)) is None


def test_an_unreadable_log_is_skipped_and_named_by_parse_test_res(tmp_path, capsys, unreadable_log):
    from clipfit.app.results.coop_parser import main as parse_main

    assert parse_main([os.path.dirname(os.path.dirname(unreadable_log))]) == 0
    out, err = capsys.readouterr()
    assert "* accuracy: 80.00% +- 0.00%" in out
    assert f"note: {os.path.dirname(unreadable_log)}: cannot read log.txt (Permission denied): skipped" in err
