"""One method's fidelity run: both trainers on the same weights and batch, compared, then timed and counted."""
from __future__ import annotations

import contextlib
import tempfile
from collections import defaultdict
from pathlib import Path

import torch

from ._authors import AuthorsCode, half_as_identity
from ._compare import rel_diff, rel_diffs, worst
from ._setup import checkpoint_bytes, make_cfg, our_trainer, reseeded, train_step, weights_file
from ._timing_cases import timing_and_flops


def _trained(trainer, adapter=None) -> dict[str, torch.nn.Parameter]:
    """Trained tensors by our names: the prompt learner's (ours), or their whole model's mapped (`adapter`)."""
    if adapter is None:
        return {n: p for n, p in trainer.model.prompt_learner.named_parameters() if p.requires_grad}
    return {adapter.our_name(n): p for n, p in trainer.model.named_parameters() if p.requires_grad}


def _values(params) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in params.items()}


def _batch(args, classes: int):
    generator = torch.Generator().manual_seed(args.seed + 1)
    image = torch.randn(args.batch, 3, 224, 224, generator=generator)
    return {"img": image, "label": torch.arange(args.batch) % classes}


def _step_record(trainer, params, batch, adapter):
    before = _values(params)
    calls_of = tuple(dict.fromkeys(key.split("#")[0] for key in adapter.loss_terms))
    summary, calls = train_step(trainer, batch, calls_of)
    optim = trainer.optim
    inputs = {name: first for name, first, _ in calls}
    return {
        "losses": {key: torch.tensor(summary[key]) for key in adapter.summary_losses},
        "calls": {name: out for name, _, out in calls},
        "train_logits": inputs[adapter.logits_call] if adapter.logits_call else calls[0][1],
        "lr": optim.param_groups[0]["lr"],
        "grads": {n: p.grad.detach().clone() for n, p in params.items()},
        "momentum": {n: optim.state[p]["momentum_buffer"].detach().clone() for n, p in params.items()},
        "update": {n: p.detach().double() - before[n].double() for n, p in params.items()},
        "after": _values(params),
    }


def _step_diffs(ours: dict, theirs: dict, adapter) -> dict:
    terms = {label: rel_diff(ours["calls"][key], theirs["calls"][key]) for key, label in adapter.loss_terms.items()}
    losses = {key: rel_diff(ours["losses"][key], theirs["losses"][key]) for key in adapter.summary_losses}
    return {
        "train_logits": rel_diff(ours["train_logits"], theirs["train_logits"]),
        "loss_terms": terms, "loss_total": max(losses.values()),
        **({"summary_losses": losses} if tuple(losses) != ("loss",) else {}),
        "gradients": worst(rel_diffs(ours["grads"], theirs["grads"])),
        "step": {
            "lr": {"ours": ours["lr"], "authors": theirs["lr"]},
            # SGD's first step: p - lr * buffer, buffer = grad + weight_decay * p (momentum starts at it)
            "momentum_buffers": worst(rel_diffs(ours["momentum"], theirs["momentum"])),
            "params_after": worst(rel_diffs(ours["after"], theirs["after"])),
            "realised_update": {**worst(rel_diffs(ours["update"], theirs["update"])), "note": (
                "after - before of the fp32 parameters: each side's rounding of p - lr * buffer to fp32 is a "
                "part of it, so it is compared, not held to the target (the buffers and params_after are)")},
        },
    }


def _restore(params, values, trainer) -> None:
    with torch.no_grad():
        for name, param in params.items():
            param.copy_(values[name])
    trainer.optim.state = defaultdict(dict)


def _gpa(adapter, ours, theirs, batch) -> dict:
    """Both codes through `gpa_epochs` epochs of one step each; theirs aggregate inside forward_backward, ours
    after each epoch (as the trainer's after_epoch, which also writes the epoch's checkpoint)."""
    for epoch in range(adapter.gpa_epochs):
        with half_as_identity():
            train_step(theirs, batch, (), last_batch=True)
        train_step(ours, batch, (), last_batch=True)
        ours.epoch = epoch
        ours.after_epoch()
    return {"epochs": adapter.gpa_epochs, "final_prompts": worst(rel_diffs(_values(_trained(ours)),
                                                                          _values(_trained(theirs, adapter))))}


