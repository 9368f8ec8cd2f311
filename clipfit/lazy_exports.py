"""A package whose public names are imported from their modules on first use (PEP 562).

A package `__init__` that imports all its modules makes `import package.light_module` pay for the heavy
ones too (Python runs the package's `__init__` first). The engine's registries and dataset base classes,
and the sweep's grid, need no torch; `clipfit --help`, `clipfit data check` and `clipfit report` read
them, so those packages export their names this way:

    __getattr__, __dir__, __all__ = lazy_exports(__name__, {"registry": ("Registry", ...), ...})
"""
from __future__ import annotations

import importlib
import sys
from collections.abc import Callable


def lazy_exports(package: str, modules: dict[str, tuple[str, ...]]) -> tuple[Callable, Callable, list[str]]:
    """The package's `__getattr__`, `__dir__` and `__all__`; `modules`: submodule (relative) -> its names."""
    source = {name: module for module, names in modules.items() for name in names}

    def __getattr__(name: str):
        if name not in source:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{source[name]}"), name)
        setattr(sys.modules[package], name, value)  # the next lookup is a plain attribute
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *source})

    return __getattr__, __dir__, sorted(source)
