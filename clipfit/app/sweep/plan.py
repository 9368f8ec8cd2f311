"""The plan of a sweep: its jobs in order, what each waits for, and which runs are already finished."""
from __future__ import annotations

import os
from dataclasses import dataclass

from ..jobs import Job
from ..run_settings import finished_run
from ..runner import absolute_path, job_result


@dataclass(frozen=True)
class PlannedJob:
    number: int  # 1-based position in the plan
    job: Job
    needs: int | None  # number of the planned job whose model this one evaluates (None: no dependency)
    result: float | None  # accuracy of the finished run found when planning (None: not finished)
    differences: str = ""  # how that run's recorded settings differ from the job's (then it is not skipped)

    @property
    def name(self) -> str:
        """A file-name-safe id, e.g. `002-CLIPFit-base2new_test-dtd-16shots-seed1`."""
        job = self.job
        shots = f"-{job.shots}shots" if job.protocol in ("base2new_train", "base2new_test", "few_shot") else ""
        return f"{self.number:03d}-{job.trainer}-{job.protocol}-{job.dataset}{shots}-seed{job.seed}"

    def capture(self, log_dir: str) -> str:
        """`<log_dir>/<name>.out`: the sweep's copy of the job's output."""
        return os.path.join(log_dir, f"{self.name}.out")

    @property
    def label(self) -> str:
        return f"#{self.number} {self.job.describe()}"

    @property
    def output_dir(self) -> str:
        """The run folder as the runner resolves it (relative paths are under the repository root)."""
        return absolute_path(self.job.output_dir)


@dataclass(frozen=True)
class Plan:
    jobs: tuple[PlannedJob, ...]
    force: bool = False

    @classmethod
    def build(cls, jobs: list[Job], force: bool = False) -> Plan:
        """Number the jobs, link each test job to its training job and look for finished runs.

        A test job whose training job is not in `jobs` has no dependency here: the runner then checks
        that the training run is finished before it starts."""
        numbers = {os.path.normpath(job.output_dir): n for n, job in enumerate(jobs, 1)}
        planned = []
        for number, job in enumerate(jobs, 1):
            train = job.train_job
            needs = numbers.get(os.path.normpath(train.output_dir)) if train is not None else None
            if force:
                planned.append(PlannedJob(number, job, needs, job_result(job)))
                continue
            finished = finished_run(job)
            planned.append(PlannedJob(number, job, needs, finished.accuracy if finished else None,
                                      finished.differences if finished else ""))
        return cls(tuple(planned), force)

    def __len__(self) -> int:
        return len(self.jobs)

    def __getitem__(self, number: int) -> PlannedJob:
        return self.jobs[number - 1]

    def skips(self, planned: PlannedJob) -> bool:
        """Finished with the settings asked for, not forced, and not the evaluation of a training job this
        sweep runs (again)."""
        retrained = planned.needs is not None and not self.skips(self[planned.needs])
        return planned.result is not None and not planned.differences and not self.force and not retrained

    @property
    def to_run(self) -> list[PlannedJob]:
        return [p for p in self.jobs if not self.skips(p)]

    @property
    def to_skip(self) -> list[PlannedJob]:
        return [p for p in self.jobs if self.skips(p)]

    def line(self, planned: PlannedJob) -> str:
        """One line of `--dry-run`: number, action, what, output folder, dependency, finished state."""
        if self.skips(planned):
            action, state = "skip", f"finished: {planned.result:.2f}%"
        elif planned.differences and not self.force:
            action, state = "stop", (f"finished: {planned.result:.2f}% with other settings: "
                                     f"{planned.differences}; --force moves it aside and reruns it")
        elif planned.result is not None and not self.force:
            action, state = "run", f"finished: {planned.result:.2f}% with the model that #{planned.needs} trains again"
        elif planned.result is not None:
            action, state = "rerun", f"finished: {planned.result:.2f}%, --force moves it aside"
        else:
            action, state = "run", ""
        if planned.needs is not None:
            ready = " (finished)" if self.skips(self[planned.needs]) else ""
            state = ", ".join(s for s in (state, f"needs #{planned.needs}{ready}") if s)
        width = len(str(len(self.jobs)))
        tail = f"  ({state})" if state else ""
        return f"#{planned.number:<{width}} {action:<5} {planned.job.describe()} -> {planned.job.output_dir}{tail}"

    def lines(self, commands: bool = False) -> list[str]:
        out = []
        for planned in self.jobs:
            out.append(self.line(planned))
            if commands and not self.skips(planned):
                out.append(f"    {planned.job.shell_command()}")
        return out

    def headline(self) -> str:
        if self.force:
            finished = sum(p.result is not None for p in self.jobs)
            return f"{len(self.jobs)} job(s) to run (--force: {finished} finished run(s) moved aside and rerun)"
        skip, other = len(self.to_skip), sum(bool(p.differences) for p in self.jobs)
        stops = f", {other} finished with other settings (they stop, naming them)" if other else ""
        return f"{len(self.jobs)} job(s): {len(self.jobs) - skip - other} to run, {skip} finished (skipped){stops}"
