"""The local executor: a pool of GPU slots on this machine, one job per slot, dependencies respected.

Each visible GPU (or group of `gpus_per_job` GPUs) is a slot, `jobs_per_gpu` times over; a job's train.py
sees only its slot's GPUs (CUDA_VISIBLE_DEVICES). Without a GPU there is one slot: jobs run one after the
other. A test job starts only once its training job is done (or was already finished); when the training
job failed, the test job is not run and is reported as such. A failed job never stops the others.
"""
from __future__ import annotations

import os
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from ...errors import Terminated, UserInputError
from ..runner import terminate_children
from .outcome import FAILED, INTERRUPTED, NOT_STARTED, Outcome, Recorder, blocked, last_line, ran
from .plan import Plan, PlannedJob
from .progress import Progress
from .worker import job_environment, run_in_job


def visible_gpus(environ: dict | None = None, device_count: int | None = None) -> list[str]:
    """The GPUs this process may use: the entries of CUDA_VISIBLE_DEVICES when it is set (indices, UUIDs
    or MIG ids, up to the first invalid one such as -1, as CUDA reads it), else 0..N-1 for the N devices
    torch sees; [] without a GPU."""
    environ = os.environ if environ is None else environ
    value = environ.get("CUDA_VISIBLE_DEVICES")
    if value is not None:
        gpus = []
        for entry in (e.strip() for e in value.split(",")):
            if not entry or entry.startswith("-"):
                break
            gpus.append(entry)
        return gpus
    if device_count is None:
        import torch

        device_count = torch.cuda.device_count()
    return [str(i) for i in range(device_count)]


def gpu_slots(gpus: list[str], gpus_per_job: int = 1, jobs_per_gpu: int = 1) -> list[str | None]:
    """The CUDA_VISIBLE_DEVICES value of each slot, GPUs taken in turn (e.g. 2 GPUs x 2 jobs: 0, 1, 0, 1);
    [None] without a GPU (one job at a time, on the CPU)."""
    if gpus_per_job < 1 or jobs_per_gpu < 1:
        raise UserInputError("--gpus-per-job and --jobs-per-gpu must be at least 1")
    if not gpus:
        return [None]
    if gpus_per_job > len(gpus):
        raise UserInputError(f"--gpus-per-job {gpus_per_job}, but only {len(gpus)} GPU(s) are visible "
                             f"({','.join(gpus)}); lower it or make more GPUs visible")
    groups = [",".join(gpus[i:i + gpus_per_job]) for i in range(0, len(gpus) - gpus_per_job + 1, gpus_per_job)]
    return [group for _ in range(jobs_per_gpu) for group in groups]


def describe_slots(slots: list[str | None]) -> str:
    if slots == [None]:
        return "no GPU visible: one job at a time on the CPU"
    return f"{len(slots)} job(s) at a time on GPU(s) {' | '.join(slots)}"


def run_one(planned: PlannedJob, gpus: str | None, log_dir: str, force: bool) -> Outcome:
    """Run one job in this thread; its output (and any error) goes to `<log_dir>/<job>.out`."""
    capture = planned.capture(log_dir)
    with open(capture, "w", encoding="utf-8") as f:
        f.write(f"# {planned.label}\n# CUDA_VISIBLE_DEVICES={gpus if gpus is not None else '(unchanged, no GPU)'}\n"
                f"# started {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
    begin = time.time()
    try:
        value = run_in_job(planned.job, force, capture, job_environment(gpus), raise_on_failure=False)
    except Exception as e:  # e.g. an OSError while starting train.py: this job fails, the sweep goes on
        with open(capture, "a", encoding="utf-8") as f:
            traceback.print_exc(file=f)
        value = {"status": FAILED, "error": f"{type(e).__name__}: {e}", "started": begin, "finished": time.time()}
    error = value["error"]
    if value["status"] == FAILED:
        reason = last_line(capture)
        if reason and reason not in error:
            error = f"{error} ({reason})"
    return ran(planned, value, (capture,), error)


class LocalExecutor(Recorder):
    def __init__(self, plan: Plan, slots: list[str | None], log_dir: str, progress: Progress):
        super().__init__(plan, progress)
        self.slots = slots
        self.log_dir = log_dir

    def run(self) -> dict[int, Outcome]:
        self._record_skipped()
        waiting = list(self.plan.to_run)
        free = list(self.slots)
        running: dict[Future, tuple[PlannedJob, str | None]] = {}
        with ThreadPoolExecutor(max_workers=len(self.slots)) as pool:
            try:
                while waiting or running:
                    for planned in list(waiting):
                        dependency = self._dependency(planned)
                        if planned.needs is not None and dependency is None:
                            continue  # its training job has not ended yet
                        if dependency is not None and not dependency.ok:
                            waiting.remove(planned)
                            self._record(blocked(planned, dependency))
                        elif free:
                            waiting.remove(planned)
                            gpus = free.pop(0)
                            self.progress.started(planned, f"GPU {gpus}" if gpus is not None else "CPU")
                            future = pool.submit(run_one, planned, gpus, self.log_dir, self.plan.force)
                            running[future] = (planned, gpus)
                    if not running:
                        break
                    finished, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in finished:
                        planned, gpus = running.pop(future)
                        free.append(gpus)
                        self._record(future.result())
            except KeyboardInterrupt as e:
                self.terminated = isinstance(e, Terminated)
                if self.terminated:  # unlike Ctrl-C, SIGTERM reached only this process
                    terminate_children()
                self._interrupt(waiting, running)
        return self.outcomes

    def _interrupt(self, waiting: list[PlannedJob], running: dict) -> None:
        """Ctrl-C or SIGTERM: start nothing more; the running train.py processes got the signal too (SIGTERM
        passed on), wait for them."""
        self.progress.note(f"interrupted: {len(waiting)} job(s) not started; waiting for {len(running)} running "
                           "job(s) to stop")
        for planned in waiting:
            self._record(Outcome(planned, INTERRUPTED, error=NOT_STARTED), quiet=True)
        for future, (planned, _) in running.items():
            outcome = future.result()
            if not outcome.ok:
                outcome = Outcome(planned, INTERRUPTED, outcome.seconds, "interrupted while running", outcome.logs)
            self._record(outcome)
