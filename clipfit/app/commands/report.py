"""`clipfit report`: the leaderboard of every run under an output root."""
from __future__ import annotations

import argparse

NAME = "report"
HELP = "Write the leaderboard (base/new/HM, few-shot, transfer) of the runs under an output root."

EPILOG = """\
Run folders are found by their path (the scripts' layout), e.g.
  base2new/train_base/<dataset>/shots_16/<Trainer>/<cfg>/seed<S>   Base (the training run's final test)
  base2new/test_new/<dataset>/shots_16/<Trainer>/<cfg>/seed<S>     New (eval-only on the new classes)
  <dataset>/<Trainer>/<cfg>_<K>shots[/<variant>]/seed<S>           few-shot (ImageNet 16 shots: transfer source)
  evaluation/<Trainer>/<cfg>_<K>shots[/<variant>]/<dataset>/seed<S> cross-dataset / domain generalization
A run that ran with other settings than its folder's config and recipe (OPTS, LAMBDA, ...) is its own row,
labelled with them, e.g. `CLIPFit vit_b16_ep100 (OPTIM.MAX_EPOCH 1)`. Left out unless --all-runs: the
demo's runs (<root>/demo) and runs whose backbone is not their config's; the report says how many.
Each run's result is its newest complete log (log.txt or a re-run's log.txt-<timestamp>); a newer crashed
log does not hide it. Cells are mean ± population std over seeds (n); HM = HM(mean base, mean new); the
11-dataset average is HM(mean of base means, mean of new means), marked `avg of k/11` when datasets lack.
Published numbers (CLIP, CoOp, CLIPFit, MaPLe, PromptSRC per dataset; CoCoOp, KgCoOp, ProGrad averages) are
shown as `paper:` rows with our delta (ZeroshotCLIP is compared with CLIP).

Writes leaderboard.md (also printed), leaderboard.csv (one row per setting/dataset/method/metric),
leaderboard.png and, with few-shot runs, few_shot.png.

examples:
  clipfit report                                  # runs under output/, files into output/
  clipfit report --output-dir /scratch/runs --out reports/
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EPILOG
    from ..flag_values import GivenValue

    parser.add_argument("--output-dir", default="output", metavar="ROOT", action=GivenValue,
                        help="output root the runs were written under (default: output)")
    parser.add_argument("--out", default=None, metavar="DIR", action=GivenValue,
                        help="folder for leaderboard.md/.csv/.png (default: the output root)")
    parser.add_argument("--no-published", action="store_true",
                        help="leave out the published reference rows and the deltas")
    parser.add_argument("--no-figures", action="store_true", help="write no PNG figures")
    parser.add_argument("--quiet", action="store_true", help="do not print the Markdown (paths only)")
    parser.add_argument("--all-runs", action="store_true",
                        help="also the runs under <root>/demo (`clipfit demo`'s) and those whose backbone is not "
                             "their config's (MODEL.BACKBONE.NAME tiny in OPTS), left out by default")


def run(args) -> int:
    from ..results import build_report

    # A user error reaches the CLI's report_errors: one line, exit 2, like every command.
    report = build_report(args.output_dir, published=not args.no_published, all_runs=args.all_runs)
    paths = report.write(args.out, figures=not args.no_figures)
    if not args.quiet:
        print(report.markdown())
    elif report.left_out:
        print(report.left_out)
    for path in paths.values():
        print(f"wrote {path}")
    return 0
