"""What happened to each job of a sweep, and the summary printed (and saved) at its end."""
from __future__ import annotations

import datetime
import os
from dataclasses import dataclass, replace

from ...errors import INTERRUPTED_EXIT, TERMINATED_EXIT
from ..results import log_files
from ..runner import DONE, SKIPPED, job_result  # what run_job returns: a job that ran / was already finished
from .plan import Plan, PlannedJob

FAILED = "failed"
BLOCKED = "not run"  # its training job failed (or was not run), so it was never started
INTERRUPTED = "interrupted"  # the sweep was stopped (Ctrl-C) before it finished or started
SUBMITTED = "submitted"  # handed to SLURM; the sweep did not wait for it

NOT_STARTED = "the sweep was interrupted before it started"

STATUSES = (DONE, SKIPPED, FAILED, BLOCKED, INTERRUPTED, SUBMITTED)
SUMMARY_COLUMNS = ("number", "status", "seconds", "accuracy", "job", "output_dir", "slurm_id", "logs")


@dataclass(frozen=True)
class Outcome:
    planned: PlannedJob
    status: str
    seconds: float = 0.0
    error: str = ""  # why it failed or was not run
    logs: tuple[str, ...] = ()  # where to look: the run's log.txt, the sweep's capture of the job's output
    started: float | None = None  # wall-clock times (time.time()) of the job itself, when it ran
    finished: float | None = None
    slurm_id: str = ""
    result: float | None = None  # the run's accuracy, when it is done

    @property
    def ok(self) -> bool:
        return self.status in (DONE, SKIPPED, SUBMITTED)


def run_log(planned: PlannedJob) -> str | None:
    """The newest log of the job's run folder (train.py's OUTPUT_DIR/log.txt or a re-run's), if any."""
    logs = log_files(planned.output_dir)
    return logs[-1] if logs else None


def log_paths(planned: PlannedJob, *captured: str) -> tuple[str, ...]:
    """The run's own log (when train.py got that far) followed by the sweep's captures of its output."""
    own = run_log(planned)
    return tuple(p for p in ((own,) if own else ()) + captured if p)


def last_line(path: str) -> str:
    """The last non-empty line of a job's captured output (usually its error), '' if none."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = [line.strip() for line in f.readlines()[-50:] if line.strip()]
    except OSError:
        return ""
    return lines[-1][:300] if lines else ""


def with_result(outcome: Outcome) -> Outcome:
    """`outcome` with the accuracy its run's log reports, for jobs that are done."""
    if outcome.status != DONE:
        return outcome
    return replace(outcome, result=job_result(outcome.planned.job))


def ran(planned: PlannedJob, value: dict, captured: tuple[str, ...], error: str | None = None,
        slurm_id: str = "") -> Outcome:
    """The outcome of a job that ran, from what `worker.run_in_job` returned (`error` replaces its error);
    a failed job's logs start with the run's own log, a done job gets its accuracy."""
    logs = log_paths(planned, *captured) if value["status"] == FAILED else tuple(captured)
    return with_result(Outcome(planned, value["status"], value["finished"] - value["started"],
                               value["error"] if error is None else error, logs, value["started"],
                               value["finished"], slurm_id=slurm_id))


def blocked(planned: PlannedJob, dependency: Outcome) -> Outcome:
    return Outcome(planned, BLOCKED, error=f"its training job #{dependency.planned.number} {dependency.status}")


def elapsed(seconds: float) -> str:
    return str(datetime.timedelta(seconds=int(seconds)))


class Recorder:
    """What both executors share: the outcomes of a plan's jobs by number, each reported to the progress
    display as it is recorded."""

    def __init__(self, plan: Plan, progress):
        self.plan = plan
        self.progress = progress
        self.outcomes: dict[int, Outcome] = {}
        self.terminated = False  # the interruption, if any, was SIGTERM (exit 143) rather than Ctrl-C (130)

    def _record(self, outcome: Outcome, quiet: bool = False) -> None:
        self.outcomes[outcome.planned.number] = outcome
        self.progress.finished(outcome, quiet)

    def _record_skipped(self) -> None:
        """The finished runs the plan skips, counted at once."""
        skipped = [Outcome(p, SKIPPED, result=p.result) for p in self.plan.to_skip]
        self.outcomes.update((o.planned.number, o) for o in skipped)
        self.progress.skipped(skipped)

    def _dependency(self, planned: PlannedJob) -> Outcome | None:
        """The outcome of the training job `planned` waits for; None when it waits for none or that job has
        no outcome yet."""
        return self.outcomes.get(planned.needs) if planned.needs is not None else None


