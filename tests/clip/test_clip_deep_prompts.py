"""Deep prompts in the text encoder (full prompts and the shared-prefix path) and the prompted image encoder."""
import pytest
import torch

from clipfit.clip import PromptedImageEncoder, TextEncoder, takes_prompts, tokenize_prompts
from clipfit.clip.deep_prompts import check_deep_prompts, replace_tokens

NAMES = ["red circle", "a big blue square", "green triangle"]


def _prompts(encoder, n_ctx=2):
    tokenized = tokenize_prompts([f"a photo of a {n}." for n in NAMES])
    return encoder.embed(tokenized.tokens).detach(), tokenized.eot_index


def test_replace_tokens_puts_the_prompt_in_every_row_in_the_input_dtype():
    x = torch.zeros(2, 5, 3, dtype=torch.float64)
    prompt = torch.arange(6, dtype=torch.float32).view(2, 3)
    out = replace_tokens(x, prompt, 1)
    assert out.dtype == torch.float64 and out.shape == x.shape
    assert torch.equal(out[:, 1:3], prompt.double().expand(2, -1, -1)) and not out[:, [0, 3, 4]].any()


@pytest.mark.parametrize("deep, blocks, positions, message", [
    ([torch.zeros(2, 4)] * 2, 2, None, "2 deep prompts for a transformer of 2 blocks"),
    ([torch.zeros(2, 4), torch.zeros(3, 4)], 4, None, "must all be"),
    ([torch.zeros(3, 4)], 2, 2, "do not fit the 2 prompt positions"),
])
def test_deep_prompts_that_do_not_fit_are_refused(deep, blocks, positions, message):
    with pytest.raises(ValueError, match=message):
        check_deep_prompts(deep, blocks, positions)


@pytest.mark.numeric
def test_shared_prefix_with_deep_prompts_equals_full_prompts_in_value_and_gradient(tiny64):
    """float64: the prefix path (run once, rows unpadded) and the full prompts agree to rounding."""
    encoder = TextEncoder(tiny64)
    embedded, eot = _prompts(encoder)
    ctx = torch.randn(2, 64, dtype=torch.float64, requires_grad=True)
    deep = [torch.randn(2, 64, dtype=torch.float64, requires_grad=True)]
    full = torch.cat([embedded[:, :1], ctx.expand(3, -1, -1), embedded[:, 3:]], dim=1)
    expected = encoder.forward_embeddings(full, eot, deep)
    expected.square().sum().backward()
    grads = [ctx.grad.clone(), deep[0].grad.clone()]
    ctx.grad = deep[0].grad = None
    prefix = torch.cat([embedded[:1, :1], ctx.unsqueeze(0), embedded[:1, 3:5]], dim=1)  # [SOS] ctx ctx of a
    shared = encoder.forward_prefixed(prefix, embedded[:, 5:], eot, deep_prompts=deep)
    shared.square().sum().backward()
    torch.testing.assert_close(shared, expected, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close([ctx.grad, deep[0].grad], grads, rtol=1e-10, atol=1e-12)
    without = encoder.forward_embeddings(full, eot)
    assert (without - expected).abs().max() > 1e-3  # the deep prompt does take part


def test_deep_prompts_need_one_prefix_for_all_rows(tiny):
    encoder = TextEncoder(tiny)
    embedded, eot = _prompts(encoder)
    with pytest.raises(ValueError, match="one prefix"):
        encoder.forward_prefixed(embedded[:2, :3], embedded[:, 3:], eot, group=torch.tensor([0, 1, 1]),
                                 deep_prompts=[torch.zeros(2, 64)])


def test_image_encoder_without_prompts_is_clips_and_with_prompts_pools_the_class_token(tiny):
    encoder = PromptedImageEncoder(tiny.visual)
    image = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        assert torch.equal(encoder(image), tiny.encode_image(image))
        prompted = encoder(image, torch.randn(3, 64), [torch.randn(3, 64)])
    assert prompted.shape == (2, tiny.visual.output_dim)
    with pytest.raises(ValueError, match="need the shallow ones"):
        encoder(image, None, [torch.zeros(3, 64)])
    with pytest.raises(ValueError, match="must have the shape of the shallow ones"):
        encoder(image, torch.zeros(3, 64), [torch.zeros(2, 64)])


def test_rn_image_towers_take_no_prompts():
    from clipfit.clip import load_clip

    rn = load_clip("tiny-rn").visual
    assert not takes_prompts(rn)
    with pytest.raises(TypeError, match="needs a ViT image tower"):
        PromptedImageEncoder(rn)


@pytest.mark.numeric
def test_class_token_features_are_clips_with_the_last_block_for_the_class_token_only(tiny64):
    """float64: the same maths as open_clip's forward (other kernels: equal to rounding), with fewer FLOPs (counted in
    train mode, where MultiheadAttention takes its slow path, whose products the counter sees; no dropout in CLIP)."""
    from torch.utils.flop_counter import FlopCounterMode

    visual = tiny64.visual
    assert takes_prompts(visual)
    encoder = PromptedImageEncoder(visual)
    image = torch.randn(2, 3, 224, 224, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(encoder.class_token_features(image), visual(image), rtol=1e-12, atol=1e-12)
        visual.train()
        counted = []
        for fn in (encoder.class_token_features, visual):
            with FlopCounterMode(display=False) as counter:
                fn(image)
            counted.append(counter.get_total_flops())
    assert 0 < counted[0] < counted[1]
