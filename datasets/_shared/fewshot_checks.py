"""What a dataset's lists must satisfy before a run uses them: the full lists (class table), the lists made
from annotations (no image in two parts), and a few-shot cache against the current split."""
from __future__ import annotations

from clipfit.core.data_lists import class_table_problem, label_pairs, overlap_problem

from .errors import CorruptDatasetFile, docs_ref


def check_lists(dataset, source: str, train: list, val: list | None, test: list, disjoint: bool = False) -> None:
    """`CorruptDatasetFile` when the Datum lists `dataset` read from `source` have a wrong class table or
    (with `disjoint`) an image in two parts."""
    parts = {"train": train, "val": val, "test": test}
    problem = disjoint and overlap_problem({k: [d.impath for d in v] for k, v in parts.items() if v is not None})
    problem = problem or class_table_problem({k: map(label_pairs, v) for k, v in parts.items() if v is not None})
    if problem:
        raise CorruptDatasetFile(
            f"{type(dataset).__name__}: {source}: {problem}. Check the dataset's files as "
            f"{docs_ref(dataset.anchor())} describes, and delete the split file or preprocessed.pkl made from them"
        )


def check_fewshot_cache(cached: dict, current: dict, test: list, cache: str) -> None:
    """A few-shot cache (`cached`: its "train" / "val" lists) against the current split (`current`, and
    `test`). Refused: images of the test split (a model trained on them is tested on them), items whose
    label or class name differ from the split's, a class table that is wrong with the test split. A cache
    sampled from another split file but otherwise sound is only warned about."""
    delete = (f"Delete {cache}: it is sampled again from the current split on the next run (the same split "
              "file and seed give the same images).")
    tested = {d.impath for d in test}
    for key, items in cached.items():
        leaked = [d.impath for d in items if d.impath in tested]
        if leaked:
            raise CorruptDatasetFile(
                f"{cache} holds {len(leaked):,} image(s) of the current TEST split in its {key} list (e.g. "
                f"{leaked[0]}): a model trained on them would be tested on them. It does not belong to the current "
                f"split file. {delete}"
            )
    for key, items in cached.items():
        split = {d.impath: (d.label, d.classname) for d in current.get(key) or ()}
        relabelled = [(d, split[d.impath]) for d in items if d.impath in split and split[d.impath] !=
                      (d.label, d.classname)]
        if relabelled:
            d, (label, name) = relabelled[0]
            raise CorruptDatasetFile(
                f"{cache}: {len(relabelled):,} of its {key} items have another label or class name than in the "
                f"current split (e.g. {d.impath}: {d.label} {d.classname!r} in the cache, {label} {name!r} in the "
                f"split). {delete}"
            )
    problem = class_table_problem({**{k: map(label_pairs, v) for k, v in cached.items()},
                                   "test": map(label_pairs, test)})
    if problem:
        raise CorruptDatasetFile(f"{cache}, with the current test split: {problem}. {delete}")
    for key, items in cached.items():
        pool = {d.impath for d in current.get(key) or ()}
        foreign = sum(d.impath not in pool for d in items)
        if foreign:
            print(
                f"WARNING: {foreign} of the {len(items)} {key} items in {cache} are not in the current {key} "
                "split: the cache was sampled from another split file. Delete it to sample from the current one."
            )
