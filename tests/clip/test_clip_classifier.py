import math

import pytest
import torch

from clipfit.clip import (
    TextEncoder,
    TextFeatureCache,
    TrainedStateMismatch,
    compute_text_features,
    cosine_logits,
    kd_loss,
    load_trained_state_dict,
    mse_bias_loss,
    prompt_for,
    select_trainable,
    tokenize_prompts,
)


def test_cosine_logits_match_a_direct_computation():
    torch.manual_seed(0)
    images, texts = torch.randn(4, 8), torch.randn(3, 8)
    scale = torch.tensor(math.log(100.0))
    logits = cosine_logits(images, texts, scale)
    for i in range(4):
        for k in range(3):
            cos = float(images[i] @ texts[k]) / (float(images[i].norm()) * float(texts[k].norm()))
            assert logits[i, k].item() == pytest.approx(100.0 * cos, abs=1e-4)
    unit_images = images / images.norm(dim=-1, keepdim=True)
    unit_texts = texts / texts.norm(dim=-1, keepdim=True)
    torch.testing.assert_close(cosine_logits(unit_images, unit_texts, scale, normalized=True), logits)


def test_kd_loss():
    torch.manual_seed(0)
    now, zs = torch.randn(5, 16), torch.randn(5, 16)
    assert abs(kd_loss(now, now.clone()).item()) < 1e-6
    assert abs(kd_loss(now, 3.0 * now).item()) < 1e-6  # scale invariant: cosine
    expected = 1.0 - sum(float(a @ b) / (float(a.norm()) * float(b.norm())) for a, b in zip(now, zs)) / 5
    assert kd_loss(now, zs).item() == pytest.approx(expected, abs=1e-6)
    with pytest.raises(ValueError, match="differ in shape"):
        kd_loss(now, zs[:4])


def test_mse_bias_loss_matches_an_independent_computation():
    torch.manual_seed(0)
    initial = [torch.randn(512), torch.randn(512), torch.randn(7)]
    current = [t + 0.01 * torch.randn_like(t) for t in initial]
    expected = sum(sum((float(c) - float(i)) ** 2 for c, i in zip(cur, ini)) for cur, ini in zip(current, initial)) / 3
    named_current = {f"b{i}": t for i, t in enumerate(current)}
    named_initial = {f"b{i}": t for i, t in enumerate(initial)}
    assert mse_bias_loss(named_current, named_initial).item() == pytest.approx(expected, rel=1e-5)
    assert mse_bias_loss(named_initial, named_initial).item() == 0.0
    with pytest.raises(KeyError, match="differ in names"):
        mse_bias_loss({"a": current[0]}, {"b": initial[0]})


def test_mse_bias_loss_has_gradients_for_current_only():
    initial = {"b": torch.zeros(3)}
    current = {"b": torch.ones(3, requires_grad=True)}
    mse_bias_loss(current, initial).backward()
    torch.testing.assert_close(current["b"].grad, torch.full((3,), 2.0))


def _trained_values(model, names):
    params = dict(model.named_parameters())
    return {n: params[n].detach().clone() for n in names}


def test_trained_state_loads_back_into_the_model(tiny):
    selection = select_trainable(tiny, "clipfit")
    saved = _trained_values(tiny, selection.names)
    assert sum(v.numel() for v in saved.values()) == selection.num_trained == 896
    with torch.no_grad():
        for p in tiny.parameters():
            if p.requires_grad:
                p.add_(1.0)
    assert not torch.equal(tiny.visual.ln_pre.weight, saved["visual.ln_pre.weight"])
    load_trained_state_dict(tiny, saved, selection.names)
    params = dict(tiny.named_parameters())
    for name, value in saved.items():
        assert torch.equal(params[name], value), name


def test_checkpoint_of_another_preset_is_refused(tiny):
    state = _trained_values(tiny, select_trainable(tiny, "bitfit").names)
    clipfit = select_trainable(tiny, "clipfit")
    with pytest.raises(TrainedStateMismatch) as caught:
        load_trained_state_dict(tiny, state, clipfit.names, source="model.pth.tar-10")
    message = str(caught.value)
    assert "model.pth.tar-10 does not match" in message
    assert "missing from the checkpoint" in message and "visual.ln_pre.weight" in message
    assert "not trained by this model" in message and "attn.in_proj_bias" in message


def test_checkpoint_with_other_shapes_is_refused(tiny):
    selection = select_trainable(tiny, "clipfit")
    state = _trained_values(tiny, selection.names)
    state["visual.ln_pre.weight"] = torch.zeros(768)
    with pytest.raises(TrainedStateMismatch, match=r"visual.ln_pre.weight checkpoint \(768,\) vs model \(64,\)"):
        load_trained_state_dict(tiny, state, selection.names)


def test_text_feature_cache_refreshes_only_after_a_training_step(tiny):
    select_trainable(tiny, "clipfit")
    encoder = TextEncoder(tiny)
    prompts = tokenize_prompts(
        [prompt_for("a photo of a {}, a type of pet.", n) for n in ["pug", "beagle", "great_pyrenees"]]
    )
    cache = TextFeatureCache(lambda: compute_text_features(encoder, prompts), encoder.parameters())

    first = cache.get()
    assert cache.get() is first and cache.computations == 1
    torch.testing.assert_close(first, compute_text_features(encoder, prompts).detach())
    assert not first.requires_grad

    optimizer = torch.optim.SGD([p for p in tiny.parameters() if p.requires_grad], lr=0.5, momentum=0.9)
    loss = encoder.encode(prompts).pow(2).sum()
    loss.backward()
    assert cache.get() is first and cache.computations == 1  # forward/backward alone change nothing
    optimizer.step()
    second = cache.get()
    assert cache.computations == 2 and not torch.allclose(second, first)
    torch.testing.assert_close(second, compute_text_features(encoder, prompts).detach())
    assert cache.get() is second