def run(adapter, args) -> dict:
    out = tempfile.mkdtemp(prefix="fidelity-")
    authors = AuthorsCode(args.authors, args.weights, args.dassl)  # checks the checkout first
    weights = weights_file(Path(args.weights), args.seed)
    cfg = make_cfg(adapter, weights, out)
    from _steps import class_names

    names = class_names(args.classes)
    module = authors.module(adapter.authors_module)
    torch.manual_seed(args.seed)
    with reseeded(getattr(module, adapter.learner_class) if adapter.learner_class else None, args.seed), \
            half_as_identity() if adapter.fp32_build else contextlib.nullcontext():
        theirs = authors.build_trainer(getattr(module, adapter.method), cfg, names)
    theirs.model.float()  # their PREC fp32 leaves MaPLe's proj and PromptSRC's frozen image tower in fp16
    torch.manual_seed(args.seed)
    with reseeded(adapter.our_learner() if adapter.learner_class else None, args.seed):
        ours = our_trainer(cfg, names)
    mine, their_params = _trained(ours), _trained(theirs, adapter)
    report = {"trainable": {
        "authors": {"tensors": len(their_params), "values": sum(p.numel() for p in their_params.values())},
        "ours": {"tensors": len(mine), "values": sum(p.numel() for p in mine.values())},
        "same_names_and_shapes": {n: tuple(p.shape) for n, p in mine.items()}
        == {n: tuple(p.shape) for n, p in their_params.items()}}}
    if adapter.learner_class:
        init = report["init_same_rng_state"] = worst(rel_diffs(_values(mine), _values(their_params)))
        if adapter.fp16_in_authors_init:  # their `.half()` at build time, which PREC fp32 does not undo
            rounding = adapter.fp16_in_authors_init
            rounded = {n: v.half().float() if n in rounding else v for n, v in _values(mine).items()}
            init[f"max with ours rounded to fp16 as theirs ({', '.join(adapter.fp16_in_authors_init)})"] = \
                worst(rel_diffs(rounded, _values(their_params)))["max"]
    else:
        report["init_same_rng_state"] = "not comparable: their prompts are drawn while their CLIP is built; ours " \
                                        "start as copies of theirs"
    _restore(mine, _values(their_params), ours)
    batch = _batch(args, len(names))
    with torch.no_grad(), half_as_identity():
        theirs.set_model_mode("eval")
        their_logits = theirs.model_inference(batch["img"])
    ours.set_model_mode("eval")
    with torch.no_grad():
        report["eval_logits"] = rel_diff(ours.model_inference(batch["img"]), their_logits)

    start = _values(their_params)
    try:
        kept = _step_record(theirs, their_params, batch, adapter)
    except RuntimeError as e:  # PromptSRC's fp32 matmul of fp16-cast features
        kept = f"fails: {str(e).splitlines()[0]}"
    _restore(their_params, start, theirs)
    with half_as_identity():
        their_step = _step_record(theirs, their_params, batch, adapter)
    our_step = _step_record(ours, mine, batch, adapter)
    report.update(_step_diffs(our_step, their_step, adapter))
    report["fp16_casts_kept"] = kept if isinstance(kept, str) else {
        k: v for k, v in _step_diffs(our_step, kept, adapter).items() if k in ("loss_total", "gradients")}
    if adapter.gpa_epochs:
        report["gpa"] = _gpa(adapter, ours, theirs, batch)
    _restore(mine, start, ours)
    _restore(their_params, start, theirs)
    report.update(adapter.extra(ours, theirs, batch))
    report["checkpoint_bytes"] = {"ours": checkpoint_bytes(ours, out + "/ours"),
                                  "authors": checkpoint_bytes(theirs, out + "/authors")}
    if not args.no_timing:
        report.update(timing_and_flops(ours, theirs, batch, args))
    report["authors_commit"] = authors.commit()
    return report
