"""The local executor: GPU slots and scheduling (with a stand-in job), then real sweeps on the demo data."""
import glob
import os
import threading
import time

import pytest
from _sweep_helpers import tiny_grid

from clipfit.app.sweep import BLOCKED, DONE, FAILED, Grid, Plan, gpu_slots, visible_gpus
from clipfit.app.sweep.local import LocalExecutor
from clipfit.app.sweep.progress import Progress


@pytest.mark.parametrize("value,gpus", [("0,2", ["0", "2"]), ("", []), ("-1", []), ("1,-1,2", ["1"]),
                                        ("GPU-8a2f,MIG-1", ["GPU-8a2f", "MIG-1"])])
def test_visible_gpus_reads_cuda_visible_devices(value, gpus):
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": value}) == gpus


def test_visible_gpus_falls_back_to_the_device_count():
    assert visible_gpus({}, device_count=3) == ["0", "1", "2"]
    assert visible_gpus({}, device_count=0) == []


def test_gpu_slots():
    assert gpu_slots([]) == [None]  # CPU: one job at a time
    assert gpu_slots(["0", "1"], jobs_per_gpu=2) == ["0", "1", "0", "1"]
    assert gpu_slots(["0", "1", "2", "3", "4"], gpus_per_job=2) == ["0,1", "2,3"]


def test_scheduler_uses_each_gpu_once_respects_dependencies_and_isolates_failures(tmp_path, monkeypatch):
    """Stand-in jobs (0.3 s each) on two fake GPUs; CLIPFit's dtd training job fails."""
    calls, lock = [], threading.Lock()

    def fake_run_in_job(job, force, capture, env, raise_on_failure):
        start = time.time()
        time.sleep(0.3)
        with lock:
            calls.append((job.trainer, job.protocol, job.dataset, env["CUDA_VISIBLE_DEVICES"], start, time.time()))
        fails = job.trainer == "CLIPFit" and job.dataset == "dtd" and job.protocol == "base2new_train"
        if fails:
            with open(capture, "a") as f:
                f.write("error: something broke\n")
        return {"status": FAILED if fails else DONE, "error": "exit code 1" if fails else "",
                "started": start, "finished": time.time()}

    monkeypatch.setattr("clipfit.app.sweep.local.run_in_job", fake_run_in_job)
    jobs = Grid(("CLIPFit", "ZeroshotCLIP"), ("base2new",), (1,), datasets=("dtd", "eurosat"),
                output_root=str(tmp_path)).jobs()
    plan = Plan.build(jobs)
    outcomes = LocalExecutor(plan, ["0", "1"], str(tmp_path), Progress(len(plan), bar=False)).run()

    status = {(o.planned.job.trainer, o.planned.job.protocol, o.planned.job.dataset): o.status
              for o in outcomes.values()}
    assert status.pop(("CLIPFit", "base2new_train", "dtd")) == FAILED
    assert status.pop(("CLIPFit", "base2new_test", "dtd")) == BLOCKED
    assert set(status.values()) == {DONE}
    assert len(calls) == 7  # the blocked test job never started
    failed = next(o for o in outcomes.values() if o.status == FAILED)
    assert failed.error == "exit code 1 (error: something broke)"
    assert failed.logs == (os.path.join(str(tmp_path), "001-CLIPFit-base2new_train-dtd-16shots-seed1.out"),)
    # never two jobs on one GPU at once, both GPUs used in parallel
    for i, a in enumerate(calls):
        for b in calls[i + 1:]:
            if a[3] == b[3]:
                assert a[5] <= b[4] or b[5] <= a[4]
    assert {c[3] for c in calls} == {"0", "1"}
    assert sum(c[5] - c[4] for c in calls) > 1.3 * (max(c[5] for c in calls) - min(c[4] for c in calls))
    train = next(c for c in calls if c[:3] == ("CLIPFit", "base2new_train", "eurosat"))
    test = next(c for c in calls if c[:3] == ("CLIPFit", "base2new_test", "eurosat"))
    assert test[4] >= train[5]


def test_sigterm_stops_the_sweep_and_is_passed_on_to_the_running_train_py(tmp_path, monkeypatch):
    """SIGTERM reaches only the sweep's process (unlike Ctrl-C, which the terminal sends to the whole group):
    the sweep starts nothing more, sends it on to the running train.py, waits for it and reports the jobs."""
    from clipfit.app.sweep.outcome import INTERRUPTED, NOT_STARTED
    from clipfit.errors import Terminated

    stopped, started = threading.Event(), threading.Event()

    def fake_run_in_job(job, force, capture, env, raise_on_failure):
        started.set()
        stopped.wait()  # "train.py" runs until SIGTERM reaches it
        return {"status": FAILED, "error": "train.py exited with code 143", "started": 0.0, "finished": 0.0}

    def sigterm_while_waiting(futures, return_when):
        started.wait()
        raise Terminated

    def terminate_children():
        stopped.set()
        return 1

    monkeypatch.setattr("clipfit.app.sweep.local.run_in_job", fake_run_in_job)
    monkeypatch.setattr("clipfit.app.sweep.local.wait", sigterm_while_waiting)
    monkeypatch.setattr("clipfit.app.sweep.local.terminate_children", terminate_children)
    plan = Plan.build(Grid(("CLIPFit",), ("base2new",), (1,), datasets=("dtd", "eurosat"),
                           output_root=str(tmp_path)).jobs())
    outcomes = LocalExecutor(plan, [None], str(tmp_path), Progress(len(plan), bar=False)).run()
    assert stopped.is_set()
    by_job = {(o.planned.job.protocol, o.planned.job.dataset): (o.status, o.error) for o in outcomes.values()}
    assert by_job == {("base2new_train", "dtd"): (INTERRUPTED, "interrupted while running"),
                      ("base2new_test", "dtd"): (INTERRUPTED, NOT_STARTED),
                      ("base2new_train", "eurosat"): (INTERRUPTED, NOT_STARTED),
                      ("base2new_test", "eurosat"): (INTERRUPTED, NOT_STARTED)}


