"""Errors caused by user input, and the one place the commands turn them into a message and an exit code.

Public: plugin authors raise these (UserInputError and its kinds) from their trainers and datasets.

A user error prints one clean message (what is wrong, where, what to do) and exits non-zero; its traceback
is shown only with CLIPFIT_DEBUG=1. Any other exception is an internal error and keeps its traceback.
"""
from __future__ import annotations

import contextlib
import errno
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterator

USER_ERROR_EXIT = 2
INTERRUPTED_EXIT = 130  # what a shell reports for a process ended by SIGINT
TERMINATED_EXIT = 143  # ... and by SIGTERM (what `kill`, `scancel` and a SLURM time limit send first)


class UserInputError(Exception):
    """Something the user supplied (a flag, a config file, a path) is wrong; the message says how to fix it."""


# Limits of the machine, not bugs: a full disk, a read-only file system, `ulimit -f`, permissions. Each is one
# message naming the file (from wherever it is raised: a checkpoint, a cache, the log) and what to do.
_WHERE_ELSE = "or write elsewhere (--output-dir / OUTPUT for runs, CLIPFIT_CACHE for dataset caches)"
_DISK_ERRORS = {
    errno.ENOSPC: ("no space left on the device holding {path}", f"free space there {_WHERE_ELSE}"),
    errno.EDQUOT: ("disk quota exceeded writing {path}", f"free space in your quota {_WHERE_ELSE}"),
    errno.EROFS: ("{path} is on a read-only file system", f"make it writable {_WHERE_ELSE}"),
    errno.EFBIG: ("{path} would exceed the largest file this process may write (RLIMIT_FSIZE, `ulimit -f`)",
                  "raise the limit (`ulimit -f unlimited`, or ask for it in the job script) and run again"),
    errno.EACCES: ("permission denied for {path}", f"fix its permissions {_WHERE_ELSE}"),
    errno.EPERM: ("operation not permitted on {path}", f"fix its permissions {_WHERE_ELSE}"),
}


def disk_error(error: BaseException | None) -> OSError | None:
    """The OSError of a machine limit behind `error`: itself, or one it was raised from or while handling
    (torch.save turns a failed write into a RuntimeError whose context is the OSError)."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, OSError) and error.errno in _DISK_ERRORS:
            return error
        error = error.__cause__ or error.__context__
    return None


def disk_message(error: OSError, path: str | None = None) -> str:
    """`<what happened to which file>: <what to do>` for an OSError that `disk_error` found."""
    what, todo = _DISK_ERRORS[error.errno]
    return f"{what.format(path=path or error.filename or 'a file')} ({error.strerror}): {todo}"


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the process is so that it stops as on Ctrl-C: `finally` blocks run, the run's
    lock is released, atomic writes drop their temporary file, and the message says how to resume."""


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """While the block runs, SIGTERM raises `Terminated` in the main thread. A handler someone else installed
    (e.g. submitit's) is left alone, and so is a non-main thread, where Python cannot install one."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGTERM) not in (
            signal.SIG_DFL, None):
        yield
        return

    def stop(signum, frame):
        raise Terminated

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def debug_enabled() -> bool:
    return os.environ.get("CLIPFIT_DEBUG", "").strip() not in ("", "0")


def clean_message(error: BaseException) -> str:
    """The error's own message; a DataLoader worker re-raises it with the worker's traceback prepended."""
    text = str(error)
    marker = f"{type(error).__name__}: "
    if "Original Traceback" in text and marker in text:
        text = text.rsplit(marker, 1)[1]
    return text.strip()


def report_errors(command: Callable[[], int | None], resume_hint: str = "") -> int:
    """Run `command`; a user error becomes `error: <message>` on stderr and exit 2, Ctrl-C one line and 130,
    SIGTERM one line and 143.

    `resume_hint` ends the Ctrl-C / SIGTERM line (how to resume). With CLIPFIT_DEBUG=1 both re-raise.
    The message (or an internal error's traceback) is also written to the run's log when one is open."""
    try:
        with sigterm_as_interrupt():
            return int(command() or 0)
    except UserInputError as e:
        if debug_enabled():
            raise
        _say(f"error: {clean_message(e)}")
        return USER_ERROR_EXIT
    except KeyboardInterrupt as e:
        if debug_enabled():
            raise
        terminated = isinstance(e, Terminated)
        head = "Terminated (SIGTERM)" if terminated else "Interrupted"
        _say("\n" + (f"{head}. {resume_hint}" if resume_hint else head[0].lower() + head[1:]))
        return TERMINATED_EXIT if terminated else INTERRUPTED_EXIT
    except Exception as e:
        failure = disk_error(e)
        if failure is not None and not debug_enabled():
            _say(f"error: {disk_message(failure)}")
            return USER_ERROR_EXIT
        _to_run_log(traceback.format_exc())
        raise


def _say(line: str) -> None:
    print(line, file=sys.stderr)
    _to_run_log(line + "\n")


def _to_run_log(text: str) -> None:
    """Also into the run's log.txt when stdout is the log tee (ours or Dassl's `Logger`): the log of a run
    that stopped says why, not only the terminal it ran in."""
    if not hasattr(sys.stdout, "console"):
        return
    log = getattr(sys.stdout, "file", None)
    if log is None or getattr(log, "closed", True):
        return
    try:
        log.write(text)
        log.flush()
    except (OSError, ValueError):  # the log's disk is full or gone: the terminal still has the message
        pass


class WriteFailed(UserInputError, OSError):
    """A file could not be written for a limit of the machine; keeps the errno (callers that fall back to
    another folder on a read-only one still can) and says which file and what to do."""

    def __init__(self, error: OSError, path: str):
        super().__init__(error.errno, error.strerror, path)
        self.message = disk_message(error, path)

    def __str__(self) -> str:
        return self.message


class InvalidValue(UserInputError, ValueError):
    """A config value outside its choices; the message names the key and the choices."""


class UnsupportedOption(UserInputError, NotImplementedError):
    """A Dassl option the built-in engine does not implement; the message says what to use instead
    (`real_dassl_advice`)."""


# What to do about a Dassl feature the built-in engine lacks. Under `clipfit with-dassl` the engine *is*
# `dassl` (clipfit/dassl_shim sets SERVED_MARK on the package it serves), so CLIPFIT_ENGINE=dassl would change
# nothing there: the way out is a real Dassl without the shim.
REAL_DASSL_ADVICE = "install Dassl.pytorch and run without `clipfit with-dassl`"
ENGINE_SWITCH_ADVICE = "run with CLIPFIT_ENGINE=dassl and a real Dassl (Dassl.pytorch) installed"
SERVED_MARK = "served_by_clipfit"


def real_dassl_advice() -> str:
    """How to get a Dassl feature the built-in engine does not have, in the way this process runs."""
    served = getattr(sys.modules.get("dassl"), SERVED_MARK, False)
    return REAL_DASSL_ADVICE if served else ENGINE_SWITCH_ADVICE
