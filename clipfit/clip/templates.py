"""Prompt templates: the default one, CoOp's ImageNet ensemble, and filling a template with a class name.

The hand-written template of each dataset is a fact of its dataset class (`template`, read by the
trainers); this module knows no dataset names. `resolve_template` gives the default, with a one-time
notice, to a dataset that has none (a custom or third-party dataset).
"""
from __future__ import annotations

__all__ = ["IMAGENET_TEMPLATES_SELECT", "DEFAULT_TEMPLATE", "resolve_template", "prompt_for"]

DEFAULT_TEMPLATE = "a photo of a {}."

# CoOp's ZeroshotCLIP2 ensemble (a subset of CLIP's 80 ImageNet prompts).
IMAGENET_TEMPLATES_SELECT: list[str] = [
    "itap of a {}.",
    "a bad photo of the {}.",
    "a origami {}.",
    "a photo of the large {}.",
    "a {} in a video game.",
    "art of the {}.",
    "a photo of the small {}.",
]

_noticed: set[str] = set()


def resolve_template(template: str | None, dataset_name: str) -> str:
    """`template`, or `DEFAULT_TEMPLATE` when it is None/empty (printing a notice once per dataset name)."""
    if template:
        return template
    if dataset_name not in _noticed:
        _noticed.add(dataset_name)
        print(f"[clipfit.clip] no prompt template for dataset {dataset_name!r}; using the default {DEFAULT_TEMPLATE!r}")
    return DEFAULT_TEMPLATE


def prompt_for(template: str, classname: str) -> str:
    """Fills the template; underscores in folder-style class names become spaces."""
    return template.format(classname.replace("_", " "))
