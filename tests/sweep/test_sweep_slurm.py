"""The SLURM executor through submitit: the sbatch scripts it writes (a stand-in `sbatch`), the parameters
it hands to the executor, real runs on submitit's debug and local clusters, and submitit missing."""
import glob
import importlib.util
import os
import re
import stat
from contextlib import contextmanager

import pytest
from _sweep_helpers import TINY, tiny_grid

from clipfit.app.sweep import DONE, SUBMITTED, Grid, Plan, SlurmOptions, make_log_dir, run_sweep
from clipfit.app.sweep.slurm import require_submitit
from clipfit.errors import UserInputError

needs_submitit = pytest.mark.skipif(importlib.util.find_spec("submitit") is None,
                                    reason="submitit is not installed (pip install 'clipfit[test]')")

FAKE_SBATCH = """#!/bin/sh
# Records the job script and answers as sbatch does.
n=$(ls "{rec}" | wc -l)
cp "$1" "{rec}/$((n + 100)).sh"
echo "Submitted batch job $((n + 100))"
"""


@pytest.fixture
def fake_slurm(tmp_path, monkeypatch):
    """`sbatch` and `srun` stand-ins first on PATH; returns the folder of the recorded job scripts."""
    bin_dir, rec = tmp_path / "bin", tmp_path / "sbatch_scripts"
    bin_dir.mkdir()
    rec.mkdir()
    for name, text in (("sbatch", FAKE_SBATCH.format(rec=rec)), ("srun", "#!/bin/sh\nexit 0\n")):
        path = bin_dir / name
        path.write_text(text)
        path.chmod(path.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return rec


def _sbatch_options(script: str) -> dict:
    return dict(re.findall(r"^#SBATCH --([\w-]+)(?:=(.*))?$", script, re.M))


def _finish(job, accuracy="70.0"):
    """Write a complete result log into the job's run folder, as a finished run has."""
    os.makedirs(job.output_dir, exist_ok=True)
    with open(os.path.join(job.output_dir, "log.txt"), "w") as f:
        f.write(f"=> result\n* total: 10\n* correct: 7\n* accuracy: {accuracy}%\nElapsed: 0:00:01\n")


@needs_submitit
def test_sbatch_scripts_hold_test_jobs_with_afterok_on_their_training_job(sweep, fake_slurm, tmp_path):
    output = tmp_path / "out"
    args = ["--trainers", "CLIPFit", "ZeroshotCLIP", "--protocols", "base2new", "xd", "--datasets", "dtd",
            "--seeds", "1", "--data", tmp_path, "--output", output, "--executor", "slurm", "--partition", "gpu",
            "--time", "3:00:00", "--mem-gb", "32", "--cpus-per-task", "6", "--array-parallelism", "2",
            "--account", "lab", "--qos", "high", "--sbatch", "mail-type=FAIL", "--setup", "module load cuda"]
    jobs = Grid(("CLIPFit", "ZeroshotCLIP"), ("base2new", "xd"), (1,), ("dtd",), output_root=str(output)).jobs()
    plan = [(j.trainer, j.protocol) for j in jobs]
    assert plan == [("CLIPFit", "base2new_train"), ("CLIPFit", "base2new_test"), ("ZeroshotCLIP", "base2new_train"),
                    ("ZeroshotCLIP", "base2new_test"), ("CLIPFit", "xd_train"), ("CLIPFit", "xd_test"),
                    ("ZeroshotCLIP", "xd_train"), ("ZeroshotCLIP", "xd_test")]
    _finish(jobs[4])  # CLIPFit's ImageNet model is finished: its xd test needs no dependency

    code, out, err = sweep(*args)
    assert code == 0, err
    assert "1 skipped, 0 failed, 7 submitted" in out and "squeue" in out
    scripts = {int(p.stem): p.read_text() for p in fake_slurm.iterdir()}
    assert sorted(scripts) == [100, 101]  # one array for the free jobs, one for CLIPFit's base2new test
    free, held = _sbatch_options(scripts[100]), _sbatch_options(scripts[101])
    assert free["array"] == "0-5%2" and "dependency" not in free
    assert held["dependency"] == "afterok:100_0" and held["kill-on-invalid-dep"] == "yes"
    assert "array" not in held  # a group of one is a plain job
    for options in (free, held):
        assert options["partition"] == "gpu" and options["time"] == "180" and options["mem"] == "32GB"
        assert options["cpus-per-task"] == "6" and options["gpus-per-node"] == "1"
        assert options["account"] == "lab" and options["qos"] == "high" and options["mail-type"] == "FAIL"
    assert "module load cuda" in scripts[100]

    # which job each SLURM job runs: read back the pickled submissions
    from submitit.core.utils import DelayedSubmission

    (sweep_dir,) = glob.glob(str(output / "sweeps" / "*"))
    ran = {}
    for path in glob.glob(os.path.join(sweep_dir, "submitit", "*_submitted.pkl")):
        delayed = DelayedSubmission.load(path)
        assert delayed.function.__module__ == "clipfit.app.sweep.worker"
        job = delayed.args[0]
        ran[os.path.basename(path)[: -len("_submitted.pkl")]] = (job.trainer, job.protocol)
    assert ran["100_0"] == ("CLIPFit", "base2new_train")
    assert ran["101"] == ("CLIPFit", "base2new_test")
    assert sorted(ran.values()) == sorted(set(plan) - {("CLIPFit", "xd_train")})
    with open(os.path.join(sweep_dir, "summary.txt")) as f:
        _, *rows = [line.split("\t") for line in f.read().split("\n\n", 1)[1].splitlines()]
    assert [(row[1], row[6]) for row in rows[:2]] == [("submitted", "100_0"), ("submitted", "101")]


class RecordingExecutor:
    """Stands in for a submitit executor: records the parameters in force at each submission."""

    def __init__(self):
        self.parameters, self.submissions, self.events = {}, [], []

    def update_parameters(self, **kwargs):
        self.parameters.update(kwargs)
        self.events.append(("update", kwargs))

    @contextmanager
    def batch(self):
        self.events.append(("batch", None))
        yield

    def submit(self, fn, *args):
        job = type("FakeJob", (), {"job_id": f"7{len(self.submissions)}", "paths": None})()
        self.submissions.append((args[0], dict(self.parameters), job.job_id))
        return job


def test_dependency_parameters_handed_to_the_executor(tmp_path, monkeypatch):
    monkeypatch.setattr("clipfit.app.sweep.slurm.SubmititExecutor._logs", lambda self, planned, job: ())
    plan = Plan.build(Grid(("CLIPFit",), ("base2new",), (1,), ("dtd", "eurosat"), output_root=str(tmp_path)).jobs())
    recorder = RecordingExecutor()
    options = SlurmOptions(sbatch=(("mail-type", "FAIL"),))
    summary = run_sweep(plan, make_log_dir(str(tmp_path)), executor="submitit", slurm=options, wait=False,
                        bar=False, submitit_executor=recorder)
    assert [o.status for o in summary.outcomes.values()] == [SUBMITTED] * 4
    submitted = [(job.protocol, job.dataset, params["slurm_additional_parameters"], job_id)
                 for job, params, job_id in recorder.submissions]
    assert submitted == [
        ("base2new_train", "dtd", {"mail-type": "FAIL"}, "70"),
        ("base2new_train", "eurosat", {"mail-type": "FAIL"}, "71"),
        ("base2new_test", "dtd", {"mail-type": "FAIL", "dependency": "afterok:70", "kill-on-invalid-dep": "yes"}, "72"),
        ("base2new_test", "eurosat",
         {"mail-type": "FAIL", "dependency": "afterok:71", "kill-on-invalid-dep": "yes"}, "73"),
    ]
    assert [e for e, _ in recorder.events].count("batch") == 3  # one array of two, then one per training job


@needs_submitit
@pytest.mark.slow
def test_debug_cluster_runs_the_test_job_after_its_training_job(demo_root, tmp_path):
    """The real submitit path (AutoExecutor, cluster="debug"): no scheduler, so the sweep submits in waves."""
    jobs = Grid(("CLIPFit",), ("base2new",), (1,), ("demo_shapes",), shots=(2,), data_root=demo_root,
                output_root=str(tmp_path / "out"), extra_opts=tuple(TINY)).jobs()
    plan = Plan.build(jobs)
    log_dir = make_log_dir(str(tmp_path / "out"))
    summary = run_sweep(plan, log_dir, executor="submitit", slurm=SlurmOptions(cluster="debug"), bar=False)
    train, test = summary.outcomes[1], summary.outcomes[2]
    assert (train.status, test.status) == (DONE, DONE) and summary.exit_code == 0
    assert train.slurm_id.startswith("DEBUG_") and test.slurm_id.startswith("DEBUG_")
    assert test.started >= train.finished
    assert test.result is not None and os.path.isfile(os.path.join(jobs[1].output_dir, "log.txt"))
    with open(os.path.join(log_dir, "002-CLIPFit-base2new_test-demo_shapes-2shots-seed1.out")) as f:
        assert "--eval-only" in f.read()


@needs_submitit
@pytest.mark.slow
def test_local_cluster_reports_a_failed_training_job_and_does_not_run_its_test(sweep, demo_root, tmp_path,
                                                                                monkeypatch):
    """submitit's local cluster runs each job in its own process, where a failure raises (as on SLURM)."""
    monkeypatch.setenv("LAMBDA", "not-a-number")
    output = tmp_path / "out"
    code, out, _ = sweep(*tiny_grid(demo_root, output, "CLIPFit"), "--executor", "slurm", "--submitit-cluster",
                         "local", "--time", "5")
    assert code == 1
    assert "0 done, 0 skipped, 1 failed, 1 not run" in out
    assert "FAILED  #1 CLIPFit demo_shapes seed 1: train on base classes: train.py exited with code 2" in out
    logs = re.findall(r"^        log:    (.+)$", out, re.M)
    assert len(logs) == 2 and logs[0].endswith("_0_log.out") and logs[1].endswith("_0_log.err")
    assert os.path.basename(os.path.dirname(logs[0])) == "submitit"
    with open(logs[0]) as f:
        assert "TRAINER.CLIPFIT.LAMBDA not-a-number" in f.read()
    assert "NOT RUN #2 CLIPFit demo_shapes seed 1: test on new classes: its training job #1 failed" in out


def test_missing_submitit_is_a_clear_error(sweep, monkeypatch, tmp_path):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "submitit" else real_find_spec(name, *a))
    with pytest.raises(UserInputError, match=r"pip install 'clipfit\[slurm\]'"):
        require_submitit()
    code, _, err = sweep("--trainers", "CLIPFit", "--datasets", "dtd", "--executor", "slurm", "--dry-run",
                         "--output", tmp_path)
    assert code == 2
    assert "error: --executor slurm submits the jobs through submitit, which is not installed" in err


@needs_submitit
def test_slurm_without_srun_says_so(sweep, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no srun: not a SLURM cluster
    code, _, err = sweep("--trainers", "ZeroshotCLIP", "--datasets", "dtd", "--seeds", "1", "--data", tmp_path,
                         "--output", tmp_path / "out", "--executor", "slurm")
    assert code == 2 and "cannot submit to SLURM from here" in err and "--submitit-cluster" in err
