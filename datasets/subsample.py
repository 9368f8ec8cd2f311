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
            f"DATASET.SUBSAMPLE_CLASSES {subsample}: the dataset has {len(labels)} class(es), all of them base, so "
            "there is no new class to test on. A base-to-new split needs at least 2 classes (SUBSAMPLE_CLASSES all "
            "uses the one there is)"
        )
    relabeler = {old: new for new, old in enumerate(selected)}
    lists = [
        [make_datum(item.impath, relabeler[item.label], item.classname) for item in items if item.label in relabeler]
        for items in args
    ]
    # CoOp calls it with (train, test) or (train, val, test)
    names = {2: ("train", "test"), 3: ("train", "val", "test")}.get(
        len(args), [f"list {i + 1}" for i in range(len(args))])
    empty = [name for name, items, given in zip(names, lists, args) if given and not items]
    if empty:
        raise InvalidValue(
            f"DATASET.SUBSAMPLE_CLASSES {subsample}: the {subsample} classes (labels {selected[0]}..{selected[-1]}) "
            f"have no {' / '.join(empty)} image. Check the split: every class needs images in every part"
        )
    return lists
