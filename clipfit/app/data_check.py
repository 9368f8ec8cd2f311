"""`clipfit data check`: what is ready under a data root, what is missing and where to get it.

Reads only the layout (folder listings, split JSONs), so it is quick even on the full datasets; with
`--images` it also decodes every image with the reader the training uses. The layout knowledge comes from
the dataset classes themselves (`required`, `native_files`, `split_file`, ... in `datasets/<name>.py`), the
list and its order from the dataset catalog.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field

from ..errors import UserInputError
from .prepare import STAGING_DIR

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")

READY, MISSING, INCOMPLETE, BROKEN = "ready", "missing", "incomplete", "broken"


def dataset_classes(benchmarks_only: bool = False) -> dict:
    """{registered name: class} of the datasets with a layout to check (the catalog's, in its order: the
    papers', then plugins'); with `benchmarks_only`, those with a role in the benchmarks (not the demo's)."""
    from .datasets_catalog import catalog

    known = catalog()  # imports the project's `datasets` (and the plugins) first
    from datasets.base import CoOpDataset

    return {f.name: f.cls for f in known.values()
            if issubclass(f.cls, CoOpDataset) and (f.benchmarks or not benchmarks_only)}


@dataclass
class DatasetReport:
    name: str
    folder: str  # the dataset folder under the root
    status: str  # ready / missing / incomplete / broken
    images: int | None = None
    split: str = "-"  # official / absent / generated / official lists / n/a / invalid
    missing: list[str] = field(default_factory=list)  # paths relative to the root
    notes: list[str] = field(default_factory=list)
    docs: str = ""  # the section of DATASETS.md about the dataset

    @property
    def folder_absent(self) -> bool:
        """Missing altogether (no folder), rather than a folder with parts missing."""
        return self.status == MISSING and self.missing == [self.folder]


def count_images(folder: str) -> int:
    """Image files below `folder` (recursive), counted from directory entries without stat'ing files;
    `UnreadableFolder` for a folder that cannot be listed (its images would go uncounted)."""
    from datasets.listing import scan

    total = 0
    stack = [folder]
    top = True
    while stack:
        current = stack.pop()
        try:
            entries = scan(current)
        except (FileNotFoundError, NotADirectoryError):
            continue
        subdirs = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_dir():
                subdirs.append(entry.path)
            elif entry.name.lower().endswith(IMAGE_EXTENSIONS):
                total += 1
        if top and len(subdirs) >= 100:
            from tqdm import tqdm

            for sub in tqdm(subdirs, desc=f"Counting {folder}", unit="folder", file=sys.stderr, leave=False):
                total += count_images(sub)
            subdirs = []
        top = False
        stack.extend(subdirs)
    return total


def image_files(folder: str) -> list[str]:
    """Paths of the image files below `folder`, sorted (hidden entries skipped)."""
    from datasets.errors import UnreadableFolder

    def unreadable(error: OSError) -> None:
        if isinstance(error, PermissionError):
            raise UnreadableFolder.of(error.filename) from error

    found = []
    for dirpath, dirnames, filenames in os.walk(folder, onerror=unreadable):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        found += [os.path.join(dirpath, n) for n in filenames
                  if not n.startswith(".") and n.lower().endswith(IMAGE_EXTENSIONS)]
    return sorted(found)


def undecodable_images(paths: list[str], dataset: str) -> list[str]:
    """The images of `paths` that the training would fail on, decoded with the same reader it uses."""
    from tqdm import tqdm

    from ..engine.utils.files import ImageUnreadable, read_image

    bad = []
    for path in tqdm(paths, desc=f"Decoding {dataset}", unit="image", file=sys.stderr, leave=False):
        try:
            read_image(path, dataset)
        except ImageUnreadable:
            bad.append(path)
    return bad


def _check_decoding(report: DatasetReport, paths: list[str], root: str) -> None:
    bad = undecodable_images([p for p in paths if os.path.exists(p)], report.name)
    if bad:
        report.status = BROKEN
        shown = ", ".join(os.path.relpath(p, root) for p in bad[:3])
        report.notes.append(f"{len(bad):,} image(s) cannot be decoded, e.g. {shown}: replace or remove them")
    else:
        report.notes.append(f"all {len(paths):,} images decode")


def inspect_dataset(cls, root: str, decode: bool = False) -> DatasetReport:
    """Check one dataset's layout under `root`; with `decode`, also decode every image."""
    from datasets.base import TestOnlyDataset
    from datasets.errors import DatasetError, docs_ref
    from datasets.listing import absent
    from datasets.readers import read_json_file
    from datasets.split_files import parse_split
    from datasets.storage import DatasetFiles

    name = cls.__name__
    dataset_dir, image_dir = cls.dirs_under(root)
    report = DatasetReport(name=name, folder=cls.dataset_dir + "/", status=READY, docs=docs_ref(cls.anchor()))
    if not os.path.isdir(dataset_dir):
        report.status = MISSING
        report.missing = [cls.dataset_dir + "/"]
        return report

    def missing(relpaths) -> list[str]:
        return [os.path.join(cls.dataset_dir, p) for p in absent(dataset_dir, relpaths)]

    report.missing = missing(cls.required)
    files = DatasetFiles(dataset_dir)
    replacement = cls.split_file or cls.preprocessed_file
    found = files.find(replacement) if replacement else None
    if not found:
        report.missing += missing(cls.native_files)

    entries = None
    if issubclass(cls, TestOnlyDataset):
        report.split = "test only"
    elif cls.split_file is None:
        report.split = "n/a" if replacement else "official lists"
        if found:
            report.notes.append(f"uses {found} (delete it after changing the images)")
    elif not found:
        report.split = "absent"
        report.notes.append(f"get {cls.split_file} (else a random split is made: not comparable)")
    else:
        try:
            data = read_json_file(found, "")
            entries = parse_split(data, found)
            generated = files.made_here(found, cls.split_file)
            report.split = "generated" if generated else "official"
            if generated:
                report.notes.append(f"{found} is a random split made here, not the official file")
        except DatasetError as e:
            report.split = "invalid"
            report.status = BROKEN
            report.notes.append(f"{str(e).splitlines()[0][:400].rstrip('.')}; delete it")  # it names the file

    try:
        _check_images(report, cls, root, entries, found, decode)
    except DatasetError as e:  # a folder that cannot be listed
        report.status = BROKEN
        report.notes.append(str(e))
    if report.missing:
        report.status = MISSING
    return report


def _check_images(report: DatasetReport, cls, root: str, entries: dict | None, found: str | None, decode: bool
                  ) -> None:
    """Count the images (those of the split file `entries` when there is one) and, with `decode`, decode them."""
    from datasets.listing import find_missing

    dataset_dir, image_dir = cls.dirs_under(root)
    has_images = os.path.isdir(image_dir)
    paths = None
    if entries is not None and not any(entries.values()):
        report.status = BROKEN
        report.notes.append(f"{found} lists no images; delete it (a new split is made from the images)")
    elif entries is not None and has_images:
        paths = [os.path.join(image_dir, rel) for key in entries for rel, _, _ in entries[key]]
        missing_images = find_missing(paths)
        report.images = len(paths) - len(missing_images)
        if missing_images:
            report.status = INCOMPLETE
            shown = ", ".join(os.path.relpath(p, root) for p in missing_images[:3])
            report.notes.append(
                f"{len(missing_images):,} of {len(paths):,} images in the split file are missing, e.g. {shown}"
            )
    elif has_images:
        report.images = sum(count_images(os.path.join(dataset_dir, d)) for d in (cls.count_dirs or (cls.image_subdir,)))
        if report.images == 0:
            report.status = INCOMPLETE
            report.notes.append(f"no images found under {os.path.relpath(image_dir, root)}")
        elif decode:
            folders = cls.count_dirs or (cls.image_subdir,)
            paths = [p for d in folders for p in image_files(os.path.join(dataset_dir, d))]
    if decode and paths:
        _check_decoding(report, paths, root)
    if os.path.isdir(os.path.join(dataset_dir, STAGING_DIR)):
        report.status = INCOMPLETE
        report.notes.append(f"an interrupted `clipfit data prepare` left {cls.dataset_dir}/{STAGING_DIR}: run it again")


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
