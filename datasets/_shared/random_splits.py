"""Random splits, made only when a dataset's official split file is absent.

Python's `round` (half to even) and the order of `random.shuffle` calls are part of the result.
"""
from __future__ import annotations

import os
import random
from collections import defaultdict
from collections.abc import Iterable

from .errors import CorruptDatasetFile
from .listing import list_names, make_datum


def split_trainval(trainval: list, p_val: float = 0.2) -> tuple[list, list]:
    """Per label (first-appearance order): shuffle the indices, the first round(n*p_val) go to val."""
    p_trn = 1 - p_val
    print(f"Splitting trainval into {p_trn:.0%} train and {p_val:.0%} val")
    by_label = defaultdict(list)
    for idx, item in enumerate(trainval):
        by_label[item.label].append(idx)
    train, val = [], []
    for label, idxs in by_label.items():
        n_val = round(len(idxs) * p_val)
        if n_val <= 0:
            raise CorruptDatasetFile(
                f"class {label} has {len(idxs)} trainval images; a {p_val:.0%} val split needs at least 3 per class"
            )
        random.shuffle(idxs)
        for n, idx in enumerate(idxs):
            (val if n < n_val else train).append(trainval[idx])
    return train, val


def split_by_ratio(
    groups: Iterable[tuple[int, str, list[str]]], p_trn: float = 0.5, p_val: float = 0.2
) -> tuple[list, list, list]:
    """Shuffle each `(label, classname, impaths)` group in turn and cut it into train/val/test.

    `n_train = round(n*p_trn)`, `n_val = round(n*p_val)`, the rest is test; each must be > 0.
    """
    train, val, test = [], [], []
    for label, classname, impaths in groups:
        random.shuffle(impaths)
        n_total = len(impaths)
        n_train = round(n_total * p_trn)
        n_val = round(n_total * p_val)
        if n_train <= 0 or n_val <= 0 or n_total - n_train - n_val <= 0:
            raise CorruptDatasetFile(
                f"class {classname!r} has {n_total} images; a {p_trn:.0%}/{p_val:.0%} split needs at least 4 per class"
            )
        for impath in impaths[:n_train]:
            train.append(make_datum(impath, label, classname))
        for impath in impaths[n_train : n_train + n_val]:
            val.append(make_datum(impath, label, classname))
        for impath in impaths[n_train + n_val :]:
            test.append(make_datum(impath, label, classname))
    return train, val, test


def read_and_split_data(
    image_dir: str, p_trn: float = 0.5, p_val: float = 0.2, ignored: Iterable[str] = (), new_cnames: dict | None = None
) -> tuple[list, list, list]:
    """One folder per class under `image_dir`: labels by sorted folder name (uppercase first), files in
    file-system order, then `split_by_ratio`. `new_cnames` renames classes after labelling."""
    ignored = set(ignored)
    categories = sorted(c for c in list_names(image_dir, "dirs") if c not in ignored)
    p_tst = 1 - p_trn - p_val
    print(f"Splitting into {p_trn:.0%} train, {p_val:.0%} val, and {p_tst:.0%} test")
    new_cnames = new_cnames or {}

    def groups():
        for label, category in enumerate(categories):
            category_dir = os.path.join(image_dir, category)
            impaths = [os.path.join(category_dir, name) for name in list_names(category_dir, "files")]
            yield label, new_cnames.get(category, category), impaths

    return split_by_ratio(groups(), p_trn, p_val)
