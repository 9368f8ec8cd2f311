"""Timing, memory, output and command-line helpers shared by the benchmark scripts (one JSON line per case)."""
from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable

import _prologue
import torch

# --share-prefix: which text paths a case is timed with (TextEncoder.share_prefix on / off).
SHARE_PREFIX = {"on": [True], "off": [False], "both": [True, False]}


def new_parser(doc: str) -> argparse.ArgumentParser:
    """The prologue's parser (`_prologue.new_parser`) with --device and --backbone (random weights)."""
    parser = _prologue.new_parser(doc)
    add_device_arg(parser)
    parser.add_argument("--backbone", default="ViT-B/16", help="backbone name (random weights); 'tiny' for a smoke run")
    return parser


def _device(text: str) -> str:
    """--device, checked while parsing: a bad name or a CUDA device on a machine without one is a usage
    error then, not a traceback from deep in the first timed case."""
    try:
        device = torch.device(text)
    except RuntimeError as e:
        raise argparse.ArgumentTypeError(f"{text!r} is not a torch device (e.g. cpu, cuda, cuda:1): {e}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise argparse.ArgumentTypeError(f"{text!r}: no CUDA device (torch sees no GPU here); use --device cpu")
    return text


def add_device_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", type=_device, default="cuda" if torch.cuda.is_available() else "cpu",
                        help="torch device (default: cuda if a GPU is visible, else cpu)")


def cases_type(valid: tuple[str, ...]):
    """An argparse type for a comma-separated subset of `valid` (kept in the given order, once each)."""

    def parse(text: str) -> list[str]:
        cases = list(dict.fromkeys(c.strip() for c in text.split(",") if c.strip()))
        unknown = [c for c in cases if c not in valid]
        if unknown or not cases:
            raise argparse.ArgumentTypeError(f"unknown case(s) {', '.join(unknown) or repr(text)}; "
                                             f"valid: {', '.join(valid)} (comma-separated)")
        return cases

    return parse


def add_compile_arg(parser: argparse.ArgumentParser, default: str | None, note: str = "") -> None:
    """--compile: comma-separated torch.compile modes of the timed steps, `off` for none."""
    parser.add_argument("--compile", default=default,
                        help=f"comma-separated torch.compile modes: off, default, reduce-overhead, max-autotune{note}")


def add_share_prefix_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--share-prefix", choices=sorted(SHARE_PREFIX), default="on",
                        help="run the prompts' common first tokens once (on), never (off), or time both")


def add_iteration_args(parser: argparse.ArgumentParser) -> None:
    """--quick, --iters and --warmup; `setup(args)` resolves their defaults."""
    parser.add_argument("--quick", action="store_true", help="small batches/classes, 1 iteration: CPU smoke run")
    parser.add_argument("--iters", type=int, default=None, help="timed iterations (default 20; quick 1)")
    parser.add_argument("--warmup", type=int, default=None, help="warm-up iterations (default 5; quick 1)")


def setup(args: argparse.Namespace) -> tuple[torch.device, int, int]:
    """(device, warm-up iterations, timed iterations) of the parsed arguments."""
    return torch.device(args.device), args.warmup or (1 if args.quick else 5), args.iters or (1 if args.quick else 20)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def first_call_s(fn: Callable[[], object], device: torch.device) -> float:
    """Seconds of one call (the first one: compilation, if any)."""
    start = time.perf_counter()
    fn()
    sync(device)
    return time.perf_counter() - start


def time_ms(fn: Callable[[], object], device: torch.device, warmup: int, iters: int) -> list[float]:
    """Milliseconds of each of `iters` calls after `warmup` untimed ones."""
    for _ in range(warmup):
        fn()
    sync(device)
    times = []
    for _ in range(iters):
        start = time.perf_counter()
        fn()
        sync(device)
        times.append(1000.0 * (time.perf_counter() - start))
    return times


def reset_memory(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def peak_gb(device: torch.device) -> float | None:
    """Peak GPU memory since `reset_memory` (None on CPU)."""
    if device.type != "cuda":
        return None
    return round(torch.cuda.max_memory_allocated(device) / 2**30, 3)


def device_name(device: torch.device) -> str:
    return torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"


def setting_fields(backbone: str, device: torch.device, requested: str, mode: str) -> dict[str, object]:
    """The fields every record carries about what ran: backbone, device, the precision asked for and the one run."""
    return {"backbone": backbone, "device": device_name(device), "mode": requested, "effective_mode": mode}


def timing_fields(times: list[float], device: torch.device, first_call: float | None = None) -> dict[str, object]:
    """The measured fields of a record: median and min ms of `times`, the first call's seconds (if timed),
    the iteration count and the peak GPU memory since `reset_memory`."""
    fields: dict[str, object] = {"median_ms": round(statistics.median(times), 2), "min_ms": round(min(times), 2)}
    if first_call is not None:
        fields["first_call_s"] = round(first_call, 2)
    return {**fields, "iters": len(times), "peak_mem_gb": peak_gb(device)}


def emit(record: dict[str, object], records: list[dict[str, object]]) -> None:
    """Prints the record as one JSON line (flushed) and keeps it."""
    print(json.dumps(record), flush=True)
    records.append(record)
