"""CUDA paths: the precision modes on a real GPU (skipped without one)."""
import copy

import pytest
import torch
import torch.nn.functional as F

from clipfit.clip import (
    TextEncoder,
    autocast,
    compute_text_features,
    convert_model,
    cosine_logits,
    input_dtype,
    kd_loss,
    make_grad_scaler,
    prompt_for,
    resolve_precision,
    select_trainable,
    tokenize,
    tokenize_prompts,
)

pytestmark = pytest.mark.gpu

PET = "a photo of a {}, a type of pet."  # OxfordPets' template
CLASSES = ["abyssinian", "great_pyrenees", "staffordshire_bull_terrier", "pug", "samoyed"]


def clipfit_step(model, mode):
    """One CLIPFit step (CE + 8 KD, SGD) in `mode`; returns (loss, trained values before, after)."""
    device = torch.device("cuda")
    select_trainable(model, "clipfit")
    encoder = TextEncoder(model)
    prompts = tokenize_prompts([prompt_for(PET, n) for n in CLASSES], device=device)
    with torch.no_grad(), autocast(mode, device):
        zero_shot = compute_text_features(encoder, prompts)
    params = [p for p in model.parameters() if p.requires_grad]
    before = [p.detach().clone() for p in params]
    optimizer = torch.optim.SGD(params, lr=0.5, momentum=0.9)
    scaler = make_grad_scaler(mode, device)
    images = torch.randn(4, 3, 224, 224, device=device).to(input_dtype(mode))
    labels = torch.tensor([0, 1, 2, 3], device=device)
    with autocast(mode, device):
        text = encoder.encode(prompts)
        logits = cosine_logits(model.encode_image(images), text, model.logit_scale)
        loss = F.cross_entropy(logits.float(), labels) + 8.0 * kd_loss(text, zero_shot)
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
    return loss, before, [p.detach() for p in params]


@pytest.mark.parametrize("mode", ["fp16", "amp", "bf16", "fp32"])
def test_clipfit_step_in_every_mode(tiny, mode):
    mode = resolve_precision(mode, "cuda")
    model = convert_model(tiny, mode).cuda()
    loss, before, after = clipfit_step(model, mode)
    assert torch.isfinite(loss)
    assert any(not torch.equal(a, b) for a, b in zip(before, after))
    if mode == "fp16":
        assert model.transformer.resblocks[0].mlp.c_proj.bias.dtype == torch.float16
        assert model.visual.ln_pre.weight.dtype == torch.float32


def test_fp16_text_features_match_fp32(tiny):
    reference = copy.deepcopy(tiny).cuda()
    half = convert_model(tiny, "fp16").cuda()
    prompts = tokenize_prompts([prompt_for(PET, n) for n in CLASSES], device="cuda")
    with torch.no_grad():
        expected = TextEncoder(reference).encode(prompts)
        got = TextEncoder(half).encode(prompts)
    assert got.dtype == torch.float16
    torch.testing.assert_close(got.float(), expected, atol=2e-2, rtol=2e-2)


def test_truncated_equals_full_on_cuda(vitb16):
    model = copy.deepcopy(vitb16).cuda()
    prompts = tokenize_prompts([prompt_for(PET, n) for n in CLASSES], device="cuda")
    with torch.no_grad():
        expected = model.encode_text(tokenize(prompts.texts).cuda())
        got = TextEncoder(model).encode(prompts)
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("mode", ["fp16", "amp", "bf16"])
def test_shared_prefix_equals_full_prompts_on_cuda(vitb16, mode, monkeypatch):
    from clipfit.clip import shared_prefix

    monkeypatch.setattr(shared_prefix, "GPU_MIN_SAVED_TOKENS", 0)  # 5 classes save few positions: force the path
    mode = resolve_precision(mode, "cuda")
    model = convert_model(copy.deepcopy(vitb16), mode).cuda()
    names = CLASSES + ["a b c d e f g h", "x"]  # lengths differ: suffixes run unpadded
    prompts = tokenize_prompts([prompt_for(PET, n) for n in names], device="cuda")
    assert prompts.prefix_length == 5 and prompts.layout.unpad is not None
    with torch.no_grad():
        reference = TextEncoder(copy.deepcopy(vitb16).cuda(), share_prefix=False).encode(prompts)
        with autocast(mode, "cuda"):
            full = TextEncoder(model, share_prefix=False).encode(prompts).float()
            shared = TextEncoder(model).encode(prompts).float()
    # The shared path is as close to fp32 as the plain half-precision path is.
    err_full = (full - reference).norm() / reference.norm()
    err_shared = (shared - reference).norm() / reference.norm()
    assert err_shared < max(2 * err_full, 1e-3), (float(err_shared), float(err_full))
