"""CoOp's parse_test_res.py: same command line, same printed lines, without its traps.

Behaviour kept from CoOp: every non-hidden entry of DIRECTORY (sorted) is a run folder; in a log, matching
starts at the first line equal to the end signal (`Finish training`, or `=> result` with --test-log) and the
last hit after it wins; the summary is the mean and the population std (ddof=0) over runs, or
1.96 * std / sqrt(n) with --ci95; --multi-exp parses each subfolder and prints the mean of their means.

Traps fixed:
- re-runs write `log.txt-<timestamp>`: the newest log with a hit is used, so a newer crashed log does not
  hide an older complete one; the per-run line's `file:` names the log that was used;
- both end-of-training markers count (`Finish training` and the forks' `Finished training`);
- files in DIRECTORY and folders without logs are skipped instead of failing an assertion;
- runs that FORCE=1 moved aside (`seed1.old-<time>`) are not results and are skipped;
- the keyword is matched literally (regex-escaped).
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

from ...errors import USER_ERROR_EXIT
from .logs import DEFAULT_KEYWORD, log_files, read_run
from .run_folders import is_run_folder


class NothingFoundError(AssertionError):
    """No run folder in the directory has a result (CoOp raises an AssertionError with the same text)."""

    def __init__(self, directory: str):
        super().__init__(f"Nothing found in {directory}")
        self.directory = directory


def subfolders(directory: str) -> list[str]:
    """Paths of the non-hidden folders of `directory`, by name (CoOp's listdir_nohidden, files skipped)."""
    paths = (os.path.join(directory, name) for name in sorted(os.listdir(directory)) if not name.startswith("."))
    return [path for path in paths if os.path.isdir(path)]


def newest_hit(run_dir: str, keyword: str = DEFAULT_KEYWORD, test_log: bool = False, err=None):
    """(log path, value, names of newer logs without a hit) for the newest log with a hit, else None."""
    run = read_run(run_dir, keyword, complete=lambda scan: scan.gated_value(test_log) is not None)
    for name in run.unreadable:
        print(f"note: {run_dir}: cannot read {name}: skipped", file=err or sys.stderr)
    if run.used is None:
        return None
    return run.log_file, run.used.gated_value(test_log), run.skipped


def compute_ci95(values) -> float:
    return 1.96 * np.std(values) / np.sqrt(len(values))


def parse_function(directory: str, keyword: str = DEFAULT_KEYWORD, test_log: bool = False,
                   ci95: bool = False, out=None, err=None) -> dict[str, float]:
    """Prints CoOp's per-run lines and summary for one directory; returns {keyword: mean}."""
    out = out or sys.stdout
    err = err or sys.stderr
    print(f"Parsing files in {directory}", file=out)
    outputs, unfinished = [], []
    for run_dir in filter(is_run_folder, subfolders(directory)):
        found = newest_hit(run_dir, keyword, test_log, err)
        if found is None:
            if log_files(run_dir):
                unfinished.append(os.path.basename(run_dir))
            continue
        path, value, skipped = found
        if skipped:
            print(f"note: {run_dir}: newer log(s) without a result ignored: {', '.join(skipped)}", file=err)
        outputs.append({"file": path, keyword: value})
    if unfinished and outputs:
        print(f"note: {directory}: no result in {', '.join(sorted(unfinished))} (crashed or still running); the "
              f"summary is over the other {len(outputs)} run(s)", file=err)
    if not outputs:
        raise NothingFoundError(directory)

    values = []
    for output in outputs:
        msg = ""
        for key, value in output.items():
            msg += f"{key}: {value:.2f}%. " if isinstance(value, float) else f"{key}: {value}. "
        values.append(output[keyword])
        print(msg, file=out)

    mean = np.mean(values)
    spread = compute_ci95(values) if ci95 else np.std(values)
    print("===", file=out)
    print(f"Summary of directory: {directory}", file=out)
    print(f"* {keyword}: {mean:.2f}% +- {spread:.2f}%", file=out)
    print("===", file=out)
    return {keyword: float(mean)}


def parse_multi_exp(directory: str, keyword: str = DEFAULT_KEYWORD, test_log: bool = False,
                    ci95: bool = False, out=None, err=None) -> dict[str, float]:
    """parse_function on each non-hidden subfolder, then `Average performance` over their means."""
    out = out or sys.stdout
    final: dict[str, list] = {}
    for sub in subfolders(directory):
        for key, value in parse_function(sub, keyword, test_log, ci95, out, err).items():
            final.setdefault(key, []).append(value)
    if not final:
        raise NothingFoundError(directory)
    print("Average performance", file=out)
    averages = {}
    for key, values in final.items():
        averages[key] = float(np.mean(values))
        print(f"* {key}: {averages[key]:.2f}%", file=out)
    return averages


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="parse_test_res.py",
        description=(
            "Mean and spread of the test results over the run folders (seeds) of DIRECTORY, as CoOp's "
            "parse_test_res.py prints them. Each run folder's newest log with a result is used "
            "(log.txt or a re-run's log.txt-<timestamp>)."
        ),
    )
    parser.add_argument("directory", type=str, help="folder whose subfolders are runs (e.g. .../seed1, seed2)")
    parser.add_argument("--ci95", action="store_true", help="spread = 1.96*std/sqrt(n) instead of the std")
    parser.add_argument("--test-log", action="store_true",
                        help="read results after `=> result` (eval-only logs) instead of after `Finish training` "
                             "(or `Finished training`)")
    parser.add_argument("--multi-exp", action="store_true",
                        help="DIRECTORY holds several experiments: parse each subfolder, then average them")
    parser.add_argument("--keyword", default=DEFAULT_KEYWORD, type=str,
                        help="metric of the result block to read (accuracy, error, macro_f1)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not os.path.isdir(args.directory):
        print(f"error: {args.directory}: no such directory", file=sys.stderr)
        return 2
    parse = parse_multi_exp if args.multi_exp else parse_function
    try:
        parse(args.directory, args.keyword, args.test_log, args.ci95)
    except NothingFoundError as e:
        one_run = os.path.isfile(os.path.join(args.directory, "log.txt"))
        print(
            f"error: {e} (no run folder has a log with `* {args.keyword}: X%` after "
            f"{'`=> result`' if args.test_log else '`Finish training`'}"
            f"{'' if args.test_log else '; for eval-only logs add --test-log'}"
            f"{'; this folder is one run: pass its parent, which holds the seed folders' if one_run else ''})",
            file=sys.stderr,
        )
        return USER_ERROR_EXIT
    return 0
