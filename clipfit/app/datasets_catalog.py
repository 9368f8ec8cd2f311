"""The datasets the application knows, derived from the registered dataset classes' facts.

Every list of datasets the scripts, sweeps, report, data check and split downloads use comes from here;
the facts themselves live on each class (`datasets/<stem>.py`: `benchmarks`, `display_name`, `template`,
`split_file_id`, ...). A dataset registered from a plugin module (CLIPFIT_PLUGINS) shows up everywhere
with no other edit.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from ..errors import UserInputError
from .plugins import PROJECT_ROOT, import_plugins


@dataclass(frozen=True)
class DatasetFacts:
    name: str  # the registered name (DATASET.NAME)
    stem: str  # configs/datasets/<stem>.yaml, the name the scripts take, the folder in output/
    display: str  # the name in the published tables
    benchmarks: tuple[str, ...]
    config_file: str  # absolute path of the dataset YAML
    cls: type


def _facts(name: str, cls: type) -> DatasetFacts:
    stem = getattr(cls, "config_stem", None) or cls.__module__.rsplit(".", 1)[-1]
    config = getattr(cls, "config_file", None) or os.path.join(PROJECT_ROOT, "configs", "datasets", f"{stem}.yaml")
    display = getattr(cls, "display_name", None) or name
    return DatasetFacts(name, stem, display, tuple(cls.benchmarks), config, cls)


def catalog() -> dict[str, DatasetFacts]:
    """stem -> facts of every registered dataset class that declares `benchmarks`, in the papers' order
    (`datasets.PAPER_ORDER`), then the others alphabetically."""
    import_plugins(("datasets",))  # not the trainers, which import torch: report and data check need none
    import datasets

    from ..compat import DATASET_REGISTRY

    found = {}
    for name in DATASET_REGISTRY.registered_names():
        cls = DATASET_REGISTRY.get(name)
        if isinstance(cls, type) and getattr(cls, "benchmarks", None) is not None:
            facts = _facts(name, cls)
            found[facts.stem] = facts
    rank = {name: i for i, name in enumerate(datasets.PAPER_ORDER)}
    ordered = sorted(found.values(), key=lambda f: (rank.get(f.name, len(rank)), f.stem))
    return {f.stem: f for f in ordered}


def stems(role: str | None = None) -> tuple[str, ...]:
    """The dataset stems, or those with `role` (of datasets._shared.base.BENCHMARK_ROLES) among their benchmarks."""
    return tuple(stem for stem, f in catalog().items() if role is None or role in f.benchmarks)


def facts(stem: str) -> DatasetFacts:
    known = catalog()
    if stem not in known:
        raise UserInputError(f"unknown dataset {stem!r} (known: {', '.join(known)})")
    return known[stem]


def transfer_source() -> str:
    """The one dataset that cross-dataset and domain-generalization runs train on (ImageNet)."""
    sources = stems("xd_source")
    if len(sources) != 1:
        raise UserInputError(f"exactly one dataset must have the role xd_source, found {list(sources) or 'none'}")
    return sources[0]


def display_name(stem: str) -> str:
    """`oxford_flowers` -> `Flowers102`; an unknown stem is shown as it is."""
    known = catalog()
    return known[stem].display if stem in known else stem


def dataset_order(stem: str) -> tuple[int, str]:
    """Sort key: the catalog's order first, unknown datasets after, alphabetically."""
    order = list(catalog())
    return (order.index(stem), stem) if stem in order else (len(order), stem)


def stem_of(path_or_name: str) -> str:
    """`configs/datasets/oxford_pets.yaml` -> `oxford_pets`; the registered name `OxfordPets` -> `oxford_pets`."""
    by_name = {f.name: f.stem for f in catalog().values()}
    if path_or_name in by_name:
        return by_name[path_or_name]
    return os.path.splitext(os.path.basename(path_or_name))[0]
