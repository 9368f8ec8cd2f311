"""Fidelity of a method against its authors' code, and the speed of both, in one CPU run (fp32).

Builds the authors' trainer (their `build_model`, from a checkout of their repository, on Dassl's API: this
project's engine served as `dassl`, or a real Dassl with --dassl) and ours on the same random OpenAI-layout
ViT-B/16 weights and the same synthetic batch, and compares:

* the trained tensors (names mapped to ours, shapes, counts) and, where the authors' draws allow, their
  initial values from the same random state;
* the evaluation logits; in one training step (`forward_backward`): the logits, each loss term (the values
  the torch.nn.functional calls return in both codes), the total loss, every gradient, the optimizer's
  momentum buffers, the update and the parameters after the step; PromptSRC also its prompt aggregation,
  ProGrad its gradient projection in a step where the two losses conflict, KgCoOp its fp16 teacher;
* the size of a checkpoint of each;

then times a training step and an evaluation (`--eval-batches` batches of `--eval-batch` images, from no
class features on) of both, interleaved (medians), and counts their FLOPs (torch.utils.flop_counter).
Relative differences are max |ours - theirs| / max |theirs| per tensor. Prints one JSON object (--out: also
writes it). The authors' files are not changed (see benchmarks/_fidelity/_authors.py for the in-process
patches); a method is one module in benchmarks/_fidelity/ defining ADAPTER.

    python benchmarks/fidelity.py --method MaPLe --authors /tmp/multimodal-prompt-learning
    python benchmarks/fidelity.py --method PromptSRC --authors /tmp/PromptSRC --out benchmarks/results/x.json
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _prologue  # noqa: E402  (the checkout importable)
from _fidelity import adapters  # noqa: E402
from _fidelity._run import run  # noqa: E402

TARGETS = {"max_rel_diff": 1e-5, "train_step_speedup": 1.5, "eval_speedup": 2.0}


def parse_args(argv=None) -> argparse.Namespace:
    known = adapters()
    parser = _prologue.new_parser(__doc__)
    parser.add_argument("--method", required=True, choices=sorted(known), help="the method (its adapter)")
    parser.add_argument("--authors", required=True, help="a checkout of the authors' repository")
    parser.add_argument("--dassl", default=None, help="a real Dassl checkout to run them on (default: this engine)")
    parser.add_argument("--classes", type=int, default=50, help="class count (default 50, a typical base split)")
    parser.add_argument("--batch", type=int, default=4, help="training batch (default 4, the configs')")
    parser.add_argument("--eval-batch", type=int, default=8, help="images per evaluation batch (default 8)")
    parser.add_argument("--eval-batches", type=int, default=2, help="batches per timed evaluation (default 2)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each case (default 3)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--weights", default="/tmp/clipfit-fidelity-vitb16-random-fp16exact.pt",
                        help="where the random weights file is kept (made once)")
    parser.add_argument("--no-timing", action="store_true", help="compare only")
    parser.add_argument("--out", default=None, help="also write the JSON here")
    args = parser.parse_args(argv)
    if args.classes < 2 or args.batch < 1 or args.eval_batch < 2 or args.eval_batches < 1 or args.repeats < 1:
        parser.error("--classes >= 2, --batch >= 1, --eval-batch >= 2, --eval-batches >= 1 and --repeats >= 1")
    args.adapter = known[args.method]
    return args


def max_rel_diff(report: dict) -> float:
    values = [report["eval_logits"], report["train_logits"], report["loss_total"], *report["loss_terms"].values(),
              *report.get("summary_losses", {}).values()]
    # a method's own comparisons (its adapter's `extra`) name their worst relative difference
    values += [part["max_rel_diff"] for part in report.values() if isinstance(part, dict) and "max_rel_diff" in part]
    step = report["step"]
    values += [report["gradients"]["max"], step["momentum_buffers"]["max"], step["params_after"]["max"]]
    if "gpa" in report:
        values.append(report["gpa"]["final_prompts"]["max"])
    return max(values)


def main(argv=None) -> int:
    args = parse_args(argv)
    started = time.time()
    load = os.getloadavg()[0]
    with contextlib.redirect_stdout(sys.stderr):  # both codes' build messages; stdout is the JSON
        report = run(args.adapter, args)
    worst = max_rel_diff(report)
    targets = {"max_rel_diff": {"value": worst, "met": worst <= TARGETS["max_rel_diff"]},
               "checkpoint_trained_only": report["checkpoint_bytes"]["ours"] < report["checkpoint_bytes"]["authors"]}
    if "timing" in report:
        for kind in ("train_step", "eval"):
            value = report["timing"]["speedup_median"][kind]
            targets[f"{kind}_speedup"] = {"value": value, "met": value >= TARGETS[f"{kind}_speedup"]}
    record = {
        "method": args.method, "authors": {"repo": args.adapter.authors_repo, "commit": report.pop("authors_commit"),
                                           "module": f"trainers/{args.adapter.authors_module}.py"},
        "dassl": "real Dassl at " + args.dassl if args.dassl else "clipfit's engine served as dassl",
        "setup": {"backbone": f"ViT-B/16, random weights (open_clip init, seed {args.seed}, fp16-exact values)",
                  "dtype": "fp32", "device": "cpu", "classes": args.classes, "train_batch": args.batch,
                  "eval_batch": args.eval_batch, "eval_batches": args.eval_batches, "repeats": args.repeats,
                  "config": args.adapter.config, "extra_opts": list(args.adapter.opts) + ["OPTIM.WARMUP_EPOCH", "0"],
                  "torch": torch.__version__, "threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
                  "machine": platform.processor() or platform.machine(),
                  "load_average_start_end": [round(load, 2), round(os.getloadavg()[0], 2)]},
        "targets": targets, **report, "seconds": round(time.time() - started),
    }
    text = json.dumps(record, indent=1)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
