"""The SLURM executor, through submitit (an optional dependency: `pip install 'clipfit[slurm]'`).

Each job runs `clipfit.app.sweep.worker.run_in_job` (the scripts' `clipfit.app.runner.run_job`) in a SLURM job.

`jobs_per_gpu` > 1 packs that many jobs into each SLURM job (`worker.run_pack`): they run at the same time
on its GPU(s), each its own train.py process with its output in `<sweep logs>/<job>.out`; test jobs then
wait with `afterany` instead of `afterok` (a pack ends well even when one member failed) and a test whose
training run has no result is reported as not run.

Dependencies on SLURM: every job that waits for nothing (training jobs, zero-shot jobs, test jobs whose
training run is already finished) goes into one job array. Test jobs are grouped by the training job they
evaluate; each group is one more array submitted with `--dependency=afterok:<training job id>` (the id of
that training job's array task, e.g. `1234_5`) and `--kill-on-invalid-dep=yes`: the tests start only after
their training job succeeded, and SLURM cancels them when it failed. The sweep prints the job ids and
returns, or with `wait` follows the jobs and ends with the same summary as the local executor.

submitit's `local` and `debug` clusters (for trying a SLURM sweep on one machine) have no scheduler to hold
a job back, so there the sweep submits in waves instead: the jobs that wait for nothing, then, once they
ended, the test jobs whose training job succeeded. `debug` runs the jobs one by one in this process.
"""
from __future__ import annotations

import importlib.util
import os
import re
import time
from dataclasses import dataclass, field

from ...errors import UserInputError
from .outcome import BLOCKED, FAILED, SUBMITTED, Outcome, Recorder, blocked, log_paths, ran
from .plan import Plan, PlannedJob
from .progress import Progress
from .worker import run_in_job, run_pack

CLUSTERS = ("slurm", "local", "debug")


def require_submitit() -> None:
    if importlib.util.find_spec("submitit") is None:
        raise UserInputError(
            "--executor slurm submits the jobs through submitit, which is not installed; "
            "install it with `pip install 'clipfit[slurm]'` (or `pip install submitit`), "
            "or use --executor local"
        )


_TIME = re.compile(r"^(?:(?P<days>\d+)-)?(?P<a>\d+)(?::(?P<b>\d+))?(?::(?P<c>\d+))?$")


