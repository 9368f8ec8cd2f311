"""The benchmark jobs behind `scripts/<method>/*.sh` and `clipfit sweep`.

A job is (trainer, protocol, dataset, seed, shots). Its trainer's recipe (`RECIPE` on the trainer class,
see `clipfit.core.recipes` and `clipfit.app.trainers_catalog`) picks the config file and the extra options per
dataset; its output folder follows CoOp's conventions, so the report and `parse_test_res.py` find it.
Protocols:

- base2new_train DATASET SEED      train on the base classes (16 shots), test on base
- base2new_test  DATASET SEED      evaluate that model on the new classes
- few_shot       DATASET SHOTS SEED  all classes, K shots, test on the full test set
- xd_train       SEED              ImageNet, all classes, 16 shots (the few-shot ImageNet 16-shot run)
- xd_test        DATASET SEED      evaluate the ImageNet model on another dataset / an ImageNet variant

Environment knobs (all optional): DATA (data root, default ./data), OUTPUT (default ./output),
TRAINER, CFG, SHOTS (base2new), LOAD_EPOCH, OPTS ("KEY VALUE ..." appended to train.py), FORCE=1 (rerun
finished jobs), and those the trainer's recipe reads (CLIPFit: LAMBDA; CoOp: NCTX, CSC, CTP). They are
read once, when the job is built (`job_from_env`, the sweep's grid): a `Job` holds the values it uses.
"""
from __future__ import annotations

import dataclasses
import os
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ..core.recipes import Recipe, RunSpec
from ..errors import UserInputError
from . import datasets_catalog, trainers_catalog
from .plugins import PROJECT_ROOT

PROTOCOLS = ("base2new_train", "base2new_test", "few_shot", "xd_train", "xd_test")
# The positional arguments of each protocol's script.
USAGE = {
    "base2new_train": "DATASET SEED", "base2new_test": "DATASET SEED", "few_shot": "DATASET SHOTS SEED",
    "xd_train": "SEED", "xd_test": "DATASET SEED",
}
JOB_KNOBS = ("LOAD_EPOCH",)  # read by every job (the recipes add their own)
DEMO_FOLDER = "demo"  # `clipfit demo`'s folder under the output root (output/demo): toy runs, not results
Knobs = tuple[tuple[str, str], ...]


def env(name: str, default: str = "") -> str:
    """The knob's value; set but empty counts as unset, as `${NAME:-default}` reads it in a shell."""
    return os.environ.get(name, "").strip() or default


def knob_names(trainer: str, cfg_override: str = "") -> tuple[str, ...]:
    """The environment knobs a job of `trainer` reads: its recipe's and JOB_KNOBS."""
    return tuple(sorted({*trainers_catalog.recipe_for(trainer, cfg_override).knobs, *JOB_KNOBS}))


def capture_knobs(names: Iterable[str], environ: Mapping[str, str]) -> Knobs:
    """The knobs of `names` set (non-empty) in `environ`, as sorted (name, value) pairs."""
    return tuple(sorted((name, environ[name].strip()) for name in set(names) if environ.get(name, "").strip()))


def relative_to_project(path: str) -> str:
    """A path inside the checkout as the scripts show it (relative to its root); others stay absolute."""
    relative = os.path.relpath(path, PROJECT_ROOT)
    return path if relative.startswith(os.pardir) else relative


