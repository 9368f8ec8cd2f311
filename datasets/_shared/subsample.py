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
    if not selected:
        raise InvalidValue(
            f"DATASET.SUBSAMPLE_CLASSES {subsample} selects no class: the dataset has {len(labels)} class(es), and "
            "base takes the first half rounded up. A base-to-new split needs at least 2 classes (SUBSAMPLE_CLASSES "
            "all uses every class there is)"
        )
    relabeler = {old: new for new, old in enumerate(selected)}
    lists = [
        [make_datum(item.impath, relabeler[item.label], item.classname) for item in items if item.label in relabeler]
        for items in args
    ]
    # CoOp passes (train, test) or (train, val, test): the last list is what the run is tested on
    if len(args) > 1 and args[-1] and not lists[-1]:
        raise InvalidValue(
            f"DATASET.SUBSAMPLE_CLASSES {subsample}: the {subsample} classes (labels {selected[0]}..{selected[-1]}) "
            "have no test image, so there is nothing to test on. Check the split: every class needs test images"
        )
    return lists
