"""`clipfit data ...`: prepare the benchmark datasets under a data root from their published files, inspect
them, and fetch the official split files."""
from __future__ import annotations

import argparse
import os
import sys

NAME = "data"
HELP = "Prepare the benchmark datasets under a data root from their published files, and check them"


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


    _add_prepare(sub)


def _add_prepare(sub) -> None:
    prepare = sub.add_parser(
        "prepare",
        help="download, verify, extract and lay out datasets, with their official split files",
        description=(
            "For each dataset: get its published files (from --from DIR, else from the official URLs or the mirror "
            "of --url-template; downloads resume after an interruption), verify their size and checksum where "
            "these are published, extract them and arrange them as the loader reads them, add the official split "
            "file, and check the result as `clipfit data check` does. Running it again skips what is ready. "
            "ImageNet must be downloaded by you under its licence: give its files with --from (DATASETS.md#imagenet)."
        ),
    )
    prepare.add_argument("--root", required=True, help="data root, one folder per dataset is made in it")
    prepare.add_argument("--datasets", nargs="+", metavar="NAMES",
                         help="datasets by registered name or config stem, comma- or space-separated "
                              "(caltech101,dtd or Caltech101 DescribableTextures); default: all 15")
    prepare.add_argument("--from", dest="from_dir", metavar="DIR",
                         help="a folder holding files you downloaded (by their published names): used instead of "
                              "downloading, read in place and never changed")
    prepare.add_argument("--url-template", metavar="T",
                         help="download every file from a mirror instead: T with {name}, the file name, e.g. "
                              "https://my.mirror/clip-datasets/{name}")
    prepare.add_argument("--keep-archives", action="store_true",
                         help="keep the downloaded archives (in <root>/.clipfit-downloads/) once a dataset is ready")
    prepare.add_argument("--no-verify", dest="verify", action="store_false",
                         help="do not check sizes and checksums (only for files you trust that differ from the "
                              "published ones)")


def run(args: argparse.Namespace) -> int:
    command = getattr(args, "data_command", None)
    if command == "prepare":
        return prepare(args.root, args.datasets, args.from_dir, args.url_template, args.keep_archives, args.verify)
    if command != "check":
        args._data_parser.print_help()
        return 2
    return check(args.root, args.datasets, args.download_splits, args.images)


def prepare(root: str, datasets: list[str] | None, from_dir: str | None = None, url_template: str | None = None,
            keep_archives: bool = False, verify: bool = True) -> int:
    """Prepare, print the table; exit status 1 unless every dataset is ready with its official split file
    (user errors raise, exit 2)."""
    from ..prepare.run import all_done, format_outcomes, parse_names, summary
    from ..prepare.run import prepare as prepare_datasets

    outcomes = prepare_datasets(root, parse_names(datasets), from_dir, url_template, keep_archives, verify)
    print(format_outcomes(outcomes))
    print()
    print(summary(outcomes, os.path.abspath(os.path.expanduser(root))))
    return 0 if all_done(outcomes) else 1


def check(root: str, names: list[str] | None = None, download_splits: bool = False, images: bool = False) -> int:
    """Print the table; exit status 1 when a requested dataset, or one whose folder exists, is not ready,
    when no dataset folder is there at all (a wrong --root), or when a download failed."""
    from ...core.user_paths import folder_problem
    from ...errors import UserInputError
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
