"""The benchmark jobs behind `scripts/<method>/*.sh` and `clipfit sweep`: one place for every recipe.

A job is (trainer, protocol, dataset, seed, shots). Its recipe picks the config file and the extra
options per dataset; its output folder follows CoOp's conventions, so the report and
`parse_test_res.py` find it. Protocols:

- base2new_train DATASET SEED      train on the base classes (16 shots), test on base
- base2new_test  DATASET SEED      evaluate that model on the new classes
- few_shot       DATASET SHOTS SEED  all classes, K shots, test on the full test set
- xd_train       SEED              ImageNet, all classes, 16 shots (the few-shot ImageNet 16-shot run)
- xd_test        DATASET SEED      evaluate the ImageNet model on another dataset / an ImageNet variant

Environment knobs (all optional): DATA (data root, default ./data), OUTPUT (default ./output),
TRAINER, CFG, SHOTS (base2new), LOAD_EPOCH, OPTS ("KEY VALUE ..." appended to train.py),
LAMBDA (CLIPFit), NCTX / CSC / CTP (CoOp), FORCE=1 (rerun finished jobs).
"""
from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field

from ..errors import UserInputError
from .plugins import PROJECT_ROOT

PROTOCOLS = ("base2new_train", "base2new_test", "few_shot", "xd_train", "xd_test")
BASE2NEW_DATASETS = (
    "imagenet", "caltech101", "oxford_pets", "stanford_cars", "oxford_flowers", "food101",
    "fgvc_aircraft", "sun397", "dtd", "eurosat", "ucf101",
)
TRANSFER_SOURCE = "imagenet"  # the training set of the cross-dataset and domain-generalization settings
XD_TARGETS = tuple(d for d in BASE2NEW_DATASETS if d != TRANSFER_SOURCE)
DG_TARGETS = ("imagenetv2", "imagenet_sketch", "imagenet_a", "imagenet_r")
ZERO_SHOT_TRAINERS = ("ZeroshotCLIP", "ZeroshotCLIP2")
# scripts/<folder>/ of each method; the zero-shot trainers share scripts/zsclip/
SCRIPT_FOLDERS = {"CLIPFit": "clipfit", "CoOp": "coop", "CoCoOp": "cocoop", "ZeroshotCLIP": "zsclip"}


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


@dataclass(frozen=True)
class Recipe:
    """How one method is run: config folder, config file per setting, extra options, folder variant."""

    config_dir: str

    def cfg(self, protocol: str, dataset: str, shots: int) -> str:
        raise NotImplementedError

    def opts(self, protocol: str, dataset: str, shots: int) -> list[str]:
        return []

    def variant(self) -> str:
        """An extra folder level between `<cfg>_<K>shots` and `seed<S>` in few-shot runs (CoOp's)."""
        return ""


class CLIPFitRecipe(Recipe):
    """Published recipe: 10 epochs for ImageNet/Food101 else 100; lambda 8 (few-shot: 8 DTD/SUN397, else 2)."""

    def cfg(self, protocol, dataset, shots):
        return "vit_b16_ep10" if dataset in ("imagenet", "food101") else "vit_b16_ep100"

    def opts(self, protocol, dataset, shots):
        if protocol in ("few_shot", "xd_train"):
            lam = "8.0" if dataset in ("dtd", "sun397") else "2.0"
        else:
            lam = "8.0"
        return ["TRAINER.CLIPFIT.LAMBDA", env("LAMBDA", lam)]


class CoOpRecipe(Recipe):
    """CoCoOp paper's CoOp for base-to-new (ctxv1, 200 epochs, 50 on ImageNet); CoOp paper's few-shot epochs."""

    def cfg(self, protocol, dataset, shots):
        if protocol.startswith("base2new"):
            return "vit_b16_ep50_ctxv1" if dataset == "imagenet" else "vit_b16_ctxv1"
        if dataset == "imagenet":
            return "vit_b16_ep50"
        return {1: "vit_b16_ep50", 2: "vit_b16_ep100", 4: "vit_b16_ep100"}.get(shots, "vit_b16")

    def opts(self, protocol, dataset, shots):
        return [
            "TRAINER.COOP.N_CTX", env("NCTX", "16"),
            "TRAINER.COOP.CSC", env("CSC", "False"),
            "TRAINER.COOP.CLASS_TOKEN_POSITION", env("CTP", "end"),
        ]

    def variant(self):
        return f"nctx{env('NCTX', '16')}_csc{env('CSC', 'False')}_ctp{env('CTP', 'end')}"


class CoCoOpRecipe(Recipe):
    def cfg(self, protocol, dataset, shots):
        return "vit_b16_c4_ep10_batch1_ctxv1"


class ZeroShotRecipe(Recipe):
    def cfg(self, protocol, dataset, shots):
        return "vit_b16"


RECIPES: dict[str, Recipe] = {
    "CLIPFit": CLIPFitRecipe("CLIPFit"),
    "CoOp": CoOpRecipe("CoOp"),
    "CoCoOp": CoCoOpRecipe("CoCoOp"),
    "ZeroshotCLIP": ZeroShotRecipe("CoOp"),
    "ZeroshotCLIP2": ZeroShotRecipe("CoOp"),
}


