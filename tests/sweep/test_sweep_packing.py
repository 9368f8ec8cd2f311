"""`--jobs-per-gpu N` on SLURM: N jobs per SLURM job, tests after their pack with afterany, per-job outcomes."""
import threading
import time
from contextlib import contextmanager

from clipfit.app.sweep import (
    BLOCKED,
    DONE,
    FAILED,
    SUBMITTED,
    Grid,
    Plan,
    SlurmOptions,
    make_log_dir,
    run_sweep,
    worker,
)


class PackExecutor:
    """A submitit stand-in: records each submission and runs it at once (as a finished SLURM job)."""

    def __init__(self):
        self.parameters, self.submissions = {}, []

    def update_parameters(self, **kwargs):
        self.parameters.update(kwargs)

    @contextmanager
    def batch(self):
        yield

    def submit(self, fn, *args):
        value = fn(*args)
        job = type("FakeJob", (), {"job_id": f"7{len(self.submissions)}", "paths": None, "done": lambda self: True,
                                   "result": lambda self: value})()
        self.submissions.append((fn.__name__, args, dict(self.parameters), job.job_id))
        return job


def _plan(tmp_path, datasets=("dtd", "eurosat", "food101")):
    return Plan.build(Grid(("CLIPFit",), ("base2new",), (1,), datasets, output_root=str(tmp_path)).jobs())


def test_packs_share_slurm_jobs_and_their_tests_wait_with_afterany(tmp_path, monkeypatch):
    monkeypatch.setattr("clipfit.app.sweep.slurm.SubmititExecutor._logs", lambda self, planned, job: ())
    monkeypatch.setattr(worker, "run_pack", lambda jobs, force, captures: [{}] * len(jobs))
    monkeypatch.setattr("clipfit.app.sweep.slurm.run_pack", worker.run_pack)
    recorder = PackExecutor()
    summary = run_sweep(_plan(tmp_path), make_log_dir(str(tmp_path)), executor="submitit", wait=False, bar=False,
                        slurm=SlurmOptions(jobs_per_gpu=2), submitit_executor=recorder)
    assert [o.status for o in summary.outcomes.values()] == [SUBMITTED] * 6
    packs = [([(j.protocol, j.dataset) for j in args[0]], params["slurm_additional_parameters"].get("dependency"))
             for _, args, params, _ in recorder.submissions]
    assert packs == [
        ([("base2new_train", "dtd"), ("base2new_train", "eurosat")], None),
        ([("base2new_train", "food101")], None),
        ([("base2new_test", "dtd"), ("base2new_test", "eurosat")], "afterany:70"),  # both trained in pack 70
        ([("base2new_test", "food101")], "afterany:71"),
    ]
    assert all(len(args[2]) == len(args[0]) and args[2][0].endswith(".out") for _, args, _, _ in recorder.submissions)


def test_a_failed_member_fails_alone_and_its_test_is_not_run(tmp_path, monkeypatch):
    monkeypatch.setattr("clipfit.app.sweep.slurm.SubmititExecutor._logs", lambda self, planned, job: ())
    running, peak = [], []
    lock = threading.Lock()

    def fake_run_in_job(job, force, capture, env, raise_on_failure):
        assert raise_on_failure is False and capture.endswith(".out")
        with lock:
            running.append(job)
            peak.append(len(running))
        time.sleep(0.05)
        with lock:
            running.remove(job)
        failed = job.protocol == "base2new_train" and job.dataset == "eurosat" or (
            job.protocol == "base2new_test" and job.dataset == "eurosat")
        now = time.time()
        return {"status": FAILED if failed else DONE, "error": "train.py exited with code 1" if failed else "",
                "started": now, "finished": now}

    monkeypatch.setattr(worker, "run_in_job", fake_run_in_job)
    monkeypatch.setattr("clipfit.app.sweep.slurm.SubmititExecutor.scheduler_dependencies", property(lambda s: True))
    summary = run_sweep(_plan(tmp_path, ("dtd", "eurosat")), make_log_dir(str(tmp_path)), executor="submitit",
                        wait=True, poll_s=0.01, bar=False, slurm=SlurmOptions(jobs_per_gpu=2),
                        submitit_executor=PackExecutor())
    statuses = {(o.planned.job.protocol, o.planned.job.dataset): o.status for o in summary.outcomes.values()}
    assert statuses == {("base2new_train", "dtd"): DONE, ("base2new_train", "eurosat"): FAILED,
                        ("base2new_test", "dtd"): DONE, ("base2new_test", "eurosat"): BLOCKED}
    assert max(peak) == 2  # the members of a pack ran at the same time
    assert summary.exit_code == 1