@dataclass(frozen=True)
class Job:
    """One benchmark job. `knobs`: the environment knobs it reads (`knob_names`), captured when it was built."""

    trainer: str
    protocol: str
    dataset: str
    seed: int
    shots: int = 16
    data_root: str = "./data"
    output_root: str = "./output"
    cfg_override: str = ""
    extra_opts: tuple[str, ...] = field(default_factory=tuple)
    knobs: Knobs = ()

    def __post_init__(self):
        if self.protocol not in PROTOCOLS:
            raise UserInputError(f"unknown protocol {self.protocol!r}; use one of {list(PROTOCOLS)}")

    def knob(self, name: str, default: str = "") -> str:
        return dict(self.knobs).get(name, default)

    @property
    def recipe(self) -> Recipe:
        return trainers_catalog.recipe_for(self.trainer, self.cfg_override)

    @property
    def zero_shot(self) -> bool:
        return trainers_catalog.is_zero_shot(self.trainer)

    @property
    def train_dataset(self) -> str:
        return datasets_catalog.transfer_source() if self.protocol in ("xd_train", "xd_test") else self.dataset

    @property
    def train_shots(self) -> int:
        if self.zero_shot and self.protocol in ("few_shot", "xd_train", "xd_test"):
            return 0
        return 16 if self.protocol in ("xd_train", "xd_test") else self.shots

    @property
    def recipe_protocol(self) -> str:
        """The setting whose recipe applies: cross-dataset jobs use the ImageNet few-shot run's."""
        return "few_shot" if self.protocol in ("xd_train", "xd_test") else self.protocol

    @property
    def run_spec(self) -> RunSpec:
        """What the recipe is asked about: the training run's setting, dataset and shots, and the knobs."""
        return RunSpec(self.recipe_protocol, self.train_dataset, self.train_shots, self.knobs,
                       transfer=self.protocol in ("xd_train", "xd_test"))

    @property
    def cfg(self) -> str:
        return self.cfg_override or self.recipe.cfg(self.run_spec)

    @property
    def config_file(self) -> str:
        folder = os.path.join(PROJECT_ROOT, "configs", "trainers", self.recipe.config_dir)  # absolute: a plugin's
        return relative_to_project(os.path.join(folder, f"{self.cfg}.yaml"))

    def check_config_file(self) -> None:
        """The config stem (CFG / --cfg, else the recipe's) must name a file: a typo found while planning,
        not in the middle of a sweep; the message lists the stems there are."""
        path = os.path.join(PROJECT_ROOT, self.config_file)
        if os.path.isfile(path):
            return
        folder = os.path.dirname(path)
        stems = sorted(n[: -len(".yaml")] for n in os.listdir(folder) if n.endswith(".yaml")) \
            if os.path.isdir(folder) else []
        raise UserInputError(f"config {self.cfg!r} of trainer {self.trainer}: no such file {self.config_file}; "
                             f"the configs of {self.trainer} are: {', '.join(stems) or 'none'}")

    @property
    def dataset_config_file(self) -> str:
        return relative_to_project(datasets_catalog.facts(self.dataset).config_file)

    @property
    def output_dir(self) -> str:
        root, t, cfg, seed = self.output_root, self.trainer, self.cfg, f"seed{self.seed}"
        if self.protocol == "base2new_train":
            return os.path.join(root, "base2new", "train_base", self.dataset, f"shots_{self.shots}", t, cfg, seed)
        if self.protocol == "base2new_test":
            return os.path.join(root, "base2new", "test_new", self.dataset, f"shots_{self.shots}", t, cfg, seed)
        if self.protocol == "xd_test":
            return os.path.join(root, "evaluation", t, f"{cfg}_{self.train_shots}shots", self.dataset, seed)
        parts = [root, self.train_dataset, t, f"{cfg}_{self.train_shots}shots"]
        variant = self.recipe.variant(self.run_spec)
        if variant:
            parts.append(variant)
        return os.path.join(*parts, seed)

    @property
    def train_job(self) -> Job | None:
        """The job whose model this one evaluates (None for jobs that train or are zero-shot)."""
        if self.zero_shot or self.protocol not in ("base2new_test", "xd_test"):
            return None
        protocol = "base2new_train" if self.protocol == "base2new_test" else "xd_train"
        return dataclasses.replace(self, protocol=protocol, dataset=self.train_dataset)

    def max_epoch(self) -> int:
        """The last epoch the training run saves, read from the config and the options as train.py would."""
        from ..config import get_cfg
        from ..core.config_files import load_config_file
        from .plugins import import_plugins

        import_plugins()
        cfg = get_cfg()
        cfg.merge_from_other_cfg(load_config_file(os.path.join(PROJECT_ROOT, self.config_file), "config"))
        opts = self.train_job.opts() if self.train_job else self.opts()
        for key, value in zip(opts[::2], opts[1::2]):
            if key == "OPTIM.MAX_EPOCH":
                cfg.merge_from_list([key, value])
        return cfg.OPTIM.MAX_EPOCH

    def opts(self) -> list[str]:
        opts = self.recipe.opts(self.run_spec)
        if self.protocol.startswith("base2new"):
            subsample = "base" if self.protocol == "base2new_train" else "new"
            opts += ["DATASET.NUM_SHOTS", str(self.shots), "DATASET.SUBSAMPLE_CLASSES", subsample]
        elif self.protocol in ("few_shot", "xd_train") and not self.zero_shot:
            opts += ["DATASET.NUM_SHOTS", str(self.train_shots)]
        return opts + list(self.extra_opts)

    def command(self) -> list[str]:
        cmd = [
            "python", "train.py",
            "--root", self.data_root,
            "--seed", str(self.seed),
            "--trainer", self.trainer,
            "--dataset-config-file", self.dataset_config_file,
            "--config-file", self.config_file,
            "--output-dir", self.output_dir,
        ]
        if self.zero_shot:
            cmd.append("--eval-only")
        elif self.train_job is not None:
            epoch = self.knob("LOAD_EPOCH") or str(self.max_epoch())
            cmd += ["--model-dir", self.train_job.output_dir, "--load-epoch", epoch, "--eval-only"]
        return cmd + self.opts()

    def shell_command(self) -> str:
        return shlex.join(self.command())

    def describe(self) -> str:
        what = {"base2new_train": "train on base classes", "base2new_test": "test on new classes",
                "few_shot": f"{self.shots}-shot", "xd_train": "train on ImageNet (16 shots)",
                "xd_test": "evaluate the ImageNet model"}[self.protocol]
        return f"{self.trainer} {self.dataset} seed {self.seed}: {what}"


