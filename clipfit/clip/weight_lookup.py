"""Where CLIP weights are found when no file is given, and what to say when they are not.

In order: the OpenAI cache `~/.cache/clip/<file>` (`~` expands to `$HOME`; open_clip's URL downloads
land there too), open_clip's own cache (the Hugging Face hub cache for its `hf_hub` entries), then a
download through open_clip when a network is reachable. Downloads are skipped, without waiting on the
network, when `CLIPFIT_OFFLINE=1` or `HF_HUB_OFFLINE=1` is set, or when a 3-second connection probe fails.
"""
from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from open_clip.constants import HF_SAFE_WEIGHTS_NAME, HF_WEIGHTS_NAME
from open_clip.pretrained import download_pretrained, get_pretrained_cfg, list_pretrained_tags_by_model

from .architectures import BackboneSpec
from .weight_files import CONFIG_KEY, OPENAI_CACHE

__all__ = ["OFFLINE_ENV_VARS", "Lookup", "locate", "not_found_message", "openai_cache_dir"]

OFFLINE_ENV_VARS = ("CLIPFIT_OFFLINE", "HF_HUB_OFFLINE")
PROBE_TIMEOUT_S = 3.0
DOWNLOAD_SOCKET_TIMEOUT_S = 60.0


def openai_cache_dir() -> Path:
    """`~/.cache/clip`, where openai/CLIP (and open_clip's URL downloads) keep the weights."""
    return Path(os.path.expanduser(OPENAI_CACHE))


# ---------------------------------------------------------------- open_clip cache and downloads


def _hf_candidates(hf_hub: str) -> tuple[str, list[str]]:
    # open_clip writes 'org/repo/' for the default file name and 'org/repo/file.bin' otherwise,
    # and prefers the safetensors twin of its default file.
    model_id, filename = os.path.split(hf_hub)
    filename = filename or HF_WEIGHTS_NAME
    names = [HF_SAFE_WEIGHTS_NAME, filename] if filename == HF_WEIGHTS_NAME else [filename]
    return model_id, names


def _find_in_hf_cache(hf_hub: str, cache_dir: str | None) -> Path | None:
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


def _offline_reason(pretrained_cfg: Mapping) -> str | None:
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


def _probe(host: str, port: int = 443, timeout: float = PROBE_TIMEOUT_S) -> str | None:
    """Connects to host:port in a daemon thread so that a hanging DNS lookup cannot block us."""
    result: dict[str, str] = {}

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
class Lookup:
    """A found file and where it came from (`kind`: "openai-cache" or "open_clip"), or what was tried."""

    path: Path | None = None
    kind: str = ""
    looked: tuple[str, ...] = ()
    download_skipped: str = ""


def _openai_file_name(spec: BackboneSpec, tag: str) -> str:
    if spec.openai_file:
        return spec.openai_file
    url = get_pretrained_cfg(spec.arch, tag).get("url", "") if tag else ""
    return os.path.basename(url)


def locate(spec: BackboneSpec, tag: str, cache_dir: str | None) -> Lookup:
    """The weights of `spec` with pretrained tag `tag`: caches first, then a download if reachable."""
    looked: list[str] = []
    file_name = _openai_file_name(spec, tag)
    if file_name:
        candidate = openai_cache_dir() / file_name
        if candidate.is_file():
            return Lookup(candidate, "openai-cache")
        looked.append(f"{candidate} (OpenAI cache): missing")
    if not tag:
        return Lookup(looked=tuple(looked), download_skipped="no open_clip pretrained tag given")
    cfg = get_pretrained_cfg(spec.arch, tag)
    if cfg.get("hf_hub"):
        cached = _find_in_hf_cache(cfg["hf_hub"], cache_dir)
        if cached is not None:
            return Lookup(cached, "open_clip")
        looked.append(f"Hugging Face cache of open_clip ({cfg['hf_hub']}): not cached")
    if cfg.get("url") and cache_dir:
        candidate = Path(cache_dir) / os.path.basename(cfg["url"])
        if candidate.is_file():
            return Lookup(candidate, "open_clip")
        looked.append(f"{candidate} (open_clip cache_dir): missing")
    reason = _offline_reason(cfg)
    if reason is not None:
        return Lookup(looked=tuple(looked), download_skipped=reason)
    try:
        with _socket_timeout(DOWNLOAD_SOCKET_TIMEOUT_S):
            target = download_pretrained(cfg, cache_dir=cache_dir)
    except Exception as err:  # network errors come in many types (urllib, requests, hf hub)
        return Lookup(looked=tuple(looked), download_skipped=f"download failed: {type(err).__name__}: {err}")
    return Lookup(Path(target), "open_clip")


def not_found_message(spec: BackboneSpec, tag: str, lookup: Lookup) -> str:
    """What was looked for, and the three ways to provide the weights."""
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
    lines.append("For tests and demos without weights use the backbone 'tiny' (or MODEL.BACKBONE.PRETRAINED False).")
    return "\n".join(lines)
