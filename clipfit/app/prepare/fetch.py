"""Getting one published file onto the disk and verifying it before anything reads it.

A download is written to `<name>.part` (HTTP, resumed with a Range request after a cut connection, in
this run or the next) or `<name>.drive` (Google Drive through gdown, which resumes its own partial file),
and gets its final name only once its size and checksum match the published ones. So a file under its
final name in the downloads folder has been verified; a file the user gave with `--from` is verified in
place and never changed.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from ...errors import UserInputError

CHUNK = 1 << 20
RETRIES = 5
#: seconds to wait before retry n is n times this (tests set 0)
BACKOFF_S = 2.0
TIMEOUT_S = 60.0
# HTTP statuses that retrying will not change
_FINAL_HTTP = {400, 401, 403, 404, 410, 451}


class FetchFailed(UserInputError):
    """A file could not be downloaded; the message says from where, why, and what to do."""


class ChecksumMismatch(UserInputError):
    """A file's size or checksum is not the published one."""


@dataclass
class Fetched:
    path: str
    verified: str  # what was checked: "sha256", "md5", "size", "nothing" (none published), "unchecked"
    downloaded: bool  # whether it lies in the downloads folder (and may be deleted once used)


def human_size(n: int | None) -> str:
    if n is None:
        return "-"
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1000
    return f"{n:,.1f} TB"


def _bar(desc: str, total: int | None, initial: int = 0):
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, desc=desc, unit="B", unit_scale=True, unit_divisor=1024,
                file=sys.stderr, dynamic_ncols=True, leave=False, disable=None)


def digests(path: str, algorithms: tuple[str, ...], desc: str) -> dict[str, str]:
    """Hex digests of `path` for `algorithms`, in one read (with a progress bar: archives reach 140 GB)."""
    hashers = {name: hashlib.new(name, usedforsecurity=False) for name in algorithms}  # (MD5 on FIPS systems)
    with open(path, "rb") as f, _bar(desc, os.path.getsize(path)) as bar:
        while block := f.read(CHUNK):
            for hasher in hashers.values():
                hasher.update(block)
            bar.update(len(block))
    return {name: hasher.hexdigest() for name, hasher in hashers.items()}


def verify(path: str, spec, advice: str) -> str:
    """Check `path` against the published size and checksums of `spec` (a PublishedFile); return what was
    checked. `advice` says what to do about a mismatch (it depends on where the file came from)."""
    size = os.path.getsize(path)
    if spec.size is not None and size != spec.size:
        raise ChecksumMismatch(
            f"{spec.name}: {path} has {size:,} bytes, the published file {spec.size:,}: it is incomplete or "
            f"another file. {advice}"
        )
    expected = {name: value.lower() for name, value in (("sha256", spec.sha256), ("md5", spec.md5)) if value}
    if not expected:
        return "size" if spec.size is not None else "nothing"
    found = digests(path, tuple(expected), f"Verifying {spec.name}")
    for name, value in expected.items():
        if found[name] != value:
            raise ChecksumMismatch(
                f"{spec.name}: wrong {name.upper()} checksum of {path}:\n  expected {value}\n  found    {found[name]}\n"
                f"The file is damaged or not the published one. {advice}"
            )
    return "+".join(expected)


def http_download(url: str, part: str, name: str, size: int | None = None) -> None:
    """Download `url` into `part`, continuing what `part` already holds (HTTP Range); retry cut transfers."""
    attempt = 0
    while True:
        have = os.path.getsize(part) if os.path.exists(part) else 0
        if size is not None and have >= size:
            if have == size:
                return
            os.remove(part)  # longer than the published file: not a prefix of it
            have = 0
        try:
            _transfer(url, part, name, have, size)
            return
        except urllib.error.HTTPError as e:
            if e.code == 416 and have:  # nothing left to send: `part` is complete (verification decides)
                return
            if e.code in _FINAL_HTTP:
                raise FetchFailed(f"{name}: {url} answered HTTP {e.code} {e.reason}. {_MIRROR_HINT}") from e
            error = f"HTTP {e.code} {e.reason}"
        except http.client.IncompleteRead as e:
            error = f"the connection closed {e.expected:,} bytes before the end" if e.expected else "connection closed"
        except (ConnectionError, TimeoutError, urllib.error.URLError, http.client.HTTPException) as e:
            error = f"{type(e).__name__}: {getattr(e, 'reason', None) or e}"
        attempt += 1
        kept = os.path.getsize(part) if os.path.exists(part) else 0
        if attempt > RETRIES:
            raise FetchFailed(
                f"{name}: downloading {url} failed {attempt} times ({error}). The {kept:,} bytes received are kept "
                f"in {part}: run the command again to continue. {_MIRROR_HINT}"
            )
        print(f"  {name}: transfer interrupted ({error}) at {kept:,} bytes; resuming ({attempt}/{RETRIES})")
        time.sleep(BACKOFF_S * attempt)


_MIRROR_HINT = ("If the official link is down, use a mirror of the same files (--url-template) or download the file "
                "yourself into a folder given with --from (DATASETS.md names each file).")


