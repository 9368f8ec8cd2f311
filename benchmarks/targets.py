"""Checks benchmark JSON lines against the speed and memory targets of the CLIPFit and baselines issues.

Reads the lines printed by bench_clipfit_step.py, bench_baselines.py and run_all.py (files or stdin),
picks for each target the best matching record (over precision modes, compile modes and the
shared-prefix switch, unless the target fixes them) and prints one JSON line per target plus a table.
The targets were set on one H200 with ViT-B/16; on another card compare with care.

    python benchmarks/bench_clipfit_step.py --device cuda > clipfit.jsonl
    python benchmarks/run_all.py --device cuda > all.jsonl
    python benchmarks/targets.py clipfit.jsonl all.jsonl
"""
from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _prologue  # noqa: E402


@dataclass(frozen=True)
class Target:
    name: str
    match: dict[str, object]  # record fields that must be equal
    metric: str  # median_ms, ms_per_image or peak_mem_gb
    limit: float
    baseline: float | None = None  # the original implementation's value on the same shapes
    modes: Sequence[str] = field(default_factory=tuple)  # allowed "mode" values; empty = any


TARGETS = (
    Target("CLIPFit step, 500 classes, fastest mode", {"method": "clipfit", "case": "train_step", "batch": 32,
                                                       "classes": 500}, "median_ms", 18.0, 117.6),
    Target("CLIPFit step, 500 classes, fp16", {"method": "clipfit", "case": "train_step", "batch": 32, "classes": 500},
           "median_ms", 55.0, 117.6, ("fp16",)),
    Target("CLIPFit step, 500 classes, peak memory", {"method": "clipfit", "case": "train_step", "batch": 32,
                                                      "classes": 500}, "peak_mem_gb", 4.0, 16.0),
    Target("CLIPFit step, 50 classes", {"method": "clipfit", "case": "train_step", "batch": 32, "classes": 50},
           "median_ms", 15.0, 70.4),
    Target("Evaluation, 100 images, 1000 classes", {"case": "eval_batch", "batch": 100, "classes": 1000},
           "median_ms", 12.0, 54.9),
    Target("CoOp step, 500 classes", {"method": "coop", "case": "train_step", "batch": 32, "classes": 500},
           "median_ms", 15.0, 57.9),
    Target("CoCoOp step, 500 classes, batch 4, per image", {"method": "cocoop", "case": "train_step", "batch": 4,
                                                            "classes": 500}, "ms_per_image", 12.0, 51.5),
    Target("CoCoOp step, 500 classes, batch 4, peak memory", {"method": "cocoop", "case": "train_step", "batch": 4,
                                                              "classes": 500}, "peak_mem_gb", 8.0, 30.1),
)


def _method(record: dict[str, object]) -> str:
    # bench_clipfit_step.py prints no method; its records are CLIPFit's (eval: the shared cached evaluation).
    return str(record.get("method", "clipfit"))


def _matches(record: dict[str, object], target: Target) -> bool:
    for key, value in target.match.items():
        got = _method(record) if key == "method" else record.get(key)
        if got != value:
            return False
    if target.modes and record.get("mode") not in target.modes:
        return False
    return record.get(target.metric) is not None


def check(records: Iterable[dict[str, object]]) -> list[dict[str, object]]:
    """One result per target: the best matching record's value, the limit and whether it is met."""
    records = list(records)
    results = []
    for target in TARGETS:
        candidates = [r for r in records if _matches(r, target)]
        best = min(candidates, key=lambda r: float(r[target.metric]), default=None)
        value = None if best is None else float(best[target.metric])
        results.append({
            "target": target.name,
            "metric": target.metric,
            "limit": target.limit,
            "original": target.baseline,
            "value": value,
            "met": None if value is None else value <= target.limit,
            "device": None if best is None else best.get("device"),
            "from": None if best is None else {k: best.get(k) for k in ("mode", "compile", "share_prefix")},
        })
    return results


def read_records(lines: Iterable[str]) -> list[dict[str, object]]:
    """The JSON objects among `lines` (other output, e.g. notices, is skipped)."""
    records = []
    for line in lines:
        line = line.strip()
        if line.startswith("{"):
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return records


def table(results: list[dict[str, object]]) -> str:
    rows = [f"{'target':48} {'value':>9} {'limit':>7} {'original':>8}  met  from"]
    for r in results:
        value = "-" if r["value"] is None else f"{r['value']:.2f}"
        met = {True: "yes", False: "NO", None: "n/a"}[r["met"]]
        source = "" if r["from"] is None else " ".join(f"{k}={v}" for k, v in r["from"].items())
        rows.append(f"{r['target']:48} {value:>9} {r['limit']:>7} {r['original'] or '-':>8}  {met:3}  {source}")
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> list[dict[str, object]]:
    parser = _prologue.new_parser(__doc__)
    parser.add_argument("files", nargs="*", help="files of JSON lines (default: stdin)")
    args = parser.parse_args(argv)
    lines: list[str] = []
    if args.files:
        for path in args.files:
            with open(path, encoding="utf-8") as handle:
                lines += handle.readlines()
    else:
        lines = sys.stdin.readlines()
    results = check(read_records(lines))
    for result in results:
        print(json.dumps(result))
    print(table(results))
    return results


if __name__ == "__main__":
    main()
