"""Loading a CLIP model with its weights: `load_clip`.

Weight lookup, first hit wins:

1. an explicit file (`weights_path`, the `MODEL.BACKBONE.WEIGHTS` config key): an OpenAI TorchScript
   archive as openai/CLIP downloads it, a `torch.save`d state dict (optionally under "state_dict",
   optionally with a "module." prefix), or a `.safetensors` file;
2. the OpenAI cache `~/.cache/clip/<file>` (`~` expands to `$HOME`), with the file names openai/CLIP
   uses (`ViT-B-16.pt`, `RN50.pt`, ...). open_clip's URL downloads land in the same folder;
3. open_clip's own cache (the Hugging Face hub cache for its `hf_hub` entries), then a download through
   open_clip when a network is reachable. Downloads are skipped, without waiting on the network, when
   `CLIPFIT_OFFLINE=1` or `HF_HUB_OFFLINE=1` is set, or when a 3-second connection probe fails.

Nothing found -> `ClipWeightsNotFound` naming the files looked for and the three ways to provide them.
Random weights only when asked for (`allow_random=True`, or the `tiny` test backbones).
The model comes back in fp32 and eval mode, with a `ClipInfo` in `model.clip_info`.
"""
from __future__ import annotations

import contextlib
import os
import socket
import threading
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Mapping, Optional, Tuple, Union
from urllib.parse import urlparse

import torch
from open_clip.constants import HF_SAFE_WEIGHTS_NAME, HF_WEIGHTS_NAME, OPENAI_DATASET_MEAN, OPENAI_DATASET_STD
from open_clip.model import CLIP, set_model_preprocess_cfg
from open_clip.pretrained import download_pretrained, get_pretrained_cfg, list_pretrained_tags_by_model
from open_clip.transformer import QuickGELU

from ._report import SHOW, mismatch_lines
from .backbones import BackboneSpec, build_architecture, native_image_size, resolve_backbone

__all__ = [
    "ClipInfo",
    "ClipWeightsNotFound",
    "ClipWeightsMismatch",
    "ClipWeightsUnreadable",
    "CONFIG_KEY",
    "OFFLINE_ENV_VARS",
    "load_clip",
    "get_clip_info",
    "openai_cache_dir",
    "read_state_dict",
    "load_state_dict_strict",
]

CONFIG_KEY = "MODEL.BACKBONE.WEIGHTS"
OPENAI_CACHE = "~/.cache/clip"
OFFLINE_ENV_VARS = ("CLIPFIT_OFFLINE", "HF_HUB_OFFLINE")
PROBE_TIMEOUT_S = 3.0
DOWNLOAD_SOCKET_TIMEOUT_S = 60.0
# Extra entries of OpenAI TorchScript archives that are not parameters.
_ARCHIVE_ONLY_KEYS = ("input_resolution", "context_length", "vocab_size")


class ClipWeightsNotFound(FileNotFoundError):
    """No weights file for the requested backbone could be found (or downloaded)."""


class ClipWeightsMismatch(RuntimeError):
    """A weights file does not fit the requested architecture."""


class ClipWeightsUnreadable(RuntimeError):
    """A weights file exists but is not a state dict / OpenAI archive / safetensors file."""


@dataclass(frozen=True)
class ClipInfo:
    """What `load_clip` built: attached to the model as `model.clip_info`.

    `weights` is one of "file" (explicit path), "openai-cache", "open_clip" (its cache or a download),
    "random"; `weights_path` is the file used ("" for random weights).
    """

    name: str
    arch: str
    image_size: int
    context_length: int
    weights: str
    weights_path: str
    pretrained: str
    quick_gelu: bool
    mean: Tuple[float, float, float]
    std: Tuple[float, float, float]


def _notice(message: str) -> None:
    # print, not logging: CoOp-style engines tee stdout into OUTPUT_DIR/log.txt
    print(f"[clipfit.clip] {message}")


def openai_cache_dir() -> Path:
    """`~/.cache/clip`, where openai/CLIP (and open_clip's URL downloads) keep the weights."""
    return Path(os.path.expanduser(OPENAI_CACHE))


