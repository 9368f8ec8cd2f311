"""The banner printed when a run uses a random split instead of CoOp's official split file."""
from __future__ import annotations

from .errors import docs_ref


def _banner(lines: list[str]) -> None:
    rule = "*" * 100
    print("\n".join([rule, *(f"* {line}" for line in lines), rule]))


def not_comparable_notice(
    name: str, split_file: str, dataset_dir: str, anchor: str, generated: str | None = None
) -> None:
    """Printed on every run without the official split: `generated` is the random split file in use, if any."""
    if generated:
        first = f"{name}: {generated} is a RANDOM split made by this project, not CoOp's official {split_file}."
    else:
        first = f"{name}: the official split file {split_file} is not in {dataset_dir}; making a RANDOM split."
    _banner(
        [
            first,
            "Results with it are NOT comparable with published numbers (the split depends on the seed and",
            "the directory listing order). Get the official file as described in "
            f"{docs_ref(anchor)},",
            "e.g. `clipfit data check --root <DATA> --download-splits`, "
            "and delete split_fewshot/ made with this split.",
        ]
    )
