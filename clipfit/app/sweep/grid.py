"""The grid of a sweep: trainers x settings x datasets x shots x seeds, validated, expanded into the
benchmark jobs of `clipfit.app.jobs` (the scripts' jobs: same commands, same output folders) and de-duplicated.

Settings (what `--protocols` names) and the jobs each one makes:

- base2new  base2new_train on the base classes, then base2new_test of that model on the new classes
- few_shot  few_shot for each number of shots (all classes, the full test set)
- xd        cross-dataset transfer: xd_train (ImageNet, 16 shots), then xd_test on each target dataset
- dg        domain generalization: the same xd_train model, xd_test on each ImageNet variant
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from ...errors import UserInputError
from .. import datasets_catalog, trainer_names
from ..jobs import Job, Knobs, capture_knobs, check_seeds_and_shots, knob_names

SETTINGS = {
    "base2new": "train on the base classes, then test that model on the new classes",
    "few_shot": "all classes, K shots per class (one run per --shots value)",
    "xd": "cross-dataset: train on ImageNet (16 shots), evaluate on each target dataset",
    "dg": "domain generalization: the ImageNet model evaluated on ImageNet-V2/-Sketch/-A/-R",
}
# The dataset role (`benchmarks` on the dataset classes) each setting runs on.
SETTING_ROLES = {"base2new": "base2new", "few_shot": "few_shot", "xd": "xd_target", "dg": "dg_target"}
DEFAULT_FEW_SHOTS = (1, 2, 4, 8, 16)
DEFAULT_BASE2NEW_SHOTS = (16,)


def _pick(kind: str, given: list[str], known: list[str], normalize=str.lower) -> tuple[str, ...]:
    """`given` mapped onto `known` names (case-insensitively), in order and without repeats."""
    by_key = {normalize(name): name for name in known}
    unknown = [name for name in given if normalize(name) not in by_key]
    if unknown:
        raise UserInputError(f"unknown {kind} {', '.join(map(repr, unknown))}; known: {', '.join(known)}")
    return tuple(dict.fromkeys(by_key[normalize(name)] for name in given))


def setting_datasets(setting: str) -> tuple[str, ...]:
    """Every dataset of a setting, in the papers' order (plugin datasets with the role after them)."""
    return datasets_catalog.stems(SETTING_ROLES[setting])


def known_datasets() -> list[str]:
    """The dataset stems, alphabetically: the names the scripts and `--datasets` take."""
    return sorted(datasets_catalog.stems())


def parse_trainers(names: list[str]) -> tuple[str, ...]:
    return _pick("trainer(s)", names, list(trainer_names.with_recipe()))  # no torch for a typo


def parse_settings(names: list[str]) -> tuple[str, ...]:
    return _pick("protocol(s)", names, list(SETTINGS), normalize=lambda s: s.lower().replace("-", "_"))


def parse_datasets(names: list[str]) -> tuple[str, ...] | None:
    """None for `all` (every dataset of each setting), else the validated stems."""
    if [n.lower() for n in names] == ["all"]:
        return None
    if any(n.lower() == "all" for n in names):
        raise UserInputError("--datasets takes either `all` or a list of dataset names, not both")
    return _pick("dataset(s)", names, known_datasets())


def _outside_benchmarks(dataset: str) -> bool:
    """A registered dataset with no benchmark role (the demo's DemoShapes, a plugin's)."""
    from ..datasets_catalog import catalog

    known = catalog().get(dataset)
    return known is not None and not known.benchmarks


