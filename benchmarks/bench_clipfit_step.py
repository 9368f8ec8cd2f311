"""Speed and memory of a CLIPFit training step and of evaluation, on synthetic tensors.

Random ViT-B/16 weights (speed does not depend on the values). Cases, for every precision mode, every
torch.compile mode asked for and with or without the shared-prefix text path:

* train_step: the trainer's own `CLIPFitModel.loss` (image encoder with only LayerNorms trainable, text
  encoder over all class prompts with only the FFN c_proj biases trainable, one pass for CE and KD,
  lambda 8) with backward and SGD update; batch 32, 50 and 500 classes.
* eval_batch: 100 images, cached class text features: one image pass and one matmul; 500 and 1000 classes.

Prints one JSON line per case: median ms over the timed iterations after warm-up, and the peak GPU
memory of the case (null on CPU). `--quick` shrinks batches, classes and iterations for a CPU smoke run.

    python benchmarks/bench_clipfit_step.py --device cuda
    python benchmarks/bench_clipfit_step.py --device cuda --modes fp16 --compile off,reduce-overhead
    python benchmarks/bench_clipfit_step.py --quick --device cpu
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import itertools
import sys
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _steps  # noqa: E402  (puts the checkout on sys.path)
import _timing  # noqa: E402
from _steps import TEMPLATE, class_names, synthetic_images  # noqa: E402,F401  (re-exported for tests)

from clipfit.clip import (  # noqa: E402
    PRECISIONS,
    TextEncoder,
    autocast,
    compute_text_features,
    convert_model,
    cosine_logits,
    prompt_for,
    resolve_precision,
    select_trainable,
    tokenize_prompts,
)
from clipfit.clip.torch_compile import compile_step  # noqa: E402
from trainers.clipfit import CLIPFitModel  # noqa: E402


def class_prompts(classes: int, device: torch.device):
    return tokenize_prompts([prompt_for(TEMPLATE, n) for n in class_names(classes)], device=device)


def prompts_path(prompts, share: bool, device: torch.device) -> dict:
    """The text path of the class prompts: prefix positions run once (0: full prompts), unpadded suffixes."""
    return _steps.text_path(share, prompts.prefix_length, len(prompts), 1, device, prompts.layout)


def prepare_model(master: torch.nn.Module, mode: str, device: torch.device) -> torch.nn.Module:
    model = convert_model(copy.deepcopy(master), mode).to(device)
    select_trainable(model, "clipfit")
    return model


def train_case(model: torch.nn.Module, mode: str, device: torch.device, classes: int, batch: int,
               compile_mode: str = "off", share_prefix: bool = True):
    """A CLIPFit step closure (the trainer's module: KD, lambda 8), and the prompts it encodes."""
    prompts = class_prompts(classes, device)
    with autocast(mode, device):  # the zero-shot teacher: once, before training
        method = CLIPFitModel(model, prompts, "kd", 8.0)
    method.text_encoder.share_prefix &= share_prefix
    return _steps.train_step(method, mode, device, classes, batch, compile_mode), prompts


def eval_case(model: torch.nn.Module, mode: str, device: torch.device, classes: int, batch: int,
              compile_mode: str = "off", share_prefix: bool = True):
    """An evaluation closure over cached class features, and the prompts."""
    prompts = class_prompts(classes, device)
    with torch.no_grad(), autocast(mode, device):  # the evaluation cache's content
        text_features = compute_text_features(TextEncoder(model, share_prefix), prompts)
    images = synthetic_images(model, batch, mode, device)
    encode_image = model.encode_image if compile_mode == "off" else compile_step(model.encode_image, compile_mode)

    def run() -> torch.Tensor:
        with torch.no_grad(), autocast(mode, device):
            image_features = F.normalize(encode_image(images), dim=-1)
            return cosine_logits(image_features, text_features, model.logit_scale, normalized=True)

    return run, prompts


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = _timing.new_parser(__doc__)
    parser.add_argument("--modes", default=",".join(PRECISIONS), help="comma-separated precision modes")
    _timing.add_compile_arg(parser, None, " (default: off with --quick, else off,default)")
    _timing.add_share_prefix_arg(parser)
    _timing.add_iteration_args(parser)
    parser.add_argument("--cases", type=_timing.cases_type(("train", "eval")), default="train,eval",
                        help="comma-separated: train, eval")
    parser.add_argument("--classes", default="",
                        help="only cases with these class counts, comma-separated (train 50, 500; eval 500, 1000)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> list[dict[str, object]]:
    args = parse_args(argv)
    device, warmup, iters = _timing.setup(args)
    quick = args.quick
    compile_modes = _steps.compile_modes(args.compile or ("off" if quick else "off,default"))
    train_batch, train_classes = (2, [10]) if quick else (32, [50, 500])
    eval_batch, eval_classes = (4, [20]) if quick else (100, [500, 1000])
    cases = set(args.cases)
    plans = []
    if "train" in cases:
        plans += [("train_step", train_case, train_batch, c) for c in train_classes]
    if "eval" in cases:
        plans += [("eval_batch", eval_case, eval_batch, c) for c in eval_classes]
    if args.classes:
        keep = {int(c) for c in args.classes.split(",")}
        plans = [plan for plan in plans if plan[3] in keep]

    master = _steps.random_backbone(args.backbone)
    results = []
    for requested in args.modes.split(","):
        mode = resolve_precision(requested, device)
        for compile_mode in compile_modes:
            model = prepare_model(master, mode, device)
            shares = _timing.SHARE_PREFIX[args.share_prefix]
            for (case, build, batch, classes), share in itertools.product(plans, shares):
                _timing.reset_memory(device)
                with contextlib.redirect_stdout(sys.stderr):  # keep stdout to JSON lines
                    fn, prompts = build(model, mode, device, classes, batch, compile_mode, share)
                first_s = _timing.first_call_s(fn, device)
                times = _timing.time_ms(fn, device, warmup, iters)
                record = {
                    "case": case,
                    **_timing.setting_fields(args.backbone, device, requested, mode),
                    "compile": compile_mode,
                    "share_prefix": share,
                    "batch": batch,
                    "classes": classes,
                    "prompt_tokens": prompts.length,
                    **prompts_path(prompts, share, device),
                    **_timing.timing_fields(times, device, first_s),
                }
                _timing.emit(record, results)
            del model
    return results


if __name__ == "__main__":
    main()
