"""Few-shot cache pickles that real Dassl and the built-in engine can both read (engine-neutral).

Dassl stores `Datum` as a global reference to `dassl.data.datasets.base_dataset.Datum`. Reading maps
that path (and the built-in engine's own) to the active Datum class, so Dassl's caches load without
Dassl. Writing emits the Dassl path for the engine's Datum, so Dassl can read our caches; a real Dassl
Datum already carries that path. Nothing here imports an engine: the classes are named by their paths.
"""
from __future__ import annotations

import io
import pickle
from typing import Any

from clipfit.core.atomic_files import atomic_write

DASSL_DATUM_PATH = ("dassl.data.datasets.base_dataset", "Datum")
ENGINE_DATUM_PATH = ("clipfit.engine.data.base_dataset", "Datum")  # the built-in engine's Datum
DATUM_PATHS = (DASSL_DATUM_PATH, ENGINE_DATUM_PATH)


def _path(cls: type) -> tuple[str, str]:
    return cls.__module__, cls.__qualname__


class DatumUnpickler(pickle.Unpickler):
    """Loads either engine's Datum references as `datum_cls`."""

    def __init__(self, file, datum_cls: type):
        super().__init__(file)
        self._datum_cls = datum_cls

    def find_class(self, module: str, name: str):
        if (module, name) in DATUM_PATHS:
            return self._datum_cls
        return super().find_class(module, name)


class _DasslPathPickler(pickle._Pickler):
    """Pure-Python pickler that names the engine's Datum by Dassl's module path.

    The C pickler insists that a class be importable under the path it writes; the Python one lets
    us write the reference without a fake `dassl` module in `sys.modules`.
    """

    def save_global(self, obj, name=None):
        if isinstance(obj, type) and _path(obj) == ENGINE_DATUM_PATH:
            module, qualname = DASSL_DATUM_PATH
            if self.proto >= 4:
                self.save(module)
                self.save(qualname)
                self.write(pickle.STACK_GLOBAL)
            else:
                self.write(pickle.GLOBAL + f"{module}\n{qualname}\n".encode())
            self.memoize(obj)
            return
        super().save_global(obj, name)


def _short_string(text: str) -> bytes:
    """A protocol-4+ SHORT_BINUNICODE opcode, as the C pickler writes a module name."""
    data = text.encode("utf-8")
    return pickle.SHORT_BINUNICODE + bytes([len(data)]) + data


_ENGINE_MODULE = _short_string(ENGINE_DATUM_PATH[0])
_DASSL_MODULE = _short_string(DASSL_DATUM_PATH[0])


def dumps_datums(obj: Any) -> bytes:
    """Pickle with Dassl's class path for Datum.

    The two module paths have the same length, so the fast C pickler's output is patched in place
    (frame lengths stay valid; the class reference is written once and memoised). Otherwise the
    pure-Python pickler writes the path directly, about 20x slower (ImageNet's 1.3M items).
    """
    if len(_ENGINE_MODULE) == len(_DASSL_MODULE):
        data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
        if data.count(_ENGINE_MODULE) <= 1:
            return data.replace(_ENGINE_MODULE, _DASSL_MODULE)
    buffer = io.BytesIO()
    _DasslPathPickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    return buffer.getvalue()


def save_datum_pickle(obj: Any, fpath: str) -> None:
    """Write atomically: an interrupted run never leaves a truncated cache behind."""
    data = dumps_datums(obj)
    atomic_write(fpath, lambda f: f.write(data))
