"""Seed aggregation and the leaderboard tables as data (formatting lives in tables.py, figures in plots.py).

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
from dataclasses import dataclass, field

import numpy as np

from .names import (BENCHMARK_DATASETS, CROSS_DATASET_TARGETS, DG_TARGETS, SOURCE_DATASET, dataset_order,
                    display_name)
from .published import BASE2NEW, BASE2NEW_AVERAGE, PUBLISHED_SHOTS, BaseNewHM, published_method
from .runs import BASE2NEW as SETTING_B2N
from .runs import FEW_SHOT, TRANSFER, Run, relative_to


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

    @property
    def label(self) -> str:
        text = f"{self.trainer} {self.config}"
        if self.variant:
            text += f" {self.variant}"
        if self.grid and self.grid != f"shots_{PUBLISHED_SHOTS}":
            text += f" [{self.grid}]"
        if self.shots is not None and self.shots != PUBLISHED_SHOTS:
            text += f" [{self.shots} shots]"
        return text

    @property
    def published(self) -> str | None:
        """The published method this reproduces (16 shots only), e.g. ZeroshotCLIP -> CLIP."""
        if self.grid and not self.grid.startswith(f"shots_{PUBLISHED_SHOTS}"):
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


def _stat(runs: list[Run]) -> Stat | None:
    return Stat.of({r.seed: r.value for r in runs if r.finished})


def _seed_gaps(label: str, runs: list[Run], expected, expected_path, root: str) -> list[str]:
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


def _group(runs, key):
    groups: dict = {}
    for run in runs:
        groups.setdefault(key(run), []).append(run)
    return groups


def _axes(runs: list[Run]) -> tuple[dict, list, list]:
    """Of one setting's runs: method -> every seed seen in any of its run folders (finished or not), the
    methods in display order and the datasets in the papers' order."""
    expected = {method: {r.seed for r in group} for method, group in _group(runs, method_of).items()}
    return expected, sorted(expected, key=_method_order), sorted({r.dataset for r in runs}, key=dataset_order)


def method_of(run: Run) -> Method:
    """The method a run belongs to; base-to-new keeps its shots folder, transfer its training shots."""
    if run.setting == SETTING_B2N:
        return Method(run.trainer, run.config, run.variant, grid=run.grid)
    if run.setting == TRANSFER:
        return Method(run.trainer, run.config, run.variant, shots=run.shots)
    return Method(run.trainer, run.config, run.variant)


# ---------------------------------------------------------------------------------------------- base-to-new

@dataclass
class Base2NewRow:
    dataset: str
    method: Method
    base: Stat | None
    new: Stat | None
    expected_seeds: tuple

    @property
    def hm(self) -> float | None:
        if self.base is None or self.new is None:
            return None
        return hm(self.base.mean, self.new.mean)


@dataclass
class Base2NewTable:
    methods: list  # Method, in display order
    datasets: list  # stems, in the papers' order
    rows: dict  # (dataset, Method) -> Base2NewRow
    averages: dict  # Method -> Average | None
    missing: list = field(default_factory=list)

    def published(self, method: Method, dataset: str) -> BaseNewHM | None:
        name = method.published
        return BASE2NEW.get(name, {}).get(display_name(dataset)) if name else None

    def published_average(self, method: Method) -> BaseNewHM | None:
        """The printed 11-dataset average when ours is complete; for a partial average, the published
        per-dataset rows averaged over the same datasets (by the same convention), where they exist."""
        name = method.published
        average = self.averages.get(method)
        if name is None or average is None:
            return None
        if average.complete:
            return BASE2NEW_AVERAGE.get(name)
        return published_subset_average(name, average.datasets)


def published_subset_average(name: str, datasets) -> BaseNewHM | None:
    rows = BASE2NEW.get(name, {})
    picked = [rows.get(display_name(d)) for d in datasets]
    if not picked or any(p is None for p in picked):
        return None
    base = float(np.mean([p.base for p in picked]))
    new = float(np.mean([p.new for p in picked]))
    return BaseNewHM(base, new, hm(base, new))


