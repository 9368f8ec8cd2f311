import socket
import time
import warnings

import pytest
import torch
from torch import nn

from clipfit.clip import (
    BACKBONES,
    BackboneSpec,
    ClipWeightsMismatch,
    ClipWeightsNotFound,
    ClipWeightsUnreadable,
    build_tiny_clip,
    load_clip,
    register_backbone,
    tokenize,
)

IMAGES = torch.linspace(-1, 1, 2 * 3 * 224 * 224).reshape(2, 3, 224, 224)
TOKENS = tokenize(["a photo of a cat.", "a photo of a great pyrenees, a type of pet."])


def features(model):
    with torch.no_grad():
        return model.encode_image(IMAGES), model.encode_text(TOKENS)


def assert_same_features(a, b, atol=1e-6):
    for x, y in zip(features(a), features(b)):
        torch.testing.assert_close(x, y, atol=atol, rtol=0)


def reference_tiny(seed=0):
    torch.manual_seed(seed)
    return load_clip("tiny")


class _Holder(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def write_openai_archive(state, path):
    """A TorchScript archive laid out like OpenAI's: nested modules holding the tensors under the same
    names, plus the non-parameter entries OpenAI's archives carry."""
    root = _Holder()
    entries = dict(state)
    entries.update(input_resolution=torch.tensor(224), context_length=torch.tensor(77), vocab_size=torch.tensor(49408))
    for key, value in entries.items():
        *path_parts, leaf = key.split(".")
        module = root
        for part in path_parts:
            if part not in module._modules:
                module.add_module(part, _Holder())
            module = module._modules[part]
        module.register_buffer(leaf, value.clone())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit.script is deprecated; OpenAI's files are scripted
        torch.jit.script(root).save(str(path))


def test_state_dict_file_reproduces_features(tmp_path):
    source = reference_tiny(seed=0)
    path = tmp_path / "tiny.pt"
    torch.save(source.state_dict(), path)
    torch.manual_seed(1)  # a different random init, overwritten by the file
    loaded = load_clip("tiny", weights_path=str(path))
    assert loaded.clip_info.weights == "file" and loaded.clip_info.weights_path == str(path)
    assert_same_features(source, loaded)
    assert not torch.equal(reference_tiny(seed=1).visual.conv1.weight, loaded.visual.conv1.weight)


def test_wrapped_and_prefixed_state_dict_loads(tmp_path):
    source = reference_tiny(seed=0)
    path = tmp_path / "wrapped.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in source.state_dict().items()}, "epoch": 3}, path)
    torch.manual_seed(1)
    assert_same_features(source, load_clip("tiny", weights_path=str(path)))


def test_openai_torchscript_archive_loads_half_weights_into_fp32(tmp_path):
    source = reference_tiny(seed=0)
    # OpenAI archives store the weights in fp16; the model must come back fp32 with those values.
    half_state = {k: v.half() if v.is_floating_point() else v for k, v in source.state_dict().items()}
    path = tmp_path / "tiny-openai.pt"
    write_openai_archive(half_state, path)
    torch.manual_seed(1)
    loaded = load_clip("tiny", weights_path=str(path))
    assert all(p.dtype == torch.float32 for p in loaded.parameters())
    expected = reference_tiny(seed=2)
    expected.load_state_dict({k: v.float() for k, v in half_state.items()})
    assert_same_features(expected, loaded)


@pytest.fixture
def cached_backbone():
    """A registered name whose OpenAI-cache file is 'tiny-cached.pt' (tiny architecture)."""
    spec = register_backbone(
        BackboneSpec("tiny-cached", "tiny-vit", openai_file="tiny-cached.pt", builder=build_tiny_clip)
    )
    yield spec
    BACKBONES.pop(spec.name)


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """HOME in tmp_path, downloads disabled, and any socket connection fails at once."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("CLIPFIT_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    def refuse(*args, **kwargs):
        raise OSError("network disabled by the test")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return tmp_path


def test_openai_cache_lookup_uses_home(cached_backbone, offline):
    source = reference_tiny(seed=0)
    cache = offline / ".cache" / "clip"
    cache.mkdir(parents=True)
    torch.save(source.state_dict(), cache / "tiny-cached.pt")
    torch.manual_seed(1)
    loaded = load_clip("tiny-cached")
    assert loaded.clip_info.weights == "openai-cache"
    assert loaded.clip_info.weights_path == str(cache / "tiny-cached.pt")
    assert_same_features(source, loaded)


def test_explicit_path_wins_over_the_cache(cached_backbone, offline, tmp_path):
    cache = offline / ".cache" / "clip"
    cache.mkdir(parents=True)
    torch.save(reference_tiny(seed=0).state_dict(), cache / "tiny-cached.pt")
    explicit = reference_tiny(seed=5)
    torch.save(explicit.state_dict(), tmp_path / "explicit.pt")
    loaded = load_clip("tiny-cached", weights_path=str(tmp_path / "explicit.pt"))
    assert loaded.clip_info.weights == "file"
    assert_same_features(explicit, loaded)


def test_missing_weights_error_names_the_file_and_three_ways(cached_backbone, offline):
    with pytest.raises(ClipWeightsNotFound) as caught:
        load_clip("tiny-cached")
    message = str(caught.value)
    assert isinstance(caught.value, FileNotFoundError)
    assert "tiny-cached.pt" in message
    assert "MODEL.BACKBONE.WEIGHTS" in message
    assert str(offline / ".cache" / "clip" / "tiny-cached.pt") in message
    assert "open_clip" in message and "three ways" in message


def test_missing_openai_weights_fail_fast_offline(offline):
    start = time.perf_counter()
    with pytest.raises(ClipWeightsNotFound) as caught:
        load_clip("ViT-B/16")
    assert time.perf_counter() - start < 5.0
    message = str(caught.value)
    for needle in (
        "ViT-B-16.pt",
        "MODEL.BACKBONE.WEIGHTS",
        str(offline / ".cache" / "clip" / "ViT-B-16.pt"),
        "open_clip",
        "CLIPFIT_OFFLINE=1 is set",
    ):
        assert needle in message, needle


def test_missing_weights_without_offline_flags_probe_and_fail_fast(offline, monkeypatch):
    monkeypatch.delenv("CLIPFIT_OFFLINE")
    monkeypatch.delenv("HF_HUB_OFFLINE")
    start = time.perf_counter()
    with pytest.raises(ClipWeightsNotFound, match="no connection to huggingface.co"):
        load_clip("ViT-B/32")
    assert time.perf_counter() - start < 5.0


def test_weights_of_another_architecture_name_the_file_and_keys(tmp_path):
    path = tmp_path / "tiny-vit.pt"
    torch.save(reference_tiny().state_dict(), path)
    with pytest.raises(ClipWeightsMismatch) as caught:
        load_clip("tiny-rn", weights_path=str(path))
    message = str(caught.value)
    assert str(path) in message and "'tiny-rn'" in message
    assert "missing from the file" in message and "visual.bn1.weight" in message
    assert "not in the architecture" in message and "visual.ln_pre.weight" in message


def test_shape_mismatch_is_reported(tmp_path):
    path = tmp_path / "tiny224.pt"
    torch.save(reference_tiny().state_dict(), path)
    with pytest.raises(ClipWeightsMismatch, match=r"visual.positional_embedding file \(197, 64\) vs model \(5, 64\)"):
        load_clip("tiny", weights_path=str(path), image_size=32)


def test_unreadable_and_missing_files(tmp_path):
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(ClipWeightsUnreadable, match="garbage.pt"):
        load_clip("tiny", weights_path=str(garbage))
    with pytest.raises(ClipWeightsNotFound, match="nowhere.pt does not exist"):
        load_clip("tiny", weights_path=str(tmp_path / "nowhere.pt"))
    not_a_state_dict = tmp_path / "list.pt"
    torch.save([torch.zeros(1)], not_a_state_dict)
    with pytest.raises(ClipWeightsUnreadable, match="holds a list, not a state dict"):
        load_clip("tiny", weights_path=str(not_a_state_dict))


def test_unknown_pretrained_tag_lists_the_known_ones():
    with pytest.raises(ValueError, match="no pretrained tag 'nope'.*laion2b_s34b_b88k"):
        load_clip("ViT-B-16", pretrained="nope")


def test_open_clip_hugging_face_cache_is_found_without_network(offline):
    from clipfit.clip.weight_lookup import _find_in_hf_cache

    repo = offline / "hf" / "models--timm--vit_base_patch16_clip_224.openai"
    commit = "0123456789abcdef0123456789abcdef01234567"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    assert _find_in_hf_cache("timm/vit_base_patch16_clip_224.openai/", str(offline / "hf")) is None
    (snapshot / "open_clip_pytorch_model.bin").write_bytes(b"weights")
    found = _find_in_hf_cache("timm/vit_base_patch16_clip_224.openai/", str(offline / "hf"))
    assert found == snapshot / "open_clip_pytorch_model.bin"
    (snapshot / "open_clip_model.safetensors").write_bytes(b"weights")  # open_clip prefers safetensors
    found = _find_in_hf_cache("timm/vit_base_patch16_clip_224.openai/", str(offline / "hf"))
    assert found == snapshot / "open_clip_model.safetensors"


def test_open_clip_tag_loads_from_its_cache(offline, monkeypatch):
    """A (tiny) architecture with an open_clip pretrained tag: found in open_clip's HF cache, offline."""
    import open_clip.pretrained

    tag_cfg = {"hf_hub": "someone/tiny-clip/", "mean": (0.5, 0.5, 0.5), "std": (0.5, 0.5, 0.5)}
    monkeypatch.setitem(open_clip.pretrained._PRETRAINED, "tiny-vit", {"testtag": tag_cfg})
    spec = register_backbone(BackboneSpec("tiny-tagged", "tiny-vit", pretrained="testtag", builder=build_tiny_clip))
    try:
        source = reference_tiny(seed=0)
        commit = "f" * 40
        repo = offline / "hf" / "models--someone--tiny-clip"
        (repo / "refs").mkdir(parents=True)
        (repo / "refs" / "main").write_text(commit)
        (repo / "snapshots" / commit).mkdir(parents=True)
        torch.save(source.state_dict(), repo / "snapshots" / commit / "open_clip_pytorch_model.bin")
        torch.manual_seed(1)
        loaded = load_clip("tiny-tagged", cache_dir=str(offline / "hf"))
    finally:
        BACKBONES.pop(spec.name)
    info = loaded.clip_info
    assert (info.weights, info.pretrained, info.mean) == ("open_clip", "testtag", (0.5, 0.5, 0.5))
    assert info.weights_path.endswith("open_clip_pytorch_model.bin")
    assert_same_features(source, loaded)
