"""Experiment grids (`clipfit sweep`): trainers x protocols x datasets x shots x seeds, run as the scripts
run them (the same `clipfit.app.jobs.Job` commands and output folders, through `clipfit.app.runner.run_job`).

    grid.py      the grid, name validation, expansion into jobs
    plan.py      the numbered jobs, test -> train dependencies, finished runs (skipped)
    local.py     the local executor: a pool of GPU slots (CUDA_VISIBLE_DEVICES per job), CPU: one at a time
    slurm.py     the SLURM executor through submitit (test jobs held with afterok on their training job)
    worker.py    what runs one job (in a thread, a SLURM job or submitit's debug executor)
    outcome.py   per-job outcomes and the summary (exit code)
    progress.py  the progress bar and lines
    run.py       plan -> executor -> summary, with the sweep's log folder

    from clipfit.app.sweep import Grid, Plan, make_log_dir, run_sweep
    plan = Plan.build(Grid(("CLIPFit",), ("base2new",), (1, 2, 3)).jobs())
    summary = run_sweep(plan, make_log_dir("./output"))
"""
from .grid import SETTINGS, Grid, known_datasets, parse_datasets, parse_settings, parse_trainers
from .local import gpu_slots, visible_gpus
from .outcome import BLOCKED, DONE, FAILED, INTERRUPTED, SKIPPED, SUBMITTED, Outcome, Summary
from .plan import Plan, PlannedJob
from .run import make_log_dir, run_sweep
from .slurm import SlurmOptions, require_submitit

__all__ = [
    "BLOCKED", "DONE", "FAILED", "INTERRUPTED", "SETTINGS", "SKIPPED", "SUBMITTED", "Grid", "Outcome", "Plan",
    "PlannedJob", "SlurmOptions", "Summary", "gpu_slots", "known_datasets", "make_log_dir", "parse_datasets",
    "parse_settings", "parse_trainers", "require_submitit", "run_sweep", "visible_gpus",
]
