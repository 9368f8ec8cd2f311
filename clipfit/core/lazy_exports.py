"""Public names of a module imported from where they live on first use (PEP 562 `__getattr__`).

A package `__init__` that imports all its modules makes `import package.light_module` pay for the heavy
ones too (Python runs the package's `__init__` first). The engine's registries and dataset base classes,
and the sweep's grid, need no torch; `clipfit --help`, `clipfit data check` and `clipfit report` read
them, so `clipfit.engine`, `clipfit.compat` and `clipfit.app.sweep` export their names this way:

    __getattr__, __dir__, __all__ = lazy_exports(__name__, {".registry": ("Registry", ...), ...})
"""
from __future__ import annotations

import importlib
import sys
from collections.abc import Callable


def lazy_exports(module: str, sources: dict[str, tuple[str, ...]]) -> tuple[Callable, Callable, list[str]]:
    """The `__getattr__`, `__dir__` and `__all__` of `module`; `sources`: a module relative to `module`'s
    package (".registry" in a package's `__init__`, ".engine" in clipfit/compat.py) -> the names it holds."""
    source = {name: origin for origin, names in sources.items() for name in names}

    def __getattr__(name: str):
        if name not in source:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        this = sys.modules[module]
        value = getattr(importlib.import_module(source[name], this.__package__), name)
        setattr(this, name, value)  # the next lookup is a plain attribute
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[module]), *source})

    return __getattr__, __dir__, sorted(source)