def get_clip_info(model: torch.nn.Module) -> ClipInfo:
    """The `ClipInfo` that `load_clip` attached; a clear error for models built some other way."""
    info = getattr(model, "clip_info", None)
    if info is None:
        raise AttributeError("this model has no clip_info: it was not built by clipfit.clip.load_clip")
    return info


# ---------------------------------------------------------------- reading and checking weight files


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


def _normalise_state_dict(obj: object, file: Path) -> Dict[str, torch.Tensor]:
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


def read_state_dict(path: Union[str, Path]) -> Dict[str, torch.Tensor]:
    """Reads CLIP weights from an OpenAI TorchScript archive, a state-dict file or a .safetensors file."""
    file = Path(os.path.expanduser(str(path)))
    if not file.is_file():
        raise ClipWeightsNotFound(
            f"CLIP weights file {file} does not exist ({CONFIG_KEY} / weights_path). Fix the path, or leave "
            f"{CONFIG_KEY} empty to use {OPENAI_CACHE}/<file> or open_clip's cache."
        )
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
            [("missing from the file", missing), ("not in the architecture", unexpected), ("shape mismatches", wrong_shape)]
        )
        lines.append(
            "Check that MODEL.BACKBONE.NAME matches the weights file (e.g. ViT-B-16.pt needs 'ViT-B/16', "
            "RN50.pt needs 'RN50')."
        )
        raise ClipWeightsMismatch("\n".join(lines))
    model.load_state_dict(state, strict=True)


# ---------------------------------------------------------------- open_clip cache and downloads


def _hf_candidates(hf_hub: str) -> Tuple[str, List[str]]:
    # open_clip writes 'org/repo/' for the default file name and 'org/repo/file.bin' otherwise,
    # and prefers the safetensors twin of its default file.
    model_id, filename = os.path.split(hf_hub)
    filename = filename or HF_WEIGHTS_NAME
    names = [HF_SAFE_WEIGHTS_NAME, filename] if filename == HF_WEIGHTS_NAME else [filename]
    return model_id, names


def _find_in_hf_cache(hf_hub: str, cache_dir: Optional[str]) -> Optional[Path]:
    try:
        from huggingface_hub import hf_hub_download
    except ImportError:
        return None
    model_id, names = _hf_candidates(hf_hub)
    for name in names:
        try:
            return Path(hf_hub_download(model_id, name, cache_dir=cache_dir, local_files_only=True))
        except Exception:  # not cached (LocalEntryNotFoundError) or an unusable cache entry
            continue
    return None


def _offline_reason(pretrained_cfg: Mapping) -> Optional[str]:
    """Why a download must not be attempted now, or None if the network looks reachable."""
    for var in OFFLINE_ENV_VARS:
        if os.environ.get(var, "").strip().lower() in ("1", "true", "yes", "on"):
            return f"{var}={os.environ[var]} is set"
    if pretrained_cfg.get("hf_hub"):
        try:
            from huggingface_hub import constants

            host = urlparse(constants.ENDPOINT).hostname or "huggingface.co"
        except ImportError:
            host = "huggingface.co"
    else:
        host = urlparse(pretrained_cfg.get("url", "")).hostname or ""
    if not host:
        return "open_clip has no download address for these weights"
    error = _probe(host)
    return None if error is None else f"no connection to {host} ({error})"


def _probe(host: str, port: int = 443, timeout: float = PROBE_TIMEOUT_S) -> Optional[str]:
    """Connects to host:port in a daemon thread so that a hanging DNS lookup cannot block us."""
    result: Dict[str, str] = {}

    def attempt() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                result["ok"] = "yes"
        except OSError as err:
            result["error"] = str(err)

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(timeout)
    if "ok" in result:
        return None
    return result.get("error", f"no answer within {timeout:.0f} s")


@contextlib.contextmanager
def _socket_timeout(seconds: float) -> Iterator[None]:
    # open_clip's URL download calls urlopen without a timeout; a stalled connection would hang forever.
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


# ---------------------------------------------------------------- the lookup


@dataclass
class _Lookup:
    path: Optional[Path] = None
    kind: str = ""
    looked: Tuple[str, ...] = ()
    download_skipped: str = ""


