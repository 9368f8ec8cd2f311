"""Preparing one dataset: its published files -> staging folder -> its layout -> the official split file ->
`clipfit data check` of it -> the marker, written last and only when the check says ready.

Each published file is fetched only when a path it provides is absent, so a run after an interruption
does only what is left, and a dataset already laid out by hand costs no download.
"""
from __future__ import annotations

import errno
import json
import os
import shutil
import time
from dataclasses import dataclass, field

from ...errors import UserInputError
from . import MARKER_FILE, STAGING_DIR
from .fetch import FetchFailed, Sources, obtain
from .imagenet import UNPACKERS
from .unpack import EXTRACT_FACTOR, DamagedArchive, disk_full, ensure_space, extract, find_part, move_into

# what the disk, not the data, can make fail: full, read-only, not permitted
_DISK_ERRNOS = {errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM}


@dataclass
class Outcome:
    name: str
    status: str
    images: int | None = None
    size: int | None = None  # bytes extracted, by this run or the one that prepared the dataset
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    split: str = "-"  # the split file column of `clipfit data check` ("absent": the official one is missing)


def published_files(cls) -> tuple:
    return tuple(getattr(cls, "published_files", ()))  # a plugin's dataset may declare none


def needed_files(files: tuple, dataset_dir: str) -> list:
    """The files that provide an absent path, and the files their unpacking reads, in declared order."""
    missing = {f.name for f in files if any(not os.path.exists(os.path.join(dataset_dir, d)) for d in f.destinations)}
    read_by = {n for f in files if f.name in missing for n in f.needs}
    return [f for f in files if f.name in missing | read_by]


def prepare_dataset(cls, root: str, sources: Sources) -> Outcome:
    """Prepare dataset class `cls` under the data root `root`; failures end up in the outcome, not raised."""
    from ..data_check import INCOMPLETE, MISSING, READY, inspect_dataset

    start = time.monotonic()
    outcome = Outcome(cls.__name__, MISSING)
    stage = os.path.join(root, cls.dataset_dir, STAGING_DIR)
    try:
        _prepare(cls, root, sources, outcome)
    except (UserInputError, OSError) as e:
        if isinstance(e, OSError):
            if e.errno not in _DISK_ERRNOS:
                raise
            e = disk_full(e, os.path.join(root, cls.dataset_dir)) if e.errno == errno.ENOSPC else UserInputError(
                f"cannot write {e.filename or os.path.join(root, cls.dataset_dir)} ({e.strerror}): the data root must "
                "be writable (or make the dataset folder a link to a writable one)")
        print(f"  error: {e}")
        outcome.notes.append(str(e).splitlines()[0])
        shutil.rmtree(stage, ignore_errors=True)  # before the check, which would call it an interrupted run
        status = inspect_dataset(cls, root).status if os.path.isdir(os.path.dirname(stage)) else MISSING
        outcome.status = INCOMPLETE if status == READY else status  # a failed run never says ready
    finally:
        shutil.rmtree(stage, ignore_errors=True)
        outcome.seconds = time.monotonic() - start
    return outcome


def _prepare(cls, root: str, sources: Sources, outcome: Outcome) -> None:
    from datasets._shared.errors import docs_ref

    from ..data_check import READY, format_reports, inspect_dataset

    dataset_dir = os.path.join(root, cls.dataset_dir)
    files = published_files(cls)
    if not files:
        raise UserInputError(f"{cls.__name__} lists no published files to prepare it from: lay it out as "
                             f"{docs_ref(cls.anchor())} describes")
    marker = os.path.join(dataset_dir, MARKER_FILE)
    report = inspect_dataset(cls, root)
    if os.path.isfile(marker) and report.status == READY and _split_in_place(cls, dataset_dir):
        print("  already prepared: nothing to do")
        outcome.status, outcome.images, outcome.size = READY, report.images, _read_marker(marker).get("bytes")
        outcome.notes, outcome.split = outcome.notes + report.notes, report.split
        return
    needed = needed_files(files, dataset_dir)
    _require_reachable(cls, needed, sources)
    to_download = [f for f in needed if not sources.given(f) and not os.path.isfile(sources.downloaded(f))]
    ensure_space(dataset_dir, sum(f.size or 0 for f in to_download)
                 + int(EXTRACT_FACTOR * sum(f.size or 0 for f in needed if f.destinations)),
                 f"{cls.__name__} (its archives, and as much again extracted)")
    fetched = {}
    for spec in needed:
        try:
            fetched[spec.name] = obtain(spec, sources)
        except UserInputError as e:
            if not spec.native_only:
                raise
            outcome.notes.append(f"{spec.name} not fetched (only needed without the split file): "
                                 f"{str(e).splitlines()[0]}")
    written = _unpack_all([f for f in needed if f.name in fetched], fetched, dataset_dir)
    _place_split_file(cls, dataset_dir, sources, outcome)
    report = inspect_dataset(cls, root)
    print(format_reports([report]))
    outcome.status, outcome.images, outcome.size = report.status, report.images, written or None
    outcome.notes, outcome.split = outcome.notes + report.notes, report.split
    if report.status == READY:
        _write_marker(marker, cls.__name__, written, fetched, outcome)


