"""The registered trainers' names, read from the source of `trainers/` instead of importing it.

Every trainer module imports torch (seconds), while `clipfit --help`, usage errors and argument checks
only need the names. So this module walks the package as `import trainers` would, in the same order
(`trainers/__init__.py`, then each module's imports of sibling modules before its own classes), and
notes every class decorated with `@TRAINER_REGISTRY.register()`: its name, whether it sets RECIPE itself
and its SCRIPT_FOLDER (a string literal), as `clipfit.app.trainers_catalog` reads them off the classes.
tests/cli/test_cli_trainer_names.py proves the two equal, so a new trainer file is covered with no edit here.

When other code registers trainers too (CLIPFIT_PLUGINS, or CLIPFIT_ENGINE=dassl with Dassl's own
trainers), the real registries answer instead: correct first, quick where that is free.
"""
from __future__ import annotations

import ast
import functools
import os
from dataclasses import dataclass

from .plugins import PROJECT_ROOT, plugin_modules

PACKAGE = "trainers"
REGISTRY = "TRAINER_REGISTRY"


@dataclass(frozen=True)
class Declared:
    name: str  # the registered name (the class name)
    recipe: bool  # the class sets RECIPE itself
    script_folder: str | None  # its own SCRIPT_FOLDER


def _is_registration(decorator: ast.expr) -> bool:
    """`@TRAINER_REGISTRY.register()` (or `@x.TRAINER_REGISTRY.register(...)`)."""
    if not isinstance(decorator, ast.Call) or not isinstance(decorator.func, ast.Attribute):
        return False
    owner = decorator.func.value
    owner_name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", None)
    return decorator.func.attr == "register" and owner_name == REGISTRY


def _own_assignments(cls: ast.ClassDef) -> dict[str, ast.expr]:
    """name -> value of the class attributes its body assigns (`X = ...` or `X: T = ...`)."""
    found = {}
    for node in cls.body:
        if isinstance(node, ast.Assign):
            found.update({t.id: node.value for t in node.targets if isinstance(t, ast.Name)})
        elif isinstance(node, ast.AnnAssign) and node.value is not None and isinstance(node.target, ast.Name):
            found[node.target.id] = node.value
    return found


def _declared(cls: ast.ClassDef, path: str) -> Declared:
    own = _own_assignments(cls)
    folder = own.get("SCRIPT_FOLDER")
    if folder is not None:
        try:
            folder = ast.literal_eval(folder)
        except ValueError:
            raise ValueError(f"{path}: {cls.name}.SCRIPT_FOLDER must be a string literal (it is read without "
                             "importing the trainers; see clipfit/app/trainer_names.py)") from None
    return Declared(cls.name, "RECIPE" in own, folder)


def _sibling_imports(node: ast.stmt) -> list[str]:
    """The modules of the package that an import statement at the top of one of its modules loads."""
    if isinstance(node, ast.ImportFrom):
        if node.level == 1:
            return [node.module.split(".")[0]] if node.module else [alias.name for alias in node.names]
        if node.level == 0 and node.module and node.module.split(".")[0] == PACKAGE:
            parts = node.module.split(".")
            return [parts[1]] if len(parts) > 1 else [alias.name for alias in node.names]
    if isinstance(node, ast.Import):
        return [a.name.split(".")[1] for a in node.names if a.name.startswith(PACKAGE + ".")]
    return []


@functools.cache
def declared(package_dir: str = os.path.join(PROJECT_ROOT, PACKAGE)) -> tuple[Declared, ...]:
    """The trainers that `import trainers` registers, in registration order."""
    found: list[Declared] = []
    seen: set[str] = set()

    def visit(module: str) -> None:
        path = os.path.join(package_dir, f"{module}.py")
        if module in seen or not os.path.isfile(path):
            return
        seen.add(module)
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read(), filename=path)
        for node in tree.body:  # top-level code runs in this order on import
            for sibling in _sibling_imports(node):
                visit(sibling)
            if isinstance(node, ast.ClassDef) and any(map(_is_registration, node.decorator_list)):
                found.append(_declared(node, path))

    visit("__init__")
    return tuple(found)


def _others_register() -> bool:
    """Whether code outside trainers/ registers trainers in this process: plugins or a real Dassl."""
    from ..compat import selected_engine  # here: with CLIPFIT_ENGINE=dassl, importing compat loads Dassl

    return bool(plugin_modules()) or selected_engine() == "dassl"


def registered() -> tuple[str, ...]:
    """Every registered trainer name, as `TRAINER_REGISTRY.registered_names()`."""
    if not _others_register():
        return tuple(d.name for d in declared())
    from ..compat import TRAINER_REGISTRY
    from .plugins import import_plugins

    import_plugins()
    return tuple(TRAINER_REGISTRY.registered_names())


def with_recipe() -> tuple[str, ...]:
    """The trainers with a recipe, which the scripts and sweeps run: `trainers_catalog.names()`."""
    if not _others_register():
        return tuple(d.name for d in declared() if d.recipe)
    from .trainers_catalog import names

    return names()


def with_scripts() -> tuple[str, ...]:
    """The trainers with scripts of their own: those of `trainers_catalog.scripted()`."""
    if not _others_register():
        return tuple(d.name for d in declared() if d.recipe and d.script_folder is not None)
    from .trainers_catalog import scripted

    return tuple(facts.name for facts in scripted().values())
