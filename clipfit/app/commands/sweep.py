"""`clipfit sweep`: a grid of benchmark jobs (the scripts' jobs), run on this machine's GPUs or on SLURM."""
from __future__ import annotations

import argparse
import os
import sys

from ...errors import INTERRUPTED_EXIT, TERMINATED_EXIT, Terminated, UserInputError
from ..jobs import env

NAME = "sweep"
HELP = "Run a grid of benchmark jobs (trainers x protocols x datasets x shots x seeds) locally or on SLURM."

EPILOG = """\
protocols (each job is the one its script runs: same train.py command, same output folder):
  base2new  base2new_train (base classes), then base2new_test of that model (new classes)
  few_shot  all classes, one run per --shots value (default 1 2 4 8 16)
  xd        cross-dataset: xd_train on ImageNet (16 shots), then xd_test on each target dataset
  dg        domain generalization: the same ImageNet model, xd_test on imagenetv2/_sketch/_a/_r
`--datasets all` takes each protocol's own datasets (11 for base2new/few_shot, 10 xd targets, 4 dg
targets); named datasets go to the protocols they belong to.

how it runs:
  Finished runs (their log has the final result) are skipped, so the same command resumes a sweep;
  --force moves finished runs aside and reruns them. A test job starts only after its training job
  succeeded; if that failed, the test is reported as not run. A failed job does not stop the others.
  local: one job per visible GPU (CUDA_VISIBLE_DEVICES, else all GPUs torch sees; each job sees only its
  own), --jobs-per-gpu at a time per GPU; without a GPU, one job at a time on the CPU.
  slurm (needs `pip install 'clipfit[slurm]'`): the jobs that wait for nothing go into one job array;
  each training job's test jobs are one more array with --dependency=afterok:<its id> and
  --kill-on-invalid-dep=yes. The sweep prints the ids and returns; --wait follows the jobs to the end.
  --jobs-per-gpu N on SLURM packs N jobs into each SLURM job, running at the same time on its GPU(s)
  (each job's output in <nnn-job>.out); their test jobs wait with afterany and check for the result.
  The scripts' environment knobs (LAMBDA, NCTX, CSC, CTP, LOAD_EPOCH) apply as they do to the scripts.

logs: <output>/sweeps/<timestamp>/ holds plan.txt, summary.txt and, per job, <nnn-job>.out (its whole
output; SLURM: submitit's logs under submitit/ or --log-dir); each run also writes OUTPUT_DIR/log.txt.
exit status: 0 all jobs done, skipped or submitted; 1 a job failed or was not run because its training
job failed; 2 bad input; 130 interrupted (Ctrl-C), 143 terminated (SIGTERM).

examples:
  # the plan (nothing runs): CLIPFit and CoOp, base-to-new on all 11 datasets, seeds 1 2 3
  clipfit sweep --trainers CLIPFit CoOp --protocols base2new --dry-run
  # run it on this machine's GPUs, two jobs per GPU, then write the leaderboard
  clipfit sweep --trainers CLIPFit CoOp --protocols base2new --jobs-per-gpu 2 --report
  # few-shot, cross-dataset and domain generalization on SLURM
  clipfit sweep --trainers CLIPFit --protocols few_shot xd dg --executor slurm \\
      --partition gpu --time 12:00:00 --mem-gb 32 --array-parallelism 16
  # a quick check of the whole path on the demo data (`clipfit demo` writes it to output/demo/data) with its
  # config of the tiny random backbone (CPU, a minute or two)
  clipfit sweep --trainers CLIPFit ZeroshotCLIP --datasets demo_shapes --seeds 1 --shots 2 \\
      --data output/demo/data --cfg tiny_demo --output output/sweep_check --opts OPTIM.MAX_EPOCH 1 \\
      OPTIM.WARMUP_EPOCH 0
"""

