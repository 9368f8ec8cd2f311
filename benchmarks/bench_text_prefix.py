"""The text tower alone: full prompts, shared first tokens run once, and that with unpadded suffixes.

For each method's prompt set, the trainers' own modules compute the class text features with gradient
and backpropagate (what a training step does on the text side; the image tower is left out):

* clipfit: "a photo of a {}, a type of pet." over every class (shared: [SOS] a photo of a);
* coop: 16 generic context vectors, class token at the end (shared: [SOS] + 16 context vectors);
* cocoop: "a photo of a" context shifted per image, batch of images x classes (shared per image).

Variants: `full` (every prompt padded to the longest), `prefix` (shared tokens once, suffixes padded to
the longest), `unpadded` (shared tokens once, each suffix only up to its EOT outside attention), each
forced whatever it saves, and `auto`, what the library picks on this device (on a GPU it skips a path
that saves under GPU_MIN_SAVED_TOKENS positions per layer; on a CPU it equals `unpadded`). Name sets:
`pets` (2-3 words, the step benchmarks' names) and `varied` (1-6 words, spread like ImageNet's).

Prints one JSON line per (names, method, variant) with the median ms, and one line per (names, method)
with the speed-ups over `full`. ViT-B/16's text tower at 100 classes takes about 8 minutes on 2 CPU cores:

    python benchmarks/bench_text_prefix.py --device cpu --classes 100
    python benchmarks/bench_text_prefix.py --device cuda --prec fp16
"""
from __future__ import annotations

import contextlib
import itertools
import statistics
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _steps  # noqa: E402  (puts the checkout on sys.path)
import _timing  # noqa: E402

from clipfit.clip import (  # noqa: E402
    autocast,
    convert_model,
    prompt_for,
    resolve_precision,
    select_trainable,
    shared_prefix,  # noqa: E402
    tokenize_prompts,
)
from trainers.clipfit import CLIPFitModel  # noqa: E402
from trainers.cocoop import CoCoOpModel  # noqa: E402
from trainers.coop import CoOpModel  # noqa: E402

METHODS = ("clipfit", "coop", "cocoop")
VARIANTS = ("full", "prefix", "unpadded", "auto")
NAMES = {"pets": _steps.class_names, "varied": _steps.varied_class_names}


@contextlib.contextmanager
def variant_settings(variant: str):
    """Inside, the text path is the variant's (layouts are planned when a model is built or first runs)."""
    saved = shared_prefix.UNPAD_SUFFIXES, shared_prefix.GPU_MIN_SAVED_TOKENS
    shared_prefix.UNPAD_SUFFIXES = variant != "prefix"
    shared_prefix.GPU_MIN_SAVED_TOKENS = saved[1] if variant == "auto" else 0
    try:
        yield
    finally:
        shared_prefix.UNPAD_SUFFIXES, shared_prefix.GPU_MIN_SAVED_TOKENS = saved


def build(method: str, clip: torch.nn.Module, names: list[str], mode: str, device: torch.device):
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


def main(argv: Sequence[str] | None = None) -> list[dict[str, object]]:
    parser = _timing.new_parser(__doc__)
    parser.add_argument("--prec", default="fp16", help="precision mode (CPU runs fp32)")
    parser.add_argument("--methods", default=",".join(METHODS), help=f"comma-separated, of {METHODS}")
    parser.add_argument("--classes", type=int, default=None, help="class count (default 500; quick 10)")
    parser.add_argument("--images", type=int, default=4, help="CoCoOp's images per batch (default 4)")
    parser.add_argument("--names", default="pets,varied", help=f"comma-separated name sets, of {sorted(NAMES)}")
    _timing.add_iteration_args(parser)
    args = parser.parse_args(argv)
    device, warmup, iters = _timing.setup(args)
    classes = args.classes or (10 if args.quick else 500)
    mode = resolve_precision(args.prec, device)

    clip = convert_model(_steps.random_backbone(args.backbone), mode).to(device)
    results: list[dict[str, object]] = []
    for names_key, method in itertools.product(args.names.split(","), args.methods.split(",")):
        names = NAMES[names_key](classes)
        medians = {}
        for variant in VARIANTS:
            with variant_settings(variant):
                with contextlib.redirect_stdout(sys.stderr):  # keep stdout to JSON lines
                    model = build(method, clip, names, mode, device)
                model.text_encoder.share_prefix &= variant != "full"
                run = text_pass(method, model, args.images, device)
                with autocast(mode, device):
                    _timing.reset_memory(device)
                    times = _timing.time_ms(run, device, warmup, iters)
            medians[variant] = statistics.median(times)
            _timing.emit({
                "method": method, "case": "text_fwd_bwd", "names": names_key, "variant": variant,
                **_timing.setting_fields(args.backbone, device, args.prec, mode),
                "classes": classes, "images": args.images if method == "cocoop" else None,
                **_timing.timing_fields(times, device),
            }, results)
        _timing.emit({"method": method, "case": "text_fwd_bwd_speedup", "names": names_key, "classes": classes,
                      **{f"{v}_speedup": round(medians["full"] / medians[v], 2) for v in VARIANTS[1:]}}, results)
    return results


if __name__ == "__main__":
    main()
