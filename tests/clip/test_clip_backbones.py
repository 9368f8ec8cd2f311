import os
import time

import open_clip
import pytest
import torch
from open_clip.modified_resnet import ModifiedResNet
from open_clip.pretrained import get_pretrained_cfg
from open_clip.transformer import QuickGELU, VisionTransformer

from clipfit.clip import BACKBONES, load_clip, resolve_backbone
from clipfit.clip.architectures import build_architecture

OPENAI_NAMES = {
    "ViT-B/16": ("ViT-B-16-quickgelu", "ViT-B-16.pt"),
    "ViT-B/32": ("ViT-B-32-quickgelu", "ViT-B-32.pt"),
    "ViT-L/14": ("ViT-L-14-quickgelu", "ViT-L-14.pt"),
    "ViT-L/14@336px": ("ViT-L-14-336-quickgelu", "ViT-L-14-336px.pt"),
    "RN50": ("RN50-quickgelu", "RN50.pt"),
    "RN101": ("RN101-quickgelu", "RN101.pt"),
}


@pytest.mark.parametrize("name", sorted(OPENAI_NAMES))
def test_openai_names_map_to_quickgelu_archs(name):
    spec = resolve_backbone(name)
    arch, file_name = OPENAI_NAMES[name]
    assert (spec.arch, spec.openai_file, spec.pretrained) == (arch, file_name, "openai")
    assert open_clip.get_model_config(arch)["quick_gelu"] is True
    # The cache file name is the one openai/CLIP (and open_clip's URL download) writes.
    assert os.path.basename(get_pretrained_cfg(arch, "openai")["url"]) == file_name


def test_every_registered_openai_name_has_an_open_clip_openai_tag():
    for spec in BACKBONES.values():
        if spec.pretrained == "openai":
            assert get_pretrained_cfg(spec.arch, "openai"), spec.name


def test_names_are_case_insensitive_and_open_clip_archs_pass_through():
    assert resolve_backbone("vit-b/16").arch == "ViT-B-16-quickgelu"
    spec = resolve_backbone("ViT-B-16")
    assert (spec.arch, spec.pretrained, spec.openai_file) == ("ViT-B-16", "", "")


def test_unknown_name_lists_known_names_without_network():
    with pytest.raises(ValueError, match="unknown CLIP backbone 'ViT-B/99'.*ViT-B/16"):
        resolve_backbone("ViT-B/99")
    with pytest.raises(ValueError, match="unknown CLIP backbone"):
        resolve_backbone("hf-hub:someone/some-model")  # never fetched over the network


def test_tiny_is_the_real_open_clip_clip_class(tiny):
    assert type(tiny) is open_clip.model.CLIP
    assert isinstance(tiny.visual, VisionTransformer)
    assert isinstance(tiny.transformer.resblocks[0].mlp.gelu, QuickGELU)
    assert not tiny.training
    assert all(p.dtype == torch.float32 for p in tiny.parameters())
    assert tiny.token_embedding.weight.shape == (49408, 64)
    assert tiny.positional_embedding.shape == (77, 64)
    assert tiny.text_projection.shape == (64, 64)
    assert len(tiny.transformer.resblocks) == 2 and len(tiny.visual.transformer.resblocks) == 2
    assert tiny.visual.conv1.weight.shape == (64, 3, 16, 16)
    info = tiny.clip_info
    assert (info.name, info.arch, info.image_size, info.weights) == ("tiny", "tiny-vit", 224, "random")
    assert info.context_length == 77 and info.quick_gelu
    assert tiny.encode_image(torch.zeros(2, 3, 224, 224)).shape == (2, 64)


def test_tiny_builds_fast_and_deterministically():
    torch.manual_seed(3)
    start = time.perf_counter()
    first = load_clip("tiny")
    elapsed = time.perf_counter() - start
    torch.manual_seed(3)
    second = load_clip("tiny")
    assert elapsed < 1.0
    for (name, a), (_, b) in zip(first.state_dict().items(), second.state_dict().items()):
        assert torch.equal(a, b), name


def test_tiny_image_size_is_configurable():
    torch.manual_seed(0)
    model = load_clip("tiny", image_size=32)
    assert model.clip_info.image_size == 32
    assert model.visual.positional_embedding.shape == (1 + 2 * 2, 64)
    assert model.encode_image(torch.zeros(1, 3, 32, 32)).shape == (1, 64)


def test_tiny_rn_has_a_modified_resnet_tower(tiny_rn):
    assert type(tiny_rn) is open_clip.model.CLIP
    assert isinstance(tiny_rn.visual, ModifiedResNet)
    assert tiny_rn.encode_image(torch.zeros(1, 3, 224, 224)).shape == (1, 64)


def test_full_size_image_size_mismatch_is_refused_before_building():
    with pytest.raises(ValueError, match="takes 224x224 images.*INPUT.SIZE"):
        build_architecture(resolve_backbone("ViT-B/16"), image_size=336)


def test_build_random_clip_gives_the_open_clip_architecture(vitb16):
    assert type(vitb16) is open_clip.model.CLIP
    assert not vitb16.training
    assert vitb16.visual.conv1.weight.shape == (768, 3, 16, 16)
    assert vitb16.text_projection.shape == (512, 512)
    assert isinstance(vitb16.visual.transformer.resblocks[0].mlp.gelu, QuickGELU)
