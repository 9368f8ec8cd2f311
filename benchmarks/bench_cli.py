"""The command line's answers that need no model, against `python -c "import torch"` on the same machine.

Each command runs in a fresh interpreter (this checkout first on PYTHONPATH, CLIPFIT_PLUGINS unset), the
cases interleaved with the baseline in every round, after one untimed round that warms the file cache.
Each record holds the median wall time over --repeats rounds; the ratio records divide a command's median
by the median of `import torch` from the same rounds (the target of `clipfit --help`: 0.2x at most).

    python benchmarks/bench_cli.py > cli.jsonl
"""
from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _prologue  # noqa: E402
import _timing  # noqa: E402

REPO = _prologue.REPO
BASELINE = "python -c 'import torch'"
# what the record calls the command -> (the interpreter's arguments, its exit status)
COMMANDS = {
    "python -c pass": (["-c", "pass"], 0),  # the interpreter alone: the floor of every command
    BASELINE: (["-c", "import torch"], 0),
    "clipfit --help": (["-m", "clipfit", "--help"], 0),
    "clipfit sweep --help": (["-m", "clipfit", "sweep", "--help"], 0),
    "python train.py --help": (["train.py", "--help"], 0),
    "clipfit train (no --trainer: usage error)": (["-m", "clipfit", "train"], 2),
}
TARGETS = {"clipfit --help": 0.2}  # at most this fraction of the baseline


def _env() -> dict:
    return {k: v for k, v in _prologue.child_env().items() if k not in ("CLIPFIT_PLUGINS", "CLIPFIT_ENGINE")}


def seconds(name: str) -> float:
    """Wall time of one run of the command, from the start of its process to its exit."""
    args, status = COMMANDS[name]
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, *args], cwd=REPO, env=_env(), stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != status:  # a crash is quick too: it must not pass for a fast answer
        raise RuntimeError(f"`{name}` exited {proc.returncode}, not {status}:\n{proc.stderr[-2000:]}")
    return elapsed


def measure(repeats: int) -> dict[str, list[float]]:
    """Seconds of each command in each of `repeats` rounds (every round runs every command once)."""
    for name in COMMANDS:
        seconds(name)
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(repeats):
        for name in COMMANDS:
            times[name].append(seconds(name))
    return times


def records(times: dict[str, list[float]]) -> list[dict]:
    medians = {name: statistics.median(values) for name, values in times.items()}
    out = [{"case": "cli_start", "command": name, "median_s": round(medians[name], 3),
            "min_s": round(min(values), 3), "repeats": len(values)} for name, values in times.items()]
    for name in COMMANDS:
        if name not in ("python -c pass", BASELINE):
            ratio = {"case": "cli_start_ratio", "command": name,
                     "vs_import_torch": round(medians[name] / medians[BASELINE], 3)}
            if name in TARGETS:
                ratio["target_vs_import_torch"] = TARGETS[name]
            out.append(ratio)
    return out


def main(argv: list[str] | None = None) -> list[dict]:
    parser = _prologue.new_parser(__doc__)
    parser.add_argument("--repeats", type=int, default=7, help="timed rounds (default 7)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be 1 or more, got {args.repeats}")
    found: list[dict] = []
    for record in records(measure(args.repeats)):
        _timing.emit(record, found)
    return found


if __name__ == "__main__":
    main()
