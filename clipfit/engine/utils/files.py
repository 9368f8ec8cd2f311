"""File-system, JSON and image helpers with Dassl's names (`write_json` comes from `clipfit.files`)."""
from __future__ import annotations

import errno
import json
import os
import sys
import time
import warnings
from typing import Any

from PIL import Image

from ...errors import UserInputError
from ...files import write_json

__all__ = [
    "mkdir_if_missing", "check_isfile", "listdir_nohidden", "read_image", "tolist_if_not", "read_json", "write_json",
    "download_url",
]


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


class ImageUnreadable(UserInputError, OSError):
    """An image file that is missing, truncated or not an image; the message names the file and the dataset."""


def read_image(path: str, dataset: str = "") -> Image.Image:
    """The RGB image at `path`; `dataset` (its name) only makes the error say where the file belongs."""
    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        of = f" of dataset {dataset}" if dataset else ""
        reason = "no such file" if isinstance(e, FileNotFoundError) else f"{type(e).__name__}: {e}"
        raise ImageUnreadable(
            f"cannot read the image {path}{of} ({reason}). Replace or remove the file (and the split or few-shot "
            "cache that lists it); `clipfit data check --root <DATA> --images` lists every image that cannot be "
            "decoded"
        ) from e


def tolist_if_not(x: Any) -> list:
    return x if isinstance(x, list) else [x]


def read_json(fpath: str) -> Any:
    with open(fpath, encoding="utf-8") as f:
        return json.load(f)


def download_url(url: str, dst: str) -> None:
    """Dassl's download helper: fetch `url` into `dst`, printing the progress on one line."""
    import urllib.request

    print(f'* url="{url}"')
    print(f'* destination="{dst}"')
    start = time.time()

    def progress(count: int, block_size: int, total_size: int) -> None:
        done = count * block_size
        seconds = max(time.time() - start, 1e-6)
        percent = int(done * 100 / total_size) if total_size > 0 else 0
        sys.stdout.write(f"\r...{percent}%, {done // 2**20} MB, {int(done / 1024 / seconds)} KB/s, "
                         f"{int(seconds)} seconds passed")
        sys.stdout.flush()

    urllib.request.urlretrieve(url, dst, progress)
    sys.stdout.write("\n")
