"""The image reader every loader uses (Dassl's `read_image`), with errors that name the file and its dataset."""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from PIL import Image

from ...errors import UserInputError


class ImageUnreadable(UserInputError, OSError):
    """An image file that is missing, unreadable, truncated, not an image or of a kind that cannot be converted
    to RGB faithfully; the message names the file and the dataset."""


# Modes whose conversion to RGB clips every value above 255 (PIL's, hence Dassl's): a 16-bit image comes out
# nearly white. They are refused rather than read wrong; every 8-bit mode (L, P, LA, RGBA, CMYK, 1, ...)
# is converted as Dassl converts it.
_CLIPPED_MODES = {"I": "32-bit integer", "F": "32-bit float"}


def _clipped_kind(mode: str) -> str | None:
    return "16-bit" if mode.startswith("I;16") else _CLIPPED_MODES.get(mode)


def _unreadable(path: str, dataset: str, reason: str, todo: str = "") -> ImageUnreadable:
    of = f" of dataset {dataset}" if dataset else ""
    todo = todo or ("Replace or remove the file (and the split or few-shot cache that lists it); `clipfit data "
                    "check --root <DATA> --images` lists every image that cannot be decoded")
    return ImageUnreadable(f"cannot read the image {path}{of} ({reason}). {todo}")


@contextlib.contextmanager
def open_image(path: str, dataset: str = "") -> Iterator[Image.Image]:
    """`Image.open(path)` for the block; any failure to open or decode it inside the block becomes one
    `ImageUnreadable` that names the file, the dataset (`dataset`, its name) and why."""
    try:
        with Image.open(path) as image:
            yield image
    except ImageUnreadable:
        raise
    except PermissionError as e:
        raise _unreadable(path, dataset, "permission denied", f"Make it readable for this user (e.g. chmod a+r "
                          f"{path}, and a+rx on its folders)") from e
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        if isinstance(e, FileNotFoundError):
            reason = "no such file"
        elif os.path.isfile(path) and os.path.getsize(path) == 0:
            reason = "the file is empty"
        else:
            reason = f"{type(e).__name__}: {e}"
        raise _unreadable(path, dataset, reason) from e


def image_size(path: str, dataset: str = "") -> tuple[int, int]:
    """(width, height) from the image's header (nothing is decoded)."""
    with open_image(path, dataset) as image:
        return image.size


def read_image(path: str, dataset: str = "") -> Image.Image:
    """The RGB image at `path`; `dataset` (its name) only makes the error say where the file belongs."""
    with open_image(path, dataset) as image:
        kind = _clipped_kind(image.mode)
        if kind is not None:
            raise _unreadable(
                path, dataset, f"a {kind} grayscale image (mode {image.mode}): converting it to RGB, as Dassl does, "
                "would clip every value above 255", "Convert it to 8 bits per channel (e.g. ImageMagick's `mogrify "
                "-depth 8 FILE`), or replace it")
        return image.convert("RGB")
