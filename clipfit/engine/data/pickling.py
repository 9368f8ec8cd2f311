"""Few-shot cache pickles that real Dassl and this engine can both read.

Dassl stores `Datum` as a global reference to `dassl.data.datasets.base_dataset.Datum`. Reading maps
that path (and the engine's own) to the active Datum class, so Dassl's caches load without Dassl.
Writing emits the Dassl path for the engine's Datum, so Dassl can read our caches.
"""
from __future__ import annotations

import io
import pickle
from typing import Any

from ..utils.files import atomic_write
from .base_dataset import DASSL_DATUM_PATH, Datum

_ENGINE_DATUM_PATH = (Datum.__module__, Datum.__qualname__)


class DatumUnpickler(pickle.Unpickler):
    def __init__(self, file, datum_cls: type = Datum):
        super().__init__(file)
        self._datum_cls = datum_cls

    def find_class(self, module: str, name: str):
        if (module, name) in (DASSL_DATUM_PATH, _ENGINE_DATUM_PATH):
            return self._datum_cls
        return super().find_class(module, name)


class _DasslPathPickler(pickle._Pickler):
    """Pure-Python pickler that names the engine's Datum by Dassl's module path.

    The C pickler insists that a class be importable under the path it writes; the Python one lets
    us write the reference without a fake `dassl` module in `sys.modules`.
    """

    def save_global(self, obj, name=None):
        if obj is Datum:
            module, qualname = DASSL_DATUM_PATH
            if self.proto >= 4:
                self.save(module)
                self.save(qualname)
                self.write(pickle.STACK_GLOBAL)
            else:
                self.write(pickle.GLOBAL + f"{module}\n{qualname}\n".encode("utf-8"))
            self.memoize(obj)
            return
        super().save_global(obj, name)


def _short_string(text: str) -> bytes:
    """A protocol-4+ SHORT_BINUNICODE opcode, as the C pickler writes a module name."""
    data = text.encode("utf-8")
    return pickle.SHORT_BINUNICODE + bytes([len(data)]) + data


_ENGINE_MODULE = _short_string(_ENGINE_DATUM_PATH[0])
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


def loads_datums(data: bytes, datum_cls: type = Datum) -> Any:
    return DatumUnpickler(io.BytesIO(data), datum_cls).load()


def load_datum_pickle(fpath: str, datum_cls: type = Datum) -> Any:
    with open(fpath, "rb") as f:
        return DatumUnpickler(f, datum_cls).load()


def save_datum_pickle(obj: Any, fpath: str) -> None:
    """Write atomically: an interrupted run never leaves a truncated cache behind."""
    data = dumps_datums(obj)
    atomic_write(fpath, lambda f: f.write(data))
