"""Fetching the official `split_zhou_*.json` files published by the CoOp authors on Google Drive.

Each file is downloaded into memory, checked to be a split file (JSON with train/val/test lists of
`[path, label, classname]`), and only then written, atomically: a failed or invalid download leaves
no file behind. The URL is built from a template, `https://drive.google.com/uc?id={id}` by default;
`$CLIPFIT_SPLITS_URL` or the `url_template` argument replaces it (it may use `{id}` and `{name}`, the
file name), e.g. to use a mirror. The Google Drive ids are facts of the dataset classes (`split_file_id`).
"""
from __future__ import annotations

import inspect
import io
import json
import os
from dataclasses import dataclass

from ..errors import UserInputError

URL_ENV = "CLIPFIT_SPLITS_URL"
DEFAULT_URL_TEMPLATE = "https://drive.google.com/uc?id={id}"


@dataclass
class DownloadResult:
    dataset: str
    path: str
    ok: bool
    message: str


class DownloadFailed(RuntimeError):
    pass


def split_file_ids() -> dict[str, str]:
    """{split file name: Google Drive id} of every registered dataset that has a published split file."""
    from .data_check import dataset_classes

    return {cls.split_file: cls.split_file_id for cls in dataset_classes().values()
            if cls.split_file and cls.split_file_id}


def split_url(split_file: str, url_template: str | None = None) -> str:
    ids = split_file_ids()
    if split_file not in ids:
        raise UserInputError(f"{split_file} is not a published split file; the known ones: {', '.join(ids)}")
    template = url_template or os.environ.get(URL_ENV) or DEFAULT_URL_TEMPLATE
    return template.format(id=ids[split_file], name=split_file)


def gdown_options(quiet: bool = True, timeout: float = 60.0, **wanted) -> dict:
    """Keyword arguments for `gdown.download`, leaving out those the installed gdown does not take."""
    import gdown

    params = inspect.signature(gdown.download).parameters
    options = {"quiet": quiet}
    # gdown 6 has no `fuzzy` (URLs are taken as given); older versions default it to False anyway.
    if "fuzzy" in params:
        options["fuzzy"] = False
    if "use_cookies" in params:
        options["use_cookies"] = False  # do not write ~/.cache/gdown/cookies.txt
    if "timeout" in params:
        options["timeout"] = timeout
    options.update((key, value) for key, value in wanted.items() if key in params)
    return options


def _fetch(url: str, quiet: bool = True, timeout: float = 60.0) -> bytes:
    """The body at `url`, through gdown (which handles Google Drive's confirmation pages)."""
    import gdown

    options = gdown_options(quiet, timeout)
    buffer = io.BytesIO()
    try:
        gdown.download(url, output=buffer, **options)
    except Exception as e:  # network, HTTP status, Drive quota pages: all reported the same way
        raise DownloadFailed(f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else e!r}") from e
    return buffer.getvalue()


def download_split(split_file: str, dest: str, url_template: str | None = None, quiet: bool = True) -> None:
    """Download one split file to `dest`; raise `DownloadFailed` (and write nothing) unless it is valid."""
    from datasets._shared.errors import DatasetError
    from datasets._shared.split_files import parse_split

    from ..core.atomic_files import atomic_write

    url = split_url(split_file, url_template)
    data = _fetch(url, quiet=quiet)
    try:
        parse_split(json.loads(data.decode("utf-8")), url)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        head = data[:60].decode("utf-8", "replace").strip().replace("\n", " ")
        raise DownloadFailed(
            f"{url} did not return a JSON file ({e}; it starts with {head!r}). Google Drive may be limiting "
            "downloads: retry later or download the file by hand (DATASETS.md)."
        ) from e
    except DatasetError as e:
        raise DownloadFailed(str(e)) from e
    atomic_write(dest, lambda f: f.write(data))


def download_missing_splits(
    root: str, names: list[str] | None = None, url_template: str | None = None, quiet: bool = True
) -> list[DownloadResult]:
    """Fetch the official split file of every dataset of `names` (default: the benchmark datasets) under
    `root` whose folder exists and lacks it."""
    from .data_check import selected_datasets

    classes = selected_datasets(names)  # (this imports the project's `datasets` from its checkout)
    from datasets._shared.errors import docs_ref
    from datasets._shared.storage import DatasetFiles

    results = []
    for name, cls in classes.items():
        if not cls.split_file or not cls.split_file_id:
            continue
        dataset_dir = os.path.join(root, cls.dataset_dir)
        dest = os.path.join(dataset_dir, cls.split_file)
        if not os.path.isdir(dataset_dir):
            results.append(
                DownloadResult(
                    name, dest, False,
                    f"skipped: {cls.dataset_dir}/ not found, get the dataset first ({docs_ref(cls.anchor())})",
                )
            )
            continue
        if os.path.exists(dest):
            if DatasetFiles.is_generated(dest):
                results.append(
                    DownloadResult(
                        name, dest, False,
                        "skipped: a random split made here is in place; "
                        "delete it and split_fewshot/ to fetch the official one",
                    )
                )
            continue
        try:
            download_split(cls.split_file, dest, url_template, quiet)
            results.append(DownloadResult(name, dest, True, "downloaded"))
        except (DownloadFailed, OSError) as e:
            results.append(DownloadResult(name, dest, False, f"failed: {e}"))
    return results