def base2new_average(rows, total: int = len(BENCHMARK_DATASETS)) -> Average | None:
    """Mean base, mean new and HM(mean base, mean new) over the benchmark datasets with both results."""
    used = [r for r in rows if r.dataset in BENCHMARK_DATASETS and r.base is not None and r.new is not None]
    if not used:
        return None
    base = float(np.mean([r.base.mean for r in used]))
    new = float(np.mean([r.new.mean for r in used]))
    return Average((base, new, hm(base, new)), tuple(r.dataset for r in used), total)


def build_base2new(runs: list[Run], root: str) -> Base2NewTable | None:
    runs = [r for r in runs if r.setting == SETTING_B2N]
    if not runs:
        return None
    expected, methods, datasets = _axes(runs)
    cells = _group(runs, lambda r: (r.dataset, method_of(r), r.role))
    table = Base2NewTable(methods, datasets, {}, {})
    for method in methods:
        seeds = expected[method]
        for dataset in datasets:
            base_runs = cells.get((dataset, method, "base"), [])
            new_runs = cells.get((dataset, method, "new"), [])
            table.rows[(dataset, method)] = Base2NewRow(dataset, method, _stat(base_runs), _stat(new_runs),
                                                        tuple(sorted(seeds)))
            table.missing.extend(_b2n_gaps(method, dataset, base_runs, new_runs, seeds, root))
        table.averages[method] = base2new_average([table.rows[(d, method)] for d in datasets])
        average = table.averages[method]
        absent = [d for d in BENCHMARK_DATASETS if average is None or d not in average.datasets]
        if absent:
            table.missing.append(f"{method.label}: the average lacks {len(absent)} of the "
                                 f"{len(BENCHMARK_DATASETS)} datasets: {', '.join(map(display_name, absent))}")
    return table


def _b2n_gaps(method: Method, dataset: str, base_runs, new_runs, seeds, root: str) -> list[str]:
    label = f"{method.label} · {display_name(dataset)}"
    if not base_runs and not new_runs:
        return [f"{label}: no runs (neither train_base nor test_new)"]

    def path(role):
        return lambda s: os.path.join("base2new", role, dataset, method.grid, method.trainer, method.config,
                                      method.variant, f"seed{s}")

    return (_seed_gaps(f"{label} · Base (train_base)", base_runs, seeds, path("train_base"), root)
            + _seed_gaps(f"{label} · New (test_new)", new_runs, seeds, path("test_new"), root))


def _method_order(method: Method):
    order = ["zeroshotclip", "zeroshotclip2", "coop", "cocoop", "clipfit"]
    trainer = method.trainer.lower()
    rank = order.index(trainer) if trainer in order else len(order)
    return (rank, method.trainer, method.config, method.variant, method.grid, method.shots or 0)


# ------------------------------------------------------------------------------------------------- few-shot

@dataclass
class FewShotTable:
    methods: list
    datasets: list
    shots: list  # sorted shot counts (columns)
    cells: dict  # (dataset, Method, shots) -> Stat | None
    averages: dict  # (Method, shots) -> Average | None
    method_shots: dict = field(default_factory=dict)  # Method -> the shot counts it was run with
    expected_seeds: dict = field(default_factory=dict)  # Method -> seeds seen in any of its folders
    missing: list = field(default_factory=list)

    def has(self, dataset: str, method: Method) -> bool:
        return any(self.cells.get((dataset, method, k)) is not None for k in self.shots)


