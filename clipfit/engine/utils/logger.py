"""Tee of stdout into OUTPUT_DIR/log.txt, never overwriting an earlier log."""
from __future__ import annotations

import contextlib
import os
import sys
import time

from ...errors import WriteFailed, disk_error
from .tools import mkdir_if_missing


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
        self._guarded("console", lambda stream: stream.write(msg))
        self._guarded("file", lambda stream: stream.write(msg))

    def flush(self) -> None:
        self._guarded("console", lambda stream: stream.flush())
        self._guarded("file", lambda stream: (stream.flush(), os.fsync(stream.fileno())))

    def isatty(self) -> bool:
        return False

    def close(self) -> None:
        if self.file is not None and not self.file.closed:
            with contextlib.suppress(OSError):  # a full disk: the error that stopped the run has said so
                self.file.close()

    def _guarded(self, which: str, action) -> None:
        """`action(stream)` on the console or the log file. A full disk or `ulimit -f` stops the run once, with
        a message naming the stream (a plain write error names no file); that stream takes no more output,
        so the interpreter's last flush at exit does not fail again."""
        stream = getattr(self, which)
        if stream is None or getattr(stream, "closed", False):
            return
        try:
            action(stream)
        except OSError as e:
            if disk_error(e) is None or isinstance(e, WriteFailed):
                raise
            name = getattr(stream, "name", "")
            if which == "file":
                self.close()
                self.file = None
            else:
                self.console = open(os.devnull, "w")
            raise WriteFailed(e, "the standard output" if name in ("", "<stdout>") else str(name)) from e


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
