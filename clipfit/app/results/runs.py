"""Finding the runs under an output root and telling what each one is from its folder path.

Folder conventions (relative to the output root; `<dataset>` is the dataset config stem):
- base-to-new: `base2new/{train_base,test_new}/<dataset>/shots_<K>[suffix]/<Trainer>/<cfg>[/<more>...]/seed<S>`
  (train_base = training on the base classes, its final accuracy is Base; test_new = New);
- few-shot (and the source runs of transfer): `<dataset>/<Trainer>/<cfg>_<K>shots[/<variant>...]/seed<S>`;
- transfer targets: `evaluation/<Trainer>/<cfg>_<K>shots[/<variant>...]/<dataset>/seed<S>`.
Folders between `<cfg>_<K>shots` (or `<cfg>` for base-to-new) and the seed are kept as the method's variant
(CoOp's `nctx16_cscFalse_ctpend`). A run folder whose path fits none of these is identified from its log's
argument header when possible (trainer, dataset config, seed, DATASET.SUBSAMPLE_CLASSES / NUM_SHOTS);
otherwise it is reported as unrecognised. For runs identified by folder the header is a consistency check.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from ..datasets_catalog import stem_of
from .logs import DEFAULT_KEYWORD, LogScan, RunResult, read_run
from .run_folders import SEED_FOLDER, is_moved_aside, is_run_folder

BASE2NEW = "base2new"
FEW_SHOT = "few_shot"
TRANSFER = "transfer"  # evaluation of an ImageNet-trained model on another dataset (cross-dataset or DG)
UNKNOWN = "unknown"

_B2N_SHOTS = re.compile(r"^shots_(\d+)")
_CFG_SHOTS = re.compile(r"^(.+)_(\d+)shots$")
_B2N_ROLES = {"train_base": "base", "test_new": "new"}


@dataclass
class Run:
    path: str
    setting: str  # BASE2NEW, FEW_SHOT, TRANSFER or UNKNOWN
    result: RunResult
    dataset: str | None = None  # config stem
    trainer: str | None = None
    config: str | None = None
    variant: str = ""  # folders between the config folder and seed<S>
    shots: int | None = None
    seed: int | None = None
    role: str | None = None  # "base" / "new" for base-to-new
    grid: str = ""  # base-to-new shots folder (`shots_16`)
    identified_by: str = "folder"  # or "log"
    warnings: list = field(default_factory=list)
    options: tuple = ()  # (key, value) it ran with that its folder's default job does not (run_settings)

    @property
    def value(self) -> float | None:
        return self.result.value

    @property
    def finished(self) -> bool:
        return self.result.finished


def relative_to(path: str, root: str | None) -> str:
    """path relative to root for messages; the path itself when it is not below root."""
    if not root:
        return path
    rel = os.path.relpath(path, root)
    return path if rel.startswith("..") else rel


def find_run_dirs(root: str) -> list[str]:
    """Folders below root named `seed<S>` or holding a log, sorted; hidden and moved-aside folders are skipped.

    The root itself counts when it is named `seed<S>`, or when it holds a log and nothing below it is a run
    (a stray `output/log.txt` from a run without --output-dir does not turn the whole tree into one run)."""
    found = []
    root_logs = False

    def unreadable(error: OSError) -> None:  # listed as a run, whose warning says it cannot be read
        if error.filename and error.filename != root and not is_moved_aside(error.filename):
            found.append(error.filename)

    for dirpath, dirnames, filenames in os.walk(root, onerror=unreadable):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and not is_moved_aside(d))
        if dirpath == root:
            root_logs = is_run_folder(root, filenames)
            if SEED_FOLDER.match(os.path.basename(os.path.normpath(root))):
                return [root]
        elif is_run_folder(dirpath, filenames):
            found.append(dirpath)
    return found or ([root] if root_logs else [])


def discover_runs(root: str, keyword: str = DEFAULT_KEYWORD) -> list[Run]:
    """Every run folder under root with its result and identity."""
    return [identify(path, read_run(path, keyword), root) for path in find_run_dirs(root)]


def identify(path: str, result: RunResult, root: str | None = None) -> Run:
    """What the run is, from its folder path, else from its log header (root only shortens messages)."""
    parts = os.path.normpath(os.path.abspath(path)).split(os.sep)
    run = _from_folders(path, parts, result)
    header = result.used or result.newest
    if run is None:
        run = _from_header(path, result, header)
    elif header is not None:
        run.warnings.extend(_inconsistencies(run, header, root))
    run.warnings.extend(f"{relative_to(path, root)}: cannot read {name}: skipped, not a result"
                        for name in result.unreadable)
    return run


def _from_folders(path: str, parts: list[str], result: RunResult) -> Run | None:
    seed = SEED_FOLDER.match(parts[-1])
    if seed is None:
        return None
    seed = int(seed.group(1))
    last = len(parts) - 1  # index of seed<S>
    for k in range(last - 5, -1, -1):  # base2new/<role>/<ds>/shots_K/<Trainer>/<cfg>/.../seed
        shots = _B2N_SHOTS.match(parts[k + 2])
        if parts[k] in _B2N_ROLES and shots:
            return Run(path, BASE2NEW, result, dataset=parts[k + 1], trainer=parts[k + 3], config=parts[k + 4],
                       variant="/".join(parts[k + 5:last]), shots=int(shots.group(1)), seed=seed,
                       role=_B2N_ROLES[parts[k]], grid=parts[k + 2])
    for k in range(last - 4, -1, -1):  # evaluation/<Trainer>/<cfg>_Kshots/.../<ds>/seed
        cfg_shots = _CFG_SHOTS.match(parts[k + 2])
        if parts[k] == "evaluation" and cfg_shots:
            return Run(path, TRANSFER, result, dataset=parts[last - 1], trainer=parts[k + 1],
                       config=cfg_shots.group(1), variant="/".join(parts[k + 3:last - 1]),
                       shots=int(cfg_shots.group(2)), seed=seed, role="target")
    for j in range(last - 1, 1, -1):  # <ds>/<Trainer>/<cfg>_Kshots/.../seed
        cfg_shots = _CFG_SHOTS.match(parts[j])
        if cfg_shots:
            return Run(path, FEW_SHOT, result, dataset=parts[j - 2], trainer=parts[j - 1],
                       config=cfg_shots.group(1), variant="/".join(parts[j + 1:last]),
                       shots=int(cfg_shots.group(2)), seed=seed)
    return None


def _from_header(path: str, result: RunResult, header: LogScan | None) -> Run:
    """Fallback identification from the log's argument header and config dump."""
    run = Run(path, UNKNOWN, result, identified_by="log")
    if header is None:
        return run
    trainer = header.args.get("trainer") or header.config.get("TRAINER.NAME")
    dataset_file = header.args.get("dataset_config_file") or header.config.get("DATASET.NAME") or ""
    seed = _int(header.args.get("seed")) or _int(header.config.get("SEED"))
    shots = _int(header.opt("DATASET.NUM_SHOTS"))
    subsample = header.opt("DATASET.SUBSAMPLE_CLASSES")
    config_file = header.args.get("config_file") or ""
    if not (trainer and dataset_file and seed is not None):
        return run
    run.trainer, run.dataset, run.seed, run.shots = trainer, stem_of(dataset_file), seed, shots
    run.config = stem_of(config_file) if config_file else "default"
    if subsample in ("base", "new"):
        run.setting, run.role, run.grid = BASE2NEW, subsample, f"shots_{shots}"
    elif not header.eval_only and shots and shots > 0:
        run.setting = FEW_SHOT
    return run


