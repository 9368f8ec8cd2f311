"""What a dataset's folder under a data root holds, answered by its class (`CoOpDataset.inspect`): the
status (ready / missing / incomplete / broken), the image count, the state of the split file and what to do.

Reads only the layout (folder listings, the split JSON), so it is quick even on the full datasets; given a
`decode` function (what `clipfit data check --images` passes) it also decodes every image. The class's
layout attributes (`required`, `native_files`, `split_file`, ...) say what to look for; the state of its
lists is its `inspect_split`, beside the `read_splits` that reads them.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

from .errors import DatasetError, docs_ref
from .listing import absent, find_missing, scan
from .readers import read_json_file
from .split_files import parse_split
from .storage import DatasetFiles

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")

READY, MISSING, INCOMPLETE, BROKEN = "ready", "missing", "incomplete", "broken"
# `decode(paths)`: the paths of those images the training could not decode
Decoder = Callable[[list], list]


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
    from .errors import UnreadableFolder

    def unreadable(error: OSError) -> None:
        if isinstance(error, PermissionError):
            raise UnreadableFolder.of(error.filename) from error

    found = []
    for dirpath, dirnames, filenames in os.walk(folder, onerror=unreadable):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        found += [os.path.join(dirpath, n) for n in filenames
                  if not n.startswith(".") and n.lower().endswith(IMAGE_EXTENSIONS)]
    return sorted(found)


def inspect_layout(cls, root: str, decode: Decoder | None = None) -> DatasetReport:
    """The report of dataset class `cls` under `root` (what `CoOpDataset.inspect` returns)."""
    dataset_dir, _ = cls.dirs_under(root)
    report = DatasetReport(name=cls.__name__, folder=cls.dataset_dir + "/", status=READY, docs=docs_ref(cls.anchor()))
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
    entries = cls.inspect_split(files, found, report)
    try:
        _check_images(report, cls, root, entries, found, decode)
    except DatasetError as e:  # a folder that cannot be listed
        report.status = BROKEN
        report.notes.append(str(e))
    if report.missing:
        report.status = MISSING
    return report


def split_state(cls, files: DatasetFiles, found: str | None, report: DatasetReport) -> dict | None:
    """`report.split` for a dataset read from `split_file` (or, without one, its official lists or a
    preprocessed file), with its notes; the parsed split file's entries when there is a valid one."""
    if cls.split_file is None:
        report.split = "n/a" if cls.preprocessed_file else "official lists"
        if found:
            report.notes.append(f"uses {found} (delete it after changing the images)")
        return None
    if not found:
        report.split = "absent"
        report.notes.append(f"get {cls.split_file} (else a random split is made: not comparable)")
        return None
    try:
        entries = parse_split(read_json_file(found, ""), found)
    except DatasetError as e:
        report.split = "invalid"
        report.status = BROKEN
        report.notes.append(f"{str(e).splitlines()[0][:400].rstrip('.')}; delete it")  # it names the file
        return None
    generated = files.made_here(found, cls.split_file)
    report.split = "generated" if generated else "official"
    if generated:
        report.notes.append(f"{found} is a random split made here, not the official file")
    return entries


def _check_decoding(report: DatasetReport, paths: list[str], root: str, decode: Decoder) -> None:
    bad = decode([p for p in paths if os.path.exists(p)])
    if bad:
        report.status = BROKEN
        shown = ", ".join(os.path.relpath(p, root) for p in bad[:3])
        report.notes.append(f"{len(bad):,} image(s) cannot be decoded, e.g. {shown}: replace or remove them")
    else:
        report.notes.append(f"all {len(paths):,} images decode")


def _check_images(report: DatasetReport, cls, root: str, entries: dict | None, found: str | None,
                  decode: Decoder | None) -> None:
    """Count the images (those of the split file `entries` when there is one) and, with `decode`, decode them."""
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
        _check_decoding(report, paths, root, decode)
