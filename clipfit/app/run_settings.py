"""A finished run answers for the settings that made it: the config its log records against a job's.

train.py prints the run's whole config into its log (`** Config **`, yacs's text), and the log reader keeps it
(`LogScan.config`: dotted keys, values as text). Here it is compared with the config train.py would build for
a job, by the rule the resume check uses (`clipfit.engine.config_checks.differing_settings`): only the keys
that decide a result (not where the data or the output are, nor how fast it runs), only keys both sides have.

- The runner (scripts and sweeps) skips a finished run only when nothing differs from the job asked for;
  otherwise it stops and names what differs (`finished_run`).
- The report labels each run with what differs from the default job of its folder (`run_options`): the
  backbone, the shots, options given in OPTS, knobs such as LAMBDA.

A log without a config dump (not written by train.py, e.g. by hand) records no settings: its run counts as
matching, and the runner's skip line says that nothing was compared. A key that an older release did not have
(or printed differently: `8` for `8.0`) is not a difference either.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

from ..errors import UserInputError
from .jobs import Job

BACKBONE_KEYS = "MODEL.BACKBONE."  # a run whose backbone differs from its config's is no benchmark run
_FIRST = ("MODEL.BACKBONE.NAME", "DATASET.NUM_SHOTS")  # what a label names first: what ran, on how many shots


@dataclass(frozen=True)
class FinishedRun:
    """A job's finished run: its accuracy and how its recorded settings differ from the job's."""

    accuracy: float
    log: str  # the log the result comes from
    differences: str = ""  # `KEY: old then, new now; ...`, empty when the settings are the same
    compared: bool = True  # False: the log records no config, so nothing could be compared

    @property
    def matches(self) -> bool:
        return not self.differences


def asked_settings(job: Job) -> dict[str, str]:
    """The config train.py builds for `job` (flags and options as the runner passes them), as its log prints it."""
    from ..engine.config_checks import printed_settings
    from .commands.train import build_parser, setup_cfg
    from .runner import absolute_path

    args = build_parser().parse_args(job.command()[2:])
    # The job's config paths are relative to the repository root; a sweep's threads share one working folder.
    args.config_file, args.dataset_config_file = map(absolute_path, (args.config_file, args.dataset_config_file))
    return printed_settings(setup_cfg(args))


def compare(recorded: dict[str, str], asked: dict[str, str]) -> tuple[list[str], dict[str, str], dict[str, str]]:
    """The differing keys of two printed configs, of those that decide a result, with both filtered sides."""
    from ..engine.config_checks import differing_settings, result_settings

    recorded, asked = result_settings(recorded), result_settings(asked)
    return differing_settings(recorded, asked), recorded, asked


def finished_run(job: Job) -> FinishedRun | None:
    """The job's finished run (its newest complete log) compared with the job, or None when it has none or
    it is an evaluation of a model that its training run no longer holds (`runner.stale_evaluation`)."""
    from ..engine.config_checks import differences_text
    from .results import read_run
    from .runner import absolute_path, stale_evaluation

    directory = absolute_path(job.output_dir)
    result = read_run(directory) if os.path.isdir(directory) else None
    if result is None or not result.finished or stale_evaluation(job):
        return None
    if not result.used.config:
        return FinishedRun(result.value, result.used.path, compared=False)
    keys, recorded, asked = compare(result.used.config, asked_settings(job))
    return FinishedRun(result.value, result.used.path, differences_text(recorded, asked, keys))


def other_settings_error(job: Job, run: FinishedRun) -> UserInputError:
    """Why a finished run with other settings is neither skipped nor overwritten, and the two ways on."""
    return UserInputError(
        f"{job.describe()}: {job.output_dir} holds a finished run (accuracy {run.accuracy:.2f}%, "
        f"{os.path.basename(run.log)}) with other settings than asked for: {run.differences}. It is not skipped "
        "(its result is not this job's) and not overwritten: rerun with FORCE=1 (`clipfit sweep --force`), which "
        "moves the old run aside, or give this job another output root (OUTPUT=DIR, `clipfit sweep --output DIR`)"
    )


def default_job(run) -> Job | None:
    """The job the scripts run for a report `Run`'s folder (its trainer, setting, dataset, shots, seed and
    config, no knobs or OPTS), or None when its folder fits no job (another tool's layout, a trainer or
    dataset not registered here, a config file that is not in this checkout)."""
    from . import datasets_catalog
    from .results.runs import BASE2NEW, FEW_SHOT, TRANSFER

    protocol = {BASE2NEW: f"base2new_{'train' if run.role == 'base' else 'test'}", FEW_SHOT: "few_shot",
                TRANSFER: "xd_test"}.get(run.setting)
    if protocol is None or run.identified_by != "folder" or run.dataset not in datasets_catalog.stems():
        return None
    try:
        job = Job(run.trainer, protocol, run.dataset, run.seed, shots=run.shots or 16, cfg_override=run.config)
        job.check_config_file()
    except UserInputError:
        return None
    return job


def run_options(run, cache: dict) -> tuple[tuple[str, str], ...]:
    """What a report `Run` ran with that its folder's default job does not: (key, value) pairs, the backbone
    and the shots first, then by key.

    `cache` holds one config build per job without its seed (the folder says the seed) for one report."""
    header = run.result.used or run.result.newest  # an unfinished run belongs to the same row as its seeds
    job = default_job(run) if header is not None and header.config else None
    if job is None:
        return ()
    key = dataclasses.replace(job, seed=1)
    if key not in cache:
        try:
            cache[key] = asked_settings(key)
        except UserInputError:  # the checkout's config does not load this job: nothing to compare with
            cache[key] = None
    if cache[key] is None:
        return ()
    keys, recorded, _ = compare(header.config, cache[key])
    first = {k: i for i, k in enumerate(_FIRST)}
    keys = sorted((k for k in keys if k != "SEED"), key=lambda k: (first.get(k, len(first)), k))
    return tuple((k, recorded[k]) for k in keys)


def other_backbone(options: tuple[tuple[str, str], ...]) -> bool:
    """Whether a run's options change its backbone (a toy or another model, not its config's benchmark run)."""
    return any(k.startswith(BACKBONE_KEYS) for k, _ in options)