@dataclass(frozen=True)
class Grid:
    """What to run. `datasets=None`: every dataset of each setting; `shots=None`: 1 2 4 8 16 shots for
    few-shot and 16 for base-to-new. Paths and options are handed to every `Job` unchanged."""

    trainers: tuple[str, ...]
    settings: tuple[str, ...]
    seeds: tuple[int, ...]
    datasets: tuple[str, ...] | None = None
    shots: tuple[int, ...] | None = None
    data_root: str = "./data"
    output_root: str = "./output"
    cfg_override: str = ""
    extra_opts: tuple[str, ...] = field(default_factory=tuple)
    knobs: Knobs = ()  # the environment knobs captured when the sweep was set up; each job keeps its trainer's

    def validate(self) -> None:
        if not self.trainers or not self.settings or not self.seeds:
            raise UserInputError("a sweep needs at least one trainer, one protocol and one seed")
        check_seeds_and_shots(self.seeds, self.shots or (), "--seeds", "--shots")
        if len(self.extra_opts) % 2:
            raise UserInputError(f"--opts takes KEY VALUE pairs, got an odd number: {list(self.extra_opts)}")
        if self.datasets is None:
            return
        for setting in self.settings:
            if not self.datasets_for(setting) and not self._trains_on_source(setting):
                raise UserInputError(
                    f"protocol {setting} has none of the given datasets ({', '.join(self.datasets)}); "
                    f"it runs on: {', '.join(setting_datasets(setting))}"
                )
        for dataset in self.datasets:
            if not any(dataset in self.datasets_for(s) or self._trains_on_source(s, dataset) for s in self.settings):
                uses = "; ".join(f"{s}: {', '.join(setting_datasets(s))}" for s in self.settings)
                raise UserInputError(f"dataset {dataset!r} is not part of the chosen protocol(s) ({uses})")

    def _trains_on_source(self, setting: str, dataset: str | None = None) -> bool:
        """True when `imagenet` is asked for in a transfer setting: its training run alone."""
        asked, source = self.datasets or (), datasets_catalog.transfer_source()
        return setting in ("xd", "dg") and source in asked and dataset in (None, source)

    def datasets_for(self, setting: str) -> tuple[str, ...]:
        every = setting_datasets(setting)
        if self.datasets is None:
            return every
        named = setting in ("base2new", "few_shot")  # a dataset outside the benchmarks runs these when named
        return tuple(d for d in self.datasets if d in every or (named and _outside_benchmarks(d)))

    def shots_for(self, setting: str) -> tuple[int, ...]:
        if self.shots is not None:
            return self.shots
        return DEFAULT_FEW_SHOTS if setting == "few_shot" else DEFAULT_BASE2NEW_SHOTS

    def _job(self, trainer: str, protocol: str, dataset: str, seed: int, shots: int = 16) -> Job:
        knobs = capture_knobs(knob_names(trainer, self.cfg_override), dict(self.knobs))
        return Job(trainer, protocol, dataset, seed, shots, self.data_root, self.output_root,
                   self.cfg_override, self.extra_opts, knobs)

    def _setting_jobs(self, setting: str, trainer: str) -> list[Job]:
        jobs = []
        if setting in ("base2new", "few_shot"):
            protocols = ("base2new_train", "base2new_test") if setting == "base2new" else ("few_shot",)
            for dataset in self.datasets_for(setting):
                for shots in self.shots_for(setting):
                    for seed in self.seeds:
                        jobs += [self._job(trainer, p, dataset, seed, shots) for p in protocols]
            return jobs
        for seed in self.seeds:
            jobs.append(self._job(trainer, "xd_train", datasets_catalog.transfer_source(), seed))
            jobs += [self._job(trainer, "xd_test", target, seed) for target in self.datasets_for(setting)]
        return jobs

    def jobs(self) -> list[Job]:
        """Every job, a training job before the jobs that evaluate it, each output folder once (e.g. the
        16-shot ImageNet few-shot run is also the xd/dg training run; zero-shot runs ignore the shots)."""
        self.validate()
        unique: dict[str, Job] = {}
        for setting in self.settings:
            for trainer in self.trainers:
                for job in self._setting_jobs(setting, trainer):
                    job.check_config_file()
                    unique.setdefault(os.path.normpath(job.output_dir), job)
        return list(unique.values())
