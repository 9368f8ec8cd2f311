"""A finished run answers for the settings that made it: the config its log records against a job's.

train.py prints the run's whole config into its log (`** Config **`, yacs's text), and the log reader keeps it
(`LogScan.config`: dotted keys, values as text). Here it is compared with the config train.py would build for
a job, by the rule the resume check uses (`clipfit.engine.config_checks.differing_settings`): only the keys
that decide a result (not where the data or the output are, nor how fast it runs), only keys both sides have.

- The runner (scripts and sweeps) skips a finished run only when nothing differs from the job asked for;
  otherwise it stops and names what differs (`finished_run`).
- The report labels each run with what differs from the default job of its folder (`run_options`): the
  backbone, the shots, options given in OPTS, knobs such as LAMBDA. Knowing the default job takes the trainer
  classes (their config nodes and recipes), hence torch; the report must not import it (help and reports
  answer at once). So the runner, which has them loaded, writes that difference beside the run when it
  finishes (`JOB_RECORD`), and the report reads it back. A run made another way (train.py by hand, another
  tool) has no record: the report labels it with its backbone when that is not its config file's.

A log without a config dump (not written by train.py, e.g. by hand) records no settings: its run counts as
matching, and the runner's skip line says that nothing was compared. A key that an older release did not have
(or printed differently: `8` for `8.0`) is not a difference either.
"""
from __future__ import annotations

import dataclasses
import json
import os
import sys
from dataclasses import dataclass

from ..errors import UserInputError
from .jobs import PROJECT_ROOT, Job

BACKBONE_KEYS = "MODEL.BACKBONE."  # a run whose backbone differs from its config's is no benchmark run
_FIRST = ("MODEL.BACKBONE.NAME", "DATASET.NUM_SHOTS")  # what a label names first: what ran, on how many shots
JOB_RECORD = "clipfit_job.json"  # written by the runner into a finished run's folder (`write_job_record`)


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


def label_options(job: Job) -> tuple[tuple[str, str], ...]:
    """What `job` runs with that the default job of its folder (no knobs, no OPTS) does not: (key, value) pairs,
    the backbone and the shots first, then by key."""
    keys, asked, _ = compare(asked_settings(job), asked_settings(dataclasses.replace(job, knobs=(), extra_opts=())))
    first = {k: i for i, k in enumerate(_FIRST)}
    keys = sorted((k for k in keys if k != "SEED"), key=lambda k: (first.get(k, len(first)), k))
    return tuple((k, asked[k]) for k in keys)


def write_job_record(job: Job) -> None:
    """The record of a finished job in its run folder: the job and its `label_options`, for the report."""
    from ..core.atomic_files import write_json
    from .runner import absolute_path

    record = {"job": job.describe(), "knobs": dict(job.knobs), "opts": list(job.extra_opts),
              "options": [list(pair) for pair in label_options(job)]}
    write_json(record, os.path.join(absolute_path(job.output_dir), JOB_RECORD))


def run_options(run) -> tuple[tuple[str, str], ...]:
    """What a report `Run` ran with that its folder's default job does not: its job record's options, or, for a
    run without one, its backbone when that is not the one its config file names."""
    recorded = _read_record(run.path)
    if recorded is not None:
        return recorded
    header = run.result.used or run.result.newest  # an unfinished run belongs to the same row as its seeds
    if header is None or "MODEL.BACKBONE.NAME" not in header.config:
        return ()
    backbone = header.config["MODEL.BACKBONE.NAME"]
    expected = _config_file_backbone(header.args.get("config_file", ""))
    return () if expected is None or expected == backbone else (("MODEL.BACKBONE.NAME", backbone),)


def _read_record(run_dir: str) -> tuple[tuple[str, str], ...] | None:
    path = os.path.join(run_dir, JOB_RECORD)
    try:
        with open(path, encoding="utf-8") as f:
            options = json.load(f)["options"]
        return tuple((str(k), str(v)) for k, v in options)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as e:  # unreadable or not ours: label as without one
        print(f"Note: {path} cannot be read ({e}); the run is labelled from its log", file=sys.stderr)
        return None


def _config_file_backbone(config_file: str) -> str | None:
    """The backbone the run's --config-file names, as its log prints it (str of the value); None when the file
    is gone or names none (then nothing is compared). Relative paths are the checkout's (the scripts' cwd)."""
    from ..core.config_files import load_config_file

    path = config_file if os.path.isabs(config_file) else os.path.join(PROJECT_ROOT, config_file)
    try:
        name = load_config_file(path).get("MODEL", {}).get("BACKBONE", {}).get("NAME")
    except UserInputError:
        return None
    return None if name is None else str(name)


def other_backbone(options: tuple[tuple[str, str], ...]) -> bool:
    """Whether a run's options change its backbone (a toy or another model, not its config's benchmark run)."""
    return any(k.startswith(BACKBONE_KEYS) for k, _ in options)
