"""Directory listings, bulk existence checks, and Datums built from them without a stat per file.

Datasets hold up to 1.3M images: folders holding many of the files asked about are listed once
instead of stat'ing each file.
"""
from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable

from clipfit.compat import Datum

from .errors import MissingImages, UnreadableFolder, name_paths


def make_datum(impath: str, label: int, classname: str, domain: int = 0) -> Datum:
    """A `Datum` built without its constructor, which stats the file (and warns) once per item.

    Callers check existence in bulk first (`find_missing`) or take the names from a directory listing.
    The object is a plain instance of the active `Datum` class with exactly its four attributes, so it
    pickles exactly like one made by the constructor.
    """
    item = Datum.__new__(Datum)
    item._impath = impath
    item._label = label
    item._domain = domain
    item._classname = classname
    return item


def list_names(path: str, kind: str) -> list[str]:
    """Non-hidden files (`kind` "files") or folders ("dirs") of `path` in file-system order (the order
    of `os.listdir`).

    The type comes from the directory entry itself, so no file is stat'ed on the file systems that
    report it (all common local ones). Symlinks count as what they point to.
    """
    if kind not in ("files", "dirs"):
        raise ValueError(f"kind must be files or dirs, got {kind!r}")
    wanted = os.DirEntry.is_file if kind == "files" else os.DirEntry.is_dir
    return [e.name for e in scan(path) if not e.name.startswith(".") and wanted(e)]


def scan(path: str) -> list[os.DirEntry]:
    """The entries of the folder `path`; `UnreadableFolder` when permissions forbid listing it."""
    try:
        with os.scandir(path) as it:
            return list(it)
    except PermissionError:
        raise UnreadableFolder.of(path) from None


def absent(folder: str, relpaths: Iterable[str]) -> list[str]:
    """The paths of `relpaths` (relative to `folder`) that do not exist, in input order."""
    return [p for p in relpaths if not os.path.exists(os.path.join(folder, p))]


# Below this many requested files in one folder, stat'ing each is cheaper than listing the folder.
_LIST_FOLDER_FROM = 16


def find_missing(paths: Iterable[str]) -> list[str]:
    """The paths of `paths` that are not existing files, in input order.

    Folders holding many of the requested files are listed once (one `scandir`, types from the entries)
    instead of stat'ing each file; a folder that does not exist makes all its files missing.
    """
    paths = list(paths)
    by_folder: dict[str, list[str]] = defaultdict(list)
    for path in paths:
        by_folder[os.path.dirname(path)].append(path)
    missing: set[str] = set()
    for folder, wanted in by_folder.items():
        if len(wanted) < _LIST_FOLDER_FROM:
            absent_here = [p for p in wanted if not os.path.isfile(p)]
            # A file looks absent when its folder cannot be read (listed, or searched: then listed but no
            # file in it can be stat'ed): say that instead.
            if absent_here and not {os.path.basename(p) for p in absent_here}.isdisjoint(_present_names(folder)):
                raise UnreadableFolder.of(folder)
            missing.update(absent_here)
            continue
        present = _present_names(folder)
        missing.update(p for p in wanted if os.path.basename(p) not in present)
    return [p for p in paths if p in missing] if missing else []


def _present_names(folder: str) -> set[str]:
    """Names of the files in `folder` (none when it does not exist); `UnreadableFolder` when it cannot be read."""
    try:
        return {e.name for e in scan(folder) if e.is_file()}
    except (FileNotFoundError, NotADirectoryError):
        return set()
    except PermissionError:  # `is_file` of a symbolic link stats its target
        raise UnreadableFolder.of(folder) from None


def check_images_exist(paths: list[str], source: str, advice: str) -> None:
    """Raise one `MissingImages` that counts and names the absent files listed by `source`."""
    missing = find_missing(paths)
    if missing:
        raise MissingImages(
            f"{len(missing):,} of the {len(paths):,} images listed in {source} are missing, e.g.:\n"
            f"{name_paths(missing)}\n{advice}"
        )
