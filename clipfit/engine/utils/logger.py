"""Tee of stdout into OUTPUT_DIR/log.txt, never overwriting an earlier log."""
from __future__ import annotations

import os
import sys
import time

from .files import mkdir_if_missing


class Logger:
    """Writes everything to the console and to a file (stdout only, as in Dassl)."""

    def __init__(self, fpath: str | None = None):
        self.console = sys.stdout
        self.file = None
        if fpath is not None:
            mkdir_if_missing(os.path.dirname(os.path.abspath(fpath)))
            self.file = open(fpath, "w", encoding="utf-8")

    def __del__(self):
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, *args):
        self.close()

    def write(self, msg: str) -> None:
        self.console.write(msg)
        if self.file is not None:
            self.file.write(msg)

    def flush(self) -> None:
        self.console.flush()
        if self.file is not None and not self.file.closed:
            self.file.flush()
            os.fsync(self.file.fileno())

    def isatty(self) -> bool:
        return False

    def close(self) -> None:
        if self.file is not None and not self.file.closed:
            self.file.close()


def log_file_path(output: str) -> str:
    """`output/log.txt`, or the file itself when it ends in .txt/.log; a timestamp is appended if taken."""
    if output.endswith(".txt") or output.endswith(".log"):
        fpath = output
    else:
        fpath = os.path.join(output, "log.txt")
    if os.path.exists(fpath):
        fpath += time.strftime("-%Y-%m-%d-%H-%M-%S")
    return fpath


def setup_logger(output: str | None = None) -> None:
    if output is None:
        return
    console = sys.stdout.console if isinstance(sys.stdout, Logger) else sys.stdout
    sys.stdout = console
    sys.stdout = Logger(log_file_path(output))
