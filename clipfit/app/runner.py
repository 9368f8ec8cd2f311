"""Runs one benchmark job: skip it when finished, move it aside on FORCE=1, check inputs, call train.py."""
from __future__ import annotations

import contextlib
import os
import shlex
import subprocess
import sys
import threading
import traceback

from ..errors import INTERRUPTED_EXIT, TERMINATED_EXIT, Terminated, UserInputError, report_errors
from . import datasets_catalog, trainers_catalog
from .jobs import PROJECT_ROOT, Job, env, job_from_env

SKIPPED, DONE = "skipped", "done"

_children: set[subprocess.Popen] = set()  # the train.py processes run_job is waiting for, in any thread
_children_lock = threading.Lock()


def absolute_path(path: str) -> str:
    """A job path as the scripts resolve it: relative paths are relative to the repository root."""
    return path if os.path.isabs(path) else os.path.normpath(os.path.join(PROJECT_ROOT, path))


def relative_output_note(output_root: str) -> str | None:
    """What a relative OUTPUT means (the scripts run from the repository root), unless it is the default."""
    if os.path.isabs(output_root) or os.path.normpath(output_root) == "output":
        return None
    return (f"Note: OUTPUT {output_root} is a relative path, taken from the repository root {PROJECT_ROOT}: runs go to "
            f"{absolute_path(output_root)} (give OUTPUT an absolute path to write elsewhere)")


def job_result(job: Job) -> float | None:
    """The job's final accuracy when its newest complete log has one, else None (not finished, or an
    evaluation of a model its training run no longer holds: `stale_evaluation`)."""
    from .results import find_result

    directory = absolute_path(job.output_dir)
    result = find_result(directory) if os.path.isdir(directory) else None
    return None if result is not None and stale_evaluation(job) else result


def stale_evaluation(job: Job) -> str | None:
    """Why the finished evaluation job `job` evaluated another model than its training run's current one
    (retrained since, e.g. with FORCE=1); None when it did, cannot be told, or is no such job."""
    from .results import read_run
    from .results.pairing import stale_reason

    if job.train_job is None:
        return None
    run = read_run(absolute_path(job.output_dir))
    return stale_reason(run.used, absolute_path(job.train_job.output_dir)) if run.used is not None else None


def data_root_problem(data_root: str) -> str | None:
    """Why the jobs cannot read the data root `data_root`, said as `absolute_path` resolves it; None when it
    is a folder."""
    from ..core.user_paths import folder_problem

    return folder_problem(data_root, "data root", PROJECT_ROOT, "the repository root, where the scripts run")


def check_inputs(job: Job) -> None:
    problem = data_root_problem(job.data_root)
    if problem:
        raise UserInputError(
            f"{problem}; set DATA=/path/to/your/datasets "
            "(laid out as DATASETS.md describes; `clipfit data check --root DIR` inspects it)"
        )
    dataset = datasets_catalog.facts(job.dataset).cls
    if hasattr(dataset, "missing_folder"):  # a plugin dataset may have a layout of its own
        error = dataset.missing_folder(absolute_path(job.data_root), "DATA")
        if error is not None:  # said before train.py prints its config, and before the output folder is made
            raise error
    train = job.train_job
    if train is not None and job_result(train) is None:
        raise UserInputError(
            f"{job.describe()} needs the finished training run at {train.output_dir}, which has no result yet; "
            f"run `{training_command(train)}` first"
        )


def training_command(train: Job) -> str:
    """How to run `train` by hand: its script, or the runner the scripts call for a trainer without scripts."""
    args = " ".join(a for a in (train.dataset if train.protocol != "xd_train" else "", str(train.seed)) if a)
    script = trainers_catalog.script_for(train.trainer, train.protocol)
    if script is None:
        return f"python -m clipfit.app.runner {train.trainer} {train.protocol} {args}"
    return f"bash {script} {args}"


def move_aside(directory: str) -> str:
    from .results.run_folders import moved_aside_path
    from .run_lock import refuse_if_in_use

    refuse_if_in_use(directory, "FORCE=1")
    target = moved_aside_path(directory)
    os.rename(directory, target)
    return target


def move_back_if_untouched(directory: str, moved: str) -> str:
    """After a FORCE=1 rerun failed: the previous run goes back to `directory` when the new one wrote nothing
    there (it stopped on its arguments or its config), so a typo never hides a finished result. Returns the
    line that says where the previous run is now."""
    from .run_lock import LOCK_NAME

    try:
        written = [n for n in os.listdir(directory) if n != LOCK_NAME]
    except FileNotFoundError:
        written = []
    if written:
        return f"FORCE=1: the new run failed after it started; the previous run stays at {moved}"
    if os.path.isdir(directory):
        with contextlib.suppress(FileNotFoundError):
            os.remove(os.path.join(directory, LOCK_NAME))
        os.rmdir(directory)
    os.rename(moved, directory)
    return f"FORCE=1: the new run failed before it started; moved the previous run back to {directory}"


def wait_through_ctrl_c(proc: subprocess.Popen) -> int:
    """Wait for train.py even on Ctrl-C: it gets the same signal, finishes its atomic writes and says how to
    resume (killing it, as subprocess.run does, would lose that line). SIGTERM reaches only this process,
    so it is passed on, and train.py stops the same way."""
    with _children_lock:
        _children.add(proc)
    try:
        while True:
            try:
                return proc.wait()
            except Terminated:
                proc.terminate()
            except KeyboardInterrupt:
                continue
    finally:
        with _children_lock:
            _children.discard(proc)


