"""One run per output folder: a lock file naming the process that holds it.

Two runs writing the same folder would overwrite each other's checkpoints while each log reports its own
accuracy. The lock is taken before anything is written and removed when the run ends; a lock whose
process no longer exists on this machine (a killed run) is taken over with a notice.
"""
from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator

from .errors import UserInputError
from .files import host_name, process_alive

LOCK_NAME = ".clipfit-run.lock"


def lock_path(directory: str) -> str:
    return os.path.join(directory, LOCK_NAME)


def read_holder(directory: str) -> dict | None:
    """What the lock of `directory` says (pid, host, started, command), or None when there is no lock."""
    try:
        with open(lock_path(directory), encoding="utf-8") as f:
            text = f.read()
    except (FileNotFoundError, NotADirectoryError):
        return None
    try:
        holder = json.loads(text)
    except ValueError:
        holder = None
    return holder if isinstance(holder, dict) else {"pid": None, "host": None, "unreadable": True}


def holder_alive(holder: dict) -> bool:
    """Whether the holder may still run: on this host, whether its pid exists; elsewhere we cannot tell."""
    if holder.get("unreadable"):
        return True
    if holder.get("host") != host_name():
        return True
    return isinstance(holder.get("pid"), int) and process_alive(holder["pid"])


def describe(holder: dict) -> str:
    if holder.get("unreadable"):
        return "a run whose lock file cannot be read"
    return (f"process {holder.get('pid')} on {holder.get('host')} (started {holder.get('started', '?')}: "
            f"{holder.get('command', '?')})")


def refuse_if_in_use(directory: str, what: str = "it") -> None:
    """Raise when a live run holds `directory`."""
    holder = read_holder(directory)
    if holder is not None and holder_alive(holder):
        raise UserInputError(
            f"{directory} is in use by {describe(holder)}. Wait for that run to finish, or use another output "
            f"folder for {what}; if no such run is going, delete {lock_path(directory)}"
        )


def _create(path: str) -> None:
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    info = {"pid": os.getpid(), "host": host_name(), "started": time.strftime("%Y-%m-%d %H:%M:%S"),
            "command": " ".join(sys.argv)[:300]}
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(info, f)


def acquire(directory: str) -> str:
    """Create `directory` if needed and lock it for this process; return the lock file's path."""
    try:
        os.makedirs(directory, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as e:
        raise UserInputError(f"output folder {directory}: {e.filename or directory} is a file, not a folder; "
                             "choose another --output-dir") from e
    except PermissionError as e:
        raise UserInputError(f"cannot create the output folder {directory}: permission denied ({e.filename}); "
                             "choose a writable --output-dir") from e
    path = lock_path(directory)
    for _ in range(2):
        try:
            _create(path)
            return path
        except FileExistsError:
            refuse_if_in_use(directory, "this run")
            print(f"Taking over the lock of {directory} from {describe(read_holder(directory) or {})}, "
                  "which no longer runs")
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)
        except PermissionError as e:
            raise UserInputError(f"the output folder {directory} is not writable (permission denied); choose a "
                                 "writable --output-dir or fix its permissions") from e
    raise UserInputError(f"could not lock {directory}: another run keeps taking it; use another --output-dir")


def release(directory: str) -> None:
    holder = read_holder(directory)
    if holder and holder.get("pid") == os.getpid() and holder.get("host") == host_name():
        with contextlib.suppress(OSError):
            os.remove(lock_path(directory))


@contextlib.contextmanager
def locked(directory: str) -> Iterator[str]:
    path = acquire(directory)
    try:
        yield path
    finally:
        release(directory)