def check_seeds_and_shots(seeds, shots, seed_name: str, shots_name: str) -> None:
    """The scripts' and the sweep's one rule: a seed is 0 or more and a number of shots 1 or more.

    Dassl reads a negative seed as "no fixed seed", whose few-shot picks and results cannot be repeated,
    and 0 shots as "every training image": neither is a benchmark run (train.py still takes both)."""
    bad_seeds = [s for s in seeds if s < 0]
    if bad_seeds:
        raise UserInputError(
            f"{seed_name} must be 0 or more, got {', '.join(map(str, bad_seeds))}: a negative seed means no fixed "
            "seed, so the few-shot picks and results could not be reproduced (train.py --seed -1 runs one by hand)")
    bad_shots = [k for k in shots if k < 1]
    if bad_shots:
        raise UserInputError(
            f"{shots_name} must be 1 or more, got {', '.join(map(str, bad_shots))} (the benchmarks use 1, 2, 4, 8 "
            "and 16; train.py with DATASET.NUM_SHOTS -1 trains on every image by hand)")


def split_opts(text: str, name: str = "OPTS") -> tuple[str, ...]:
    """`text` ("KEY VALUE ...") split as a shell would; unbalanced quotes are the user's to fix."""
    try:
        return tuple(shlex.split(text))
    except ValueError as e:  # shlex's only error: "No closing quotation" / "No escaped character"
        raise UserInputError(f"{name}: {str(e).lower()} in {text!r}") from None


def job_from_env(trainer: str, protocol: str, args: list[str]) -> Job:
    """Build a job from a script's positional arguments and the environment knobs (read here, once)."""
    if protocol not in USAGE:
        raise UserInputError(f"unknown protocol {protocol!r}; use one of {list(PROTOCOLS)}")
    names = USAGE[protocol].split()
    if len(args) != len(names):
        raise UserInputError(f"usage: {protocol}.sh {USAGE[protocol]} (got {len(args)} argument(s): {args})")
    values = dict(zip(names, args))

    def integer(name: str, raw: str) -> int:
        try:
            return int(raw)
        except ValueError:
            where = f"{protocol}.sh {USAGE[protocol]}" if name in names else "the SHOTS variable"
            raise UserInputError(f"{name} must be an integer, got {raw!r} ({where})") from None

    seed = integer("SEED", values["SEED"])
    shots = integer("SHOTS", values.get("SHOTS", env("SHOTS", "16")))
    check_seeds_and_shots([seed], [shots], "SEED", "SHOTS")
    dataset = values.get("DATASET", datasets_catalog.transfer_source())
    known = sorted(datasets_catalog.stems())
    if dataset not in known:
        raise UserInputError(
            f"unknown dataset {dataset!r}: no registered dataset has that config stem (known: {known})")
    trainer, cfg_override = env("TRAINER", trainer), env("CFG")
    return Job(
        trainer=trainer,
        protocol=protocol,
        dataset=dataset,
        seed=seed,
        shots=shots,
        data_root=env("DATA", "./data"),
        output_root=env("OUTPUT", "./output"),
        cfg_override=cfg_override,
        extra_opts=split_opts(env("OPTS")),
        knobs=capture_knobs(knob_names(trainer, cfg_override), os.environ),
    )