def build_few_shot(runs: list[Run], root: str) -> FewShotTable | None:
    runs = [r for r in runs if r.setting == FEW_SHOT]
    if not runs:
        return None
    expected, methods, datasets = _axes(runs)
    shots = sorted({r.shots for r in runs})
    groups = _group(runs, lambda r: (r.dataset, method_of(r), r.shots))
    table = FewShotTable(methods, datasets, shots, {}, {}, expected_seeds=expected)
    for method in methods:
        method_shots = table.method_shots[method] = sorted({k for (_, m, k) in groups if m == method})
        for dataset in datasets:
            for k in shots:
                table.cells[(dataset, method, k)] = _stat(groups.get((dataset, method, k), []))
            if not any((dataset, method, k) in groups for k in method_shots):
                table.missing.append(f"{method.label} · {display_name(dataset)}: no runs")
                continue
            for k in method_shots:
                def path(s, k=k, d=dataset):
                    return os.path.join(d, method.trainer, f"{method.config}_{k}shots", method.variant, f"seed{s}")
                table.missing.extend(_seed_gaps(f"{method.label} · {display_name(dataset)} · {k} shots",
                                                groups.get((dataset, method, k), []), expected[method], path, root))
        for k in shots:
            table.averages[(method, k)] = _accuracy_average(
                {d: table.cells[(d, method, k)] for d in datasets}, BENCHMARK_DATASETS)
    return table


def _accuracy_average(stats: dict, canonical) -> Average | None:
    used = [d for d in canonical if stats.get(d) is not None]
    if not used:
        return None
    return Average((float(np.mean([stats[d].mean for d in used])),), tuple(used), len(canonical))


# ------------------------------------------------------------------------------------------------- transfer

@dataclass
class TransferTable:
    """Cross-dataset transfer or domain generalization: ImageNet source and target columns."""

    kind: str  # "cross_dataset" or "domain_generalization"
    methods: list
    targets: list  # stems (columns after the source)
    cells: dict  # (Method, dataset) -> Stat | None; dataset SOURCE_DATASET is the source
    averages: dict  # Method -> Average | None (over the canonical targets)
    expected_seeds: dict = field(default_factory=dict)  # Method -> seeds seen in its source or target folders
    missing: list = field(default_factory=list)

    @property
    def title(self) -> str:
        return "Cross-dataset transfer" if self.kind == "cross_dataset" else "Domain generalization"


def build_transfer(runs: list[Run], root: str) -> list[TransferTable]:
    targets = [r for r in runs if r.setting == TRANSFER]
    if not targets:
        return []
    sources = _group([r for r in runs if r.setting == FEW_SHOT and r.dataset == SOURCE_DATASET],
                     lambda r: Method(r.trainer, r.config, r.variant, shots=r.shots))
    dg = [r for r in targets if r.dataset in DG_TARGETS]
    xd = [r for r in targets if r.dataset not in DG_TARGETS]
    tables = []
    kinds = (("cross_dataset", xd, CROSS_DATASET_TARGETS), ("domain_generalization", dg, DG_TARGETS))
    for kind, picked, canonical in kinds:
        if picked:
            tables.append(_transfer_table(kind, picked, sources, canonical, root))
    return tables


def _transfer_table(kind, runs, sources, canonical, root) -> TransferTable:
    expected, methods, targets = _axes(runs)
    groups = _group(runs, lambda r: (method_of(r), r.dataset))
    table = TransferTable(kind, methods, targets, {}, {})
    for method in methods:
        source_runs = sources.get(method, [])
        seeds = expected[method] | {r.seed for r in source_runs}
        table.expected_seeds[method] = seeds
        shots_dir = f"{method.config}_{method.shots}shots"
        table.cells[(method, SOURCE_DATASET)] = _stat(source_runs)
        table.missing.extend(_seed_gaps(
            f"{method.label} · source ImageNet", source_runs, seeds,
            lambda s: os.path.join(SOURCE_DATASET, method.trainer, shots_dir, method.variant, f"seed{s}"), root))
        for dataset in targets:
            cell_runs = groups.get((method, dataset), [])
            table.cells[(method, dataset)] = _stat(cell_runs)
            table.missing.extend(_seed_gaps(
                f"{method.label} · {display_name(dataset)}", cell_runs, seeds,
                lambda s, d=dataset: os.path.join("evaluation", method.trainer, shots_dir, method.variant, d,
                                                  f"seed{s}"), root))
        table.averages[method] = _accuracy_average({d: table.cells[(method, d)] for d in targets}, canonical)
    return table
