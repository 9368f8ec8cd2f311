"""File-system, JSON and image helpers with Dassl's names, plus atomic writes."""
from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
import warnings
from typing import IO, Any, Callable, Iterator

from PIL import Image


def mkdir_if_missing(dirname: str) -> None:
    if not os.path.exists(dirname):
        try:
            os.makedirs(dirname)
        except OSError as e:
            if e.errno != errno.EEXIST:
                raise


def check_isfile(fpath: str) -> bool:
    isfile = os.path.isfile(fpath)
    if not isfile:
        warnings.warn(f'No file found at "{fpath}"')
    return isfile


def listdir_nohidden(path: str, sort: bool = False) -> list[str]:
    items = [f for f in os.listdir(path) if not f.startswith(".")]
    if sort:
        items.sort()
    return items


def read_image(path: str) -> Image.Image:
    return Image.open(path).convert("RGB")


def tolist_if_not(x: Any) -> list:
    return x if isinstance(x, list) else [x]


@contextlib.contextmanager
def atomic_open(fpath: str, mode: str = "wb") -> Iterator[IO]:
    """Open a temporary sibling of `fpath` and move it into place only when the block succeeds.

    A crash or exception never leaves a truncated file under the final name.
    """
    directory = os.path.dirname(os.path.abspath(fpath))
    mkdir_if_missing(directory)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(fpath)}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, fpath)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise


def atomic_write(fpath: str, write: Callable[[IO], None], mode: str = "wb") -> None:
    with atomic_open(fpath, mode) as f:
        write(f)


def read_json(fpath: str) -> Any:
    with open(fpath, "r", encoding="utf-8") as f:
        return json.load(f)


def write_json(obj: Any, fpath: str) -> None:
    """Dassl's JSON layout (indent 4), written atomically."""
    atomic_write(fpath, lambda f: json.dump(obj, f, indent=4, separators=(",", ": ")), mode="w")