def _openai_file_name(spec: BackboneSpec, tag: str) -> str:
    if spec.openai_file:
        return spec.openai_file
    url = get_pretrained_cfg(spec.arch, tag).get("url", "") if tag else ""
    return os.path.basename(url)


def _locate(spec: BackboneSpec, tag: str, cache_dir: Optional[str]) -> _Lookup:
    looked: List[str] = []
    file_name = _openai_file_name(spec, tag)
    if file_name:
        candidate = openai_cache_dir() / file_name
        if candidate.is_file():
            return _Lookup(candidate, "openai-cache")
        looked.append(f"{candidate} (OpenAI cache): missing")
    if not tag:
        return _Lookup(looked=tuple(looked), download_skipped="no open_clip pretrained tag given")
    cfg = get_pretrained_cfg(spec.arch, tag)
    if cfg.get("hf_hub"):
        cached = _find_in_hf_cache(cfg["hf_hub"], cache_dir)
        if cached is not None:
            return _Lookup(cached, "open_clip")
        looked.append(f"Hugging Face cache of open_clip ({cfg['hf_hub']}): not cached")
    if cfg.get("url") and cache_dir:
        candidate = Path(cache_dir) / os.path.basename(cfg["url"])
        if candidate.is_file():
            return _Lookup(candidate, "open_clip")
        looked.append(f"{candidate} (open_clip cache_dir): missing")
    reason = _offline_reason(cfg)
    if reason is not None:
        return _Lookup(looked=tuple(looked), download_skipped=reason)
    try:
        with _socket_timeout(DOWNLOAD_SOCKET_TIMEOUT_S):
            target = download_pretrained(cfg, cache_dir=cache_dir)
    except Exception as err:  # network errors come in many types (urllib, requests, hf hub)
        return _Lookup(looked=tuple(looked), download_skipped=f"download failed: {type(err).__name__}: {err}")
    return _Lookup(Path(target), "open_clip")


def _not_found_message(spec: BackboneSpec, tag: str, lookup: _Lookup) -> str:
    openai_file = _openai_file_name(spec, tag)
    example = openai_file or "weights.pt"
    lines = [f"No CLIP weights found for backbone {spec.name!r} (open_clip architecture {spec.arch!r})."]
    lines.append(f"  {CONFIG_KEY} / weights_path: not set")
    lines += [f"  {place}" for place in lookup.looked]
    lines.append(f"  open_clip download (pretrained tag {tag!r}): skipped, {lookup.download_skipped}")
    lines.append("Provide the weights in one of three ways:")
    lines.append(
        f"  1. set the config key {CONFIG_KEY} to the weights file, e.g. `{CONFIG_KEY} /path/to/{example}` "
        f"(an OpenAI .pt archive, a state dict or a .safetensors file);"
    )
    if openai_file:
        lines.append(f"  2. put the OpenAI file {openai_file} at {openai_cache_dir() / openai_file};")
    elif tag:
        lines.append(f"  2. ({OPENAI_CACHE}/<file> holds OpenAI weights only; tag {tag!r} has none: use 1 or 3);")
    else:
        lines.append(
            f"  2. for OpenAI weights in {OPENAI_CACHE}/<file>, use the OpenAI backbone name (e.g. 'ViT-B/16') "
            f"or pretrained 'openai';"
        )
    if tag:
        how = f"pretrained tag {tag!r}"
    else:
        how = f"pass a pretrained tag; known for {spec.arch}: {list_pretrained_tags_by_model(spec.arch)}"
    lines.append(
        f"  3. run once with network access so that open_clip downloads them into its cache"
        f" ({how}; unset {'/'.join(OFFLINE_ENV_VARS)})."
    )
    lines.append("For tests and demos without weights use the backbone 'tiny' (or allow_random=True).")
    return "\n".join(lines)


def _check_tag(spec: BackboneSpec, tag: str) -> None:
    if tag and not get_pretrained_cfg(spec.arch, tag):
        raise ValueError(
            f"open_clip has no pretrained tag {tag!r} for architecture {spec.arch!r} (backbone {spec.name!r}); "
            f"known tags: {list_pretrained_tags_by_model(spec.arch)}. To load a file, pass it as weights_path "
            f"({CONFIG_KEY})."
        )


