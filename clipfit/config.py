"""The project's config tree: the engine's (Dassl's) defaults plus the nodes the registered classes add.

Public: plugin authors call `get_cfg()` (and the hints beside it) from their own entry points.

Each trainer or dataset class that reads keys of its own declares them in a classmethod `extend_cfg(cfg)`
that calls `super().extend_cfg(cfg)` first (CLIPFit: TRAINER.CLIPFIT, CoOp: TRAINER.COOP, the CLIP trainer base:
MODEL.BACKBONE.WEIGHTS/TAG, the dataset base: DATASET.SUBSAMPLE_CLASSES). `get_cfg()` applies every one
found on the registered classes, so a plugin's keys join the tree with no edit here. This module reads the
registries only: whoever calls `get_cfg()` imports the plugins first (`clipfit.app.plugins.import_plugins`,
or `import trainers, datasets`), as train.py does.
"""
from __future__ import annotations

import difflib
from collections.abc import Callable

from yacs.config import CfgNode as CN

from .compat import DATASET_REGISTRY, TRAINER_REGISTRY, get_cfg_default


def config_extenders() -> list[type]:
    """The registered trainer, then dataset classes whose `extend_cfg` applies, one per function.

    As Dassl's users expect, each `extend_cfg` adds its own node after `super().extend_cfg(cfg)` (the base
    classes' keys: ClipTrainer's MODEL.BACKBONE.WEIGHTS, CoOpDataset's DATASET.SUBSAMPLE_CLASSES), so one call
    per registered class builds its whole tree; classes sharing the function (an alias that inherits it)
    are called once. A base class runs once per registered subclass (an extend_cfg only sets defaults), and
    bases run before their subclasses: a subclass that adds keys to its base's node keeps them, provided the
    base keeps a node that is already there when a sibling's chain runs it again (CoOp's TRAINER.COOP).
    Classes without one (Dassl's own trainers, the engine's toy ones) are skipped."""
    chosen = []
    for registry in (TRAINER_REGISTRY, DATASET_REGISTRY):
        found: dict[Callable, type] = {}
        for name in registry.registered_names():
            obj = registry.get(name)
            attr = getattr(obj, "extend_cfg", None)
            if attr is not None:
                found.setdefault(getattr(attr, "__func__", attr), obj)
        chosen += sorted(found.values(), key=lambda klass: len(getattr(klass, "__mro__", ())))  # stable: bases first
    return chosen


def get_cfg() -> CN:
    """Engine defaults + the `extend_cfg` of every registered trainer and dataset class that has one."""
    extenders = config_extenders()
    if not extenders:
        raise RuntimeError(
            "clipfit.config.get_cfg(): no registered trainer or dataset class adds config keys, so the tree would "
            "lack TRAINER.CLIPFIT, TRAINER.COOP, DATASET.SUBSAMPLE_CLASSES, ...; import the plugins first "
            "(clipfit.app.plugins.import_plugins(), or `import trainers, datasets`), or use "
            "clipfit.compat.get_cfg_default() for the engine's defaults alone"
        )
    cfg = get_cfg_default()
    for klass in extenders:
        klass.extend_cfg(cfg)
    return cfg


def missing_node_hint(cfg: CN, key: str, is_node: bool = False) -> str:
    """Advice for a key the tree lacks: when its node (e.g. TRAINER.MYMETHOD) is absent altogether, the class
    that adds it is probably not registered; '' when the node exists (then the key is misspelled).
    `is_node`: `key` is itself a node (yacs names the top missing key of a merged file)."""
    parts = key.split(".")
    node = cfg
    for depth, part in enumerate(parts if is_node else parts[:-1]):
        if not isinstance(node, CN) or part not in node:
            missing = ".".join(parts[: depth + 1])
            return (f"; no registered class adds {missing}: is the module of its trainer or dataset imported "
                    "(CLIPFIT_PLUGINS=your.module)?")
        node = node[part]
    close = [] if is_node or not isinstance(node, CN) else difflib.get_close_matches(parts[-1], list(node), n=3)
    if close:
        prefix = ".".join(parts[:-1])
        return f"; did you mean {' or '.join(f'{prefix}.{c}' if prefix else c for c in close)}?"
    return ""


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def floats_for_ints_in_opts(cfg: CN, opts: list[str]) -> list[str]:
    """`KEY VALUE` pairs with an integer VALUE for a float key written as a float (`LAMBDA 2` means 2.0);
    yacs would reject the type. Unknown keys pass through for yacs to name."""
    from ast import literal_eval

    out = list(opts)
    for i in range(0, len(out) - 1, 2):
        node, parts = cfg, out[i].split(".")
        for part in parts:
            node = node.get(part) if isinstance(node, CN) else None
        if isinstance(node, float):
            try:
                value = literal_eval(out[i + 1])
            except (ValueError, SyntaxError):
                continue
            if _is_int(value):
                out[i + 1] = repr(float(value))
    return out


def floats_for_ints_in_node(cfg: CN, loaded: CN) -> None:
    """The same for a loaded YAML file's node, in place."""
    for key, value in loaded.items():
        current = cfg.get(key) if isinstance(cfg, CN) else None
        if isinstance(value, CN):
            floats_for_ints_in_node(current, value)
        elif isinstance(current, float) and _is_int(value):
            loaded[key] = float(value)