SLURM_FLAGS = ("partition", "time", "cpus_per_task", "mem_gb", "array_parallelism", "account", "qos",
               "constraint", "sbatch", "setup", "log_dir", "wait", "submitit_cluster")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..flag_values import GivenValue
    from ..sweep.grid import SETTINGS
    from ..sweep.slurm import CLUSTERS
    from ..trainer_names import declared

    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EPILOG
    grid = parser.add_argument_group("the grid")
    own = ", ".join(d.name for d in declared() if d.recipe)  # the help imports no plugin (nor torch)
    grid.add_argument("--trainers", nargs="+", required=True, metavar="TRAINER",
                      help=f"registered trainers with a recipe: {own}, and those of CLIPFIT_PLUGINS")
    grid.add_argument("--protocols", nargs="+", default=["base2new"], metavar="PROTOCOL",
                      help=f"{', '.join(SETTINGS)} (default: base2new)")
    grid.add_argument("--datasets", nargs="+", default=["all"], metavar="DATASET",
                      help="`all` (default) or dataset names (configs/datasets/<name>.yaml)")
    grid.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3], metavar="SEED",
                      help="fixed seeds, 0 or more (default: 1 2 3)")
    grid.add_argument("--shots", nargs="+", type=int, default=None, metavar="K",
                      help="shots per class (default: 1 2 4 8 16 for few_shot, 16 for base2new)")
    grid.add_argument("--data", default=None, action=GivenValue, metavar="DIR",
                      help="data root (default: $DATA, else ./data in the repository, as the scripts)")
    grid.add_argument("--output", default=None, action=GivenValue, metavar="DIR",
                      help="output root (default: $OUTPUT, else ./output in the repository, as the scripts)")
    grid.add_argument("--cfg", default=None, action=GivenValue, metavar="STEM",
                      help="trainer config file stem for every job instead of the recipe's (default: $CFG)")
    grid.add_argument("--opts", nargs="+", default=None, metavar="KEY VALUE",
                      help="config options appended to every train.py command (default: $OPTS)")

    run = parser.add_argument_group("running")
    run.add_argument("--executor", choices=("local", "slurm"), default="local", help="default: local")
    run.add_argument("--gpus-per-job", type=int, default=1, metavar="N", help="GPUs per job (default: 1)")
    run.add_argument("--jobs-per-gpu", type=int, default=1, metavar="N",
                     help="jobs sharing one GPU at a time (default: 1); on SLURM, N jobs per SLURM job")
    run.add_argument("--force", action="store_true", help="rerun finished runs (the old ones are moved aside)")
    run.add_argument("--dry-run", action="store_true",
                     help="print the plan (one line per job: what, output folder, dependency, skip) and stop")
    run.add_argument("--print-commands", action="store_true", help="with --dry-run: also each job's command")
    run.add_argument("--report", action="store_true",
                     help="write the leaderboard afterwards (`clipfit report --output-dir <output>`, with "
                          "--all-runs when --opts sets the backbone)")
    run.add_argument("--no-progress-bar", action="store_true", help="no tqdm bar (the per-job lines stay)")

    slurm = parser.add_argument_group("slurm (with --executor slurm)")
    slurm.add_argument("--partition", default=None)
    slurm.add_argument("--time", default=None, help="time limit per job, minutes or [D-]HH:MM:SS (default: 24:00:00)")
    slurm.add_argument("--cpus-per-task", type=int, default=None, help="default: 8")
    slurm.add_argument("--mem-gb", type=float, default=None, help="memory per job in GB (default: the cluster's)")
    slurm.add_argument("--array-parallelism", type=int, default=None, metavar="N",
                       help="jobs of one array running at a time (default: submitit's, 256)")
    slurm.add_argument("--account", default=None)
    slurm.add_argument("--qos", default=None)
    slurm.add_argument("--constraint", default=None)
    slurm.add_argument("--sbatch", action="append", default=None, metavar="KEY=VALUE",
                       help="any other sbatch option, e.g. --sbatch mail-type=FAIL (repeatable)")
    slurm.add_argument("--setup", action="append", default=None, metavar="CMD",
                       help="shell line run in the job before the run, e.g. 'module load cuda' (repeatable)")
    slurm.add_argument("--log-dir", default=None, metavar="DIR", action=GivenValue,
                       help="submitit's folder (job scripts, pickles, logs; default: <sweep logs>/submitit)")
    slurm.add_argument("--wait", action="store_true", help="follow the jobs until they end, then summarize")
    slurm.add_argument("--poll-seconds", type=float, default=None, help=argparse.SUPPRESS)
    slurm.add_argument("--submitit-cluster", choices=CLUSTERS, default=None,
                       help="slurm (default); local or debug try the SLURM path on this machine through submitit")


def _root(given: str | None, env_name: str, default: str) -> str:
    """A path flag: relative to the current directory when given, else the scripts' default (an env knob,
    else a folder of the repository, which the runner resolves)."""
    if given is not None:
        return os.path.abspath(given)
    return env(env_name) or default


def build_grid(args):
    from dataclasses import replace

    from ..jobs import capture_knobs, knob_names, split_opts
    from ..sweep.grid import Grid, parse_datasets, parse_settings, parse_trainers

    opts = args.opts if args.opts is not None else split_opts(env("OPTS"))
    grid = Grid(
        trainers=parse_trainers(args.trainers),
        settings=parse_settings(args.protocols),
        seeds=tuple(dict.fromkeys(args.seeds)),
        datasets=parse_datasets(args.datasets),
        shots=tuple(args.shots) if args.shots else None,
        data_root=_root(args.data, "DATA", "./data"),
        output_root=_root(args.output, "OUTPUT", "./output"),
        cfg_override=args.cfg if args.cfg is not None else env("CFG"),
        extra_opts=tuple(opts),
    )
    grid.validate()  # a bad flag is said before the recipes (and torch, with the trainers) are loaded
    # The scripts' knobs (LAMBDA, NCTX, ...) are read here, once, for every job of the sweep.
    names = [name for t in grid.trainers for name in knob_names(t, grid.cfg_override)]
    return replace(grid, knobs=capture_knobs(names, os.environ))


def _sbatch_pairs(items: list[str] | None) -> tuple[tuple[str, str], ...]:
    pairs = []
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UserInputError(f"--sbatch {item!r}: use KEY=VALUE, e.g. --sbatch mail-type=FAIL")
        pairs.append((key.strip().lstrip("-"), value))
    return tuple(pairs)


