"""Extracting archives into a staging folder and moving the parts a loader reads into the dataset folder.

Extraction writes regular files and folders only, each checked to stay inside the staging folder (no
absolute paths, no `..`, no links or devices), so an archive cannot write elsewhere. Nothing reaches the
dataset's layout until every archive of the dataset is extracted: the moves at the end are renames
inside one file system.
"""
from __future__ import annotations

import os
import shutil
import sys
import tarfile
import zipfile
import zlib

from ...errors import UserInputError
from .fetch import human_size

# Extracted archives of images take about as much room as the archive (JPEGs do not compress further).
EXTRACT_FACTOR = 1.0


class NotEnoughSpace(UserInputError):
    """The disk of a dataset folder cannot take its archives (or took them but filled up)."""


class DamagedArchive(UserInputError):
    """An archive (`path`) cannot be read, or lacks a part its dataset needs."""

    def __init__(self, message: str, path: str | None = None):
        super().__init__(message)
        self.path = path


def free_bytes(path: str) -> int:
    """Free bytes on the file system of `path` (its nearest existing ancestor)."""
    while not os.path.exists(path):
        path = os.path.dirname(path)
    return shutil.disk_usage(path).free


def ensure_space(path: str, needed: int, what: str) -> None:
    free = free_bytes(path)
    if needed > free:
        raise NotEnoughSpace(
            f"not enough disk space for {what}: about {human_size(needed)} needed, {human_size(free)} free on the disk "
            f"of {path}. Free some space, or put the dataset folder on a larger disk (a symbolic link from the data "
            "root is fine) and run again; what was downloaded is kept.",
        )


def disk_full(error: OSError, path: str) -> NotEnoughSpace:
    return NotEnoughSpace(f"the disk of {path} filled up ({error.strerror or error}). Free some space "
                          "and run again: what was downloaded is kept, the half-extracted files were removed.")


def _target(dest: str, name: str) -> str | None:
    """Where member `name` goes under `dest`; None for a name that would leave `dest` (or names nothing)."""
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    if not parts or ".." in parts or name.startswith(("/", "\\")) or ":" in parts[0]:
        return None
    return os.path.join(dest, *parts)


def write_file(source, target: str) -> int:
    """Copy the open member `source` to `target` (its folder made); the bytes written."""
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with open(target, "wb") as out:
        shutil.copyfileobj(source, out, 1 << 20)
        return out.tell()


def open_with_progress(path: str, desc: str):
    """The archive opened for reading, with a bar over the bytes read (compressed size)."""
    from tqdm import tqdm

    raw = open(path, "rb")
    return tqdm.wrapattr(raw, "read", total=os.path.getsize(path), desc=desc, unit="B", unit_scale=True,
                         unit_divisor=1024, file=sys.stderr, dynamic_ncols=True, leave=False, disable=None)


def tar_members(tar: tarfile.TarFile, dest: str, rename=None) -> int:
    """Write the regular files of the open (streamed) `tar` under `dest`; `rename(member name)` may give
    another relative path, or None to skip the member. Returns the bytes written."""
    written = 0
    for member in tar:
        if not (member.isfile() or member.isdir()):
            continue  # links and devices are never written
        relpath = rename(member.name) if rename else member.name
        target = _target(dest, relpath) if relpath else None
        if target is None:
            continue
        if member.isdir():  # (an empty folder can matter: ImageNetV2's loader needs all 1,000)
            os.makedirs(target, exist_ok=True)
        else:
            written += write_file(tar.extractfile(member), target)
    return written


def extract(archive: str, dest: str, desc: str) -> int:
    """Extract the tar (any compression) or zip file `archive` under `dest`; the bytes written."""
    try:
        if archive.endswith(".zip"):
            return _extract_zip(archive, dest, desc)
        with open_with_progress(archive, desc) as f, tarfile.open(fileobj=f, mode="r|*") as tar:
            return tar_members(tar, dest)
    except (tarfile.TarError, zipfile.BadZipFile, zlib.error, EOFError, OSError) as e:
        if isinstance(e, OSError) and e.errno is not None:
            raise  # the disk (full, read-only), not the archive (a bad gzip stream has no errno)
        raise DamagedArchive(f"{archive} cannot be extracted ({type(e).__name__}: {e}): it is damaged or not "
                             "the published file.", archive) from e


def _extract_zip(archive: str, dest: str, desc: str) -> int:
    from tqdm import tqdm

    written = 0
    with zipfile.ZipFile(archive) as zf:
        members = zf.infolist()
        for member in tqdm(members, desc=desc, unit="file", file=sys.stderr, dynamic_ncols=True, leave=False,
                           disable=None):
            target = _target(dest, member.filename)
            if target is None:
                continue
            if member.is_dir():
                os.makedirs(target, exist_ok=True)
                continue
            with zf.open(member) as source:
                written += write_file(source, target)
    return written


def find_part(stage: str, relpath: str) -> str | None:
    """`relpath` in the extracted `stage`, also when the archive wraps everything in one more folder (a
    re-packed copy from a mirror)."""
    path = os.path.join(stage, relpath)
    if os.path.exists(path):
        return path
    tops = [e for e in os.listdir(stage) if not e.startswith((".", "__MACOSX"))] if os.path.isdir(stage) else []
    if len(tops) == 1 and os.path.isdir(os.path.join(stage, tops[0])):
        wrapped = os.path.join(stage, tops[0], relpath)
        return wrapped if os.path.exists(wrapped) else None
    return None


def move_into(source: str, target: str) -> None:
    """Move `source` to `target`; into an existing folder its entries are merged (same names replaced)."""
    if os.path.isdir(source) and os.path.isdir(target):
        for entry in os.listdir(source):
            move_into(os.path.join(source, entry), os.path.join(target, entry))
        os.rmdir(source)
        return
    if os.path.isdir(target):
        shutil.rmtree(target)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    shutil.move(source, target)  # a rename: the staging folder is inside the dataset folder
