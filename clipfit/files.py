"""Engine-neutral file helpers: atomic writes and Dassl's JSON layout.

Used by the built-in engine, the plugins (through `clipfit.compat`) and the application alike; nothing
here depends on which engine runs.
"""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from typing import IO, Any

__all__ = ["CACHE_ENV", "atomic_open", "atomic_write", "cache_root", "dump_json_text", "write_json"]

CACHE_ENV = "CLIPFIT_CACHE"


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

    A crash or exception never leaves a truncated file under the final name.
    """
    directory = os.path.dirname(os.path.abspath(fpath))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(fpath)}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, fpath)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise


def atomic_write(fpath: str, write: Callable[[IO], None], mode: str = "wb") -> None:
    with atomic_open(fpath, mode) as f:
        write(f)


def dump_json_text(obj: Any) -> str:
    """Dassl's JSON layout: indent 4, no space before the colon."""
    return json.dumps(obj, indent=4, separators=(",", ": "))


def write_json(obj: Any, fpath: str) -> None:
    """Dassl's `write_json` layout, written atomically."""
    text = dump_json_text(obj)
    atomic_write(fpath, lambda f: f.write(text), mode="w")
