"""The files behind the datasets: errors that say what to do, fast checks of image lists against the
disk, safe reading of split JSONs and Datum pickles, and where caches go when a dataset folder is
read-only.

Nothing here knows a dataset layout; `datasets/base.py` holds CoOp's flow and the dataset files their
own layout.
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import pickle
import sys
from collections import defaultdict
from typing import Any, Callable, Iterable, Iterator

from clipfit.compat import Datum
from clipfit.datum_pickle import DATUM_PATHS, DatumUnpickler
from clipfit.files import atomic_write

DOCS_FILE = "DATASETS.md"
CACHE_ENV = "CLIPFIT_CACHE"
#: how many offending paths an error message names
SHOW_PATHS = 5


def docs_ref(anchor: str) -> str:
    """Where in the repository's DATASETS.md the layout and the download of a dataset are explained."""
    return f"{DOCS_FILE}#{anchor}"


# ----------------------------------------------------------------------------------------------
# Errors
# ----------------------------------------------------------------------------------------------


class DatasetError(Exception):
    """Base class of the dataset errors below; the message always says which file and what to do."""


class DatasetNotFound(DatasetError, FileNotFoundError):
    """A dataset folder or one of the files its layout needs is absent."""


class MissingImages(DatasetError, FileNotFoundError):
    """Images listed in a split file or a cache are absent from the disk."""


class StaleCache(DatasetError, FileNotFoundError):
    """A cache stores absolute image paths that no longer lead to the images (the data root moved)."""


class CorruptDatasetFile(DatasetError, ValueError):
    """A split JSON, annotation file or pickle cannot be read or does not have the expected content."""


def _name_paths(paths: list[str]) -> str:
    shown = "\n".join(f"  {p}" for p in paths[:SHOW_PATHS])
    more = len(paths) - SHOW_PATHS
    return shown + (f"\n  ... and {more} more" if more > 0 else "")


# ----------------------------------------------------------------------------------------------
# Datum without the per-file check
# ----------------------------------------------------------------------------------------------


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


# ----------------------------------------------------------------------------------------------
# Directory listings and bulk existence checks
# ----------------------------------------------------------------------------------------------


def list_names(path: str, kind: str) -> list[str]:
    """Non-hidden files (`kind` "files") or folders ("dirs") of `path` in file-system order (the order
    of `os.listdir`).

    The type comes from the directory entry itself, so no file is stat'ed on the file systems that
    report it (all common local ones). Symlinks count as what they point to.
    """
    if kind not in ("files", "dirs"):
        raise ValueError(f"kind must be files or dirs, got {kind!r}")
    with os.scandir(path) as it:
        if kind == "files":
            return [e.name for e in it if not e.name.startswith(".") and e.is_file()]
        return [e.name for e in it if not e.name.startswith(".") and e.is_dir()]


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
            missing.update(p for p in wanted if not os.path.isfile(p))
            continue
        try:
            with os.scandir(folder) as it:
                present = {e.name for e in it if e.is_file()}
        except (FileNotFoundError, NotADirectoryError):
            present = set()
        missing.update(p for p in wanted if os.path.basename(p) not in present)
    return [p for p in paths if p in missing] if missing else []


def check_images_exist(paths: list[str], source: str, advice: str) -> None:
    """Raise one `MissingImages` that counts and names the absent files listed by `source`."""
    missing = find_missing(paths)
    if missing:
        raise MissingImages(
            f"{len(missing):,} of the {len(paths):,} images listed in {source} are missing, e.g.:\n"
            f"{_name_paths(missing)}\n{advice}"
        )


# ----------------------------------------------------------------------------------------------
# JSON and pickles
# ----------------------------------------------------------------------------------------------