def terminate_children() -> int:
    """Send SIGTERM to every train.py that run_job is waiting for (a sweep's other threads); return how many."""
    with _children_lock:
        running = [p for p in _children if p.poll() is None]
    for proc in running:
        proc.terminate()
    return len(running)


def run_train_in_process(argv: list[str]) -> int:
    """train.py's main in this process (what `python train.py ARGS` would do), from the repository root.

    Saves what a second interpreter costs each script step: starting Python and importing torch,
    open_clip and the trainers again (`benchmarks/bench_data.py` measures it)."""
    from .commands.train import build_parser
    from .commands.train import run as run_train

    previous = os.getcwd()
    os.chdir(PROJECT_ROOT)
    try:
        return run_train(build_parser().parse_args(argv))
    except SystemExit as e:  # argparse's exit on a bad flag: its message is printed, the status is its code
        return e.code if isinstance(e.code, int) else 1
    except Exception:  # as the subprocess would: the traceback, then a failed exit status
        traceback.print_exc()
        return 1
    finally:
        os.chdir(previous)
        sys.stdout.flush()


def run_job(job: Job, force: bool = False, stdout=None, stderr=None, env=None, in_process: bool = False) -> str:
    """Run `job` unless it is finished; return DONE or SKIPPED, raise on failure. A finished run with other
    settings than the job's is neither skipped nor rerun: a UserInputError names what differs.

    `stdout`, `stderr` and `env` are handed to the train.py process; when `stdout` is a file, the notes
    printed here go to it too (`clipfit sweep` keeps one file per job). `in_process` runs train.py's main
    in this process instead (the scripts' path: one job, then the process ends); a sweep never does, as
    its jobs share a process and each needs its own output, environment and global state."""
    from .run_settings import finished_run, other_settings_error, write_job_record

    out = stdout if hasattr(stdout, "write") else None
    finished = None if force else finished_run(job)
    directory = absolute_path(job.output_dir)
    if finished is not None:  # skipped only when it ran with the settings asked for now
        if not finished.matches:
            raise other_settings_error(job, finished)
        unknown = "" if finished.compared else "; its log records no settings, so they were not compared"
        print(f"Skip {job.describe()}: finished at {job.output_dir} (accuracy {finished.accuracy:.2f}%){unknown}; "
              "FORCE=1 reruns it", file=out)
        return SKIPPED
    check_inputs(job)
    moved = None
    stale = None if force or not os.path.isdir(directory) else stale_evaluation(job)
    if stale:
        print(f"Rerun {job.describe()}: the finished run at {job.output_dir} is stale: {stale}", file=out)
    if (force or stale) and os.path.isdir(directory):
        moved = move_aside(directory)
        print(f"{'FORCE=1' if force else 'Stale run'}: moved the previous run to {moved}", file=out)
    elif os.path.isdir(directory):
        print(f"Unfinished run at {job.output_dir}: training resumes from its last checkpoint if there is one",
              file=out)
    note = relative_output_note(job.output_root)
    if note:
        print(note, file=out)
    print(f"Run {job.describe()} -> {job.output_dir}", file=out)
    argv = job.command()
    shown = shlex.join(argv)
    print(shown, file=out, flush=True)
    if in_process:
        returncode = run_train_in_process(argv[2:])
    else:
        proc = subprocess.Popen([sys.executable, *argv[1:]], cwd=PROJECT_ROOT, stdout=stdout, stderr=stderr, env=env)
        returncode = wait_through_ctrl_c(proc)
    if returncode != 0:
        if moved is not None:
            print(move_back_if_untouched(directory, moved), file=out if out is not None else sys.stderr, flush=True)
        raise subprocess.CalledProcessError(returncode, shown)
    write_job_record(job)
    return DONE


def failure_hint(job: Job) -> str:
    """Where to read why the job failed: its newest log when train.py got as far as writing one."""
    from .results import log_files

    logs = log_files(absolute_path(job.output_dir))
    if logs:
        return f"see the message above and the run's log {logs[-1]}"
    return "train.py stopped before writing a log; its message is above"


def _main(argv: list[str]) -> int:
    job = job_from_env(argv[0], argv[1], argv[2:])
    try:
        run_job(job, force=env("FORCE") not in ("", "0"), in_process=True)
    except subprocess.CalledProcessError as e:
        if e.returncode in (INTERRUPTED_EXIT, TERMINATED_EXIT):  # train.py said how to resume
            return e.returncode
        print(f"error: the job failed (exit code {e.returncode}); {failure_hint(job)}", file=sys.stderr)
        return e.returncode or 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """`python -m clipfit.app.runner TRAINER PROTOCOL ARGS...`, what the scripts call."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) < 2:
        print("usage: python -m clipfit.app.runner TRAINER PROTOCOL ARGS...", file=sys.stderr)
        return 2
    return report_errors(lambda: _main(argv),
                         resume_hint="Run the same script again to resume from the last checkpoint.")


if __name__ == "__main__":
    sys.exit(main())
