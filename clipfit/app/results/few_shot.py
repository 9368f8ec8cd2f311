"""The few-shot table as data: accuracy per dataset, method and shots over seeds, and each method's average
over the benchmark datasets per number of shots (conventions: aggregate.py)."""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from ..datasets_catalog import display_name, stems
from .aggregate import Method, accuracy_average, cell_stat, group_by, method_of, seed_gaps, table_axes
from .runs import FEW_SHOT, Run


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
    expected, methods, datasets = table_axes(runs)
    shots = sorted({r.shots for r in runs})
    groups = group_by(runs, lambda r: (r.dataset, method_of(r), r.shots))
    table = FewShotTable(methods, datasets, shots, {}, {}, expected_seeds=expected)
    for method in methods:
        method_shots = table.method_shots[method] = sorted({k for (_, m, k) in groups if m == method})
        for dataset in datasets:
            for k in shots:
                table.cells[(dataset, method, k)] = cell_stat(groups.get((dataset, method, k), []))
            if not any((dataset, method, k) in groups for k in method_shots):
                table.missing.append(f"{method.label} · {display_name(dataset)}: no runs")
                continue
            for k in method_shots:
                def path(s, k=k, d=dataset):
                    return os.path.join(d, method.trainer, f"{method.config}_{k}shots", method.variant, f"seed{s}")
                table.missing.extend(seed_gaps(f"{method.label} · {display_name(dataset)} · {k} shots",
                                               groups.get((dataset, method, k), []), expected[method], path, root))
        for k in shots:
            table.averages[(method, k)] = accuracy_average(
                {d: table.cells[(d, method, k)] for d in datasets}, stems("few_shot"))
    return table
