"""Every method's benchmark in one run, as JSON lines with a "method" key: CoOp, CoCoOp and CLIPFit
training steps on the same shapes and CoCoOp's evaluation (bench_baselines.py), then the cached
evaluation that CLIPFit, CoOp and the zero-shot trainers share: one image pass and one matmul
(bench_clipfit_step.py --cases eval).

    python benchmarks/run_all.py --device cuda --prec fp16
    python benchmarks/run_all.py --quick --device cpu
"""
from __future__ import annotations

import contextlib
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _timing  # noqa: E402
import bench_baselines  # noqa: E402
import bench_clipfit_step  # noqa: E402


def main(argv: Sequence[str] | None = None) -> list[dict]:
    parser = _timing.new_parser(__doc__)
    parser.add_argument("--prec", default="fp16", help="comma-separated precision modes")
    _timing.add_compile_arg(parser, "off", " (the training steps)")
    _timing.add_share_prefix_arg(parser)
    parser.add_argument("--quick", action="store_true", help="small shapes, 1 iteration: CPU smoke run")
    args = parser.parse_args(argv)
    common = ["--device", args.device, "--backbone", args.backbone, "--share-prefix", args.share_prefix]
    common += ["--quick"] if args.quick else []
    records = bench_baselines.main([*common, "--prec", args.prec, "--compile", args.compile])
    with contextlib.redirect_stdout(sys.stderr):  # its own unlabelled lines; printed below with the method
        cached = bench_clipfit_step.main([*common, "--modes", args.prec, "--compile", "off", "--cases", "eval"])
    for record in cached:
        _timing.emit({"method": "clipfit/coop/zsclip", **record}, records)
    return records


if __name__ == "__main__":
    main()
