"""Name -> object registries with Dassl's behaviour and error messages."""
from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from typing import Any

from ..errors import UserInputError


def get_most_similar_str_to_a_from_b(a: str, b: Iterable[str]) -> str:
    """The candidate of `b` closest to `a`; on ties the later one wins (Dassl compares with >=)."""
    best, best_score = "", 0.0
    for candidate in b:
        score = difflib.SequenceMatcher(None, a, candidate).ratio()
        if score >= best_score:
            best, best_score = candidate, score
    return best


class UnknownName(UserInputError, ValueError):
    """A registry has no entry of the requested name."""


def check_availability(requested: str, available: list[str]) -> None:
    if requested not in available:
        closest = get_most_similar_str_to_a_from_b(requested, available)
        raise ValueError(
            f"The requested one is expected to belong to {available}, "
            f"but got [{requested}] (do you mean [{closest}]?)"
        )


class Registry:
    """Maps a class or function name to the object; `register` works as a decorator."""

    def __init__(self, name: str):
        self._name = name
        self._obj_map: dict[str, Any] = {}

    def _do_register(self, name: str, obj: Any, force: bool = False) -> None:
        if name in self._obj_map and not force:
            raise KeyError(f'An object named "{name}" was already registered in "{self._name}" registry')
        self._obj_map[name] = obj

    def register(self, obj: Any = None, force: bool = False) -> Callable | None:
        if obj is None:

            def wrapper(fn_or_class):
                self._do_register(fn_or_class.__name__, fn_or_class, force=force)
                return fn_or_class

            return wrapper
        self._do_register(obj.__name__, obj, force=force)
        return None

    def get(self, name: str) -> Any:
        if name not in self._obj_map:
            raise KeyError(f'Object name "{name}" does not exist in "{self._name}" registry')
        return self._obj_map[name]

    def registered_names(self) -> list[str]:
        return list(self._obj_map.keys())

    def __contains__(self, name: str) -> bool:
        return name in self._obj_map


TRAINER_REGISTRY = Registry("TRAINER")
DATASET_REGISTRY = Registry("DATASET")
EVALUATOR_REGISTRY = Registry("EVALUATOR")


def build_from_registry(registry: Registry, name: str, kind: str, verbose: bool, *args, **kwargs) -> Any:
    """Dassl's builder pattern: check the name, say what is loaded, instantiate."""
    return _build(registry, name, f"Loading {kind}", kind, verbose, *args, **kwargs)


def build_module(registry: Registry, name: str, title: str, verbose: bool, **kwargs) -> Any:
    """The same for Dassl's model parts, which print `<Title>: <name>` (e.g. `Backbone: resnet18`)."""
    return _build(registry, name, title, title.lower(), verbose, **kwargs)


def _build(registry: Registry, name: str, title: str, kind: str, verbose: bool, *args, **kwargs) -> Any:
    try:
        check_availability(name, registry.registered_names())
    except ValueError as e:
        raise UnknownName(
            f"unknown {kind} {name!r}: {e}. A plugin's classes register when its module is imported "
            "(CLIPFIT_PLUGINS=your.module)"
        ) from None
    if verbose:
        print(f"{title}: {name}")
    return registry.get(name)(*args, **kwargs)