def _needs_quick_gelu(spec: BackboneSpec, tag: str) -> bool:
    # e.g. 'ViT-B-16' + 'openai': the weights were trained with QuickGELU, the plain config uses GELU.
    return bool(tag and get_pretrained_cfg(spec.arch, tag).get("quick_gelu", False))


def load_clip(
    name: str,
    pretrained: str = "",
    weights_path: str = "",
    allow_random: bool = False,
    device: Union[str, torch.device] = "cpu",
    image_size: Optional[int] = None,
    cache_dir: Optional[str] = None,
    random_init: bool = False,
) -> CLIP:
    """Builds the CLIP backbone `name` with its weights (fp32, eval mode, on `device`).

    Args:
        name: OpenAI/CoOp name (`ViT-B/16`, `RN50`, ...), open_clip architecture (`ViT-B-16`), or
            `tiny` / `tiny-rn` (random test backbones).
        pretrained: open_clip pretrained tag (default `openai` for the OpenAI names).
        weights_path: explicit weights file (`MODEL.BACKBONE.WEIGHTS`); takes precedence.
        allow_random: continue with random weights (and a printed notice) when none are found.
        device: where the model goes.
        image_size: input resolution; only the tiny backbones accept sizes other than the native one.
        cache_dir: open_clip's download cache (None = its defaults).
        random_init: build with random weights and look for no file (config MODEL.BACKBONE.PRETRAINED False).

    Raises:
        ClipWeightsNotFound: no weights and `allow_random` is False.
        ClipWeightsMismatch: the weights do not fit the architecture.
        ClipWeightsUnreadable: the file is not a weights file.
    """
    spec = resolve_backbone(name)
    tag = pretrained or spec.pretrained
    if pretrained and not weights_path and os.path.isfile(os.path.expanduser(pretrained)):
        weights_path, tag = pretrained, spec.pretrained  # open_clip also accepts a file as `pretrained`
    _check_tag(spec, tag)
    quick_gelu = _needs_quick_gelu(spec, tag)

    if weights_path:
        file = Path(os.path.expanduser(weights_path))
        state = read_state_dict(file)
        kind = "file"
    elif spec.random_weights or random_init:
        file, state, kind = None, None, "random"
    else:
        lookup = _locate(spec, tag, cache_dir)
        if lookup.path is None and not allow_random:
            raise ClipWeightsNotFound(_not_found_message(spec, tag, lookup))
        if lookup.path is None:
            _notice(f"no weights found for {spec.name!r}; continuing with RANDOM weights (allow_random=True)")
            file, state, kind = None, None, "random"
        else:
            file, kind = lookup.path, lookup.kind
            state = read_state_dict(file)

    model = build_architecture(spec, image_size, force_quick_gelu=quick_gelu)
    if state is not None:
        load_state_dict_strict(model, state, source=str(file), arch=spec.arch)
    model = model.float().eval().to(device)
    # A tag describes the weights only when they came from a cache/download for that tag.
    weights_tag = tag if kind in ("openai-cache", "open_clip") else ""
    return _attach_info(model, spec, weights_tag, kind, file)


def _attach_info(model: CLIP, spec: BackboneSpec, tag: str, kind: str, file: Optional[Path]) -> CLIP:
    cfg = get_pretrained_cfg(spec.arch, tag) if tag else {}
    mean = tuple(cfg.get("mean", OPENAI_DATASET_MEAN))
    std = tuple(cfg.get("std", OPENAI_DATASET_STD))
    size = native_image_size(model)
    set_model_preprocess_cfg(
        model,
        {
            "size": size,
            "mean": mean,
            "std": std,
            "interpolation": cfg.get("interpolation", "bicubic"),
            "resize_mode": cfg.get("resize_mode", "shortest"),
        },
    )
    model.clip_info = ClipInfo(
        name=spec.name,
        arch=spec.arch,
        image_size=size,
        context_length=int(model.context_length),
        weights=kind,
        weights_path=str(file) if file is not None else "",
        pretrained=tag,
        quick_gelu=isinstance(model.transformer.resblocks[0].mlp.gelu, QuickGELU),
        mean=mean,
        std=std,
    )
    return model
