"""Where a dataset's side files (split JSONs, few-shot caches, preprocessed.pkl) are read and written:
the dataset folder, or a per-user cache folder when it is read-only.

Nothing here knows a dataset layout; `datasets/_shared/base.py` holds CoOp's flow and the dataset files their
own layout.
"""
from __future__ import annotations

import errno
import hashlib
import os
import sys
from collections.abc import Callable

from clipfit.core.atomic_files import CACHE_ENV, atomic_write, cache_root, remove_stale_temp_files

from .errors import DatasetError


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
_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}  # the cache folder may well be on another disk


class CacheNotWritable(DatasetError, PermissionError):
    """Neither the dataset folder nor the cache folder can take a side file."""


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
            remove_stale_temp_files(os.path.dirname(path))
            try:
                if announce:
                    announce(path)
                write(path)
                return path
            except OSError as e:
                if e.errno not in _READ_ONLY_ERRNOS | _FULL_ERRNOS:
                    raise
                state = "is full" if e.errno in _FULL_ERRNOS else "is read-only"
                reason = f"cannot write there ({e.strerror})"
        else:
            state, reason = "is read-only", "it is not writable"
        path = os.path.join(self.fallback_dir, relpath)
        print(
            f"Note: {self.dataset_dir} {state} ({reason}); writing {relpath} to {path} instead. "
            f"Later runs read it from there. Set {CACHE_ENV} to choose another folder.",
            file=sys.stdout,
        )
        if announce:
            announce(path)
        try:
            write(path)
        except OSError as e:
            raise CacheNotWritable(
                f"cannot write {relpath}: {self.dataset_dir} {state} and the cache folder {path} cannot be "
                f"written either ({e.strerror or e}). Set {CACHE_ENV} to a writable folder (or make HOME writable)"
            ) from e
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
