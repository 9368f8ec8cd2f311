"""Prompt templates: the default one, CoOp's ImageNet ensemble, and filling a template with a class name.

The hand-written template of each dataset is a fact of its dataset class (`template`, read by the
trainers); this module knows no dataset names. `resolve_template` gives the default, with a one-time
notice, to a dataset that has none (a custom or third-party dataset).
"""
from __future__ import annotations

__all__ = ["IMAGENET_TEMPLATES", "IMAGENET_TEMPLATES_SELECT", "DEFAULT_TEMPLATE", "resolve_template", "prompt_for"]

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

# The 60 ImageNet prompts of CoOp's imagenet_templates.py (from CLIP's 80): the prompt ensemble of PromptSRC's
# frozen text teacher.
IMAGENET_TEMPLATES: list[str] = [
    "a photo of a {}.", "a bad photo of a {}.", "a photo of many {}.", "a sculpture of a {}.",
    "a photo of the hard to see {}.", "a low resolution photo of the {}.", "a rendering of a {}.",
    "graffiti of a {}.", "a bad photo of the {}.", "a cropped photo of the {}.", "a tattoo of a {}.",
    "the embroidered {}.", "a photo of a hard to see {}.", "a bright photo of a {}.", "a photo of a clean {}.",
    "a photo of a dirty {}.", "a dark photo of the {}.", "a drawing of a {}.", "a photo of my {}.",
    "the plastic {}.", "a photo of the cool {}.", "a close-up photo of a {}.", "a black and white photo of the {}.",
    "a painting of the {}.", "a painting of a {}.", "a pixelated photo of the {}.", "a sculpture of the {}.",
    "a bright photo of the {}.", "a cropped photo of a {}.", "a plastic {}.", "a photo of the dirty {}.",
    "a jpeg corrupted photo of a {}.", "a blurry photo of the {}.", "a photo of the {}.", "a good photo of the {}.",
    "a rendering of the {}.", "a {} in a video game.", "a photo of one {}.", "a doodle of a {}.",
    "a close-up photo of the {}.", "the origami {}.", "the {} in a video game.", "a sketch of a {}.",
    "a doodle of the {}.", "a origami {}.", "a low resolution photo of a {}.", "the toy {}.",
    "a rendition of the {}.", "a photo of the clean {}.", "a photo of a large {}.", "a rendition of a {}.",
    "a photo of a nice {}.", "a photo of a weird {}.", "a blurry photo of a {}.", "a cartoon {}.", "art of a {}.",
    "a sketch of the {}.", "a embroidered {}.", "a pixelated photo of a {}.", "itap of the {}.",
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
