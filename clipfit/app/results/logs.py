"""Reading run logs: which log files a run folder holds, the metric they report, and whether they finished.

A run writes `OUTPUT_DIR/log.txt`; a repeated run into the same folder writes `log.txt-YYYY-MM-DD-HH-MM-SS`
instead (the engine never overwrites a log). So a folder's logs, oldest first, are `log.txt` followed by the
timestamped ones in timestamp order (the order comes from the names, not from file times, which copies lose).

A log is **complete** when it holds a final result:
- a training log (it has a `Finish training` or `Finished training` line): a `* accuracy: X%` line after
  that marker; the value is the last such line;
- an eval-only log (its argument header says `eval_only: True`; a log without a header counts as eval-only
  when it has neither the marker nor `epoch [..]` progress lines): a `* accuracy: X%` line after `=> result`.
Anything else is incomplete: training interrupted before its final test (per-epoch validation blocks do
not count), a crash before or inside the result block, or a run still going.

A run folder is **finished** when at least one of its logs is complete; its result is the value of the
newest complete log. A newer incomplete log (a crashed or running re-run) does not hide an older result.
"""
from __future__ import annotations

import ast
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from ...core.checkpoints import DIGEST_LINE

LOG_NAME = "log.txt"
TRAINING_MARKERS = ("Finish training", "Finished training")
RESULT_MARKER = "=> result"
DEFAULT_KEYWORD = "accuracy"

_TIMESTAMPED = re.compile(r"^log\.txt-(\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d)$")
_ARG_LINE = re.compile(r"^(\w+): ?(.*)$")
_CONFIG_LINE = re.compile(r"^( *)([A-Za-z0-9_]+):(?: (.*))?$")


def metric_regex(keyword: str = DEFAULT_KEYWORD) -> re.Pattern:
    """CoOp's `\\* {keyword}: ([\\.\\deE+-]+)%`, with the keyword escaped (CoOp inserts it raw)."""
    return re.compile(r"\* " + re.escape(keyword) + r": ([\.\deE+-]+)%")


def is_log_name(name: str) -> bool:
    return name == LOG_NAME or _TIMESTAMPED.match(name) is not None


def log_files(run_dir: str) -> list[str]:
    """Paths of the run's logs, oldest first: `log.txt`, then `log.txt-<timestamp>` by timestamp."""
    try:
        names = os.listdir(run_dir)
    except OSError:  # missing, not a folder, or unreadable (read_run's caller says which)
        return []
    stamped = sorted(n for n in names if _TIMESTAMPED.match(n))
    ordered = ([LOG_NAME] if LOG_NAME in names else []) + stamped
    return [os.path.join(run_dir, n) for n in ordered if os.path.isfile(os.path.join(run_dir, n))]


@dataclass
class LogScan:
    """What one pass over a log found for one metric keyword."""

    path: str
    keyword: str = DEFAULT_KEYWORD
    args: dict = field(default_factory=dict)  # the `key: value` lines of the `** Arguments **` header
    config: dict = field(default_factory=dict)  # dotted keys of the `** Config **` dump, values as text
    trained: bool = False  # a training end marker was seen
    epoch_lines: bool = False  # `epoch [i/n] ...` progress lines were seen
    after_training: float | None = None  # last hit after the first training end marker
    after_result: float | None = None  # last hit after the first `=> result`
    checkpoints: list = field(default_factory=list)  # (action, sha256, path) of its `Checkpoint sha256` lines

    @property
    def eval_only(self) -> bool | None:
        """From the header; None when the log has no argument header."""
        value = self.args.get("eval_only")
        return None if value is None else value == "True"

    @property
    def value(self) -> float | None:
        """The final result, or None when the log is incomplete (see the module docstring)."""
        if self.trained:
            return self.after_training
        if self.eval_only or (self.eval_only is None and not self.epoch_lines):
            return self.after_result
        return None

    @property
    def complete(self) -> bool:
        return self.value is not None

    def gated_value(self, test_log: bool = False) -> float | None:
        """parse_test_res.py's reading: last hit after the end signal (`=> result` with --test-log)."""
        return self.after_result if test_log else self.after_training

    @property
    def name(self) -> str:
        return os.path.basename(self.path)

    def opt(self, key: str) -> str | None:
        """A config value (`DATASET.NUM_SHOTS`) from the config dump, else from the `opts` argument."""
        if key in self.config:
            return self.config[key]
        try:
            opts = ast.literal_eval(self.args.get("opts", "[]"))
        except (ValueError, SyntaxError):
            return None
        if not isinstance(opts, list):
            return None
        values = [str(v) for k, v in zip(opts[::2], opts[1::2]) if k == key]
        return values[-1] if values else None  # a later pair overrides an earlier one, as in merge_from_list