def _sweep_dir(output):
    (folder,) = glob.glob(os.path.join(output, "sweeps", "*"))
    return folder


@pytest.mark.slow
def test_local_sweep_runs_the_grid_then_a_rerun_skips_everything(sweep, demo_root, tmp_path):
    output = str(tmp_path / "out")
    code, out, _ = sweep(*tiny_grid(demo_root, output, "CLIPFit", "ZeroshotCLIP"))
    assert code == 0, out
    assert "Sweep summary (4 job(s), " in out and "4 done, 0 skipped, 0 failed" in out
    for number in (1, 2, 3, 4):
        assert f"] done   #{number} " in out
    logs = _sweep_dir(output)
    outs = sorted(os.listdir(logs))
    assert outs == ["001-CLIPFit-base2new_train-demo_shapes-2shots-seed1.out",
                    "002-CLIPFit-base2new_test-demo_shapes-2shots-seed1.out",
                    "003-ZeroshotCLIP-base2new_train-demo_shapes-2shots-seed1.out",
                    "004-ZeroshotCLIP-base2new_test-demo_shapes-2shots-seed1.out", "plan.txt", "summary.txt"]
    with open(os.path.join(logs, outs[1])) as f:
        captured = f.read()
    model_dir = os.path.join(output, "base2new/train_base/demo_shapes/shots_2/CLIPFit/vit_b16_ep100/seed1")
    assert f"--model-dir {model_dir} --load-epoch 1 --eval-only" in captured
    assert "* accuracy:" in captured
    for stage in ("train_base", "test_new"):
        assert os.path.isfile(os.path.join(output, "base2new", stage, "demo_shapes", "shots_2", "CLIPFit",
                                           "vit_b16_ep100", "seed1", "log.txt"))

    code, out, _ = sweep(*tiny_grid(demo_root, output, "CLIPFit", "ZeroshotCLIP"), "--dry-run")
    assert code == 0 and "4 job(s): 0 to run, 4 finished (skipped)" in out
    assert sum(line.split()[1] == "skip" for line in out.splitlines() if line.startswith("#")) == 4

    code, out, _ = sweep(*tiny_grid(demo_root, output, "CLIPFit", "ZeroshotCLIP"), "--report")
    assert code == 0, out
    assert "skipped 4 finished run(s)" in out and "0 done, 4 skipped, 0 failed" in out
    assert "clipfit report --output-dir" in out and os.path.isfile(os.path.join(output, "leaderboard.md"))
    assert f"clipfit report --output-dir {output} --all-runs" in out  # its tiny-backbone runs are not left out
    assert "CLIPFit vit_b16_ep100 [shots_2] (backbone tiny; OPTIM.MAX_EPOCH 1" in out


@pytest.mark.slow
def test_a_failed_job_is_reported_with_its_log_and_blocks_only_its_test(sweep, demo_root, tmp_path, monkeypatch):
    """LAMBDA (CLIPFit's recipe knob) set to a non-number: CLIPFit's train.py fails on its config."""
    monkeypatch.setenv("LAMBDA", "not-a-number")
    output = str(tmp_path / "out")
    code, out, _ = sweep(*tiny_grid(demo_root, output, "CLIPFit", "ZeroshotCLIP"))
    assert code == 1
    assert "2 done, 0 skipped, 1 failed, 1 not run" in out
    capture = os.path.join(_sweep_dir(output), "001-CLIPFit-base2new_train-demo_shapes-2shots-seed1.out")
    assert ("FAILED  #1 CLIPFit demo_shapes seed 1: train on base classes: train.py exited with code 2 "
            "(error: command-line option: Type mismatch") in out
    assert f"        log:    {capture}" in out
    assert "NOT RUN #2 CLIPFit demo_shapes seed 1: test on new classes: its training job #1 failed" in out
    with open(capture) as f:
        assert "TRAINER.CLIPFIT.LAMBDA not-a-number" in f.read()
    test_out = os.path.join(_sweep_dir(output), "002-CLIPFit-base2new_test-demo_shapes-2shots-seed1.out")
    assert not os.path.exists(test_out)
    with open(os.path.join(_sweep_dir(output), "summary.txt")) as f:
        header, *rows = [line.split("\t") for line in f.read().split("\n\n", 1)[1].splitlines()]
    assert header[:2] == ["number", "status"]
    assert [row[1] for row in rows] == ["failed", "not run", "done", "done"]
    assert rows[0][7].endswith("001-CLIPFit-base2new_train-demo_shapes-2shots-seed1.out") and rows[2][3] != "-"
