"""Speed and memory of CoOp and CoCoOp training steps beside CLIPFit's, on the same shapes.

Random ViT-B/16 weights, synthetic images and labels, the trainers' own modules (`trainers.coop`,
`trainers.cocoop`, `trainers.clipfit`), each with or without the shared-prefix text path. Cases:

* train_step, CoOp (N_CTX 16, generic context, class token at the end): batch 32 (its configs' batch);
* train_step, CoCoOp (the base-to-new config: N_CTX 4 from "a photo of a"): batch 1 (its configs'),
  4 and 32;
* train_step, CLIPFit: batch 32;
  each at 50 and 500 classes; one step = forward, backward, SGD (momentum 0.9) update;
* eval_batch, CoCoOp: 100 images (the configs' test batch); CoCoOp cannot use a class-feature cache.

Prints one JSON line per case: median and min ms per step over the timed iterations after warm-up, ms per
image, the prompt length the text tower runs (tokens), CoCoOp's pairs per text pass and whether chunks are
checkpointed, and the case's peak GPU memory (null on CPU).

    python benchmarks/bench_baselines.py --device cuda --prec fp16
    python benchmarks/bench_baselines.py --quick --device cpu
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import statistics
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _steps  # noqa: E402  (puts the checkout on sys.path)
import _timing  # noqa: E402
import bench_clipfit_step as clipfit_bench  # noqa: E402

from clipfit.clip import autocast, convert_model, resolve_precision  # noqa: E402
from trainers.cocoop import CoCoOpModel, GiB  # noqa: E402
from trainers.coop import CoOpModel  # noqa: E402

METHODS = ("coop", "cocoop", "clipfit")


def build_method(method: str, clip: torch.nn.Module, names: list[str], mode: str, budget_gb: float | None):
    if method == "coop":
        return CoOpModel(clip, names, n_ctx=16)
    model = CoCoOpModel(clip, names, n_ctx=4, ctx_init="a photo of a", half=mode == "fp16")
    if budget_gb is not None:
        model.train_memory_budget = int(budget_gb * GiB)
    return model


def cocoop_eval_case(model, mode: str, device: torch.device, batch: int) -> Callable[[], torch.Tensor]:
    images = _steps.synthetic_images(model.clip, batch, mode, device)

    def run() -> torch.Tensor:
        with torch.no_grad(), autocast(mode, device):
            return model(images)

    return run


def plans(quick: bool, method: str, classes: Sequence[int]) -> list[tuple[str, int, int]]:
    """The (case, batch, classes) of `method`, in run order."""
    if quick:
        batches = {"coop": [2], "cocoop": [1, 2], "clipfit": [2]}
    else:
        batches = {"coop": [32], "cocoop": [1, 4, 32], "clipfit": [32]}
    eval_batch = 4 if quick else 100
    out = [("train_step", b, n) for n in classes for b in batches[method]]
    if method == "cocoop":
        out += [("eval_batch", eval_batch, n) for n in classes]
    return out


def run_case(args, clip, method: str, case: str, batch: int, n: int, requested: str, mode: str, compile_mode: str,
             share: bool, device: torch.device, warmup: int, iters: int) -> dict[str, object]:
    _timing.reset_memory(device)
    extra: dict[str, object] = {}
    if method == "clipfit":
        with contextlib.redirect_stdout(sys.stderr):  # keep stdout to JSON lines
            fn, prompts = clipfit_bench.train_case(clip, mode, device, n, batch, compile_mode, share)
        length, n_ctx = prompts.length, 0
        extra = clipfit_bench.prompts_path(prompts, share, device)
    else:
        with contextlib.redirect_stdout(sys.stderr):
            model = build_method(method, clip, _steps.class_names(n), mode, args.cocoop_budget_gb).to(device)
        model.text_encoder.share_prefix &= share
        learner = model.prompt_learner
        length, n_ctx = learner.length, learner.n_ctx
        if case == "train_step":
            fn = _steps.train_step(model, mode, device, n, batch, compile_mode)
        else:
            fn = cocoop_eval_case(model, mode, device, batch)
        if method == "cocoop":
            training = case == "train_step"
            with autocast(mode, device):
                passes, per_pass = model.text_passes(batch * n, training)
            extra = {"text_passes": passes, "pairs_per_text_pass": per_pass,
                     "checkpointed_chunks": training and passes > 1,
                     **_steps.text_path(share, learner.prefix_length, per_pass, batch, device,
                                        learner.pair_layout(0, per_pass, batch))}
        else:
            extra = _steps.text_path(share, learner.prefix_length, n, 1, device, learner.pair_layout(0, n))
    first_s = _timing.first_call_s(fn, device)
    times = _timing.time_ms(fn, device, warmup, iters)
    return {
        "method": method,
        "case": case,
        **_timing.setting_fields(args.backbone, device, requested, mode),
        "compile": compile_mode,
        "batch": batch,
        "classes": n,
        "share_prefix": share,
        "n_ctx": n_ctx,
        "prompt_tokens": length,
        **extra,
        **_timing.timing_fields(times, device, first_s),
        "ms_per_image": round(statistics.median(times) / batch, 3),
    }


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = _timing.new_parser(__doc__)
    parser.add_argument("--prec", default="fp16", help="comma-separated precision modes (fp16, amp, bf16, fp32)")
    parser.add_argument("--methods", default=",".join(METHODS), help=f"comma-separated, of {METHODS}")
    parser.add_argument("--classes", default=None, help="comma-separated class counts (default 50,500; quick 10)")
    _timing.add_iteration_args(parser)
    parser.add_argument("--cocoop-budget-gb", type=float, default=None,
                        help="CoCoOp's activation budget of one training text pass (default: the model's, 6 GiB)")
    _timing.add_compile_arg(parser, "off", " (the training steps)")
    _timing.add_share_prefix_arg(parser)
    parser.add_argument("--select", default="",
                        help="only these cases, comma-separated method:batch:classes (e.g. coop:32:500,cocoop:4:500)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> list[dict[str, object]]:
    args = parse_args(argv)
    device, warmup, iters = _timing.setup(args)
    classes = [int(c) for c in args.classes.split(",")] if args.classes else ([10] if args.quick else [50, 500])
    methods = [m for m in args.methods.split(",") if m]
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        raise SystemExit(f"unknown --methods {unknown}; choose from {METHODS}")

    compile_modes = _steps.compile_modes(args.compile)
    selected = {tuple(x.split(":")) for x in args.select.split(",") if x}

    master = _steps.random_backbone(args.backbone)
    results = []
    for requested in args.prec.split(","):
        mode = resolve_precision(requested, device)
        for method in methods:
            if method == "clipfit":
                clip = clipfit_bench.prepare_model(master, mode, device)
            else:
                clip = convert_model(copy.deepcopy(master), mode).to(device)
            for case, batch, n in plans(args.quick, method, classes):
                if selected and (method, str(batch), str(n)) not in selected:
                    continue
                for compile_mode in compile_modes if case == "train_step" else ["off"]:
                    for share in _timing.SHARE_PREFIX[args.share_prefix]:
                        record = run_case(args, clip, method, case, batch, n, requested, mode, compile_mode, share,
                                          device, warmup, iters)
                        _timing.emit(record, results)
            del clip
    return results


if __name__ == "__main__":
    main()
