"""The text tower alone, with and without running the prompts' shared first tokens once.

For each method's prompt set, the trainers' own modules compute the class text features with gradient
and backpropagate (what a training step does on the text side; the image tower is left out):

* clipfit: "a photo of a {}, a type of pet." over every class (shared: [SOS] a photo of a);
* coop: 16 generic context vectors, class token at the end (shared: [SOS] + 16 context vectors);
* cocoop: "a photo of a" context shifted per image, batch of images x classes (shared per image).

Prints one JSON line per (method, share_prefix) with the median ms, and a last line per method with the
speed-up of sharing. ViT-B/16's text tower at 100 classes takes about 3 minutes on 2 CPU cores:

    python benchmarks/bench_text_prefix.py --device cpu --classes 100
    python benchmarks/bench_text_prefix.py --device cuda --prec fp16
"""
from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _steps  # noqa: E402  (puts the checkout on sys.path)
import _timing  # noqa: E402
from clipfit.clip import (  # noqa: E402
    autocast,
    build_random_clip,
    convert_model,
    prompt_for,
    resolve_precision,
    select_trainable,
    tokenize_prompts,
)
from trainers.clipfit import CLIPFitModel  # noqa: E402
from trainers.cocoop import CoCoOpModel  # noqa: E402
from trainers.coop import CoOpModel  # noqa: E402

METHODS = ("clipfit", "coop", "cocoop")


def build(method: str, clip: torch.nn.Module, classes: int, mode: str, device: torch.device):
    names = _steps.class_names(classes)
    if method == "clipfit":
        select_trainable(clip, "clipfit")
        prompts = tokenize_prompts([prompt_for(_steps.TEMPLATE, n) for n in names], device=device)
        return CLIPFitModel(clip, prompts, "none", 0.0)
    clip.requires_grad_(False)
    if method == "coop":
        return CoOpModel(clip, names, n_ctx=16).to(device)
    return CoCoOpModel(clip, names, n_ctx=4, ctx_init="a photo of a", half=mode == "fp16").to(device)


def text_pass(method: str, model: torch.nn.Module, images: int, device: torch.device) -> Callable[[], None]:
    """Forward with gradient and backward of the class text features (CoCoOp: of all image x class pairs)."""
    width = model.clip.visual.output_dim
    image_features = F.normalize(torch.randn(images, width, device=device), dim=-1)

    def run() -> None:
        if method == "cocoop":
            out = model.conditioned_logits(image_features.to(model.prompt_learner.ctx.dtype))
        else:
            out = model.class_text_features()
        out.float().sum().backward()

    return run


def main(argv: Optional[Sequence[str]] = None) -> List[Dict[str, object]]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--prec", default="fp16", help="precision mode (CPU runs fp32)")
    parser.add_argument("--backbone", default="ViT-B/16", help="backbone name (random weights); 'tiny' for a smoke run")
    parser.add_argument("--methods", default=",".join(METHODS), help=f"comma-separated, of {METHODS}")
    parser.add_argument("--classes", type=int, default=None, help="class count (default 500; quick 10)")
    parser.add_argument("--images", type=int, default=4, help="CoCoOp's images per batch (default 4)")
    _timing.add_iteration_args(parser)
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    warmup, iters = _timing.iterations(args)
    classes = args.classes or (10 if args.quick else 500)
    mode = resolve_precision(args.prec, device)

    torch.manual_seed(0)
    clip = convert_model(build_random_clip(args.backbone), mode).to(device)
    results: List[Dict[str, object]] = []
    for method in args.methods.split(","):
        with contextlib.redirect_stdout(sys.stderr):  # keep stdout to JSON lines
            model = build(method, clip, classes, mode, device)
        run = text_pass(method, model, args.images, device)
        medians = {}
        for share in (False, True):
            model.text_encoder.share_prefix = share
            with autocast(mode, device):
                _timing.reset_memory(device)
                times = _timing.time_ms(run, device, warmup, iters)
            medians[share] = statistics.median(times)
            _timing.emit({
                "method": method, "case": "text_fwd_bwd", "backbone": args.backbone,
                "device": _timing.device_name(device), "mode": args.prec, "effective_mode": mode,
                "classes": classes, "images": args.images if method == "cocoop" else None, "share_prefix": share,
                "median_ms": round(medians[share], 2), "min_ms": round(min(times), 2), "iters": iters,
                "peak_mem_gb": _timing.peak_gb(device),
            }, results)
        _timing.emit({"method": method, "case": "text_fwd_bwd_speedup", "classes": classes,
                      "speedup": round(medians[False] / medians[True], 2)}, results)
    return results


if __name__ == "__main__":
    main()
