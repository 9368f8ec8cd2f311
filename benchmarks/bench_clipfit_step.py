"""Speed and memory of a CLIPFit training step and of evaluation, on synthetic tensors.

Random ViT-B/16 weights (speed does not depend on the values). Cases, for every precision mode and
optionally with torch.compile:

* train_step: image encoder forward+backward with only LayerNorms trainable, text encoder over all
  class prompts with only the FFN c_proj biases trainable (one pass serves CE and KD), loss
  CE + 8 * KD against precomputed zero-shot features, SGD step; batch 32, 50 and 500 classes.
* eval_batch: 100 images, cached class text features: one image pass and one matmul; 500 and 1000 classes.

Prints one JSON line per case: median ms over the timed iterations after warm-up, and the peak GPU
memory of the case (null on CPU). `--quick` shrinks batches, classes and iterations for a CPU smoke run.

    python benchmarks/bench_clipfit_step.py --device cuda
    python benchmarks/bench_clipfit_step.py --quick --device cpu
"""
from __future__ import annotations

import argparse
import copy
import statistics
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _timing  # noqa: E402
from clipfit.clip import (  # noqa: E402
    PRECISIONS,
    TextEncoder,
    autocast,
    build_random_clip,
    compute_text_features,
    convert_model,
    cosine_logits,
    input_dtype,
    kd_loss,
    make_grad_scaler,
    prompt_for,
    resolve_precision,
    select_trainable,
    tokenize_prompts,
)

TEMPLATE = "a photo of a {}, a type of pet."
_WORDS = (
    "great pyrenees staffordshire bull terrier american pit english cocker spaniel russian blue "
    "egyptian mau siamese basset hound german shorthaired pointer japanese chin wheaten yorkshire "
    "birman bombay maine coon newfoundland samoyed scottish havanese leonberger keeshond"
).split()


def class_names(count: int) -> List[str]:
    """Deterministic 2-3 word names, so prompts are ~12-20 tokens like real pet/car/flower names."""
    n = len(_WORDS)
    names = []
    for i in range(count):
        words = [_WORDS[i % n], _WORDS[(i // n + 3 * i) % n]]
        if i % 3 == 0:
            words.append(_WORDS[(7 * i + 5) % n])
        names.append(" ".join(words))
    return names


def synthetic_images(model: torch.nn.Module, batch: int, mode: str, device: torch.device) -> torch.Tensor:
    """Random images at the model's input size, in the dtype the image encoder takes in `mode`."""
    size = model.visual.image_size
    return torch.randn(batch, 3, size[0], size[1], device=device).to(input_dtype(mode))


def _class_prompts(model: torch.nn.Module, mode: str, device: torch.device, classes: int):
    """The text encoder, the tokenized class prompts and their normalised features (no grad)."""
    encoder = TextEncoder(model)
    prompts = tokenize_prompts([prompt_for(TEMPLATE, n) for n in class_names(classes)], device=device)
    with torch.no_grad(), autocast(mode, device):
        features = compute_text_features(encoder, prompts)
    return encoder, prompts, features


def prepare_model(master: torch.nn.Module, mode: str, device: torch.device) -> torch.nn.Module:
    model = convert_model(copy.deepcopy(master), mode).to(device)
    select_trainable(model, "clipfit")
    return model


def train_case(
    model: torch.nn.Module, mode: str, device: torch.device, classes: int, batch: int, compile_: bool, lam: float = 8.0
):
    """A CLIPFit step closure, and the prompt length it uses."""
    encoder, prompts, zero_shot = _class_prompts(model, mode, device, classes)  # zero-shot: once, before training
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=0.002, momentum=0.9, weight_decay=5e-4)
    scaler = make_grad_scaler(mode, device)
    images = synthetic_images(model, batch, mode, device)
    labels = torch.randint(0, classes, (batch,), device=device)

    def loss_fn(images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        with autocast(mode, device):
            image_features = model.encode_image(images)
            text_features = encoder.encode(prompts)  # one pass: CE logits and KD
            logits = cosine_logits(image_features, text_features, model.logit_scale)
            return F.cross_entropy(logits.float(), labels) + lam * kd_loss(text_features, zero_shot)

    loss_fn = torch.compile(loss_fn) if compile_ else loss_fn

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(images, labels)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()

    return step, prompts.length


def eval_case(model: torch.nn.Module, mode: str, device: torch.device, classes: int, batch: int, compile_: bool):
    """An evaluation closure over cached class features, and the prompt length."""
    _, prompts, text_features = _class_prompts(model, mode, device, classes)  # the evaluation cache's content
    images = synthetic_images(model, batch, mode, device)
    encode_image = torch.compile(model.encode_image) if compile_ else model.encode_image

    def run() -> torch.Tensor:
        with torch.no_grad(), autocast(mode, device):
            image_features = F.normalize(encode_image(images), dim=-1)
            return cosine_logits(image_features, text_features, model.logit_scale, normalized=True)

    return run, prompts.length


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--backbone", default="ViT-B/16", help="backbone name (random weights); 'tiny' for a smoke run")
    parser.add_argument("--modes", default=",".join(PRECISIONS), help="comma-separated precision modes")
    parser.add_argument(
        "--compile", choices=("off", "on", "both"), default=None, help="torch.compile (default: off with --quick, else both)"
    )
    _timing.add_iteration_args(parser)
    parser.add_argument("--cases", default="train,eval", help="comma-separated: train, eval")
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> List[Dict[str, object]]:
    args = parse_args(argv)
    device = torch.device(args.device)
    quick = args.quick
    warmup, iters = _timing.iterations(args)
    compile_choice = args.compile or ("off" if quick else "both")
    compile_flags = {"off": [False], "on": [True], "both": [False, True]}[compile_choice]
    train_batch, train_classes = (2, [10]) if quick else (32, [50, 500])
    eval_batch, eval_classes = (4, [20]) if quick else (100, [500, 1000])
    cases = set(args.cases.split(","))
    plans = []
    if "train" in cases:
        plans += [("train_step", train_case, train_batch, c) for c in train_classes]
    if "eval" in cases:
        plans += [("eval_batch", eval_case, eval_batch, c) for c in eval_classes]

    torch.manual_seed(0)
    master = build_random_clip(args.backbone)
    results = []
    for requested in args.modes.split(","):
        mode = resolve_precision(requested, device)
        for compile_ in compile_flags:
            model = prepare_model(master, mode, device)
            for case, build, batch, classes in plans:
                _timing.reset_memory(device)
                fn, length = build(model, mode, device, classes, batch, compile_)
                times = _timing.time_ms(fn, device, warmup, iters)
                record = {
                    "case": case,
                    "backbone": args.backbone,
                    "device": _timing.device_name(device),
                    "mode": requested,
                    "effective_mode": mode,
                    "compile": compile_,
                    "batch": batch,
                    "classes": classes,
                    "prompt_tokens": length,
                    "median_ms": round(statistics.median(times), 2),
                    "min_ms": round(min(times), 2),
                    "iters": iters,
                    "peak_mem_gb": _timing.peak_gb(device),
                }
                _timing.emit(record, results)
            del model
    return results


if __name__ == "__main__":
    main()
