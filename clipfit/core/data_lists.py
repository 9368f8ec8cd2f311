"""Checks of a dataset's lists that no loader makes by itself (engine-neutral: the datasets and the built-in
engine both call them): the class table, and that no image is in two parts.

A wrong class table does not fail where it is wrong: two class names on one label train a classifier over
the wrong names, a label with no training image shifts every later class or ends in `IndexError: Target 3 is
out of bounds` deep in the loss. An image in both train and test makes the accuracy count images the model
was trained on. Each check returns what is wrong in words (None when nothing is); the caller says where
(which file) and what to do, with its own error type.
"""
from __future__ import annotations

import operator
import os
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping

SHOW = 3  # how many offending classes or images a message names

# (label, class name) of each Datum-like item, read in C: ImageNet's 1.28M training items take a fraction of
# a second, next to the seconds its lists take to load.
label_pairs = operator.attrgetter("label", "classname")


def _names(counts: Counter) -> str:
    return ", ".join(f"{name!r} ({n:,} item{'s' if n != 1 else ''})" for name, n in counts.most_common())


def class_table_problem(parts: Mapping[str, Iterable[tuple[int, str]] | None]) -> str | None:
    """What is wrong with the classes of `parts` ({"train": [(label, class name), ...], "val": ..., "test": ...};
    a part may be None), or None: labels must be 0..n-1 without gaps, each label has one class name, and
    every class has training items (two labels may share a name: ImageNet has two "crane" classes)."""
    names: dict[int, Counter] = defaultdict(Counter)
    per_part: dict[str, Counter] = {}
    for part, items in parts.items():
        counts = Counter()
        for (label, name), n in Counter(items or ()).items():  # one pass in C; the rest is per class
            try:
                index = operator.index(label)  # numpy integers too (caches written by forks)
            except TypeError:
                index = -1
            if index < 0:
                return f"class {name!r} has the label {label!r}; labels must be the integers 0..n-1"
            names[index][name] += n
            counts[index] += n
        per_part[part] = counts
    shared = [label for label in sorted(names) if len(names[label]) > 1]
    if shared:
        listed = "; ".join(f"label {label} is given to {_names(names[label])}" for label in shared[:SHOW])
        more = f" (and {len(shared) - SHOW} more labels)" if len(shared) > SHOW else ""
        return f"{listed}{more}: each class needs a label of its own"
    train = per_part.get("train") or Counter()
    untrained = [label for label in sorted(names) if label not in train]
    if untrained:
        def where(label: int) -> str:
            return ", ".join(f"{per_part[p][label]:,} {p}" for p in per_part if per_part[p][label])

        listed = "; ".join(f"class {label} {next(iter(names[label]))!r} ({where(label)})" for label in untrained[:SHOW])
        more = f" (and {len(untrained) - SHOW} more)" if len(untrained) > SHOW else ""
        return (f"{len(untrained)} class(es) have no training image: {listed}{more}. Every class needs training "
                "images (or remove the class from every part and renumber the labels)")
    if names and max(names) + 1 != len(names):
        gaps = sorted(set(range(max(names) + 1)) - set(names))
        return (f"the labels run from 0 to {max(names)} but no image has the label(s) {gaps[:SHOW * 2]}: labels must "
                "be 0..n-1 without gaps (renumber the classes)")
    return None


def overlap_problem(parts: Mapping[str, Iterable[str] | None]) -> str | None:
    """Which images are in two of `parts` ({"train": [path, ...], ...}), or None. Paths are compared
    normalised (`a/./b.jpg` is `a/b.jpg`)."""
    sets = {part: {os.path.normpath(p) for p in paths} for part, paths in parts.items() if paths is not None}
    found = []
    names = list(sets)
    for i, first in enumerate(names):
        for second in names[i + 1:]:
            both = sets[first] & sets[second]
            if both:
                found.append(f"{len(both):,} in both {first} and {second} (e.g. {sorted(both)[0]})")
    if not found:
        return None
    return (f"images are in two parts: {'; '.join(found)}. The accuracy would count images the model was trained "
            "on (or selected with)")