def _transfer(url: str, part: str, name: str, have: int, size: int | None) -> None:
    headers = {"User-Agent": "clipfit-data-prepare"}
    if have:
        headers["Range"] = f"bytes={have}-"
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=TIMEOUT_S) as response:
        status = getattr(response, "status", None) or 200
        if have and status != 206:  # the server ignores ranges: start over
            have = 0
        elif have and not (response.headers.get("Content-Range") or "").startswith(f"bytes {have}-"):
            os.remove(part)  # a range other than the one asked for: start over on the retry
            raise http.client.HTTPException(f"the server sent {response.headers.get('Content-Range')!r}, "
                                            f"not bytes {have}-")
        length = response.headers.get("Content-Length")
        expected_end = have + int(length) if length is not None else size
        with open(part, "ab" if have else "wb") as f, _bar(f"Downloading {name}", expected_end, have) as bar:
            while chunk := response.read(CHUNK):
                f.write(chunk)
                bar.update(len(chunk))
    got = os.path.getsize(part)
    if length is not None and got < expected_end:
        raise http.client.IncompleteRead(b"", expected_end - got)


def drive_download(url: str, out: str) -> None:
    """Download a Google Drive file with gdown into `out` (gdown resumes its own partial file)."""
    import gdown

    from ..data_download import gdown_options

    try:
        gdown.download(url, output=out, **gdown_options(quiet=False, timeout=TIMEOUT_S, resume=True))
    except Exception as e:  # network, HTTP status, Drive quota pages: all reported the same way
        text = str(e).strip().splitlines()[0] if str(e).strip() else repr(e)
        raise FetchFailed(
            f"{os.path.basename(out)[:-len('.drive')]}: Google Drive download of {url} failed ({type(e).__name__}: "
            f"{text}). Drive limits downloads of popular files: run again later (what was received is kept). "
            f"{_MIRROR_HINT}"
        ) from e
    if not os.path.isfile(out):
        raise FetchFailed(f"Google Drive returned no file for {url}. {_MIRROR_HINT}")


@dataclass
class Sources:
    """Where published files come from: `from_dir` (the user's downloads), else `downloads` (ours), else the
    network (the published URL, or `url_template` with `{name}`, the file name, and `{id}`, its Drive id)."""

    downloads: str
    from_dir: str | None = None
    url_template: str | None = None
    verify: bool = True

    def url(self, spec) -> str | None:
        if self.url_template:
            return self.url_template.format(name=spec.name, id=spec.drive_id or "")
        return spec.url

    def downloaded(self, spec) -> str:
        """Where the verified download of `spec` is (or goes)."""
        return os.path.join(self.downloads, spec.name)

    def given(self, spec) -> str | None:
        """The user's copy of `spec` in --from DIR, if there is one."""
        path = os.path.join(self.from_dir, spec.name) if self.from_dir else None
        return path if path and os.path.isfile(path) else None


_CHECKED = {
    "nothing": "not verified: no size or checksum is published for it",
    "size": "size checked; not hash-verified: no checksum is published for it",
    "unchecked": "not verified (--no-verify)",
}


def _check(path: str, spec, sources: Sources, advice: str) -> str:
    checked = verify(path, spec, advice) if sources.verify else "unchecked"
    print(f"  {spec.name}: {_CHECKED.get(checked) or checked.upper().replace('+', ' and ') + ' verified'}")
    return checked


def obtain(spec, sources: Sources) -> Fetched:
    """The verified local copy of the published file `spec`, downloading it when needed."""
    given = sources.given(spec)
    if given:
        advice = f"Replace {given} with the published file (DATASETS.md says where to get it) and run again."
        return Fetched(given, _check(given, spec, sources, advice), downloaded=False)
    final = sources.downloaded(spec)
    if os.path.isfile(final):  # downloaded by an earlier run that stopped later: verified again before use
        try:
            return Fetched(final, _check(final, spec, sources, ""), downloaded=True)
        except ChecksumMismatch as e:
            print(f"  {str(e).splitlines()[0]}; downloading it again")
            os.remove(final)
    url = sources.url(spec)
    if url is None:
        raise FetchFailed(f"{spec.name} cannot be downloaded for you: get it from {spec.manual} and give its folder "
                          "with --from")
    os.makedirs(sources.downloads, exist_ok=True)
    drive = bool(spec.drive_id) and not sources.url_template
    tmp = final + (".drive" if drive else ".part")
    print(f"  {spec.name}: downloading {human_size(spec.size) + ' ' if spec.size else ''}from {url}")
    if drive:
        drive_download(url, tmp)
    else:
        http_download(url, tmp, spec.name, spec.size)
    advice = ("It was deleted: run the command again to download it again. If that fails the same way, the file "
              "published there is not the one clipfit knows: check it on the dataset's page, and pass --no-verify "
              "only for a file you trust.")
    try:
        checked = _check(tmp, spec, sources, advice)
    except ChecksumMismatch:
        os.remove(tmp)
        raise
    os.replace(tmp, final)
    return Fetched(final, checked, downloaded=True)