def read_json_file(path: str, advice: str) -> Any:
    try:
        with open(path, "rb") as f:
            return json.loads(f.read().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CorruptDatasetFile(f"{path} is not valid JSON ({e}). {advice}") from e


def text_lines(path: str) -> Iterator[tuple[int, str]]:
    """(line number, stripped line) of the non-blank lines of a UTF-8 annotation or list file."""
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if line:
                yield lineno, line


# Globals a few-shot cache or preprocessed.pkl may reference besides Datum (protocol 0/1 objects,
# numpy scalars written by forks). Anything else is refused instead of being imported and run.
_SAFE_GLOBALS = {
    ("copyreg", "_reconstructor"),
    ("builtins", "object"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
}


class _CacheUnpickler(DatumUnpickler):
    def find_class(self, module: str, name: str):
        if (module, name) in DATUM_PATHS or (module, name) in _SAFE_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"it references {module}.{name}, which a Datum cache never holds")


def load_datum_cache(path: str, keys: tuple[str, ...], advice: str) -> dict[str, list]:
    """Read a Dassl/CoOp cache pickle: a dict whose `keys` hold lists of `Datum`.

    A Datum pickled by real Dassl (`dassl.data.datasets.base_dataset.Datum`) or by the engine loads as
    the active Datum class. Anything unreadable or of another shape raises `CorruptDatasetFile`.
    """
    try:
        with open(path, "rb") as f:
            data = _CacheUnpickler(f, Datum).load()
    except FileNotFoundError:
        raise
    except Exception as e:  # pickle raises many types on bad input
        raise CorruptDatasetFile(f"{path} is not a readable cache ({type(e).__name__}: {e}). {advice}") from e
    if not isinstance(data, dict) or any(k not in data for k in keys):
        found = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise CorruptDatasetFile(f"{path} is not a cache of this dataset: expected keys {list(keys)}, found {found}. {advice}")
    for key in keys:
        items = data[key]
        if not isinstance(items, list) or not all(isinstance(d, Datum) for d in items):
            raise CorruptDatasetFile(f"{path}: {key!r} is not a list of Datum. {advice}")
    return {key: data[key] for key in keys}


# ----------------------------------------------------------------------------------------------
# Absolute paths inside caches
# ----------------------------------------------------------------------------------------------


def _sample(items: list, limit: int = 2000) -> list:
    step = max(1, len(items) // limit)
    return items[::step]


def _old_dataset_dir(impath: str, dataset_dir: str) -> str | None:
    """The dataset folder `impath` was made under, found by trying where the same relative path exists
    under the current folder; None when it does not exist anywhere there."""
    marker = os.sep + os.path.basename(dataset_dir) + os.sep
    end = len(impath)
    while True:
        i = impath.rfind(marker, 0, end)
        if i < 0:
            return None
        old = impath[: i + len(marker) - 1]
        if os.path.isfile(os.path.join(dataset_dir, impath[len(old) + 1 :])):
            return old
        end = i


def resolve_cached_paths(lists: dict[str, list], dataset_dir: str, cache: str, check_files: bool = True) -> dict[str, list]:
    """Check that the absolute paths stored in a cache lead to the images of this run's dataset folder.

    - Paths under `dataset_dir`: with `check_files`, the files must exist, else `MissingImages`.
      Without it they are trusted, as CoOp trusts `preprocessed.pkl` (1.28M paths).
    - Paths under another folder of the same name (the data root was moved or is mounted elsewhere):
      when the same relative paths exist under `dataset_dir` (all checked, or an even sample without
      `check_files`), the items are re-pointed **in memory** with a notice; the file itself is never
      rewritten, so it stays byte-compatible with Dassl. Otherwise `StaleCache` says to delete it.
    """
    items = [d for key in lists for d in lists[key]]
    if not items:
        return lists
    prefix = dataset_dir.rstrip(os.sep) + os.sep
    outside = next((d.impath for d in items if not d.impath.startswith(prefix)), None)
    if outside is None:
        if check_files:
            check_images_exist(
                [d.impath for d in items], cache, f"Restore the images, or delete {cache} to re-create it from the current files."
            )
        return lists
    old_dir = _old_dataset_dir(outside, dataset_dir)
    stale = (
        f"The cache {cache} stores absolute image paths made under another data root, e.g.\n  {outside}\n"
        f"but this run reads the dataset from\n  {dataset_dir}\n"
    )
    fix = (
        f"Delete {cache}: it is re-created on the next run, with the same images when the split file and "
        "seed are the same. Or set DATASET.ROOT back to the old location."
    )
    if old_dir is None:
        raise StaleCache(stale + f"and the same images are not found there. {fix}")
    old_prefix = old_dir + os.sep
    if any(not d.impath.startswith(old_prefix) for d in items):
        raise StaleCache(stale + f"and its paths do not share one root. {fix}")
    rebased = {
        key: [make_datum(prefix + d.impath[len(old_prefix) :], d.label, d.classname, d.domain) for d in lists[key]]
        for key in lists
    }
    new_items = [d for key in rebased for d in rebased[key]]
    missing = find_missing(d.impath for d in (new_items if check_files else _sample(new_items)))
    if missing:
        raise StaleCache(
            stale + f"and {len(missing):,} of its images are missing under the new root, e.g.:\n{_name_paths(missing)}\n{fix}"
        )
    print(
        f"Note: {cache} was made under {old_dir}; using the same images under {dataset_dir} "
        "(paths re-pointed in memory, the file is unchanged; delete it to re-create it with the new paths)"
    )
    return rebased


# ----------------------------------------------------------------------------------------------
# Where split JSONs, few-shot caches and preprocessed.pkl are written
# ----------------------------------------------------------------------------------------------


def cache_root() -> str:
    """`$CLIPFIT_CACHE`, else `$XDG_CACHE_HOME/clipfit`, else `~/.cache/clipfit`."""
    if os.environ.get(CACHE_ENV):
        return os.path.abspath(os.path.expanduser(os.environ[CACHE_ENV]))
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(xdg, "clipfit")


def fallback_dir(dataset_dir: str) -> str:
    """The writable stand-in for a read-only dataset folder: `<cache root>/<folder name>-<hash>`.

    The hash of the absolute folder keeps two data roots holding a dataset of the same name apart.
    """
    digest = hashlib.sha1(os.path.abspath(dataset_dir).encode("utf-8")).hexdigest()[:8]
    return os.path.join(cache_root(), f"{os.path.basename(dataset_dir.rstrip(os.sep))}-{digest}")


def is_writable(folder: str) -> bool:
    """Whether files can be created in `folder`, judged on its nearest existing ancestor."""
    while not os.path.exists(folder):
        parent = os.path.dirname(folder)
        if parent == folder:
            return False
        folder = parent
    return os.path.isdir(folder) and os.access(folder, os.W_OK)


_READ_ONLY_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS}


class DatasetFiles:
    """Files a dataset reads and writes besides its images, relative to its folder.

    Reads look in the dataset folder first, then in its fallback folder (`fallback_dir`). Writes go to
    the dataset folder when it is writable, as in CoOp, else to the fallback, with a printed notice.
    """

    def __init__(self, dataset_dir: str):
        self.dataset_dir = dataset_dir

    @property
    def fallback_dir(self) -> str:
        return fallback_dir(self.dataset_dir)

    def primary(self, relpath: str) -> str:
        return os.path.join(self.dataset_dir, relpath)

    def find(self, relpath: str) -> str | None:
        for path in (self.primary(relpath), os.path.join(self.fallback_dir, relpath)):
            if os.path.isfile(path):
                return path
        return None

    def made_here(self, found: str, relpath: str) -> bool:
        """Whether `found`, what `find(relpath)` returned, is a file this project wrote in place of an
        official one: it lies in the fallback folder, or it carries the generated marker."""
        return found != self.primary(relpath) or self.is_generated(found)

    def save(self, relpath: str, write: Callable[[str], None], announce: Callable[[str], None] | None = None) -> str:
        """Write `relpath` with `write(path)` (which must write atomically) and return the path used."""
        path = self.primary(relpath)
        if is_writable(os.path.dirname(path)):
            try:
                if announce:
                    announce(path)
                write(path)
                return path
            except OSError as e:
                if e.errno not in _READ_ONLY_ERRNOS:
                    raise
                reason = f"cannot write there ({e.strerror})"
        else:
            reason = "it is not writable"
        path = os.path.join(self.fallback_dir, relpath)
        print(
            f"Note: {self.dataset_dir} is read-only ({reason}); writing {relpath} to {path} instead. "
            f"Later runs read it from there. Set {CACHE_ENV} to choose another folder.",
            file=sys.stdout,
        )
        if announce:
            announce(path)
        write(path)
        return path

    # A split file this project made (because the official one was missing) is marked by a hidden
    # sibling holding its SHA-256, so later runs can still say it is not the official file.
    @staticmethod
    def _marker(path: str) -> str:
        folder, name = os.path.split(path)
        return os.path.join(folder, f".{name}.generated")

    def mark_generated(self, path: str, text: str) -> None:
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        try:
            atomic_write(self._marker(path), lambda f: f.write(digest + "\n"), mode="w")
        except OSError:
            pass  # only the notice on later runs depends on it

    @classmethod
    def is_generated(cls, path: str) -> bool:
        marker = cls._marker(path)
        if not os.path.isfile(marker):
            return False
        try:
            with open(marker, encoding="utf-8") as f:
                expected = f.read().strip()
            with open(path, "rb") as f:
                return hashlib.sha256(f.read()).hexdigest() == expected
        except OSError:
            return False