def recipe_for(trainer: str) -> Recipe:
    if trainer in RECIPES:
        return RECIPES[trainer]
    if not env("CFG"):
        raise UserInputError(
            f"no built-in recipe for trainer {trainer!r} (known: {sorted(RECIPES)}); "
            f"set CFG to a config file stem under configs/trainers/{trainer}/"
        )
    return Recipe(trainer)


@dataclass(frozen=True)
class Job:
    trainer: str
    protocol: str
    dataset: str
    seed: int
    shots: int = 16
    data_root: str = "./data"
    output_root: str = "./output"
    cfg_override: str = ""
    extra_opts: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self):
        if self.protocol not in PROTOCOLS:
            raise UserInputError(f"unknown protocol {self.protocol!r}; use one of {list(PROTOCOLS)}")

    @property
    def recipe(self) -> Recipe:
        return recipe_for(self.trainer)

    @property
    def zero_shot(self) -> bool:
        return self.trainer in ZERO_SHOT_TRAINERS

    @property
    def train_dataset(self) -> str:
        return TRANSFER_SOURCE if self.protocol in ("xd_train", "xd_test") else self.dataset

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
    def cfg(self) -> str:
        return self.cfg_override or self.recipe.cfg(self.recipe_protocol, self.train_dataset, self.train_shots)

    @property
    def config_file(self) -> str:
        return os.path.join("configs", "trainers", self.recipe.config_dir, f"{self.cfg}.yaml")

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
        if self.recipe.variant():
            parts.append(self.recipe.variant())
        return os.path.join(*parts, seed)

    @property
    def train_job(self) -> "Job | None":
        """The job whose model this one evaluates (None for jobs that train or are zero-shot)."""
        if self.zero_shot or self.protocol not in ("base2new_test", "xd_test"):
            return None
        protocol = "base2new_train" if self.protocol == "base2new_test" else "xd_train"
        return Job(self.trainer, protocol, self.train_dataset, self.seed, self.shots, self.data_root,
                   self.output_root, self.cfg_override, self.extra_opts)

    def max_epoch(self) -> int:
        """The last epoch the training run saves, read from the config and the options as train.py would."""
        from ..config import get_cfg

        cfg = get_cfg()
        cfg.merge_from_file(os.path.join(PROJECT_ROOT, self.config_file))
        opts = self.train_job.opts() if self.train_job else self.opts()
        for key, value in zip(opts[::2], opts[1::2]):
            if key == "OPTIM.MAX_EPOCH":
                cfg.merge_from_list([key, value])
        return cfg.OPTIM.MAX_EPOCH

    def opts(self) -> list[str]:
        opts = self.recipe.opts(self.recipe_protocol, self.train_dataset, self.train_shots)
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
            "--dataset-config-file", os.path.join("configs", "datasets", f"{self.dataset}.yaml"),
            "--config-file", self.config_file,
            "--output-dir", self.output_dir,
        ]
        if self.zero_shot:
            cmd.append("--eval-only")
        elif self.train_job is not None:
            epoch = env("LOAD_EPOCH") or str(self.max_epoch())
            cmd += ["--model-dir", self.train_job.output_dir, "--load-epoch", epoch, "--eval-only"]
        return cmd + self.opts()

    def shell_command(self) -> str:
        return shlex.join(self.command())

    def describe(self) -> str:
        what = {"base2new_train": "train on base classes", "base2new_test": "test on new classes",
                "few_shot": f"{self.shots}-shot", "xd_train": "train on ImageNet (16 shots)",
                "xd_test": "evaluate the ImageNet model"}[self.protocol]
        return f"{self.trainer} {self.dataset} seed {self.seed}: {what}"


def known_datasets() -> list[str]:
    """Dataset config stems: the names the scripts take (configs/datasets/<name>.yaml)."""
    folder = os.path.join(PROJECT_ROOT, "configs", "datasets")
    return sorted(name[:-5] for name in os.listdir(folder) if name.endswith(".yaml"))


def job_from_env(trainer: str, protocol: str, args: list[str]) -> Job:
    """Build a job from a script's positional arguments and the environment knobs."""
    usage = {
        "base2new_train": "DATASET SEED", "base2new_test": "DATASET SEED", "few_shot": "DATASET SHOTS SEED",
        "xd_train": "SEED", "xd_test": "DATASET SEED",
    }[protocol]
    names = usage.split()
    if len(args) != len(names):
        raise UserInputError(f"usage: {protocol}.sh {usage} (got {len(args)} argument(s): {args})")
    values = dict(zip(names, args))
    try:
        seed = int(values["SEED"])
        shots = int(values.get("SHOTS", env("SHOTS", "16")))
    except ValueError as e:
        raise UserInputError(f"SEED and SHOTS must be integers: {e}") from e
    dataset = values.get("DATASET", TRANSFER_SOURCE)
    known = known_datasets()
    if dataset not in known:
        raise UserInputError(f"unknown dataset {dataset!r}: no configs/datasets/{dataset}.yaml (known: {known})")
    return Job(
        trainer=env("TRAINER", trainer),
        protocol=protocol,
        dataset=dataset,
        seed=seed,
        shots=shots,
        data_root=env("DATA", "./data"),
        output_root=env("OUTPUT", "./output"),
        cfg_override=env("CFG"),
        extra_opts=tuple(shlex.split(env("OPTS"))),
    )