def _inconsistencies(run: Run, header: LogScan, root: str | None) -> list[str]:
    """Where the log's own header disagrees with what the folder says."""
    where = f"{relative_to(run.path, root)} ({header.name})"
    problems = []
    seed = _int(header.args.get("seed"))
    if seed is not None and seed > 0 and seed != run.seed:
        problems.append(f"{where}: folder says seed {run.seed}, the log says seed {seed}")
    dataset_file = header.args.get("dataset_config_file")
    if dataset_file and stem_of(dataset_file) != run.dataset:
        problems.append(f"{where}: folder says dataset {run.dataset}, the log's config is {dataset_file}")
    trainer = header.args.get("trainer")
    if trainer and trainer.lower() != (run.trainer or "").lower():
        problems.append(f"{where}: folder says trainer {run.trainer}, the log says {trainer}")
    subsample = header.opt("DATASET.SUBSAMPLE_CLASSES")
    if run.setting == BASE2NEW and subsample and subsample != run.role:
        problems.append(f"{where}: a {run.role}-class run, but the log has DATASET.SUBSAMPLE_CLASSES {subsample}")
    shots = _int(header.opt("DATASET.NUM_SHOTS"))
    if run.setting in (BASE2NEW, FEW_SHOT) and not header.eval_only and shots is not None and shots != run.shots:
        problems.append(f"{where}: folder says {run.shots} shots, the log has DATASET.NUM_SHOTS {shots}")
    return problems


def _int(text) -> int | None:
    try:
        return int(text)
    except (TypeError, ValueError):
        return None
