import pytest
from torch import nn

from clipfit.clip import PRESETS, select_trainable


def trainable(model):
    return {n for n, p in model.named_parameters() if p.requires_grad}


def test_clipfit_preset_on_vitb16_trains_46080_parameters(vitb16):
    selection = select_trainable(vitb16, "clipfit")
    assert selection.num_trained == 46_080
    assert (selection.text.trained, len(selection.text.names)) == (12 * 512, 12)
    assert (selection.image.trained, len(selection.image.names)) == (26 * 2 * 768, 52)
    assert all(n.endswith(".mlp.c_proj.bias") and n.startswith("transformer.resblocks.") for n in selection.text.names)
    for name in ("visual.ln_pre.weight", "visual.ln_post.bias", "visual.transformer.resblocks.11.ln_2.weight"):
        assert name in selection.image.names
    assert trainable(vitb16) == set(selection.names)
    assert sum(p.numel() for p in vitb16.parameters() if p.requires_grad) == 46_080
    assert not vitb16.logit_scale.requires_grad
    assert selection.text.total + selection.image.total + 1 == sum(p.numel() for p in vitb16.parameters())
    assert selection.unmatched == [] and selection.notes == []
    text = selection.format()
    assert "(preset 'clipfit'): 46,080 in 64 tensors" in text
    assert "logit_scale: frozen" in text


def test_presets_select_what_they_say(tiny):
    params = dict(tiny.named_parameters())
    layernorm = {
        f"{m_name}.{p_name}"
        for m_name, module in tiny.named_modules()
        if isinstance(module, nn.LayerNorm)
        for p_name, _ in module.named_parameters(recurse=False)
    }
    biases = {n for n in params if n.endswith("bias")}
    expected = {
        "bitfit": biases,
        "layernorm": layernorm,
        "text_bias": {"transformer.resblocks.0.mlp.c_proj.bias", "transformer.resblocks.1.mlp.c_proj.bias"},
        "full": set(params),
        "none": set(),
    }
    assert "visual.transformer.resblocks.0.attn.in_proj_bias" in biases
    assert "ln_final.weight" in layernorm
    for preset, names in expected.items():
        selection = select_trainable(tiny, preset)
        assert set(selection.names) == names, preset
        assert trainable(tiny) == names, preset
        assert selection.num_trained == sum(params[n].numel() for n in names), preset
    assert select_trainable(tiny, "full").scale_trained


def test_custom_patterns_and_a_pattern_matching_nothing(tiny):
    selection = select_trainable(
        tiny,
        text_patterns=["ln_final.*", "transformer.*.attn.nothing"],
        image_patterns=["visual.ln_post.*", "ln_pre.*"],
    )
    assert selection.text.names == ["ln_final.weight", "ln_final.bias"]
    assert selection.image.names == ["visual.ln_post.weight", "visual.ln_post.bias"]
    assert selection.unmatched == ["text:transformer.*.attn.nothing", "image:ln_pre.*"]
    text = selection.format()
    assert "patterns that matched nothing: text:transformer.*.attn.nothing, image:ln_pre.*" in text
    assert "'ln_pre.*' should start with 'visual.'" in text
    assert "visual.ln_post.bias" in selection.format(verbose=True)


def test_rn_image_tower_has_no_layernorm_and_the_report_says_so(tiny_rn):
    selection = select_trainable(tiny_rn, "clipfit")
    assert selection.image.trained == 0 and selection.image.names == []
    assert selection.text.trained == 2 * 64
    report = selection.format()
    assert "image tower (ModifiedResNet) has no LayerNorm" in report
    assert "image_patterns=['@batchnorm']" in report

    batchnorm = select_trainable(tiny_rn, image_patterns=["@batchnorm"])
    bn_params = sum(
        p.numel()
        for m in tiny_rn.modules()
        if isinstance(m, nn.BatchNorm2d)
        for p in m.parameters(recurse=False)
    )
    assert batchnorm.image.trained == bn_params > 0
    assert all(".bn" in n or "downsample.1" in n for n in batchnorm.image.names)
    assert "running statistics" in batchnorm.format()


def test_unknown_preset(tiny):
    with pytest.raises(ValueError, match="unknown parameter preset 'lora'.*clipfit"):
        select_trainable(tiny, "lora")
    assert set(PRESETS) == {"clipfit", "bitfit", "layernorm", "text_bias", "full", "none"}
