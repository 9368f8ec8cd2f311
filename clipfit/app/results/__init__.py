"""Results of runs: log parsing, seed aggregation, the leaderboard (Markdown, CSV, figures) and the published
reference numbers. Pure Python + numpy (+ matplotlib, imported only to draw). The dataset names, lists and
order come from `clipfit.app.datasets_catalog`, which imports the registered datasets (no torch) only
when first called: building a report does, the CoOp log parser (parse_test_res.py) never does.

    from clipfit.app.results import build_report, find_result
    find_result("output/base2new/train_base/dtd/shots_16/CLIPFit/vit_b16/seed1")  # 81.9, or None if unfinished
    build_report("output").write("output")  # leaderboard.md, leaderboard.csv, leaderboard.png[, few_shot.png]
"""
from .aggregate import Average, Method, Stat, hm
from .logs import LogScan, RunResult, find_result, log_files, read_run, scan_log
from .report import NoRunsFoundError, Report, build_report
from .runs import Run, discover_runs

__all__ = [
    "Average", "LogScan", "Method", "NoRunsFoundError", "Report", "Run", "RunResult", "Stat", "build_report",
    "discover_runs", "find_result", "hm", "log_files", "read_run", "scan_log",
]
