"""CoOp's split files `split_zhou_<Name>.json`: {"train"|"val"|"test": [[relpath, label, classname], ...]},
read, validated and written as Dassl does."""
from __future__ import annotations

import os

from clipfit.core.atomic_files import atomic_write, dump_json_text
from clipfit.core.data_lists import class_table_problem, overlap_problem

from .errors import DOCS_FILE, CorruptDatasetFile, docs_ref
from .listing import check_images_exist, make_datum
from .readers import read_json_file

SPLIT_KEYS = ("train", "val", "test")


def _split_advice(anchor: str | None) -> str:
    where = f" ({docs_ref(anchor)})" if anchor else ""
    return (
        f"Delete it and put the official file in its place{where}, e.g. with "
        "`clipfit data check --root <DATA> --download-splits`; without the file a random split is made."
    )


def parse_split(data, source: str, advice: str = "") -> dict[str, list[tuple[str, int, str]]]:
    """Validate the content of a split JSON: {"train"|"val"|"test": [[relpath, label, classname], ...]}, no image
    in two parts, and a valid class table (`clipfit.core.data_lists`)."""
    if not isinstance(data, dict) or any(not isinstance(data.get(k), list) for k in SPLIT_KEYS):
        raise CorruptDatasetFile(
            f"{source} is not a split file: it must be a JSON object with lists 'train', 'val' and 'test'. {advice}"
        )
    splits = {}
    for key in SPLIT_KEYS:
        items = []
        for i, entry in enumerate(data[key]):
            if not (
                isinstance(entry, list) and len(entry) == 3 and isinstance(entry[0], str) and isinstance(entry[2], str)
            ):
                raise CorruptDatasetFile(
                    f"{source}: item {i} of {key!r} is {entry!r}, not [path, label, classname]. {advice}"
                )
            try:
                label = int(entry[1])
            except (TypeError, ValueError):
                raise CorruptDatasetFile(
                    f"{source}: item {i} of {key!r} has label {entry[1]!r}, not an integer. {advice}"
                ) from None
            items.append((entry[0], label, entry[2]))
        splits[key] = items
    if all(splits.values()):  # an empty part is said by the callers, with what made it empty
        problem = overlap_problem({k: [rel for rel, _, _ in splits[k]] for k in SPLIT_KEYS}) or class_table_problem(
            {k: [(label, cname) for _, label, cname in splits[k]] for k in SPLIT_KEYS})
        if problem:
            raise CorruptDatasetFile(f"{source}: {problem}. {advice}".rstrip())
    return splits


def empty_parts(**parts: list | None) -> list[str]:
    """The names of the parts (train / val / test) that hold no item; a part given as None is not checked."""
    return [name for name, items in parts.items() if items is not None and not items]


def read_split(filepath: str, path_prefix: str, anchor: str | None = None) -> tuple[list, list, list]:
    """Read a split JSON: `[relative path, label, classname]` items joined to `path_prefix`, in file order.

    All images are checked in one pass (folder listings), then Datums are built without per-file
    checks. Missing images raise one `MissingImages` that counts and names them.
    """
    print(f"Reading split from {filepath}")
    advice = _split_advice(anchor)
    splits = parse_split(read_json_file(filepath, advice), filepath, advice)
    empty = empty_parts(**splits)
    if empty:
        raise CorruptDatasetFile(
            f"{filepath} lists no images in {', '.join(map(repr, empty))}: a split made while the image folder was "
            f"empty. Delete it; with the images in place the next run makes a new one. {advice}"
        )
    joined = {
        key: [(os.path.join(path_prefix, rel), label, cname) for rel, label, cname in splits[key]] for key in SPLIT_KEYS
    }
    check_images_exist(
        [impath for key in SPLIT_KEYS for impath, _, _ in joined[key]],
        filepath,
        f"They are looked up under {path_prefix}. Check that the images are extracted as "
        f"{docs_ref(anchor) if anchor else DOCS_FILE} describes, and that the split file belongs to this dataset.",
    )
    return tuple([make_datum(impath, label, cname) for impath, label, cname in joined[key]] for key in SPLIT_KEYS)


def split_to_json(train: list, val: list, test: list, path_prefix: str) -> dict:
    """CoOp's serialisation: every occurrence of `path_prefix` removed from the path, one leading '/' cut."""

    def convert(items):
        out = []
        for item in items:
            impath = item.impath.replace(path_prefix, "")
            if impath.startswith("/"):
                impath = impath[1:]
            out.append((impath, item.label, item.classname))
        return out

    return {"train": convert(train), "val": convert(val), "test": convert(test)}


def save_split(train: list, val: list, test: list, filepath: str, path_prefix: str) -> None:
    """Write a split JSON atomically in Dassl's layout and print `Saved split to <path>`."""
    write_split_text(dump_json_text(split_to_json(train, val, test, path_prefix)), filepath)


def write_split_text(text: str, filepath: str) -> None:
    """Write an already serialised split atomically and print `Saved split to <path>`."""
    atomic_write(filepath, lambda f: f.write(text), mode="w")
    print(f"Saved split to {filepath}")
