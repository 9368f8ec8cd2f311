"""Reading one CLIP weights file and checking it against an architecture.

Accepted files: an OpenAI TorchScript archive as openai/CLIP downloads it, a `torch.save`d state dict
(optionally under "state_dict", optionally with a "module." prefix), or a `.safetensors` file. The
errors name the file and say how to fix it.
"""
from __future__ import annotations

import os
import warnings
import zipfile
from collections.abc import Mapping
from pathlib import Path

import torch

from ..errors import UserInputError
from ._report import SHOW, mismatch_lines

__all__ = [
    "CONFIG_KEY",
    "OPENAI_CACHE",
    "ClipWeightsNotFound",
    "ClipWeightsMismatch",
    "ClipWeightsUnreadable",
    "read_state_dict",
    "load_state_dict_strict",
]

CONFIG_KEY = "MODEL.BACKBONE.WEIGHTS"
OPENAI_CACHE = "~/.cache/clip"
# Extra entries of OpenAI TorchScript archives that are not parameters.
_ARCHIVE_ONLY_KEYS = ("input_resolution", "context_length", "vocab_size")


class ClipWeightsNotFound(UserInputError, FileNotFoundError):
    """No weights file for the requested backbone could be found (or downloaded)."""


class ClipWeightsMismatch(UserInputError, RuntimeError):
    """A weights file does not fit the requested architecture."""


class ClipWeightsUnreadable(UserInputError, RuntimeError):
    """A weights file exists but is not a state dict / OpenAI archive / safetensors file."""


def _is_torchscript_archive(file: Path) -> bool:
    # TorchScript archives carry compiled code and constants.pkl; torch.save zips only data.pkl.
    if not zipfile.is_zipfile(file):
        return False
    with zipfile.ZipFile(file) as archive:
        return any(name.endswith("/constants.pkl") for name in archive.namelist())


def _read_raw(file: Path) -> object:
    if file.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(file), device="cpu")
    if _is_torchscript_archive(file):
        with warnings.catch_warnings():
            # torch.jit.load is deprecated but remains the only reader of OpenAI's archives.
            warnings.simplefilter("ignore", FutureWarning)
            return torch.jit.load(str(file), map_location="cpu").state_dict()
    return torch.load(str(file), map_location="cpu", weights_only=True)


def _normalise_state_dict(obj: object, file: Path) -> dict[str, torch.Tensor]:
    if isinstance(obj, Mapping) and isinstance(obj.get("state_dict"), Mapping):
        obj = obj["state_dict"]
    if not isinstance(obj, Mapping):
        raise ClipWeightsUnreadable(
            f"{file} holds a {type(obj).__name__}, not a state dict; save the weights with "
            f"torch.save(model.state_dict(), path) or use the OpenAI .pt archive."
        )
    state = {k: v for k, v in obj.items() if k not in _ARCHIVE_ONLY_KEYS}
    not_tensors = [k for k, v in state.items() if not isinstance(v, torch.Tensor)]
    if not_tensors:
        raise ClipWeightsUnreadable(
            f"{file} is not a plain state dict: entries {not_tensors[:SHOW]} are not tensors. Save only "
            f"model.state_dict() (optionally under the key 'state_dict')."
        )
    if state and all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}  # saved from DataParallel/DDP
    return state


def existing_weights_file(path: str | Path) -> Path:
    """`path` (with ~ expanded) when it is a file; else the error that says how to point at the weights."""
    file = Path(os.path.expanduser(str(path)))
    if not file.is_file():
        raise ClipWeightsNotFound(
            f"CLIP weights file {file} does not exist ({CONFIG_KEY} / weights_path). Fix the path, or leave "
            f"{CONFIG_KEY} empty to use {OPENAI_CACHE}/<file> or open_clip's cache."
        )
    return file


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Reads CLIP weights from an OpenAI TorchScript archive, a state-dict file or a .safetensors file."""
    file = existing_weights_file(path)
    try:
        raw = _read_raw(file)
    except Exception as err:  # torch/zip/pickle/safetensors each raise their own types
        raise ClipWeightsUnreadable(
            f"could not read CLIP weights from {file}: {type(err).__name__}: {err}. Expected an OpenAI "
            f"TorchScript archive (.pt from openai/CLIP), a state dict saved with torch.save (optionally "
            f"under 'state_dict'), or a .safetensors file."
        ) from err
    return _normalise_state_dict(raw, file)


def load_state_dict_strict(
    model: torch.nn.Module, state: Mapping[str, torch.Tensor], source: str, arch: str
) -> None:
    """`model.load_state_dict(state, strict=True)` with an error that names the file and the first
    missing / unexpected / wrongly shaped keys. Values are cast to the model's dtypes."""
    expected = model.state_dict()
    state = dict(state)
    scale = state.get("logit_scale")
    if scale is not None and "logit_scale" in expected and scale.numel() == expected["logit_scale"].numel():
        state["logit_scale"] = scale.reshape(expected["logit_scale"].shape)  # scalar vs [1] across versions
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    wrong_shape = [
        f"{k} file {tuple(v.shape)} vs model {tuple(expected[k].shape)}"
        for k, v in state.items()
        if k in expected and tuple(v.shape) != tuple(expected[k].shape)
    ]
    if missing or unexpected or wrong_shape:
        lines = [f"CLIP weights in {source} do not fit architecture {arch!r}:"]
        lines += mismatch_lines(
            [
                ("missing from the file", missing),
                ("not in the architecture", unexpected),
                ("shape mismatches", wrong_shape),
            ]
        )
        lines.append(
            "Check that MODEL.BACKBONE.NAME matches the weights file (e.g. ViT-B-16.pt needs 'ViT-B/16', "
            "RN50.pt needs 'RN50')."
        )
        raise ClipWeightsMismatch("\n".join(lines))
    model.load_state_dict(state, strict=True)
