"""Imports the top-level `trainers` and `datasets` packages (and user plugins) so they register once.

`CLIPFIT_PLUGINS=pkg.my_trainer,pkg.my_dataset` imports extra modules that register their own trainers
or datasets into the same registries, without editing this repository.
"""
from __future__ import annotations

import importlib
import os
import sys

from ..errors import UserInputError

PLUGINS_ENV = "CLIPFIT_PLUGINS"
PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class ShadowedPackage(UserInputError, ImportError):
    """`import trainers` (or `datasets`) found another folder than this project's; the message says whose."""


def _shadow_advice(package: str, location: str) -> str:
    """What to do about a foreign `package`: `python -m` and `python script.py` put the current (or the
    script's) folder first on sys.path, so a repository with its own trainers/ wins over ours there; an
    installed package named the same is the other way this happens."""
    parent = os.path.dirname(location)
    first = os.path.abspath(sys.path[0]) if sys.path else None
    if parent in (first, os.getcwd()):
        return (f"The current directory ({parent}) has its own {package}/ folder, which Python imports first "
                "there; run the installed `clipfit` command instead of `python -m clipfit`, or run from "
                "another folder.")
    return f"Another installed package named `{package}` shadows it; uninstall the other package."


def import_project_package(package: str):
    """Import `trainers` or `datasets` from the project checkout (they live next to `clipfit/`)."""
    if PROJECT_ROOT not in sys.path:
        sys.path.insert(0, PROJECT_ROOT)
    module = importlib.import_module(package)
    location = os.path.dirname(os.path.abspath(getattr(module, "__file__", "") or ""))
    if location != os.path.join(PROJECT_ROOT, package):
        raise ShadowedPackage(
            f"`import {package}` resolved to {location}, not to this project's {package}/ folder "
            f"({os.path.join(PROJECT_ROOT, package)}). {_shadow_advice(package, location)}"
        )
    return module


def plugin_modules() -> list[str]:
    """The modules CLIPFIT_PLUGINS names (comma-separated)."""
    return [m.strip() for m in os.environ.get(PLUGINS_ENV, "").split(",") if m.strip()]


def import_plugins(packages: tuple[str, ...] = ("trainers", "datasets")) -> None:
    """Import the project's `trainers` and `datasets` (or only those of `packages`: the datasets need no
    torch, the trainers do), then the modules named in CLIPFIT_PLUGINS."""
    for package in packages:
        import_project_package(package)
    for module_name in plugin_modules():
        try:
            importlib.import_module(module_name)
        except ImportError as e:
            message = f"{PLUGINS_ENV} names {module_name}, which cannot be imported: {e}"
            if _is_the_module_itself(e, module_name):
                raise PluginNotFound(message) from e
            # The plugin was found but failed while importing: its own bug, so it keeps its traceback.
            raise ImportError(message) from e


class PluginNotFound(UserInputError, ImportError):
    """A CLIPFIT_PLUGINS entry names a module (or a package of it) that does not exist: a typo or a PYTHONPATH."""


def _is_the_module_itself(error: ImportError, module_name: str) -> bool:
    missing = getattr(error, "name", None)
    return (isinstance(error, ModuleNotFoundError) and missing is not None
            and (module_name == missing or module_name.startswith(missing + ".")))
