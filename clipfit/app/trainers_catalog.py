"""The benchmark methods the application knows, derived from the registered trainer classes.

A trainer class states its facts itself (`clipfit.core.recipes`): `RECIPE` (config folder, config file per
setting, options, folder variant, env knobs), `SCRIPT_FOLDER` (its scripts/<folder>/) and `ZERO_SHOT` (it
only evaluates). The scripts, `clipfit scripts`, `clipfit sweep` and `clipfit demo` take their tables from
here, so a trainer registered from a plugin module (CLIPFIT_PLUGINS) shows up everywhere with no other edit.

RECIPE and SCRIPT_FOLDER count only where a class sets them itself: a subclass is another method (or an
alias, such as ClipFit for CLIPFit) and does not silently take over its parent's published recipe or
scripts. ZERO_SHOT is behaviour and is inherited.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..core.recipes import Recipe
from ..errors import UserInputError
from .plugins import import_plugins


@dataclass(frozen=True)
class TrainerFacts:
    name: str  # the registered name (TRAINER.NAME)
    recipe: Recipe
    script_folder: str | None  # scripts/<folder>/, None: no scripts of its own
    zero_shot: bool
    cls: type


def _facts(name: str, cls: type) -> TrainerFacts | None:
    recipe = vars(cls).get("RECIPE")
    if not isinstance(recipe, Recipe):
        return None
    return TrainerFacts(name, recipe, vars(cls).get("SCRIPT_FOLDER"), bool(getattr(cls, "ZERO_SHOT", False)), cls)


def catalog() -> dict[str, TrainerFacts]:
    """name -> facts of every registered trainer class that carries a recipe, in registration order."""
    import_plugins()
    from ..compat import TRAINER_REGISTRY

    found = {}
    for name in TRAINER_REGISTRY.registered_names():
        facts = _facts(name, TRAINER_REGISTRY.get(name))
        if facts is not None:
            found[name] = facts
    return found


def names() -> tuple[str, ...]:
    """The trainers with a recipe: what the scripts and sweeps run."""
    return tuple(catalog())


def facts(name: str) -> TrainerFacts | None:
    """The facts of `name`, or None when it is not registered or has no recipe."""
    return catalog().get(name)


def recipe_for(name: str, cfg_override: str = "") -> Recipe:
    """The trainer's recipe; a trainer without one runs only with a config file named in CFG, from
    configs/trainers/<name>/, and no extra options."""
    found = facts(name)
    if found is not None:
        return found.recipe
    if not cfg_override:
        raise UserInputError(
            f"no built-in recipe for trainer {name!r} (known: {sorted(catalog())}); "
            f"set CFG to a config file stem under configs/trainers/{name}/"
        )
    return Recipe(name)


def is_zero_shot(name: str) -> bool:
    found = facts(name)
    return found is not None and found.zero_shot


def scripted() -> dict[str, TrainerFacts]:
    """script folder -> the trainer its scripts run, for every trainer with a SCRIPT_FOLDER."""
    folders: dict[str, TrainerFacts] = {}
    for found in catalog().values():
        if found.script_folder is None:
            continue
        if found.script_folder in folders:
            raise UserInputError(
                f"trainers {folders[found.script_folder].name} and {found.name} both claim "
                f"scripts/{found.script_folder}/; give one of them another SCRIPT_FOLDER"
            )
        folders[found.script_folder] = found
    return folders


def script_for(name: str, protocol: str) -> str | None:
    """scripts/<folder>/<protocol>.sh of the trainer, or None when it has no scripts of its own."""
    found = facts(name)
    if found is None or found.script_folder is None:
        return None
    return f"scripts/{found.script_folder}/{protocol}.sh"
