"""Dassl's file-system and JSON helpers (`dassl.utils.tools`); `check_isfile` and `write_json` are the atomic
ones of `clipfit.core.atomic_files`, the image reader is in `images.py`."""
from __future__ import annotations

import errno
import json
import os
import sys
import time
from typing import Any

from ...core.atomic_files import check_isfile, write_json

__all__ = [
    "mkdir_if_missing", "check_isfile", "listdir_nohidden", "tolist_if_not", "read_json", "write_json", "download_url",
]


def mkdir_if_missing(dirname: str) -> None:
    if not os.path.exists(dirname):
        try:
            os.makedirs(dirname)
        except OSError as e:
            if e.errno != errno.EEXIST:
                raise


def listdir_nohidden(path: str, sort: bool = False) -> list[str]:
    items = [f for f in os.listdir(path) if not f.startswith(".")]
    if sort:
        items.sort()
    return items


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
