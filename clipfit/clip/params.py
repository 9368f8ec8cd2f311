"""Which CLIP parameters are trained: presets and name patterns, per tower.

Towers: the image tower is every parameter whose name starts with `visual.`; the text tower is every
other parameter (token_embedding, positional_embedding, transformer.*, ln_final, text_projection)
except `logit_scale` / `logit_bias`, which only the `full` preset trains.

Patterns are shell-style globs matched with `fnmatch.fnmatchcase` against the FULL parameter name as
`model.named_parameters()` prints it (`*` also matches dots), e.g. `transformer.resblocks.*.mlp.c_proj.bias`
or `visual.transformer.resblocks.*.ln_1.*`. Two selectors pick parameters by module type, because
norm layers have different names across architectures:

* `@layernorm`: weight and bias of every `nn.LayerNorm` in the tower;
* `@batchnorm`: weight and bias (affine) of every BatchNorm in the tower. Their running statistics
  still update in train mode; call `.eval()` on those modules to freeze them.

Presets (text patterns | image patterns):

* `clipfit` (default): `transformer.resblocks.*.mlp.c_proj.bias` | `@layernorm`. On a ModifiedResNet
  (RN50, ...) image tower, which has BatchNorm and no LayerNorm, this trains nothing in the image
  tower; the report says so. Pass `image_patterns=["@batchnorm"]` to train BatchNorm affine params.
* `bitfit`: every bias (`*bias`, including attention `in_proj_bias`) | the same in `visual.`
* `layernorm`: `@layernorm` | `@layernorm`
* `text_bias`: `transformer.resblocks.*.mlp.c_proj.bias` | nothing
* `full`: everything, logit_scale included
* `none`: nothing
"""
from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass, field

from torch import nn

from ..errors import InvalidValue

__all__ = ["PRESETS", "TowerReport", "Selection", "select_trainable", "split_towers", "LAYERNORM", "BATCHNORM"]

LAYERNORM = "@layernorm"
BATCHNORM = "@batchnorm"
C_PROJ_BIAS = "transformer.resblocks.*.mlp.c_proj.bias"
SCALE_NAMES = ("logit_scale", "logit_bias")

# preset -> (text patterns, image patterns, train logit_scale)
PRESETS: dict[str, tuple[tuple[str, ...], tuple[str, ...], bool]] = {
    "clipfit": ((C_PROJ_BIAS,), (LAYERNORM,), False),
    "bitfit": (("*bias",), ("visual.*bias",), False),
    "layernorm": ((LAYERNORM,), (LAYERNORM,), False),
    "text_bias": ((C_PROJ_BIAS,), (), False),
    "full": (("*",), ("*",), True),
    "none": ((), (), False),
}


def split_towers(model: nn.Module) -> tuple[list[str], list[str], list[str]]:
    """Parameter names of (text tower, image tower, logit scale/bias)."""
    text, image, scale = [], [], []
    for name, _ in model.named_parameters():
        if name.startswith("visual."):
            image.append(name)
        elif name in SCALE_NAMES:
            scale.append(name)
        else:
            text.append(name)
    return text, image, scale


def _norm_param_names(model: nn.Module) -> dict[str, set]:
    found = {LAYERNORM: set(), BATCHNORM: set()}
    for module_name, module in model.named_modules():
        if isinstance(module, nn.LayerNorm):
            key = LAYERNORM
        elif isinstance(module, nn.modules.batchnorm._BatchNorm):
            key = BATCHNORM
        else:
            continue
        for param_name, _ in module.named_parameters(recurse=False):
            found[key].add(f"{module_name}.{param_name}" if module_name else param_name)
    return found


def _matches(name: str, pattern: str, by_type: dict[str, set]) -> bool:
    if pattern in by_type:
        return name in by_type[pattern]
    return fnmatch.fnmatchcase(name, pattern)


@dataclass
class TowerReport:
    """Selection result for one tower."""

    tower: str
    patterns: tuple[str, ...]
    names: list[str]
    trained: int
    total: int
    unmatched: list[str]

    def line(self) -> str:
        share = 100.0 * self.trained / self.total if self.total else 0.0
        patterns = ", ".join(self.patterns) if self.patterns else "(none)"
        return (
            f"{self.tower:<5} tower: {self.trained:>12,} / {self.total:>12,} params ({share:.3f}%) "
            f"in {len(self.names)} tensors; patterns: {patterns}"
        )