def slurm_options(args):
    from ..sweep.slurm import SlurmOptions, parse_time

    given = [f"--{name.replace('_', '-')}" for name in SLURM_FLAGS if getattr(args, name) not in (None, False)]
    if args.executor != "slurm":
        if given:
            raise UserInputError(f"{', '.join(given)}: SLURM option(s), used only with --executor slurm")
        return None
    if args.report and not args.wait and args.submitit_cluster in (None, "slurm"):
        raise UserInputError("--report with --executor slurm needs --wait "
                             "(or run `clipfit report` once the jobs ended)")
    options = SlurmOptions(
        partition=args.partition, gpus_per_job=args.gpus_per_job, mem_gb=args.mem_gb,
        array_parallelism=args.array_parallelism, account=args.account, qos=args.qos, constraint=args.constraint,
        sbatch=_sbatch_pairs(args.sbatch), setup=tuple(args.setup or ()), cluster=args.submitit_cluster or "slurm",
        jobs_per_gpu=args.jobs_per_gpu,
        **({"time": args.time} if args.time else {}),
        **({"cpus_per_task": args.cpus_per_task} if args.cpus_per_task else {}),
    )
    parse_time(options.time)
    return options


def _executor_line(args, slots, options) -> str:
    from ..sweep.local import describe_slots

    if options is None:
        return f"executor: local, {describe_slots(slots)}"
    params = ", ".join(f"{k}={v}" for k, v in options.parameters().items() if v not in ({}, None))
    where = "SLURM" if options.cluster == "slurm" else f"submitit's {options.cluster} cluster (this machine)"
    packed = f", {options.jobs_per_gpu} jobs per SLURM job sharing its GPU(s)" if options.jobs_per_gpu > 1 else ""
    return f"executor: {where} ({params}){packed}"


def _check_data_root(data_root: str) -> str | None:
    from ..runner import data_root_problem

    problem = data_root_problem(data_root)
    if problem is None:
        return None
    return (f"{problem}; pass --data /path/to/your/datasets or set DATA "
            "(laid out as DATASETS.md describes; `clipfit data check --root DIR` inspects it)")


def _report(output_root: str, opts: tuple[str, ...]) -> int:
    """`clipfit report` of the output root; with a backbone of the sweep's own in --opts (a quick check with
    the tiny CLIP), its runs would be left out as other-backbone runs, so every run is reported."""
    from ..run_settings import other_backbone
    from ..runner import absolute_path
    from . import report

    all_runs = other_backbone(tuple(zip(opts[::2], opts[1::2])))
    print(f"\nclipfit report --output-dir {output_root}" + (" --all-runs" if all_runs else ""))
    return report.run(argparse.Namespace(output_dir=absolute_path(output_root), out=None, no_published=False,
                                         no_figures=False, quiet=False, all_runs=all_runs))


def sweep(args) -> int:
    from ..runner import relative_output_note
    from ..sweep import Plan, gpu_slots, make_log_dir, run_sweep, visible_gpus
    from ..sweep.slurm import require_submitit

    if args.print_commands and not args.dry_run:
        # Without this check the flag would be dropped and the whole sweep would start.
        raise UserInputError("--print-commands is used only with --dry-run")
    options = slurm_options(args)
    grid = build_grid(args)
    if options is not None:
        require_submitit()
    slots = gpu_slots(visible_gpus(), args.gpus_per_job, args.jobs_per_gpu) if options is None else None
    plan = Plan.build(grid.jobs(), force=args.force)
    missing_data = _check_data_root(grid.data_root)
    print(f"clipfit sweep: {plan.headline()}")
    output_note = relative_output_note(grid.output_root)
    if output_note:
        print(output_note)
    print(_executor_line(args, slots, options))
    if args.dry_run:
        print("\n".join(plan.lines(commands=args.print_commands)))
        if missing_data:
            print(f"note: {missing_data}")
        print("dry run: nothing was run")
        return 0
    if missing_data and plan.to_run:
        raise UserInputError(missing_data)
    log_dir = make_log_dir(grid.output_root)
    print(f"logs: {log_dir}", flush=True)
    try:
        summary = run_sweep(
            plan, log_dir, executor="local" if options is None else "submitit", slots=slots, slurm=options,
            submitit_dir=os.path.abspath(args.log_dir) if args.log_dir else None,
            wait=args.wait or (options is not None and options.cluster != "slurm"), poll_s=args.poll_seconds,
            bar=False if args.no_progress_bar else None,
        )
    except KeyboardInterrupt as e:  # the local executor handles it itself; here submitit was waiting
        print(f"\ninterrupted; jobs already submitted to SLURM keep running (logs: {log_dir})", file=sys.stderr)
        return TERMINATED_EXIT if isinstance(e, Terminated) else INTERRUPTED_EXIT
    print(summary.text())
    code = summary.exit_code
    if args.report and code not in (INTERRUPTED_EXIT, TERMINATED_EXIT):
        code = max(code, _report(grid.output_root, grid.extra_opts))
    return code


def run(args) -> int:
    try:
        return sweep(args)
    except UserInputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
