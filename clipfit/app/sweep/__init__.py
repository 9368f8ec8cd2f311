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
from ...core.lazy_exports import lazy_exports

# imported on first use: `clipfit sweep --help` reads SETTINGS from grid.py without the executors' imports
__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    ".grid": ("SETTINGS", "Grid", "known_datasets", "parse_datasets", "parse_settings", "parse_trainers"),
    ".local": ("gpu_slots", "visible_gpus"),
    ".outcome": ("BLOCKED", "DONE", "FAILED", "INTERRUPTED", "SKIPPED", "SUBMITTED", "Outcome", "Summary"),
    ".plan": ("Plan", "PlannedJob"),
    ".run": ("make_log_dir", "run_sweep"),
    ".slurm": ("SlurmOptions", "require_submitit"),
})
