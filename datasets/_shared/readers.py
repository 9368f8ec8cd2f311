"""Reading a dataset's side files safely: split JSONs, annotation text files and Datum cache pickles
(few-shot caches, ImageNet's preprocessed.pkl), with errors that say what to do."""
from __future__ import annotations

import json
import pickle
from collections.abc import Iterator
from typing import Any

from clipfit.compat import Datum

from .datum_pickle import DATUM_PATHS, DatumUnpickler
from .errors import CorruptDatasetFile


def read_json_file(path: str, advice: str) -> Any:
    """The JSON in `path`; `CorruptDatasetFile` ending in `advice` when it is not valid UTF-8 JSON."""
    try:
        with open(path, "rb") as f:
            return json.loads(f.read().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CorruptDatasetFile(f"{path} is not valid JSON ({e}). {advice}") from e


def text_lines(path: str) -> Iterator[tuple[int, str]]:
    """(line number, stripped line) of the non-blank lines of a UTF-8 annotation or list file."""
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if line:
                yield lineno, line


# Globals a few-shot cache or preprocessed.pkl may reference besides Datum (protocol 0/1 objects,
# numpy scalars written by forks). Anything else is refused instead of being imported and run.
_SAFE_GLOBALS = {
    ("copyreg", "_reconstructor"),
    ("builtins", "object"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
}


class _CacheUnpickler(DatumUnpickler):
    def find_class(self, module: str, name: str):
        if (module, name) in DATUM_PATHS or (module, name) in _SAFE_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"it references {module}.{name}, which a Datum cache never holds")


def load_datum_cache(path: str, keys: tuple[str, ...], advice: str) -> dict[str, list]:
    """Read a Dassl/CoOp cache pickle: a dict whose `keys` hold lists of `Datum`.

    A Datum pickled by real Dassl (`dassl.data.datasets.base_dataset.Datum`) or by the engine loads as
    the active Datum class. Anything unreadable or of another shape raises `CorruptDatasetFile`.
    """
    try:
        with open(path, "rb") as f:
            data = _CacheUnpickler(f, Datum).load()
    except FileNotFoundError:
        raise
    except Exception as e:  # pickle raises many types on bad input
        raise CorruptDatasetFile(f"{path} is not a readable cache ({type(e).__name__}: {e}). {advice}") from e
    if not isinstance(data, dict) or any(k not in data for k in keys):
        found = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise CorruptDatasetFile(
            f"{path} is not a cache of this dataset: expected keys {list(keys)}, found {found}. {advice}"
        )
    for key in keys:
        items = data[key]
        if not isinstance(items, list) or not all(isinstance(d, Datum) for d in items):
            raise CorruptDatasetFile(f"{path}: {key!r} is not a list of Datum. {advice}")
    return {key: data[key] for key in keys}
