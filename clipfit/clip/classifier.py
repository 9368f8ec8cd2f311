"""Generic CLIP classification pieces: cosine logits, an evaluation cache of class text features,
CLIPFit's regularisers, and checkpoints holding only the trained parameters."""
from __future__ import annotations

from typing import Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import nn

from ._report import mismatch_lines
from .params import Selection
from .text import TextEncoder, TokenizedPrompts

__all__ = [
    "cosine_logits",
    "compute_text_features",
    "TextFeatureCache",
    "kd_loss",
    "mse_bias_loss",
    "trained_state_dict",
    "load_trained_state_dict",
    "checkpoint_metadata",
    "TrainedStateMismatch",
]

Names = Union[Selection, Iterable[str]]


def cosine_logits(
    image_features: torch.Tensor,
    text_features: torch.Tensor,
    logit_scale: torch.Tensor,
    normalized: bool = False,
) -> torch.Tensor:
    """`logit_scale.exp() * norm(image) @ norm(text).T`: [batch, classes].

    Pass `normalized=True` when both inputs are already L2-normalised (e.g. cached text features).
    """
    if not normalized:
        image_features = F.normalize(image_features, dim=-1)
        text_features = F.normalize(text_features, dim=-1)
    text_features = text_features.to(image_features.dtype)
    return logit_scale.exp() * image_features @ text_features.t()


def compute_text_features(
    encoder: TextEncoder,
    prompts: TokenizedPrompts,
    normalize: bool = True,
    chunk_size: Optional[int] = None,
) -> torch.Tensor:
    """Class text features [n_classes, embed_dim], in chunks of `chunk_size` prompts if given.

    Runs under the caller's grad mode: wrap in `torch.no_grad()` for zero-shot/teacher features.
    """
    if chunk_size and chunk_size < len(prompts):
        features = torch.cat([
            encoder.forward_tokens(prompts.tokens[i : i + chunk_size], prompts.eot_index[i : i + chunk_size],
                                   prompts.prefix_length)
            for i in range(0, len(prompts), chunk_size)
        ])
    else:
        features = encoder.encode(prompts)
    return F.normalize(features, dim=-1) if normalize else features


class TextFeatureCache:
    """Class text features for evaluation, recomputed only after the weights changed.

    Change detection: the storage address and the autograd version counter of every watched tensor.
    Every in-place update bumps the version counter (`optimizer.step()`, `load_state_dict`, `copy_`),
    and moving/recasting a model changes the storage, so the cache refreshes after a training step and
    at no other time. Writes through `.data` bypass version counters: call `invalidate()` after those.
    Watch all text-tower parameters (cheap: a few hundred integers per lookup), so that a change of
    which parameters are trainable cannot make the cache stale.
    """

    def __init__(self, compute: Callable[[], torch.Tensor], watch: Iterable[torch.Tensor]):
        self._compute = compute
        self._watch: List[torch.Tensor] = list(watch)
        self._key: Optional[Tuple] = None
        self._value: Optional[torch.Tensor] = None
        self.computations = 0  # how many times the features were computed (for logs and tests)

    @classmethod
    def for_prompts(
        cls, encoder: TextEncoder, prompts: TokenizedPrompts, chunk_size: Optional[int] = None
    ) -> "TextFeatureCache":
        """A cache of the normalised features of `prompts`, watching the encoder's parameters."""
        return cls(lambda: compute_text_features(encoder, prompts, True, chunk_size), encoder.parameters())

    def _state(self) -> Tuple:
        return tuple((t.data_ptr(), t._version) for t in self._watch)

    def get(self) -> torch.Tensor:
        """The features, recomputed (without grad) if a watched tensor changed since the last call."""
        key = self._state()
        if self._value is None or key != self._key:
            with torch.no_grad():
                self._value = self._compute()
            self._key = key
            self.computations += 1
        return self._value

    def invalidate(self) -> None:
        """Forces a recomputation on the next `get()`."""
        self._value = None


def kd_loss(text_features: torch.Tensor, zero_shot_features: torch.Tensor) -> torch.Tensor:
    """CLIPFit's distillation term: 1 - mean over classes of cos(w_k, w_k^zs). Computed in fp32."""
    if text_features.shape != zero_shot_features.shape:
        raise ValueError(
            f"kd_loss: current text features {tuple(text_features.shape)} and zero-shot features "
            f"{tuple(zero_shot_features.shape)} differ in shape; compute both over the same class prompts"
        )
    cos = F.cosine_similarity(text_features.float(), zero_shot_features.float(), dim=-1)
    return 1.0 - cos.mean()


