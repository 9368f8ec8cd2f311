"""Engine-neutral file helpers: atomic writes and Dassl's JSON layout.

Used by the built-in engine, the plugins (through `clipfit.compat`) and the application alike; nothing
here depends on which engine runs.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from typing import IO, Any

from ..errors import UserInputError, WriteFailed, disk_error

__all__ = [
    "CACHE_ENV", "atomic_open", "atomic_write", "cache_root", "dump_json_text", "host_name", "process_alive",
    "remove_stale_temp_files", "write_json",
]

CACHE_ENV = "CLIPFIT_CACHE"

# `.<name>.<pid>@<host>.<random>.tmp`: the writer is known, so a dead one's leftovers can be removed safely.
_TEMP = re.compile(r"^\..+?\.(?:(\d+)@([\w-]+)\.)?\w+\.tmp$")
# Temp files without a writer (older releases) count as abandoned after this long.
_ANONYMOUS_TEMP_AGE_S = 3600


def host_name() -> str:
    return re.sub(r"[^\w-]", "-", socket.gethostname()) or "host"


def process_alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (OverflowError, ValueError):
        return False
    return True


def _abandoned(path: str, match: re.Match) -> bool:
    pid, host = match.groups()
    if pid is not None:
        return host == host_name() and not process_alive(int(pid))
    try:
        return time.time() - os.path.getmtime(path) > _ANONYMOUS_TEMP_AGE_S
    except OSError:
        return False


def remove_stale_temp_files(directory: str) -> list[str]:
    """Remove the temp files that interrupted atomic writes left in `directory`; return their paths.

    Only files whose writer is gone are removed, so a concurrent write into a shared folder (a dataset's
    few-shot caches) is left alone."""
    removed = []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    for name in names:
        path = os.path.join(directory, name)
        match = _TEMP.match(name)
        if match and _abandoned(path, match):
            with contextlib.suppress(OSError):
                os.remove(path)
                removed.append(path)
    if removed:
        print(f"Removed {len(removed)} temp file(s) of interrupted writes in {directory}")
    return removed


def cache_root() -> str:
    """Where caches go when a dataset folder is read-only: `$CLIPFIT_CACHE`, else
    `$XDG_CACHE_HOME/clipfit`, else `~/.cache/clipfit`."""
    if os.environ.get(CACHE_ENV):
        return os.path.abspath(os.path.expanduser(os.environ[CACHE_ENV]))
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(xdg, "clipfit")


@contextlib.contextmanager
def atomic_open(fpath: str, mode: str = "wb") -> Iterator[IO]:
    """Open a temporary sibling of `fpath` and move it into place only when the block succeeds.

    A crash or exception never leaves a truncated file under the final name. A full disk, a read-only file
    system or `ulimit -f` is a `WriteFailed` naming `fpath` (whatever the writer raised: torch.save reports a
    failed write as a RuntimeError).
    """
    directory = os.path.dirname(os.path.abspath(fpath))
    prefix = f".{os.path.basename(fpath)}.{os.getpid()}@{host_name()}."
    try:
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=directory)
    except OSError as e:
        _raise_if_disk_error(e, fpath, directory)
        raise
    try:
        # mkstemp makes the file private (0600); the final file gets what `open` would give it, so
        # splits, caches and checkpoints in a shared data root stay readable by the group as the umask allows.
        with contextlib.suppress(OSError):  # a filesystem without modes (e.g. FAT) keeps its own
            os.fchmod(fd, 0o666 & ~current_umask())
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, fpath)
    except BaseException as e:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        _raise_if_disk_error(e, fpath, directory)
        raise


def _raise_if_disk_error(error: BaseException, fpath: str, directory: str) -> None:
    """A WriteFailed naming `fpath` for a machine limit met while writing it (into `directory`, or creating
    that folder); an error the writer met on another file (an image it read) or already explained stays."""
    failure = disk_error(error)
    if failure is None or isinstance(error, UserInputError):
        return
    other = None if failure.filename is None else os.path.abspath(failure.filename)
    if other is None or os.path.commonpath([directory, other]) == other or os.path.dirname(other) == directory:
        raise WriteFailed(failure, fpath) from error


def current_umask() -> int:
    """The process's umask, read without changing it (`os.umask` can only set it, racing other threads)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write(fpath: str, write: Callable[[IO], None], mode: str = "wb") -> None:
    with atomic_open(fpath, mode) as f:
        write(f)


def dump_json_text(obj: Any) -> str:
    """Dassl's JSON layout: indent 4, no space before the colon."""
    return json.dumps(obj, indent=4, separators=(",", ": "))


def check_isfile(fpath: str) -> bool:
    """Dassl's check: whether `fpath` is a file, with a warning naming it when not."""
    isfile = os.path.isfile(fpath)
    if not isfile:
        warnings.warn(f'No file found at "{fpath}"')
    return isfile


def write_json(obj: Any, fpath: str) -> None:
    """Dassl's `write_json` layout, written atomically."""
    text = dump_json_text(obj)
    atomic_write(fpath, lambda f: f.write(text), mode="w")


def make_output_folder(directory: str, flag: str) -> None:
    """`os.makedirs(directory, exist_ok=True)`, with the user errors that name `flag`, the option that chose it:
    a file where a folder goes (the folder itself or one above it), or no permission to create it."""
    try:
        os.makedirs(directory, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as e:
        raise UserInputError(f"output folder {directory}: {e.filename or directory} is a file, not a folder; "
                             f"choose another {flag}") from e
    except PermissionError as e:
        raise UserInputError(f"cannot create the output folder {directory}: permission denied ({e.filename}); "
                             f"choose a writable {flag}") from e
    except OSError as e:  # e.g. a folder where none can be made (/proc/x), a read-only or full file system
        raise UserInputError(f"cannot create the output folder {directory}: {e.strerror or e} "
                             f"({e.filename or directory}); choose another {flag}") from e