@dataclass
class Selection:
    """What `select_trainable` set trainable; `format()` gives the printable summary."""

    preset: str
    text: TowerReport
    image: TowerReport
    scale_names: list[str]
    scale_trained: bool
    scale_count: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        """All trained parameter names (text, image, then logit scale if trained)."""
        return self.text.names + self.image.names + (self.scale_names if self.scale_trained else [])

    @property
    def num_trained(self) -> int:
        return self.text.trained + self.image.trained + (self.scale_count if self.scale_trained else 0)

    @property
    def unmatched(self) -> list[str]:
        """Patterns that selected nothing, as 'text:<pattern>' / 'image:<pattern>'."""
        return [f"text:{p}" for p in self.text.unmatched] + [f"image:{p}" for p in self.image.unmatched]

    def format(self, verbose: bool = False) -> str:
        lines = [
            f"Trainable CLIP parameters (preset {self.preset!r}): {self.num_trained:,} in {len(self.names)} tensors"
        ]
        lines.append("  " + self.text.line())
        lines.append("  " + self.image.line())
        lines.append(f"  logit_scale: {'trained' if self.scale_trained else 'frozen'}")
        if self.unmatched:
            lines.append(f"  patterns that matched nothing: {', '.join(self.unmatched)}")
        lines += [f"  note: {note}" for note in self.notes]
        if verbose:
            lines += [f"    {name}" for name in self.names]
        return "\n".join(lines)


def _select_tower(
    params: dict[str, nn.Parameter], tower: str, names: list[str], patterns: Sequence[str], by_type: dict[str, set]
) -> TowerReport:
    chosen = [n for n in names if any(_matches(n, p, by_type) for p in patterns)]
    unmatched = [p for p in patterns if not any(_matches(n, p, by_type) for n in names)]
    return TowerReport(
        tower=tower,
        patterns=tuple(patterns),
        names=chosen,
        trained=sum(params[n].numel() for n in chosen),
        total=sum(params[n].numel() for n in names),
        unmatched=unmatched,
    )


def _notes(model: nn.Module, image: TowerReport, by_type: dict[str, set]) -> list[str]:
    notes = []
    visual_bn = any(n.startswith("visual.") for n in by_type[BATCHNORM])
    visual_ln = any(n.startswith("visual.") for n in by_type[LAYERNORM])
    if LAYERNORM in image.patterns and not visual_ln:
        kind = type(getattr(model, "visual", None)).__name__
        notes.append(
            f"image tower ({kind}) has no LayerNorm, so '@layernorm' trains nothing there"
            + (
                "; to adapt it, pass image_patterns=['@batchnorm'] (BatchNorm affine params) or use preset 'bitfit'"
                if visual_bn
                else ""
            )
        )
    if BATCHNORM in image.patterns and visual_bn:
        notes.append(
            "BatchNorm running statistics still update in train mode; put those modules in eval() to freeze them"
        )
    for pattern in image.unmatched:
        if not pattern.startswith(("visual.", "@", "*")):
            notes.append(f"image pattern {pattern!r} should start with 'visual.' (patterns match full names)")
    return notes


def select_trainable(
    model: nn.Module,
    preset: str = "clipfit",
    text_patterns: Sequence[str] | None = None,
    image_patterns: Sequence[str] | None = None,
) -> Selection:
    """Sets `requires_grad` (True for the selection, False for everything else) and reports it.

    `text_patterns` / `image_patterns` replace the preset's patterns of that tower when given.
    """
    if preset not in PRESETS:
        raise InvalidValue(f"unknown parameter preset {preset!r}; choose one of {sorted(PRESETS)} "
                           "(TRAINER.CLIPFIT.PRESET)")
    preset_text, preset_image, train_scale = PRESETS[preset]
    text_patterns = tuple(preset_text if text_patterns is None else text_patterns)
    image_patterns = tuple(preset_image if image_patterns is None else image_patterns)

    params = dict(model.named_parameters())
    by_type = _norm_param_names(model)
    text_names, image_names, scale_names = split_towers(model)
    text = _select_tower(params, "text", text_names, text_patterns, by_type)
    image = _select_tower(params, "image", image_names, image_patterns, by_type)

    chosen = set(text.names) | set(image.names) | (set(scale_names) if train_scale else set())
    for name, param in params.items():
        param.requires_grad_(name in chosen)
    scale_count = sum(params[n].numel() for n in scale_names)
    return Selection(
        preset=preset,
        text=text,
        image=image,
        scale_names=scale_names,
        scale_trained=train_scale,
        scale_count=scale_count,
        notes=_notes(model, image, by_type),
    )
