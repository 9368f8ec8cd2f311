"""ImageNet-style layouts: `classnames.txt` (`<wnid> <class name>`) and one image folder per class."""
from __future__ import annotations

import os
import sys
from collections import OrderedDict
from collections.abc import Callable

from clipfit.compat import Datum

from .errors import CorruptDatasetFile, docs_ref
from .listing import list_names, make_datum
from .readers import text_lines


def read_classnames(text_file: str) -> OrderedDict:
    """`classnames.txt`: `<wnid> <class name words...>` per line, in file order."""
    classnames = OrderedDict()
    for _, line in text_lines(text_file):
        wnid, *words = line.split(" ")
        classnames[wnid] = " ".join(words)
    return classnames


def _progress(items: list, desc: str):
    """A progress bar on stderr where a listing takes seconds (hundreds of class folders)."""
    if len(items) < 100:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=desc, unit="class", file=sys.stderr, leave=False, dynamic_ncols=True)


def read_class_folders(image_dir: str, folders: list[str], classname_of: Callable[[int, str], str]) -> list[Datum]:
    """Items of `image_dir/<folder>/<file>`; label = index in `folders`, files in file-system order.

    One `scandir` per folder, file types from the directory entries: no per-file stat.
    """
    items = []
    for label, folder in enumerate(_progress(folders, f"Listing {image_dir}")):
        class_dir = os.path.join(image_dir, folder)
        classname = classname_of(label, folder)
        prefix = class_dir + os.sep
        items.extend(make_datum(prefix + name, label, classname) for name in list_names(class_dir, "files"))
    return items


def classname_lookup(text_file: str, anchor: str) -> Callable[[int, str], str]:
    """`classname_of` for `read_class_folders`: the name `text_file` (classnames.txt) gives each wnid folder."""
    classnames = read_classnames(text_file)

    def lookup(label: int, folder: str) -> str:
        try:
            return classnames[folder]
        except KeyError:
            raise CorruptDatasetFile(
                f"the image folder {folder!r} has no line in {text_file}; use the 1000-line classnames.txt "
                f"of CoOp ({docs_ref(anchor)})"
            ) from None

    return lookup
