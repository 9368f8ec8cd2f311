"""The dataset errors, each saying which file and what to do, and where DATASETS.md explains a dataset."""
from __future__ import annotations

from clipfit.errors import UserInputError

DOCS_FILE = "DATASETS.md"
#: how many offending paths an error message names
SHOW_PATHS = 5


def docs_ref(anchor: str) -> str:
    """Where in the repository's DATASETS.md the layout and the download of a dataset are explained."""
    return f"{DOCS_FILE}#{anchor}"


class DatasetError(UserInputError):
    """Base class of the dataset errors below; the message always says which file and what to do."""


class DatasetNotFound(DatasetError, FileNotFoundError):
    """A dataset folder or one of the files its layout needs is absent."""


class MissingImages(DatasetError, FileNotFoundError):
    """Images listed in a split file or a cache are absent from the disk."""


class StaleCache(DatasetError, FileNotFoundError):
    """A cache stores absolute image paths that no longer lead to the images (the data root moved)."""


class UnreadableFolder(DatasetError, PermissionError):
    """A folder of the dataset cannot be listed (permissions): its images would look missing."""

    @classmethod
    def of(cls, folder: str) -> UnreadableFolder:
        return cls(
            f"cannot list the folder {folder}: permission denied (it, or a folder above it, is not readable by this "
            f"user). Make it readable, e.g. `chmod -R a+rX {folder}`"
        )


class CorruptDatasetFile(DatasetError, ValueError):
    """A split JSON, annotation file or pickle cannot be read or does not have the expected content."""


def name_paths(paths: list[str]) -> str:
    """The first SHOW_PATHS of `paths`, one a line, and how many more there are."""
    shown = "\n".join(f"  {p}" for p in paths[:SHOW_PATHS])
    more = len(paths) - SHOW_PATHS
    return shown + (f"\n  ... and {more} more" if more > 0 else "")