def _pairs(
    current: Union[Mapping[str, torch.Tensor], Sequence[torch.Tensor]],
    initial: Union[Mapping[str, torch.Tensor], Sequence[torch.Tensor]],
) -> List[Tuple[torch.Tensor, torch.Tensor]]:
    if isinstance(current, Mapping) != isinstance(initial, Mapping):
        raise TypeError("mse_bias_loss: pass both as name->tensor mappings or both as sequences")
    if isinstance(current, Mapping):
        if set(current) != set(initial):
            missing = sorted(set(current) ^ set(initial))[:5]
            raise KeyError(f"mse_bias_loss: current and initial parameters differ in names, e.g. {missing}")
        return [(current[k], initial[k]) for k in current]
    current, initial = list(current), list(initial)
    if len(current) != len(initial):
        raise ValueError(f"mse_bias_loss: {len(current)} current tensors but {len(initial)} initial ones")
    return list(zip(current, initial))


def mse_bias_loss(
    current_params: Union[Mapping[str, torch.Tensor], Sequence[torch.Tensor]],
    initial_params: Union[Mapping[str, torch.Tensor], Sequence[torch.Tensor]],
) -> torch.Tensor:
    """CLIPFit's alternative regulariser: mean over the trained text-bias tensors of the squared L2
    change from their initial values (sum of squares per tensor, then mean over tensors), in fp32."""
    pairs = _pairs(current_params, initial_params)
    if not pairs:
        raise ValueError("mse_bias_loss: no parameters given")
    per_tensor = [(c.float() - i.detach().to(c.device).float()).pow(2).sum() for c, i in pairs]
    return torch.stack(per_tensor).mean()


class TrainedStateMismatch(RuntimeError):
    """A trained-parameters checkpoint does not fit the model's parameter selection."""


def _names(expected: Names) -> List[str]:
    return list(expected.names) if isinstance(expected, Selection) else list(expected)


def trained_state_dict(model: nn.Module, selection: Names) -> Dict[str, torch.Tensor]:
    """Detached CPU copies of the trained parameters, keyed by parameter name."""
    params = dict(model.named_parameters())
    names = _names(selection)
    unknown = [n for n in names if n not in params]
    if unknown:
        raise KeyError(f"trained_state_dict: the model has no parameters named {unknown[:5]}")
    return {n: params[n].detach().cpu().clone() for n in names}


def checkpoint_metadata(selection: Selection, backbone: str = "") -> Dict[str, object]:
    """What a trained-parameters checkpoint was trained with (store it next to the state)."""
    return {
        "preset": selection.preset,
        "backbone": backbone,
        "text_patterns": list(selection.text.patterns),
        "image_patterns": list(selection.image.patterns),
        "num_tensors": len(selection.names),
        "num_params": selection.num_trained,
    }


def load_trained_state_dict(
    model: nn.Module,
    state: Mapping[str, torch.Tensor],
    expected_names: Names,
    metadata: Optional[Mapping[str, object]] = None,
    source: str = "checkpoint",
) -> None:
    """Copies trained parameters into `model`, strictly: the names must be exactly `expected_names`
    (a `Selection` or names) and the shapes must agree. Values are cast to the model's dtypes.

    Raises `TrainedStateMismatch` naming the missing / unexpected / wrongly shaped entries and, when
    `metadata` (see `checkpoint_metadata`) is given, the preset and backbone the checkpoint came from.
    """
    expected = _names(expected_names)
    params = dict(model.named_parameters())
    not_in_model = [n for n in expected if n not in params]
    if not_in_model:
        raise KeyError(f"load_trained_state_dict: the model has no parameters named {not_in_model[:5]}")
    missing = [n for n in expected if n not in state]
    expected_set = set(expected)
    unexpected = [n for n in state if n not in expected_set]
    wrong_shape = [
        f"{n} checkpoint {tuple(state[n].shape)} vs model {tuple(params[n].shape)}"
        for n in expected
        if n in state and tuple(state[n].shape) != tuple(params[n].shape)
    ]
    if missing or unexpected or wrong_shape:
        preset = expected_names.preset if isinstance(expected_names, Selection) else None
        lines = [
            f"{source} does not match the trained parameters of this model"
            + (f" (preset {preset!r}, {len(expected)} tensors):" if preset else f" ({len(expected)} tensors):")
        ]
        lines += mismatch_lines(
            [
                ("missing from the checkpoint", missing),
                ("not trained by this model", unexpected),
                ("shape mismatches", wrong_shape),
            ]
        )
        if metadata:
            lines.append(
                f"  the checkpoint was trained with preset {metadata.get('preset', '?')!r} on backbone "
                f"{metadata.get('backbone', '?')!r}"
            )
        lines.append("Load it with the same MODEL.BACKBONE.NAME and parameter preset it was trained with.")
        raise TrainedStateMismatch("\n".join(lines))
    with torch.no_grad():
        for name in expected:
            params[name].copy_(state[name].to(device=params[name].device, dtype=params[name].dtype))
