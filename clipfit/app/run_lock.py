"""One run per output folder: a lock file naming the process that holds it.

Two runs writing the same folder would overwrite each other's checkpoints while each log reports its own
accuracy. The lock is taken before anything is written and removed when the run ends. The file holds
the pid, host and command for the messages; whether it is held is an advisory `flock` on it, which the
system drops when the holder dies however it ends (kill -9 included, on other hosts too where the shared
file system supports locks). So a lock left behind by a dead run is taken over, with a notice.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sys
import time
from collections.abc import Iterator

from ..core.atomic_files import host_name, make_output_folder
from ..errors import UserInputError, disk_error

LOCK_NAME = ".clipfit-run.lock"

_held: dict[str, int] = {}  # lock path -> the descriptor that holds its flock


def lock_path(directory: str) -> str:
    return os.path.join(directory, LOCK_NAME)


def _holder_of(fd: int) -> dict | None:
    """What the lock file open as `fd` says (pid, host, started, command); None when it is empty."""
    os.lseek(fd, 0, os.SEEK_SET)
    text = os.read(fd, 4096).decode("utf-8", "replace")
    if not text.strip():
        return None
    try:
        holder = json.loads(text)
    except ValueError:
        holder = None
    return holder if isinstance(holder, dict) else {"unreadable": True}


def describe(holder: dict | None) -> str:
    if not holder or holder.get("unreadable"):
        return "a run whose lock file cannot be read"
    return (f"process {holder.get('pid')} on {holder.get('host')} (started {holder.get('started', '?')}: "
            f"{holder.get('command', '?')})")


def _in_use_error(directory: str, holder: dict | None, what: str) -> UserInputError:
    return UserInputError(
        f"{directory} is in use by {describe(holder)}. Wait for that run to finish, or use another output "
        f"folder for {what}"
    )


def refuse_if_in_use(directory: str, what: str = "it") -> None:
    """Raise when a live run holds `directory`."""
    path = lock_path(directory)
    if path in _held:
        raise _in_use_error(directory, {"pid": os.getpid(), "host": host_name(), "command": "this process"}, what)
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        raise _in_use_error(directory, _holder_of(fd), what) from None
    finally:
        os.close(fd)


def _open_locked(path: str, directory: str) -> int:
    """A descriptor of the lock file holding its exclusive flock; raises when another run holds it."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder_of(fd)
            os.close(fd)
            raise _in_use_error(directory, holder, "this run") from None
        try:
            same_file = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same_file = False
        if same_file:
            return fd
        os.close(fd)  # its holder removed it as we opened it: lock the file that is there now


def acquire(directory: str) -> str:
    """Create `directory` if needed and lock it for this process; return the lock file's path."""
    make_output_folder(directory, "--output-dir")
    path = lock_path(directory)
    if path in _held:
        refuse_if_in_use(directory, "this run")
    try:
        fd = _open_locked(path, directory)
    except OSError as e:  # permissions, a read-only file system, a full disk
        if disk_error(e) is None:
            raise
        raise UserInputError(f"the output folder {directory} is not writable ({e.strerror.lower()}); choose a "
                             "writable --output-dir or fix its permissions") from e
    previous = _holder_of(fd)
    if previous is not None:
        print(f"Taking over the lock of {directory} from {describe(previous)}, which no longer runs")
    info = {"pid": os.getpid(), "host": host_name(), "started": time.strftime("%Y-%m-%d %H:%M:%S"),
            "command": " ".join(sys.argv)[:300]}
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, json.dumps(info).encode("utf-8"))
    _held[path] = fd
    return path


def release(directory: str) -> None:
    path = lock_path(directory)
    fd = _held.pop(path, None)
    if fd is None:
        return
    with contextlib.suppress(OSError):
        os.remove(path)  # before unlocking, so a waiting run locks a new file (see _open_locked)
    os.close(fd)


@contextlib.contextmanager
def locked(directory: str) -> Iterator[str]:
    path = acquire(directory)
    try:
        yield path
    finally:
        release(directory)
