"""One job of a sweep, run wherever the executor puts it: a thread of the local executor, a SLURM job
(pickled by submitit, so this stays a plain module-level function), or submitit's debug executor."""
from __future__ import annotations

import os
import subprocess
import sys
import time

from ...errors import UserInputError
from ..jobs import Job
from ..runner import run_job
from .outcome import FAILED


class JobFailed(RuntimeError):
    """The job's train.py exited with an error, or its inputs were wrong; the message says which."""


def run_in_job(job: Job, force: bool = False, capture: str | None = None, env: dict | None = None,
               raise_on_failure: bool = True) -> dict:
    """Run `job` through `clipfit.app.runner.run_job` (the scripts' path: skip if finished, FORCE, input checks).

    `capture`: a file that receives the job's output (stdout and stderr), else they are inherited (a SLURM
    job's submitit log). `env`: the train.py process's environment (e.g. CUDA_VISIBLE_DEVICES).
    Returns {"status", "error", "started", "finished"}; a failure raises `JobFailed` (a SLURM job must end
    with an error for `afterok` dependencies to hold) unless `raise_on_failure` is False, then its status
    is "failed" and "error" says why."""
    started = time.time()
    out = open(capture, "a", encoding="utf-8") if capture else None
    try:
        status, error = run_job(job, force=force, stdout=out, stderr=subprocess.STDOUT if out else None, env=env), ""
    except subprocess.CalledProcessError as e:
        status, error = FAILED, _exit_reason(e.returncode)
    except UserInputError as e:
        status, error = FAILED, str(e)
        print(f"error: {e}", file=out or sys.stderr, flush=True)
    finally:
        if out:
            out.close()
    if error and raise_on_failure:
        raise JobFailed(error)
    return {"status": status, "error": error, "started": started, "finished": time.time()}


def _exit_reason(returncode: int) -> str:
    if returncode < 0:
        return f"train.py was killed by signal {-returncode}"
    return f"train.py exited with code {returncode}"


def job_environment(gpus: str | None) -> dict:
    """This process's environment, unbuffered output, and CUDA_VISIBLE_DEVICES=`gpus` when given."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    if gpus is not None:
        env["CUDA_VISIBLE_DEVICES"] = gpus
    return env


def run_pack(jobs: list[Job], force: bool = False, captures: list[str] | None = None) -> list[dict]:
    """Run `jobs` at the same time on this allocation's GPU(s) (`--jobs-per-gpu` on SLURM): each in its own
    train.py process, its output in its own capture file; returns what `run_in_job` returns for each.

    A member's failure is reported in its entry, never raised: the others' results must still count, and
    their test jobs (which wait with `afterany`) check for a finished training run themselves."""
    from concurrent.futures import ThreadPoolExecutor

    captures = captures or [None] * len(jobs)
    env = job_environment(os.environ.get("CUDA_VISIBLE_DEVICES"))
    with ThreadPoolExecutor(max_workers=max(1, len(jobs))) as pool:
        futures = [pool.submit(run_in_job, job, force, capture, env, False) for job, capture in zip(jobs, captures)]
        return [future.result() for future in futures]
