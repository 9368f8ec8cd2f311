"""The timed cases: a training step and an evaluation of each code, interleaved, and their FLOPs, with the parts
(per image, per set of class text features) that scale the evaluation to the configs' test batch of 100."""
from __future__ import annotations

import contextlib

import torch

from clipfit.clip import TextFeatureCache

from ._authors import half_as_identity
from ._measure import flops, interleaved_ms
from ._setup import train_step

CONFIG_TEST_BATCH = 100  # DATALOADER.TEST.BATCH_SIZE of the authors' configs


def timing_and_flops(ours, theirs, batch, args) -> dict:
    generator = torch.Generator().manual_seed(args.seed + 2)
    images = [torch.randn(args.eval_batch, 3, 224, 224, generator=generator) for _ in range(args.eval_batches)]

    def train(trainer, authors: bool):
        def step():
            with half_as_identity() if authors else contextlib.nullcontext():
                train_step(trainer, batch)
        return step

    def evaluate(trainer, authors: bool, batches=images):
        def run():
            trainer.set_model_mode("eval")
            if not authors:  # an evaluation starts without features: ours computes them once, at its first batch
                model = trainer.model
                trainer.text_cache = TextFeatureCache(model.class_text_features, list(model.parameters()))
            with torch.no_grad(), half_as_identity() if authors else contextlib.nullcontext():
                for image in batches:
                    trainer.model_inference(image)
        return run

    cases = {"train_step_ours": train(ours, False), "train_step_authors": train(theirs, True),
             "eval_ours": evaluate(ours, False), "eval_authors": evaluate(theirs, True)}
    times = interleaved_ms(cases, args.repeats)
    counted = {name: flops(fn) for name, fn in cases.items()}

    their_one = flops(evaluate(theirs, True, [images[0][:1]]))
    their_image = (counted["eval_authors"] / args.eval_batches - their_one) / (args.eval_batch - 1)
    their_text = their_one - their_image
    ours.set_model_mode("eval")
    with torch.no_grad():
        our_text = flops(ours.model.class_text_features)
    our_image = (counted["eval_ours"] - our_text) / (args.eval_batch * args.eval_batches)
    speed = {stat: {kind: round(times[f"{kind}_authors"][f"{stat}_ms"] / times[f"{kind}_ours"][f"{stat}_ms"], 2)
                    for kind in ("train_step", "eval")} for stat in ("median", "min")}
    return {
        "timing": {**times, "speedup_median": speed["median"], "speedup_min": speed["min"]},
        "flops": {**counted, "ratio": {kind: round(counted[f"{kind}_authors"] / counted[f"{kind}_ours"], 2)
                                       for kind in ("train_step", "eval")}},
        "eval_flops_parts": {
            "authors_text_per_batch": int(their_text), "authors_per_image": int(their_image),
            "ours_text_per_evaluation": int(our_text), "ours_per_image": int(our_image),
            f"ratio_at_test_batch_{CONFIG_TEST_BATCH}": round((their_text + CONFIG_TEST_BATCH * their_image)
                                                              / (CONFIG_TEST_BATCH * our_image), 2),
        },
    }
