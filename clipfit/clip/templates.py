"""Hand-written prompt templates, keyed by the registered dataset name (`cfg.DATASET.NAME`).

`CLIPFIT_TEMPLATES` is the table of CLIPFit's trainer; `ZSCLIP_TEMPLATES` is CoOp's ZeroshotCLIP
table, identical except for DescribableTextures. Datasets missing from a table (demo or custom
datasets) get `DEFAULT_TEMPLATE` with a one-time printed notice.
"""
from __future__ import annotations

from typing import Dict, List, Mapping, Sequence

__all__ = [
    "CLIPFIT_TEMPLATES",
    "ZSCLIP_TEMPLATES",
    "IMAGENET_TEMPLATES_SELECT",
    "DEFAULT_TEMPLATE",
    "template_for",
    "prompt_for",
    "prompts_for",
]

DEFAULT_TEMPLATE = "a photo of a {}."

_PHOTO = "a photo of a {}."
_IMAGENETS = ("ImageNet", "ImageNetSketch", "ImageNetV2", "ImageNetA", "ImageNetR")

ZSCLIP_TEMPLATES: Dict[str, str] = {
    "OxfordPets": "a photo of a {}, a type of pet.",
    "OxfordFlowers": "a photo of a {}, a type of flower.",
    "FGVCAircraft": "a photo of a {}, a type of aircraft.",
    "DescribableTextures": "{} texture.",
    "EuroSAT": "a centered satellite photo of {}.",
    "StanfordCars": _PHOTO,
    "Food101": "a photo of {}, a type of food.",
    "SUN397": _PHOTO,
    "Caltech101": _PHOTO,
    "UCF101": "a photo of a person doing {}.",
    **{name: _PHOTO for name in _IMAGENETS},
}

CLIPFIT_TEMPLATES: Dict[str, str] = {
    **ZSCLIP_TEMPLATES,
    "DescribableTextures": "a photo of a {}, a type of texture.",
}

# CoOp's ZeroshotCLIP2 ensemble (a subset of CLIP's 80 ImageNet prompts).
IMAGENET_TEMPLATES_SELECT: List[str] = [
    "itap of a {}.",
    "a bad photo of the {}.",
    "a origami {}.",
    "a photo of the large {}.",
    "a {} in a video game.",
    "art of the {}.",
    "a photo of the small {}.",
]

_noticed: set = set()


def template_for(dataset_name: str, table: Mapping[str, str] = CLIPFIT_TEMPLATES) -> str:
    """The template of `dataset_name`; `DEFAULT_TEMPLATE` (with a one-time notice) if it has none."""
    if dataset_name in table:
        return table[dataset_name]
    if dataset_name not in _noticed:
        _noticed.add(dataset_name)
        print(
            f"[clipfit.clip] no prompt template for dataset {dataset_name!r} (known: {sorted(table)}); "
            f"using the default {DEFAULT_TEMPLATE!r}"
        )
    return DEFAULT_TEMPLATE


def prompt_for(template: str, classname: str) -> str:
    """Fills the template; underscores in folder-style class names become spaces."""
    return template.format(classname.replace("_", " "))


def prompts_for(
    dataset_name: str, classnames: Sequence[str], table: Mapping[str, str] = CLIPFIT_TEMPLATES
) -> List[str]:
    """One prompt per class from the dataset's template."""
    template = template_for(dataset_name, table)
    return [prompt_for(template, name) for name in classnames]
