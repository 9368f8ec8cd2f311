"""The base-to-new table as data: per dataset and method, Base (`train_base`) and New (`test_new`) over
seeds, HM, and each method's average over the benchmark datasets (conventions: aggregate.py)."""
from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from ..datasets_catalog import display_name, stems
from .aggregate import Average, Method, Stat, cell_stat, group_by, hm, method_of, seed_gaps, table_axes
from .pairing import drop_stale
from .published import BASE2NEW, BASE2NEW_AVERAGE, BaseNewHM
from .runs import BASE2NEW as SETTING_B2N
from .runs import Run


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


def base2new_average(rows, total: int | None = None) -> Average | None:
    """Mean base, mean new and HM(mean base, mean new) over the benchmark datasets with both results;
    `total` (how many a full average has) defaults to the number of benchmark datasets."""
    benchmark = stems("base2new")
    used = [r for r in rows if r.dataset in benchmark and r.base is not None and r.new is not None]
    if not used:
        return None
    base = float(np.mean([r.base.mean for r in used]))
    new = float(np.mean([r.new.mean for r in used]))
    total = len(benchmark) if total is None else total
    return Average((base, new, hm(base, new)), tuple(r.dataset for r in used), total)


def build_base2new(runs: list[Run], root: str) -> Base2NewTable | None:
    runs = [r for r in runs if r.setting == SETTING_B2N]
    if not runs:
        return None
    expected, methods, datasets = table_axes(runs)
    cells = group_by(runs, lambda r: (r.dataset, method_of(r), r.role))
    table = Base2NewTable(methods, datasets, {}, {})
    benchmark = stems("base2new")
    for method in methods:
        seeds = expected[method]
        for dataset in datasets:
            base_runs = cells.get((dataset, method, "base"), [])
            new_runs = cells.get((dataset, method, "new"), [])
            # A New that evaluated an earlier model of its seed's Base run stays out of New and HM.
            fresh, stale = drop_stale(new_runs, base_runs, f"{method.label} · {display_name(dataset)} · New (test_new)",
                                      lambda s, d=dataset: f"base2new_test for {d} seed {s}", root)
            table.rows[(dataset, method)] = Base2NewRow(dataset, method, cell_stat(base_runs), cell_stat(fresh),
                                                        tuple(sorted(seeds)))
            table.missing.extend(_b2n_gaps(method, dataset, base_runs, new_runs, seeds, root) + stale)
        table.averages[method] = base2new_average([table.rows[(d, method)] for d in datasets])
        average = table.averages[method]
        absent = [d for d in benchmark if average is None or d not in average.datasets]
        if absent and len(absent) == len(benchmark):  # e.g. the demo: listing all 11 would say nothing
            table.missing.append(f"{method.label}: no average (it has no run on the {len(benchmark)} benchmark "
                                 "datasets)")
        elif absent:
            table.missing.append(f"{method.label}: the average lacks {len(absent)} of the "
                                 f"{len(benchmark)} datasets: {', '.join(map(display_name, absent))}")
    return table


def _b2n_gaps(method: Method, dataset: str, base_runs, new_runs, seeds, root: str) -> list[str]:
    label = f"{method.label} · {display_name(dataset)}"
    if not base_runs and not new_runs:
        return [f"{label}: no runs (neither train_base nor test_new)"]

    def path(role):
        return lambda s: os.path.join("base2new", role, dataset, method.grid, method.trainer, method.config,
                                      method.variant, f"seed{s}")

    return (seed_gaps(f"{label} · Base (train_base)", base_runs, seeds, path("train_base"), root)
            + seed_gaps(f"{label} · New (test_new)", new_runs, seeds, path("test_new"), root))
