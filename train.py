"""CoOp-compatible entry point: `python train.py --root DATA --trainer CLIPFit ...` (see --help)."""
import sys

from clipfit.app.commands.train import build_parser, run

if __name__ == "__main__":
    sys.exit(run(build_parser().parse_args()))
