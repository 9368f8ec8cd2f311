"""The recipe protocol: how a benchmark job of one method is run.

A trainer class carries its published recipe as `RECIPE` (an instance of a `Recipe` subclass), beside
`SCRIPT_FOLDER` (its scripts/<folder>/) and `ZERO_SHOT` (it only evaluates). The application
(`clipfit.app.trainers_catalog`, `clipfit.app.jobs`) asks the recipe, for one job, which config file under
configs/trainers/<config_dir>/ to use, which options to append and which extra folder level few-shot runs
get. A recipe never reads the environment: the knobs it names in `knobs` (e.g. LAMBDA) are read once,
when the job is built, and handed to it in `RunSpec.knobs`. `opts` passes a key only where the run differs
from the config file (a knob the user set, a published per-setting value): every default lives in the YAML
or the class's `extend_cfg`, once.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

# The settings a recipe is asked about: cross-dataset jobs (xd_train / xd_test) use the few-shot recipe of
# their source run (marked `transfer`, for methods whose authors train that run with a config of its own).
RECIPE_PROTOCOLS = ("base2new_train", "base2new_test", "few_shot")


@dataclass(frozen=True)
class RunSpec:
    """What a recipe decides for: the setting, the training dataset's stem, its shots per class (0 for
    zero-shot runs), the environment knobs captured when the job was built, as sorted (name, value)
    pairs of those set, and whether the run is a cross-dataset job's source run (xd_train / xd_test)."""

    protocol: str
    dataset: str
    shots: int
    knobs: tuple[tuple[str, str], ...] = ()
    transfer: bool = False

    def knob(self, name: str, default: str = "") -> str:
        return dict(self.knobs).get(name, default)


@dataclass(frozen=True)
class Recipe:
    """The config folder (configs/trainers/<config_dir>/) and, per run, the config stem, the extra train.py
    options and the few-shot folder variant. Subclasses override what their method's recipe sets."""

    config_dir: str  # a folder of configs/trainers/, or an absolute path (a plugin's own configs)
    knobs: ClassVar[tuple[str, ...]] = ()  # the environment knobs this recipe reads (documented in the scripts)

    def cfg(self, run: RunSpec) -> str:
        """The config file stem; a recipe without one needs CFG (the job's config override)."""
        raise NotImplementedError(f"{type(self).__name__} has no config file of its own; set CFG")

    def opts(self, run: RunSpec) -> list[str]:
        return []

    def variant(self, run: RunSpec) -> str:
        """An extra folder level between `<cfg>_<K>shots` and `seed<S>` in few-shot runs (CoOp's); '' for none."""
        return ""


@dataclass(frozen=True)
class FixedRecipe(Recipe):
    """One config file for every run and no extra options (CoCoOp, zero-shot CLIP)."""

    stem: str = "vit_b16"

    def cfg(self, run: RunSpec) -> str:
        return self.stem