class Summary:
    """Counts per status, the failed jobs with their logs, the jobs not run, and the exit code."""

    def __init__(self, plan: Plan, outcomes: dict[int, Outcome], seconds: float, log_dir: str | None = None,
                 terminated: bool = False):
        self.plan = plan
        self.outcomes = outcomes
        self.seconds = seconds
        self.log_dir = log_dir
        self.terminated = terminated

    def with_status(self, status: str) -> list[Outcome]:
        return [o for _, o in sorted(self.outcomes.items()) if o.status == status]

    def counts(self) -> dict[str, int]:
        return {status: len(self.with_status(status)) for status in STATUSES}

    @property
    def exit_code(self) -> int:
        """0 when every job is done, skipped or submitted; 130 after Ctrl-C, 143 after SIGTERM; 1 when a job
        failed or was not run because its training job failed."""
        if self.with_status(INTERRUPTED):
            return TERMINATED_EXIT if self.terminated else INTERRUPTED_EXIT
        return 1 if self.with_status(FAILED) or self.with_status(BLOCKED) else 0

    def count_line(self) -> str:
        parts = [f"{n} {status}" for status, n in self.counts().items() if n or status in (DONE, SKIPPED, FAILED)]
        return ", ".join(parts)

    def text(self) -> str:
        lines = [f"Sweep summary ({len(self.plan)} job(s), {elapsed(self.seconds)}): {self.count_line()}"]
        for outcome in self.with_status(FAILED):
            lines.append(f"FAILED  {outcome.planned.label}: {outcome.error}")
            lines.append(f"        output: {outcome.planned.job.output_dir}")
            lines += [f"        log:    {path}" for path in outcome.logs]
        for outcome in self.with_status(BLOCKED):
            lines.append(f"NOT RUN {outcome.planned.label}: {outcome.error}")
        interrupted = self.with_status(INTERRUPTED)
        for outcome in interrupted:
            if outcome.error != NOT_STARTED:
                lines.append(f"INTERRUPTED {outcome.planned.label}")
        not_started = sum(o.error == NOT_STARTED for o in interrupted)
        if not_started:
            lines.append(f"{not_started} job(s) not started; run the same command again to go on")
        submitted = self.with_status(SUBMITTED)
        if submitted:
            ids = sorted({o.slurm_id.split("_")[0] for o in submitted if o.slurm_id})
            lines.append(f"Submitted {len(submitted)} job(s) to SLURM (job ids {', '.join(ids)}; each job's id and "
                         "logs are in summary.txt). Follow them with `squeue --me`. Once they ended, the same "
                         "command resubmits what did not finish (finished runs are skipped); do not rerun it "
                         "while they are still queued or running, or runs would be submitted twice.")
        if self.log_dir:
            lines.append(f"Sweep logs: {self.log_dir}")
        if self.exit_code == 1:
            lines.append("Fix the cause and run the same command again: finished runs are skipped.")
        return "\n".join(lines)

    def write(self) -> str | None:
        """Save the summary and a tab-separated table, one row per job (SUMMARY_COLUMNS), to the log folder."""
        if not self.log_dir:
            return None
        path = os.path.join(self.log_dir, "summary.txt")
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.text() + "\n\n" + "\t".join(SUMMARY_COLUMNS) + "\n")
            for number, outcome in sorted(self.outcomes.items()):
                accuracy = f"{outcome.result:.2f}" if outcome.result is not None else "-"
                row = [str(number), outcome.status, f"{outcome.seconds:.1f}", accuracy, outcome.planned.job.describe(),
                       outcome.planned.job.output_dir, outcome.slurm_id or "-", " ".join(outcome.logs) or "-"]
                f.write("\t".join(row) + "\n")
        return path
