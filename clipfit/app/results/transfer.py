"""The transfer tables as data: a model trained on the source dataset (ImageNet, 16 shots) evaluated on the
cross-dataset targets or the domain-generalization targets, over seeds (conventions: aggregate.py)."""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from ..datasets_catalog import display_name, stems, transfer_source
from .aggregate import Method, accuracy_average, cell_stat, group_by, method_of, seed_gaps, table_axes
from .pairing import drop_stale
from .runs import FEW_SHOT, TRANSFER, Run


@dataclass
class TransferTable:
    """Cross-dataset transfer or domain generalization: the source (ImageNet) and target columns."""

    kind: str  # "cross_dataset" or "domain_generalization"
    methods: list
    targets: list  # stems (columns after the source)
    cells: dict  # (Method, dataset) -> Stat | None; dataset `source` is the source
    averages: dict  # Method -> Average | None (over the canonical targets)
    expected_seeds: dict = field(default_factory=dict)  # Method -> seeds seen in its source or target folders
    missing: list = field(default_factory=list)
    source: str = ""  # the stem of the training dataset
    canonical: tuple = ()  # every target of the setting (the datasets a full average covers)

    @property
    def title(self) -> str:
        return "Cross-dataset transfer" if self.kind == "cross_dataset" else "Domain generalization"

    @property
    def targets_text(self) -> str:
        """The canonical targets in words: `the other 10 datasets`, `ImageNetV2, ... and ImageNet-R`."""
        if self.kind == "cross_dataset":
            return f"the other {len(self.canonical)} datasets"
        names = [display_name(d) for d in self.canonical]
        return " and ".join(filter(None, [", ".join(names[:-1]), names[-1]])) if names else ""


def build_transfer(runs: list[Run], root: str) -> list[TransferTable]:
    targets = [r for r in runs if r.setting == TRANSFER]
    if not targets:
        return []
    source = transfer_source()
    sources = group_by([r for r in runs if r.setting == FEW_SHOT and r.dataset == source],
                       lambda r: Method(r.trainer, r.config, r.variant, shots=r.shots, options=r.options))
    dg_targets = stems("dg_target")
    dg = [r for r in targets if r.dataset in dg_targets]
    xd = [r for r in targets if r.dataset not in dg_targets]
    tables = []
    kinds = (("cross_dataset", xd, stems("xd_target")), ("domain_generalization", dg, dg_targets))
    for kind, picked, canonical in kinds:
        if picked:
            tables.append(_transfer_table(kind, picked, sources, source, canonical, root))
    return tables


def _transfer_table(kind, runs, sources, source, canonical, root) -> TransferTable:
    expected, methods, targets = table_axes(runs)
    groups = group_by(runs, lambda r: (method_of(r), r.dataset))
    table = TransferTable(kind, methods, targets, {}, {}, source=source, canonical=tuple(canonical))
    for method in methods:
        source_runs = sources.get(method, [])
        seeds = expected[method] | {r.seed for r in source_runs}
        table.expected_seeds[method] = seeds
        shots_dir = f"{method.config}_{method.shots}shots"
        table.cells[(method, source)] = cell_stat(source_runs)
        table.missing.extend(seed_gaps(
            f"{method.label} · source {display_name(source)}", source_runs, seeds,
            lambda s: os.path.join(source, method.trainer, shots_dir, method.variant, f"seed{s}"), root))
        for dataset in targets:
            cell_runs = groups.get((method, dataset), [])
            # A target that evaluated an earlier model of its seed's source run is left out.
            fresh, stale = drop_stale(cell_runs, source_runs, f"{method.label} · {display_name(dataset)}",
                                      lambda s, d=dataset: f"xd_test for {d} seed {s}", root)
            table.missing.extend(stale)
            table.cells[(method, dataset)] = cell_stat(fresh)
            table.missing.extend(seed_gaps(
                f"{method.label} · {display_name(dataset)}", cell_runs, seeds,
                lambda s, d=dataset: os.path.join("evaluation", method.trainer, shots_dir, method.variant, d,
                                                  f"seed{s}"), root))
        table.averages[method] = accuracy_average({d: table.cells[(method, d)] for d in targets}, table.canonical)
    return table