def _write_marker(path: str, name: str, written: int, fetched: dict, outcome: Outcome) -> None:
    from ...core.atomic_files import atomic_write

    text = json.dumps({"dataset": name, "bytes": written or None,
                       "files": {file: f.verified for file, f in fetched.items()},
                       "prepared": time.strftime("%Y-%m-%dT%H:%M:%S")}, indent=2)
    try:
        atomic_write(path, lambda f: f.write(text + "\n"), mode="w")
    except OSError as e:  # a ready dataset in a read-only folder: the next run checks it again, that is all
        outcome.notes.append(f"could not write {path} ({e.strerror})")


def _require_reachable(cls, needed: list, sources: Sources) -> None:
    """Stop before any download when files that only the user can download (licence) are not given."""
    absent = [f for f in needed if not sources.given(f) and not sources.url(f)
              and not os.path.isfile(sources.downloaded(f))]
    if not absent:
        return
    where = f" (not found in {sources.from_dir})" if sources.from_dir else ""
    raise FetchFailed(
        f"{cls.__name__}: {', '.join(f.name for f in absent)} cannot be downloaded for you{where}. Get them from "
        f"{absent[0].manual}, put them in one folder and run again with --from <that folder>; they are read "
        "there, never changed or deleted."
    )


def _unpack_all(specs: list, fetched: dict, dataset_dir: str) -> int:
    """Extract every file into the staging folder, then move the declared parts into the layout."""
    stage = os.path.join(dataset_dir, STAGING_DIR)
    shutil.rmtree(stage, ignore_errors=True)  # what an interrupted run left
    os.makedirs(stage)
    written = 0
    for spec in specs:
        try:
            written += _unpack(spec, fetched, os.path.join(stage, spec.name))
            absent = [inside for inside in _parts(spec) if find_part(os.path.join(stage, spec.name), inside) is None]
            if absent:
                raise DamagedArchive(f"{fetched[spec.name].path} has no {', '.join(absent)}: it is not the published "
                                     f"{spec.name}.", fetched[spec.name].path)
        except DamagedArchive as e:
            damaged = e.path or fetched[spec.name].path
            if not any(f.downloaded and f.path == damaged for f in fetched.values()):
                raise
            os.remove(damaged)  # else the next run would take it again
            raise DamagedArchive(f"{e} It was deleted: run the command again to download it again.", damaged) from e
    for spec in specs:
        for inside, dest in _parts(spec).items():
            move_into(find_part(os.path.join(stage, spec.name), inside), os.path.join(dataset_dir, dest))
    shutil.rmtree(stage)
    return written


def _parts(spec) -> dict[str, str]:
    """{path in the file's staging folder: path in the dataset folder}; a plain file is its own part."""
    if not spec.destinations:
        return {}
    return spec.take or {spec.name: spec.name}


def _unpack(spec, fetched: dict, stage: str) -> int:
    path = fetched[spec.name].path
    if spec.unpack == "none":
        return 0
    ensure_space(os.path.dirname(stage), int(EXTRACT_FACTOR * os.path.getsize(path)), f"extracting {spec.name}")
    if not (spec.unpack or spec.is_archive):  # a plain file: copied (the downloads may serve several datasets)
        os.makedirs(stage)
        shutil.copyfile(path, os.path.join(stage, spec.name))
        return os.path.getsize(path)
    print(f"  {spec.name}: extracting")
    if spec.unpack:
        return UNPACKERS[spec.unpack](path, stage, {name: f.path for name, f in fetched.items()})
    written = extract(path, stage, f"Extracting {spec.name}")
    if spec.inner:
        inner = find_part(stage, spec.inner)
        if inner is None:
            raise DamagedArchive(f"{path} has no {spec.inner}: it is not the published {spec.name}.", path)
        written = extract(inner, stage + ".inner", f"Extracting {os.path.basename(spec.inner)}")
        shutil.rmtree(stage)
        os.rename(stage + ".inner", stage)
    return written


def _split_in_place(cls, dataset_dir: str) -> bool:
    from datasets._shared.storage import DatasetFiles

    return not cls.split_file or DatasetFiles(dataset_dir).find(cls.split_file) is not None


def _place_split_file(cls, dataset_dir: str, sources: Sources, outcome: Outcome) -> None:
    """The official split file: from --from DIR when it is there, else downloaded (as `data check
    --download-splits` does); a failure is a note, as the loader can still make a (random) split."""
    if _split_in_place(cls, dataset_dir) or not cls.split_file_id:
        return
    from datasets._shared.readers import read_json_file
    from datasets._shared.split_files import parse_split

    from ...core.atomic_files import atomic_write
    from ..data_download import DownloadFailed, download_split

    dest = os.path.join(dataset_dir, cls.split_file)
    given = os.path.join(sources.from_dir, cls.split_file) if sources.from_dir else None
    if given and os.path.isfile(given):
        parse_split(read_json_file(given, f"Replace {given} with the official file."), given)
        with open(given, "rb") as f:
            data = f.read()
        atomic_write(dest, lambda out: out.write(data))
        print(f"  {cls.split_file}: taken from {sources.from_dir}")
        return
    try:
        download_split(cls.split_file, dest, sources.url_template)
        print(f"  {cls.split_file}: downloaded")
    except (DownloadFailed, OSError) as e:
        outcome.notes.append(f"{cls.split_file} not downloaded ({str(e).splitlines()[0]}); `clipfit data check "
                             "--download-splits` fetches it later")


def _read_marker(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}