def scan_log(path: str, keyword: str = DEFAULT_KEYWORD) -> LogScan:
    """One pass over a log: header, end markers and the hits of `* {keyword}: X%`."""
    scan = LogScan(path=path, keyword=keyword)
    regex = metric_regex(keyword)
    header = _Header(scan)
    result_gate = False
    with open(path, encoding="utf-8", errors="replace") as f:
        for raw in f:
            raw = raw.rstrip("\r\n")
            if header.consume(raw):
                continue
            line = raw.strip()
            if line in TRAINING_MARKERS:
                scan.trained = True
            elif line == RESULT_MARKER:
                result_gate = True
            elif line.startswith("epoch ["):
                scan.epoch_lines = True
            elif line.startswith("Checkpoint sha256 ") and (digest := DIGEST_LINE.match(line)):
                scan.checkpoints.append((digest.group(2), digest.group(1), digest.group(3)))
            match = regex.search(line)
            if match is None:
                continue
            try:
                value = float(match.group(1))
            except ValueError:
                continue
            if scan.trained:
                scan.after_training = value
            if result_gate:
                scan.after_result = value
    return scan


class _Header:
    """Collects the `** Arguments **` lines and the `** Config **` dump (nested `KEY: value`, 2-space indent)."""

    def __init__(self, scan: LogScan):
        self.scan = scan
        self.section = None
        self.stack: list[str] = []

    def consume(self, raw: str) -> bool:
        """True when the line belongs to the header (it is then not a body line)."""
        line = raw.strip()
        if line == "** Arguments **":
            self.section = "args"
            return True
        if line == "** Config **" and self.section == "args":
            self.section = "config"
            return True
        if self.section is None:
            return False
        if line and set(line) == {"*"}:
            return True
        if self.section == "args":
            match = _ARG_LINE.match(raw)
            if match:
                self.scan.args[match.group(1)] = match.group(2)
                return True
        else:
            match = _CONFIG_LINE.match(raw)
            if match:
                depth = len(match.group(1)) // 2
                del self.stack[depth:]
                if match.group(3) is None:
                    self.stack.append(match.group(2))
                else:
                    self.scan.config[".".join(self.stack + [match.group(2)])] = match.group(3)
                return True
            if not line or line.startswith("- "):
                return True
        self.section = None
        return False


@dataclass
class RunResult:
    """The logs of one run folder and the one its result comes from."""

    run_dir: str
    logs: list  # paths, oldest first
    used: LogScan | None  # the newest complete log
    newest: LogScan | None  # the newest log (complete or not); its header describes the run
    skipped: list  # names of logs newer than `used` that have no result
    unreadable: list = field(default_factory=list)  # `log.txt (Permission denied)`: passed over, never a result

    @property
    def value(self) -> float | None:
        return None if self.used is None else self.used.value

    @property
    def finished(self) -> bool:
        return self.used is not None

    @property
    def log_file(self) -> str | None:
        return None if self.used is None else self.used.path


def read_run(run_dir: str, keyword: str = DEFAULT_KEYWORD,
             complete: Callable[[LogScan], bool] = lambda scan: scan.complete) -> RunResult:
    """Scans the run's logs newest first and stops at the first complete one (`complete` may judge that
    another way, e.g. by parse_test_res.py's reading)."""
    paths = log_files(run_dir)
    newest = None
    skipped, unreadable = [], []
    if not paths:
        try:
            os.listdir(run_dir)
        except (FileNotFoundError, NotADirectoryError):
            pass
        except OSError as e:  # e.g. no permission: say so rather than "no log"
            unreadable.append(f"the folder ({e.strerror or e})")
    for path in reversed(paths):
        try:
            scan = scan_log(path, keyword)
        except OSError as e:  # one unreadable log must not stop a report over hundreds of runs
            unreadable.append(f"{os.path.basename(path)} ({e.strerror or e})")
            continue
        newest = newest or scan
        if complete(scan):
            return RunResult(run_dir, paths, scan, newest, skipped, unreadable)
        skipped.append(scan.name)
    return RunResult(run_dir, paths, None, newest, skipped, unreadable)


def find_result(run_dir: str, keyword: str = DEFAULT_KEYWORD) -> float | None:
    """The run's result in % (newest complete log), or None when the run is not finished.

    A run is finished exactly when this is not None: at least one of `log.txt`, `log.txt-<timestamp>` in
    `run_dir` is complete (see the module docstring). A missing folder or a folder without logs gives None.
    """
    return read_run(run_dir, keyword).value
