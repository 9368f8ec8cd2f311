import contextlib

import pytest
import torch
from open_clip.transformer import LayerNormFp32

from clipfit.clip import autocast, convert_model, input_dtype, make_grad_scaler, resolve_precision


@pytest.mark.parametrize("mode", ["fp16", "amp", "bf16"])
def test_half_precision_falls_back_to_fp32_on_cpu(mode, capsys):
    assert resolve_precision(mode, "cpu") == "fp32"
    assert f"PREC {mode}: half precision is unusable on CPU; using fp32" in capsys.readouterr().out


def test_fp32_needs_no_notice(capsys):
    assert resolve_precision("FP32", torch.device("cpu")) == "fp32"
    assert capsys.readouterr().out == ""
    with pytest.raises(ValueError, match="unknown precision 'fp8'"):
        resolve_precision("fp8", "cpu")


def test_fp16_conversion_keeps_layernorms_fp32(tiny):
    convert_model(tiny, "fp16")
    block = tiny.transformer.resblocks[0]
    assert block.mlp.c_fc.weight.dtype == torch.float16
    assert block.mlp.c_proj.bias.dtype == torch.float16  # trained in half, as the authors did
    assert block.attn.in_proj_weight.dtype == torch.float16
    assert tiny.text_projection.dtype == tiny.visual.proj.dtype == torch.float16
    for module in (block.ln_1, tiny.ln_final, tiny.visual.ln_pre, tiny.visual.transformer.resblocks[1].ln_2):
        assert isinstance(module, LayerNormFp32)
        assert module.weight.dtype == module.bias.dtype == torch.float32
    x = torch.randn(3, 64, dtype=torch.float16)
    out = tiny.ln_final(x)
    assert out.dtype == torch.float16
    expected = torch.nn.functional.layer_norm(x.float(), (64,), tiny.ln_final.weight, tiny.ln_final.bias)
    torch.testing.assert_close(out, expected.half())


def test_fp16_image_forward_runs_with_half_inputs(tiny):
    convert_model(tiny, "fp16")
    with torch.no_grad():
        features = tiny.encode_image(torch.zeros(1, 3, 224, 224, dtype=input_dtype("fp16")))
    assert features.dtype == torch.float16


def test_back_to_fp32(tiny):
    convert_model(tiny, "fp16")
    convert_model(tiny, "fp32")
    assert all(p.dtype == torch.float32 for p in tiny.parameters())


def test_autocast_and_scaler_factories():
    assert isinstance(autocast("fp32", "cpu"), contextlib.nullcontext)
    assert isinstance(autocast("fp16", "cpu"), contextlib.nullcontext)
    with autocast("bf16", "cpu"):
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.bfloat16
    assert not make_grad_scaler("amp", "cpu").is_enabled()
    assert input_dtype("fp16") == torch.float16 and input_dtype("amp") == torch.float32


@pytest.mark.gpu
def test_cuda_keeps_the_requested_modes():
    for mode in ("fp16", "amp", "fp32"):
        assert resolve_precision(mode, "cuda") == mode
    assert make_grad_scaler("amp", "cuda").is_enabled()
    assert not make_grad_scaler("fp16", "cuda").is_enabled()


def test_mixed_layer_norm_equals_the_casting_one():
    from clipfit.clip.precision import MixedLayerNorm, mixed_layer_norm_supported

    torch.manual_seed(0)
    x = (torch.randn(3, 5, 16) * 4 + 1).half()
    ref = LayerNormFp32(16)
    ref.weight.data.uniform_(0.5, 1.5)
    ref.bias.data.uniform_(-0.5, 0.5)
    mixed = MixedLayerNorm(16)
    mixed.load_state_dict(ref.state_dict())
    xr, xm = x.clone().requires_grad_(), x.clone().requires_grad_()
    out_ref, out_mixed = ref(xr), mixed(xm)
    assert out_mixed.dtype == torch.float16 and mixed_layer_norm_supported("cpu")
    torch.testing.assert_close(out_mixed, out_ref, atol=2e-3, rtol=1e-3)
    out_ref.float().pow(2).sum().backward()
    out_mixed.float().pow(2).sum().backward()
    assert mixed.weight.grad.dtype == torch.float32
    torch.testing.assert_close(mixed.weight.grad, ref.weight.grad, atol=1e-2, rtol=1e-2)
    torch.testing.assert_close(xm.grad, xr.grad, atol=1e-2, rtol=1e-2)