def parse_time(text: str) -> int:
    """SLURM's --time formats (MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS) in whole minutes."""
    match = _TIME.match(str(text).strip())
    if not match:
        raise UserInputError(f"--time {text!r}: use minutes or SLURM's [D-]HH:MM:SS (e.g. 600, 10:00:00, 1-00:00:00)")
    days, a, b, c = (int(match[k]) if match[k] else None for k in ("days", "a", "b", "c"))
    if days is None:
        seconds = a * 60 + (b or 0) if c is None else a * 3600 + b * 60 + c
    else:
        seconds = days * 86400 + a * 3600 + (b or 0) * 60 + (c or 0)
    return max(1, -(-seconds // 60))


@dataclass(frozen=True)
class SlurmOptions:
    partition: str | None = None
    time: str = "24:00:00"
    gpus_per_job: int = 1
    cpus_per_task: int | None = 8
    mem_gb: float | None = None
    array_parallelism: int | None = None
    account: str | None = None
    qos: str | None = None
    constraint: str | None = None
    sbatch: tuple[tuple[str, str], ...] = field(default_factory=tuple)  # extra `#SBATCH --KEY=VALUE` lines
    setup: tuple[str, ...] = field(default_factory=tuple)  # shell lines run before the job (module load ...)
    job_name: str = "clipfit"
    cluster: str = "slurm"  # submitit's cluster: slurm, or local/debug to try the sweep on this machine
    jobs_per_gpu: int = 1  # jobs packed into one SLURM job, running at the same time on its GPU(s)

    def parameters(self) -> dict:
        """The `update_parameters` arguments of a submitit AutoExecutor (None values left out)."""
        params = {
            "name": self.job_name,
            "timeout_min": parse_time(self.time),
            "gpus_per_node": self.gpus_per_job,
            "tasks_per_node": 1,
            "cpus_per_task": self.cpus_per_task,
            "mem_gb": self.mem_gb,
            "slurm_partition": self.partition,
            "slurm_account": self.account,
            "slurm_qos": self.qos,
            "slurm_constraint": self.constraint,
            "slurm_array_parallelism": self.array_parallelism,
            "slurm_setup": list(self.setup) or None,
            "slurm_additional_parameters": dict(self.sbatch),
        }
        return {k: v for k, v in params.items() if v is not None}


def dependency_parameters(options: SlurmOptions, train_id: str | None) -> dict:
    """`slurm_additional_parameters` for jobs that wait for the SLURM job `train_id` (None: wait for nothing).

    One job per SLURM job: `afterok`, SLURM cancels the tests of a failed training job. Packed jobs:
    `afterany`, as a pack also ends well when one of its members failed; then each test job finds that
    its training run has no result and is reported as not run."""
    extra = dict(options.sbatch)
    if train_id is not None:
        kind = "afterok" if options.jobs_per_gpu == 1 else "afterany"
        extra.update({"dependency": f"{kind}:{train_id}", "kill-on-invalid-dep": "yes"})
    return {"slurm_additional_parameters": extra}


def make_executor(folder: str, options: SlurmOptions):
    """A submitit AutoExecutor for `options.cluster`, its parameters set."""
    require_submitit()
    import submitit

    try:
        executor = submitit.AutoExecutor(folder=folder, cluster=options.cluster)
    except RuntimeError as e:  # e.g. `srun` not found: this machine is no SLURM cluster
        raise UserInputError(f"cannot submit to SLURM from here ({e}); use --executor local, or "
                             "--submitit-cluster local|debug to try the SLURM path on this machine") from e
    executor.update_parameters(**options.parameters())
    return executor


def _error_of(exception: BaseException) -> str:
    """A one-line reason from a submitit error (which carries the job's whole traceback)."""
    text = str(exception)
    found = re.findall(r"JobFailed: (.+)", text)
    if found:
        return found[-1].strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return (lines[0] if lines else type(exception).__name__)[:300]


class SubmititExecutor(Recorder):
    """Submits a plan through a submitit executor and, unless told not to wait, follows it to the end."""

    def __init__(self, plan: Plan, options: SlurmOptions, log_dir: str, progress: Progress,
                 submitit_dir: str | None = None, wait: bool = True, poll_s: float | None = None, executor=None):
        """`poll_s`: seconds between looks at unfinished jobs (default: 30 on SLURM, 1 on this machine)."""
        super().__init__(plan, progress)
        self.options = options
        self.log_dir = log_dir
        self.wait = wait
        self.poll_s = poll_s if poll_s is not None else (30.0 if options.cluster == "slurm" else 1.0)
        self.submitit_dir = submitit_dir or os.path.join(log_dir, "submitit")
        self.executor = executor if executor is not None else make_executor(self.submitit_dir, options)
        self.submitted: dict[int, object] = {}  # plan number -> submitit job
        self.pack_member: dict[int, int] = {}  # plan number -> its place in its pack (packed sweeps)

    @property
    def scheduler_dependencies(self) -> bool:
        """True on SLURM, where sbatch holds test jobs back; local/debug clusters submit in waves."""
        return self.options.cluster == "slurm"

    def _capture(self, planned: PlannedJob) -> str | None:
        """The debug cluster runs jobs in this process: their output goes to `<log_dir>/<job>.out`."""
        return planned.capture(self.log_dir) if self.options.cluster == "debug" else None

    def _submit(self, group: list[PlannedJob], train_id: str | None = None) -> None:
        """One array for `group`, held back until the SLURM job `train_id` ended (succeeded, unpacked)."""
        self.executor.update_parameters(**dependency_parameters(self.options, train_id))
        after = f", after SLURM job {train_id}" if train_id else ""
        if self.packed:
            self._submit_packs(group, after)
            return
        raise_on_failure = self.options.cluster != "debug"  # debug opens pdb on an exception
        with self.executor.batch():
            jobs = [self.executor.submit(run_in_job, p.job, self.plan.force, self._capture(p), None,
                                         raise_on_failure) for p in group]
        for planned, job in zip(group, jobs):
            self.submitted[planned.number] = job
            self.progress.note(f"submitted {planned.label} as job {job.job_id}{after}")

    @property
    def packed(self) -> bool:
        return self.options.jobs_per_gpu > 1

    def _submit_packs(self, group: list[PlannedJob], after: str) -> None:
        """`jobs_per_gpu` jobs per SLURM job, each writing its output to `<log_dir>/<job>.out`."""
        n = self.options.jobs_per_gpu
        packs = [group[i:i + n] for i in range(0, len(group), n)]
        with self.executor.batch():
            jobs = [self.executor.submit(run_pack, [p.job for p in pack], self.plan.force,
                                         [p.capture(self.log_dir) for p in pack]) for pack in packs]
        for pack, job in zip(packs, jobs):
            for k, planned in enumerate(pack):
                self.submitted[planned.number] = job
                self.pack_member[planned.number] = k
            labels = ", ".join(p.label for p in pack)
            self.progress.note(f"submitted {len(pack)} job(s) sharing a GPU as SLURM job {job.job_id}{after}: {labels}")

    def run(self) -> dict[int, Outcome]:
        self._record_skipped()
        if self.scheduler_dependencies:
            self._submit_with_dependencies()
            if not self.wait:
                return self._left_submitted()
            self._follow()
        else:
            self._submit_in_waves()
        return self.outcomes

    def _submit_with_dependencies(self) -> None:
        free, groups = [], {}
        for planned in self.plan.to_run:
            if planned.needs is None or self.plan.skips(self.plan[planned.needs]):
                free.append(planned)
            else:
                groups.setdefault(planned.needs, []).append(planned)
        if free:
            self._submit(free)
        while groups:  # a group goes once its training job has an id (always, as training jobs wait for nothing)
            ready = [n for n in groups if n in self.submitted]
            if not ready:
                raise RuntimeError(f"dependency cycle in the plan around jobs {sorted(groups)}")
            by_slurm_job: dict[str, list[PlannedJob]] = {}  # packed: the tests of one pack pack together
            for number in ready:
                by_slurm_job.setdefault(self.submitted[number].job_id, []).extend(groups.pop(number))
            for slurm_id, tests in by_slurm_job.items():
                self._submit(tests, slurm_id)

    def _submit_in_waves(self) -> None:
        remaining = list(self.plan.to_run)
        while remaining:
            wave, later = [], []
            for planned in remaining:
                dependency = self._dependency(planned)
                if planned.needs is not None and dependency is None:
                    later.append(planned)
                elif dependency is not None and not dependency.ok:
                    self._record(blocked(planned, dependency))
                else:
                    wave.append(planned)
            if wave:
                self._submit(wave)
                self._follow()
            elif later:
                raise RuntimeError(f"jobs {[p.number for p in later]} wait for jobs that are not in the plan")
            remaining = later

    def _follow(self) -> None:
        """Wait for every submitted job without an outcome, recording each as it ends (in plan order)."""
        pending = {n: job for n, job in self.submitted.items() if n not in self.outcomes}
        while pending:
            ended = [n for n in sorted(pending) if pending[n].done()]
            for number in ended:
                self._record(self._outcome(self.plan[number], pending.pop(number)))
            if pending and not ended:
                time.sleep(self.poll_s)

    def _logs(self, planned: PlannedJob, job) -> tuple[str, ...]:
        capture = planned.capture(self.log_dir) if self.packed else self._capture(planned)
        slurm_logs = (str(job.paths.stdout), str(job.paths.stderr))
        if self.packed:
            return (capture, *slurm_logs) if self.options.cluster != "debug" else (capture,)
        return (capture,) if capture else slurm_logs

    def _outcome(self, planned: PlannedJob, job) -> Outcome:
        dependency = self._dependency(planned)
        failed_dependency = dependency is not None and dependency.status in (FAILED, BLOCKED)
        try:
            value = job.result()
        except Exception as e:  # submitit's FailedJobError / UncompletedJobError (cancelled, timed out, ...)
            if failed_dependency:
                return blocked(planned, dependency)
            return Outcome(planned, FAILED, error=_error_of(e), logs=log_paths(planned, *self._logs(planned, job)),
                           slurm_id=job.job_id)
        if self.packed:
            value = value[self.pack_member[planned.number]]
            if value["status"] == FAILED and failed_dependency:
                return blocked(planned, dependency)
        return ran(planned, value, self._logs(planned, job), slurm_id=job.job_id)

    def _left_submitted(self) -> dict[int, Outcome]:
        for number, job in sorted(self.submitted.items()):
            planned = self.plan[number]
            self.outcomes[number] = Outcome(planned, SUBMITTED, logs=self._logs(planned, job), slurm_id=job.job_id)
        return self.outcomes
