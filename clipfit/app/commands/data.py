"""`clipfit data ...`: inspect the benchmark datasets under a data root and fetch the official split files."""
from __future__ import annotations

import argparse
import os
import sys

NAME = "data"
HELP = "Check the benchmark datasets under a data root (and fetch the official split files)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults(_data_parser=parser)
    sub = parser.add_subparsers(dest="data_command", metavar="<subcommand>")
    check = sub.add_parser(
        "check",
        help="list which datasets are ready, what is missing and where to get it",
        description=(
            "Inspect every dataset folder under a data root (the DATASET.ROOT of the configs) and print a table: "
            "ready / missing (which files) / incomplete (images listed but absent), the number of images, and "
            "whether the official split file is present. Nothing is decoded unless --images is given, so it is "
            "quick. Missing parts point "
            "to the section of DATASETS.md that explains how to get them."
        ),
    )
    check.add_argument("--root", required=True,
                       help="data root holding one folder per dataset (oxford_pets/, imagenet/, ...)")
    check.add_argument("--datasets", nargs="+", metavar="NAME",
                       help="datasets to check, by registered name (OxfordPets) or config stem (oxford_pets); "
                            "default: the 15 of the benchmarks")
    check.add_argument("--images", action="store_true",
                       help="also decode every image and list those that cannot be read (slow on full datasets)")
    check.add_argument(
        "--download-splits",
        action="store_true",
        help=(
            "first download the missing official split_zhou_*.json files from the CoOp authors' Google Drive "
            "(for datasets whose folder exists); $CLIPFIT_SPLITS_URL overrides the URL template"
        ),
    )


def run(args: argparse.Namespace) -> int:
    if getattr(args, "data_command", None) != "check":
        args._data_parser.print_help()
        return 2
    return check(args.root, args.datasets, args.download_splits, args.images)


def check(root: str, names: list[str] | None = None, download_splits: bool = False, images: bool = False) -> int:
    """Print the table; exit status 1 when a requested dataset, or one whose folder exists, is not ready,
    when no dataset folder is there at all (a wrong --root), or when a download failed."""
    from ...errors import UserInputError
    from ...user_paths import folder_problem
    from ..data_check import READY, check_root, format_reports, nothing_found, selected_datasets, summary_line

    problem = folder_problem(root, "--root")
    if problem:
        print(f"error: {problem} (see DATASETS.md for the layout)", file=sys.stderr)
        return 2
    root = os.path.abspath(os.path.expanduser(root))
    try:
        names = list(selected_datasets(names)) if names else None  # config stems -> registered names
    except UserInputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    failed = False
    if download_splits:
        from ..data_download import download_missing_splits

        results = download_missing_splits(root, names)
        for result in results:
            print(f"{result.dataset}: {result.message} ({result.path})")
            failed |= not result.ok and result.message.startswith("failed")
        if not results:
            print("No split file to download.")
        print()
    reports = check_root(root, names, images)
    print(format_reports(reports))
    print()
    print(summary_line(reports, root, download_failed=failed))
    hint = nothing_found(reports, root)
    if hint:
        print(f"error: {hint}", file=sys.stderr)
        return 1
    not_ready = [r for r in reports if r.status != READY and (names or not r.folder_absent)]
    return 1 if failed or not_ready else 0
