"""Prompts sharing their first tokens run them once: same features and gradients as the full prompts."""
import copy

import pytest
import torch
from torch import nn

from clipfit.clip import TextEncoder, autocast, convert_model, prompts_for, select_trainable, tokenize_prompts
from clipfit.clip.shared_prefix import shared_prefix_length, supports_shared_prefix

PETS = ["abyssinian", "great_pyrenees", "staffordshire_bull_terrier", "pug", "english cocker spaniel"]


def _pets():
    return tokenize_prompts(prompts_for("OxfordPets", PETS))  # "a photo of a {}, a type of pet."


def test_prefix_length_is_the_common_start_kept_before_every_eot():
    prompts = _pets()
    assert prompts.prefix_length == 5  # [SOS] a photo of a
    assert prompts.tokens[:, :5].unique(dim=0).shape[0] == 1
    assert (prompts.tokens[:, 5] != prompts.tokens[0, 5]).any()
    assert tokenize_prompts(["a photo of a cat."]).prefix_length == 0  # a single prompt shares nothing
    same = tokenize_prompts(["a cat.", "a cat."])
    assert same.prefix_length == int(same.eot_index.min()) == 4  # the EOT stays outside the prefix
    assert tokenize_prompts(["a cat.", "itap of a dog."]).prefix_length == 1  # [SOS] only


def _full_and_shared(model):
    return TextEncoder(model, share_prefix=False), TextEncoder(model)


@pytest.mark.parametrize("model_name", ["tiny", "vitb16"])
def test_shared_prefix_features_equal_full_prompts(model_name, request):
    model = request.getfixturevalue(model_name)
    full, shared = _full_and_shared(model)
    assert shared.share_prefix and not full.share_prefix
    prompts = _pets()
    with torch.no_grad():
        expected = model.encode_text(torch.nn.functional.pad(prompts.tokens, (0, 77 - prompts.length)))
        torch.testing.assert_close(full.encode(prompts), expected, atol=1e-5, rtol=0)
        torch.testing.assert_close(shared.encode(prompts), expected, atol=1e-5, rtol=0)


def test_groups_of_prefixes_equal_full_prompts_in_value_and_gradient(tiny):
    """CoCoOp's case: one prefix per image, each shared by that image's class suffixes."""
    select_trainable(tiny, "clipfit")
    full, shared = _full_and_shared(tiny)
    torch.manual_seed(0)
    prompts = _pets()
    suffix_tokens = prompts.tokens[:, 3:]
    prefix_leaf = torch.randn(3, 3, 64, requires_grad=True)  # 3 groups, 3 positions ([SOS] + 2 learned)
    suffix_leaf = shared.embed(suffix_tokens).detach().requires_grad_(True)
    group = torch.tensor([2, 0, 1, 1, 2, 0, 0])
    rows = torch.tensor([0, 1, 2, 3, 4, 0, 2])

    def run(encoder):
        for leaf in (prefix_leaf, suffix_leaf):
            leaf.grad = None
        tiny.zero_grad()
        out = encoder.forward_prefixed(prefix_leaf, suffix_leaf[rows], prompts.eot_index[rows], group)
        (out * torch.linspace(-1, 1, out.shape[-1])).sum().backward()
        biases = [p.grad.clone() for n, p in tiny.named_parameters() if p.requires_grad and n.startswith("transformer")]
        return out.detach(), prefix_leaf.grad.clone(), suffix_leaf.grad.clone(), biases

    expected, got = run(full), run(shared)
    assert expected[0].shape == (7, 64)
    torch.testing.assert_close(got[0], expected[0], atol=1e-5, rtol=0)
    for g, e in zip(got[1:3] + tuple(got[3]), expected[1:3] + tuple(expected[3])):
        assert e.abs().sum() > 0
        torch.testing.assert_close(g, e, atol=1e-5, rtol=1e-4)


def test_one_prefix_needs_no_group_but_several_do(tiny):
    encoder = TextEncoder(tiny)
    with pytest.raises(ValueError, match="need a group index"):
        encoder.forward_prefixed(torch.zeros(2, 3, 64), torch.zeros(4, 5, 64), torch.full((4,), 6))


def test_bf16_autocast_and_half_weights_stay_close_to_fp32(tiny):
    prompts = _pets()
    reference = TextEncoder(copy.deepcopy(tiny), share_prefix=False)
    with torch.no_grad():
        expected = reference.encode(prompts)
        with autocast("bf16", "cpu"):
            mixed = TextEncoder(tiny).encode(prompts)
        half = TextEncoder(convert_model(tiny, "fp16")).encode(prompts)
    assert mixed.dtype == torch.bfloat16 and half.dtype == torch.float16
    torch.testing.assert_close(mixed.float(), expected, atol=5e-2, rtol=5e-2)
    torch.testing.assert_close(half.float(), expected, atol=2e-2, rtol=2e-2)


def test_other_block_types_run_full_prompts(tiny):
    assert supports_shared_prefix(tiny.transformer.resblocks)
    assert not supports_shared_prefix([nn.Linear(2, 2)])
    patched = copy.deepcopy(tiny)
    patched.transformer.resblocks[0] = nn.Sequential()  # stands in for a custom open_clip block
    assert not TextEncoder(patched).share_prefix


def test_shared_prefix_length_of_identical_rows_keeps_their_eot():
    tokens = torch.tensor([[49406, 5, 7, 49407, 0], [49406, 5, 7, 49407, 0]])
    assert shared_prefix_length(tokens, tokens.argmax(dim=-1)) == 3
