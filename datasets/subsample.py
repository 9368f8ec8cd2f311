"""Base-to-new class subsampling (DATASET.SUBSAMPLE_CLASSES): the first or last half of the labels."""
from __future__ import annotations

import math

from clipfit.errors import InvalidValue

from .listing import make_datum

SUBSAMPLE_CHOICES = ("all", "base", "new")


def subsample_classes(*args: list, subsample: str = "all") -> list:
    """Keep the first (base) or last (new) half of the sorted labels of the FIRST list, relabelled 0..m-1.

    With an odd class count base gets the extra class (37 -> 19/18). Returns a list of lists.
    """
    if subsample not in SUBSAMPLE_CHOICES:
        raise InvalidValue(f"DATASET.SUBSAMPLE_CLASSES must be one of {list(SUBSAMPLE_CHOICES)}, got {subsample!r}")
    if subsample == "all":
        return args
    labels = sorted({item.label for item in args[0]})
    m = math.ceil(len(labels) / 2)
    print(f"SUBSAMPLE {subsample.upper()} CLASSES!")
    selected = labels[:m] if subsample == "base" else labels[m:]
    relabeler = {old: new for new, old in enumerate(selected)}
    return [
        [make_datum(item.impath, relabeler[item.label], item.classname) for item in items if item.label in relabeler]
        for items in args
    ]
