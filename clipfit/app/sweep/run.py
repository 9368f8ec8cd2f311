"""A sweep from plan to summary: its log folder, the executor, the summary file."""
from __future__ import annotations

import os
import time

from ..runner import absolute_path
from .local import LocalExecutor
from .outcome import Summary
from .plan import Plan
from .progress import Progress
from .slurm import SlurmOptions, SubmititExecutor


def make_log_dir(output_root: str) -> str:
    """A new `<output root>/sweeps/<YYYYmmdd-HHMMSS>[-k]` folder for this sweep's logs."""
    base = os.path.join(absolute_path(output_root), "sweeps", time.strftime("%Y%m%d-%H%M%S"))
    path, k = base, 1
    while True:
        try:
            os.makedirs(path)
            return path
        except FileExistsError:
            k += 1
            path = f"{base}-{k}"


def run_sweep(plan: Plan, log_dir: str, executor: str = "local", slots: list[str | None] | None = None,
              slurm: SlurmOptions | None = None, submitit_dir: str | None = None, wait: bool = True,
              poll_s: float | None = None, bar: bool | None = None, submitit_executor=None) -> Summary:
    """Run (or, on SLURM without `wait`, submit) every job of `plan`; the summary is also written to
    `<log_dir>/summary.txt`, the plan to `<log_dir>/plan.txt`."""
    begin = time.time()
    with open(os.path.join(log_dir, "plan.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join([plan.headline(), *plan.lines(commands=True)]) + "\n")
    progress = Progress(len(plan), bar=bar)
    try:
        if executor == "local":
            runner = LocalExecutor(plan, slots or [None], log_dir, progress)
        else:
            runner = SubmititExecutor(plan, slurm or SlurmOptions(), log_dir, progress, submitit_dir, wait, poll_s,
                                      executor=submitit_executor)
        outcomes = runner.run()
    finally:
        progress.close()
    summary = Summary(plan, outcomes, time.time() - begin, log_dir, terminated=runner.terminated)
    summary.write()
    return summary
