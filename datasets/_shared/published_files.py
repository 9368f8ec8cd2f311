"""The files a dataset is published as, for `clipfit data prepare`: plain facts, no logic.

A dataset class lists them in `published_files` (beside `split_file_id`); the application downloads,
verifies, extracts and arranges them (clipfit/app/prepare). Checksums are the published ones: where the
provider or a widely used loader library publishes none, `sha256`/`md5` stay None and the file is only
checked by size (when known) and said to be unverified.
"""
from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["PublishedFile", "drive_url"]


def drive_url(file_id: str) -> str:
    return f"https://drive.google.com/uc?id={file_id}"


@dataclass(frozen=True)
class PublishedFile:
    """One published file of a dataset.

    name        the file name (what `--from DIR` looks for, `{name}` of a mirror's URL template)
    url         where the provider publishes it; None for files behind a licence (see `manual`)
    drive_id    set when `url` is a Google Drive file (downloaded with gdown, which handles Drive's pages)
    size        bytes, when published
    sha256, md5 the published checksum(s), hex
    take        {path inside the extracted archive: path in the dataset folder}; a plain (not archive)
                file goes to `take`'s single value, by default `name` in the dataset folder
    inner       an archive inside this archive that holds the files of `take` (Caltech-101's zip)
    unpack      a special unpacking step of the application instead of plain extraction, by name
                ("imagenet_train", "imagenet_val"), or "none" for a file only read by another one's step
    needs       other files of the dataset that `unpack` reads (ImageNet's devkit for the val images)
    native_only only needed without the official split file: a failure to get it is not fatal
    manual      how to get a file that cannot be downloaded for the user (licence), shown when it is missing
    """

    name: str
    url: str | None = None
    drive_id: str | None = None
    size: int | None = None
    sha256: str | None = None
    md5: str | None = None
    take: dict[str, str] = field(default_factory=dict)
    inner: str | None = None
    unpack: str | None = None
    needs: tuple[str, ...] = ()
    native_only: bool = False
    manual: str | None = None

    def __post_init__(self):
        if self.drive_id and not self.url:
            object.__setattr__(self, "url", drive_url(self.drive_id))

    @property
    def is_archive(self) -> bool:
        return self.name.endswith((".zip", ".tar", ".tar.gz", ".tgz"))

    @property
    def destinations(self) -> tuple[str, ...]:
        """The paths in the dataset folder that this file provides (relative to it)."""
        if self.take:
            return tuple(self.take.values())
        return () if self.is_archive or self.unpack == "none" else (self.name,)
