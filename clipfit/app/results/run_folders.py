"""Which folders hold a result run: the one rule the report, parse_test_res.py and the demo share.

`FORCE=1` keeps a replaced run as `<folder>.old-<time>`: it is history, never a result. Torch-free
(parse_test_res.py imports it).
"""
from __future__ import annotations

import os
import re
import time

from .logs import is_log_name

MOVED_ASIDE = ".old-"
SEED_FOLDER = re.compile(r"^seed(\d+)$")


def moved_aside_path(directory: str) -> str:
    """Where FORCE=1 keeps the run it replaces (a second move in the same second gets a counter)."""
    base = f"{os.path.normpath(directory)}{MOVED_ASIDE}{time.strftime('%Y%m%d-%H%M%S')}"
    target, n = base, 1
    while os.path.exists(target):
        n += 1
        target = f"{base}-{n}"
    return target


def is_moved_aside(path: str) -> bool:
    return MOVED_ASIDE in os.path.basename(os.path.normpath(path))


def is_run_folder(path: str, names: list[str] | None = None) -> bool:
    """A folder named `seed<S>` or holding a log, unless it was moved aside. `names`: its listing, if known."""
    if is_moved_aside(path):
        return False
    if SEED_FOLDER.match(os.path.basename(os.path.normpath(path))):
        return True
    if names is None:
        try:
            names = os.listdir(path)
        except OSError:
            return False
    return any(is_log_name(n) for n in names)
