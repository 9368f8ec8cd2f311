"""The absolute image paths stored in a cache, checked against (or re-pointed to) this run's data root."""
from __future__ import annotations

import os

from .errors import StaleCache, name_paths
from .listing import check_images_exist, find_missing, make_datum


def _sample(items: list, limit: int = 2000) -> list:
    # An even sample: enough to tell a moved root from a broken one without checking 1.28M files.
    step = max(1, len(items) // limit)
    return items[::step]


def _old_dataset_dir(impath: str, dataset_dir: str) -> str | None:
    """The dataset folder `impath` was made under, found by trying where the same relative path exists
    under the current folder; None when it does not exist anywhere there."""
    marker = os.sep + os.path.basename(dataset_dir) + os.sep
    end = len(impath)
    while True:
        i = impath.rfind(marker, 0, end)
        if i < 0:
            return None
        old = impath[: i + len(marker) - 1]
        if os.path.isfile(os.path.join(dataset_dir, impath[len(old) + 1 :])):
            return old
        end = i


def resolve_cached_paths(
    lists: dict[str, list], dataset_dir: str, cache: str, check_files: bool = True
) -> dict[str, list]:
    """Check that the absolute paths stored in a cache lead to the images of this run's dataset folder.

    - Paths under `dataset_dir`: with `check_files`, the files must exist, else `MissingImages`.
      Without it they are trusted, as CoOp trusts `preprocessed.pkl` (1.28M paths).
    - Paths under another folder of the same name (the data root was moved or is mounted elsewhere):
      when the same relative paths exist under `dataset_dir` (all checked, or an even sample without
      `check_files`), the items are re-pointed **in memory** with a notice; the file itself is never
      rewritten, so it stays byte-compatible with Dassl. Otherwise `StaleCache` says to delete it.
    """
    items = [d for key in lists for d in lists[key]]
    if not items:
        return lists
    prefix = dataset_dir.rstrip(os.sep) + os.sep
    outside = next((d.impath for d in items if not d.impath.startswith(prefix)), None)
    if outside is None:
        if check_files:
            check_images_exist(
                [d.impath for d in items],
                cache,
                f"Restore the images, or delete {cache} to re-create it from the current files.",
            )
        return lists
    old_dir = _old_dataset_dir(outside, dataset_dir)
    stale = (
        f"The cache {cache} stores absolute image paths made under another data root, e.g.\n  {outside}\n"
        f"but this run reads the dataset from\n  {dataset_dir}\n"
    )
    fix = (
        f"Delete {cache}: it is re-created on the next run, with the same images when the split file and "
        "seed are the same. Or set DATASET.ROOT back to the old location."
    )
    if old_dir is None:
        raise StaleCache(stale + f"and the same images are not found there. {fix}")
    old_prefix = old_dir + os.sep
    if any(not d.impath.startswith(old_prefix) for d in items):
        raise StaleCache(stale + f"and its paths do not share one root. {fix}")
    rebased = {
        key: [make_datum(prefix + d.impath[len(old_prefix) :], d.label, d.classname, d.domain) for d in lists[key]]
        for key in lists
    }
    new_items = [d for key in rebased for d in rebased[key]]
    missing = find_missing(d.impath for d in (new_items if check_files else _sample(new_items)))
    if missing:
        raise StaleCache(
            stale
            + f"and {len(missing):,} of its images are missing under the new root, e.g.:\n{name_paths(missing)}\n{fix}"
        )
    print(
        f"Note: {cache} was made under {old_dir}; using the same images under {dataset_dir} "
        "(paths re-pointed in memory, the file is unchanged; delete it to re-create it with the new paths)"
    )
    return rebased
