"""Seed aggregation shared by the leaderboard tables as data: base2new.py, few_shot.py and transfer.py build
one table each (formatting lives in tables.py, figures in plots.py).

Conventions:
- A cell is the mean and the **population** standard deviation (ddof=0, `np.std`) over the seeds that have a
  result, with their count: the spread parse_test_res.py prints, so both tools agree. With n seeds the sample
  std (ddof=1) is this value times sqrt(n / (n - 1)).
- Base-to-new HM of a dataset is HM(mean base, mean new).
- The "Average" row of a method takes the mean over datasets of the per-dataset base means and of the new
  means, and HM(mean base, mean new), the convention of every published table (not the mean of the HMs).
  Only the 11 benchmark datasets enter it, and only those with both a base and a new result. With fewer than
  11 it is still computed over what exists and marked partial ("avg of 3/11").
- Expected seeds of a method are all seeds seen in any of its run folders; a cell lacking one of them is
  listed as missing (no folder) or incomplete (a folder whose logs have no result).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ..datasets_catalog import dataset_order
from .published import PUBLISHED_SHOTS, published_method
from .runs import BASE2NEW as SETTING_B2N
from .runs import TRANSFER, Run, relative_to

_OPTION_NAMES = {"MODEL.BACKBONE.NAME": "backbone", "DATASET.NUM_SHOTS": "shots"}
_OPTIONS_SHOWN = 4  # options a label names; the rest are counted


def options_text(options: tuple) -> str:
    """`backbone tiny; OPTIM.MAX_EPOCH 1`: what a label says of its runs' non-default (key, value) options."""
    shown = [f"{_OPTION_NAMES.get(k, k)} {v}" for k, v in options[:_OPTIONS_SHOWN]]
    if len(options) > _OPTIONS_SHOWN:
        shown.append(f"{len(options) - _OPTIONS_SHOWN} more")
    return "; ".join(shown)


def hm(base: float, new: float) -> float:
    """Harmonic mean 2bn / (b + n); 0 when both are 0."""
    return 0.0 if base + new == 0 else 2 * base * new / (base + new)


@dataclass(frozen=True)
class Stat:
    """Mean and population std (ddof=0) over seeds."""

    mean: float
    std: float
    n: int
    seeds: tuple = ()

    @classmethod
    def of(cls, by_seed: dict) -> Stat | None:
        """From {seed: value}; None when empty."""
        if not by_seed:
            return None
        seeds = tuple(sorted(by_seed))
        values = np.array([by_seed[s] for s in seeds], dtype=float)
        return cls(float(values.mean()), float(values.std()), len(values), seeds)


@dataclass(frozen=True)
class Method:
    """What is compared: a trainer with its config (and variant folders, shots grid where they apply)."""

    trainer: str
    config: str
    variant: str = ""
    grid: str = ""  # base-to-new shots folder, e.g. `shots_16`
    shots: int | None = None  # transfer: shots of the ImageNet training
    options: tuple = ()  # what its runs ran with that the config and recipe do not say (Run.options)

    @property
    def label(self) -> str:
        text = f"{self.trainer} {self.config}"
        if self.variant:
            text += f" {self.variant}"
        if self.grid and self.grid != f"shots_{PUBLISHED_SHOTS}":
            text += f" [{self.grid}]"
        if self.shots is not None and self.shots != PUBLISHED_SHOTS:
            text += f" [{self.shots} shots]"
        if self.options:
            text += f" ({options_text(self.options)})"
        return text

    @property
    def published(self) -> str | None:
        """The published method this reproduces (16 shots and the recipe's settings only), e.g. ZeroshotCLIP -> CLIP."""
        if self.options or (self.grid and not self.grid.startswith(f"shots_{PUBLISHED_SHOTS}")):
            return None
        return published_method(self.trainer)


@dataclass(frozen=True)
class Average:
    """A method's average over datasets (see the module docstring for the convention)."""

    values: tuple  # (base, new, hm) for base-to-new, (accuracy,) otherwise
    datasets: tuple  # the datasets that entered it
    total: int  # how many a full average has

    @property
    def complete(self) -> bool:
        return len(self.datasets) == self.total

    @property
    def note(self) -> str:
        return "" if self.complete else f"avg of {len(self.datasets)}/{self.total}"


def cell_stat(runs: list[Run]) -> Stat | None:
    """The Stat of one cell's runs over the seeds that have a result."""
    return Stat.of({r.seed: r.value for r in runs if r.finished})


def seed_gaps(label: str, runs: list[Run], expected, expected_path, root: str) -> list[str]:
    """Messages for the expected seeds of one cell that have no result."""
    by_seed = {r.seed: r for r in runs}
    gaps = []
    for seed in sorted(expected):
        run = by_seed.get(seed)
        if run is None:
            gaps.append(f"{label} seed {seed}: missing (no folder {expected_path(seed)})")
        elif not run.finished:
            gaps.append(f"{label} seed {seed}: incomplete ({_why(run, root)})")
    return gaps


def _why(run: Run, root: str) -> str:
    where = relative_to(run.path, root)
    if not run.result.logs:
        return f"no log in {where}"
    names = ", ".join(os.path.basename(p) for p in run.result.logs)
    return f"no result in {where}: {names}; crashed or still running"


def group_by(runs, key) -> dict:
    """{key(run): [runs]}, in the runs' order."""
    groups: dict = {}
    for run in runs:
        groups.setdefault(key(run), []).append(run)
    return groups


def table_axes(runs: list[Run]) -> tuple[dict, list, list]:
    """Of one setting's runs: method -> every seed seen in any of its run folders (finished or not), the
    methods in display order and the datasets in the papers' order."""
    expected = {method: {r.seed for r in group} for method, group in group_by(runs, method_of).items()}
    return expected, sorted(expected, key=_method_order), sorted({r.dataset for r in runs}, key=dataset_order)


def method_of(run: Run) -> Method:
    """The method a run belongs to; base-to-new keeps its shots folder, transfer its training shots."""
    if run.setting == SETTING_B2N:
        return Method(run.trainer, run.config, run.variant, grid=run.grid, options=run.options)
    if run.setting == TRANSFER:
        return Method(run.trainer, run.config, run.variant, shots=run.shots, options=run.options)
    return Method(run.trainer, run.config, run.variant, options=run.options)


def _method_order(method: Method):
    order = ["zeroshotclip", "zeroshotclip2", "coop", "cocoop", "clipfit"]
    trainer = method.trainer.lower()
    rank = order.index(trainer) if trainer in order else len(order)
    return (rank, method.trainer, method.config, method.variant, method.grid, method.shots or 0, method.options)


def accuracy_average(stats: dict, canonical) -> Average | None:
    """The mean accuracy over the datasets of `canonical` that have a Stat in {dataset: Stat | None}."""
    used = [d for d in canonical if stats.get(d) is not None]
    if not used:
        return None
    return Average((float(np.mean([stats[d].mean for d in used])),), tuple(used), len(canonical))
