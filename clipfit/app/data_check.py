"""`clipfit data check`: what is ready under a data root, what is missing and where to get it.

Each dataset class answers for its own folder (`inspect(root)`, `datasets/_shared/inspection.py`); this
module picks the classes (the dataset catalog's, in its order), passes the image decoder for `--images`
(the reader the training uses) and prints the reports.
"""
from __future__ import annotations

import os
import sys
from functools import partial

# the statuses are read from here by the commands
from datasets._shared.inspection import BROKEN, INCOMPLETE, MISSING, READY, DatasetReport  # noqa: F401

from ..errors import UserInputError
from .prepare import STAGING_DIR


def dataset_classes(benchmarks_only: bool = False) -> dict:
    """{registered name: class} of the datasets with a layout to check (the catalog's, in its order: the
    papers', then plugins'); with `benchmarks_only`, those with a role in the benchmarks (not the demo's)."""
    from .datasets_catalog import catalog

    known = catalog()  # imports the project's `datasets` (and the plugins) first
    from datasets._shared.base import CoOpDataset

    return {f.name: f.cls for f in known.values()
            if issubclass(f.cls, CoOpDataset) and (f.benchmarks or not benchmarks_only)}


def undecodable_images(paths: list[str], dataset: str) -> list[str]:
    """The images of `paths` that the training would fail on, decoded with the same reader it uses."""
    from tqdm import tqdm

    from ..engine.utils.images import ImageUnreadable, read_image

    bad = []
    for path in tqdm(paths, desc=f"Decoding {dataset}", unit="image", file=sys.stderr, leave=False):
        try:
            read_image(path, dataset)
        except ImageUnreadable:
            bad.append(path)
    return bad


def inspect_dataset(cls, root: str, decode: bool = False) -> DatasetReport:
    """What the dataset class says of its folder under `root` (`inspect`), with `decode` every image decoded,
    and a leftover of an interrupted `clipfit data prepare` (the application's own staging folder)."""
    report = cls.inspect(root, partial(undecodable_images, dataset=cls.__name__) if decode else None)
    if os.path.isdir(os.path.join(cls.dirs_under(root)[0], STAGING_DIR)):
        report.status = INCOMPLETE
        report.notes.append(f"an interrupted `clipfit data prepare` left {cls.dataset_dir}/{STAGING_DIR}: run it again")
    return report


def selected_datasets(names: list[str] | None = None) -> dict:
    """Registered name -> dataset class for `names`; without names, the benchmark datasets (any dataset
    with a layout, e.g. the demo's `DemoShapes`, is checked when named)."""
    if not names:
        return dataset_classes(benchmarks_only=True)
    from .datasets_catalog import catalog

    classes = dataset_classes()
    # The scripts and sweeps name datasets by config stem (oxford_pets); either name works here.
    by_stem = {f.stem: f.name for f in catalog().values() if f.name in classes}
    chosen = [by_stem.get(n, n) for n in names]
    unknown = [n for n, c in zip(names, chosen) if c not in classes]
    if unknown:
        raise UserInputError(f"unknown dataset name(s) {unknown} in --datasets; choose from {sorted(classes)} "
                             f"(or their config stems: {sorted(by_stem)})")
    return {c: classes[c] for c in chosen}


def check_root(root: str, names: list[str] | None = None, decode: bool = False) -> list[DatasetReport]:
    root = os.path.abspath(os.path.expanduser(root))
    return [inspect_dataset(cls, root, decode) for cls in selected_datasets(names).values()]


def nothing_found(reports: list[DatasetReport], root: str) -> str | None:
    """When not one of the checked datasets has its folder under `root`, what to tell the user: most often
    --root names the wrong folder (one level too high or too low). None when any folder is there."""
    if not reports or not all(r.folder_absent for r in reports):
        return None
    entries = sorted(e for e in os.listdir(root) if not e.startswith("."))
    holds = f"it holds {', '.join(entries[:6])}{', ...' if len(entries) > 6 else ''}" if entries else "it is empty"
    checked = {r.name for r in reports}
    others = [f"{cls.dataset_dir}/ is {name}, checked with --datasets {name}"
              for name, cls in dataset_classes().items()
              if name not in checked and os.path.isdir(cls.dirs_under(root)[0])]
    return (f"no dataset folder found under {root} ({holds}). --root takes the folder that holds one folder per "
            f"dataset, e.g. {os.path.join(root, 'dtd', 'images')}; see DATASETS.md"
            + (f". Note: {'; '.join(others)}" if others else ""))


def format_reports(reports: list[DatasetReport]) -> str:
    from tabulate import tabulate

    rows = []
    for r in reports:
        todo = []
        if r.missing:
            more = f" (+{len(r.missing) - 4})" if len(r.missing) > 4 else ""
            todo.append("missing: " + ", ".join(r.missing[:4]) + more)
        todo += r.notes
        if r.status != READY or r.split in ("absent", "generated", "invalid"):
            todo.append(f"see {r.docs}")
        images = "-" if r.images is None else f"{r.images:,}"
        rows.append([r.name, r.folder, r.status, images, r.split, "; ".join(todo)])
    return tabulate(
        rows, headers=["Dataset", "Folder", "Status", "Images", "Split file", "What to do"], disable_numparse=True
    )


def summary_line(reports: list[DatasetReport], root: str, download_failed: bool = False) -> str:
    ready = sum(r.status == READY for r in reports)
    lines = [f"{ready} of {len(reports)} datasets ready under {root}."]
    if download_failed:
        lines.append("Some split files could not be downloaded (see above): DATASETS.md says where to get each one "
                     "by hand, or set $CLIPFIT_SPLITS_URL to a mirror.")
    elif any(r.split == "absent" for r in reports):
        lines.append(
            "Official split files are missing for some datasets: `clipfit data check --root "
            f"{root} --download-splits` fetches them (or see DATASETS.md)."
        )
    return "\n".join(lines)
