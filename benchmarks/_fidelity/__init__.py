"""The fidelity benchmark's method adapters: every module of this package that defines `ADAPTER` (an
`_adapter.Adapter`) adds its method; modules starting with `_` are the shared machinery."""
from __future__ import annotations

import importlib
import pkgutil

from ._adapter import Adapter


def adapters() -> dict[str, Adapter]:
    """Method name -> adapter, from the modules of this package."""
    found = {}
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            adapter = getattr(importlib.import_module(f"{__name__}.{info.name}"), "ADAPTER", None)
            if isinstance(adapter, Adapter):
                found[adapter.method] = adapter
    return found
