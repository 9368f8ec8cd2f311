"""Prompts sharing their first tokens run them once: same features and gradients as the full prompts."""
import copy

import pytest
import torch
from torch import nn

from clipfit.clip import TextEncoder, autocast, convert_model, prompt_for, select_trainable, tokenize_prompts
from clipfit.clip.shared_prefix import (
    min_saved_tokens,
    plan_suffixes,
    shared_prefix_length,
    supports_shared_prefix,
    worth_sharing,
    worth_unpadding,
)

# Equivalence tests run in float64 (the `tiny64` / `vitb16_64` fixtures): tolerances of 1e-10 prove the
# paths equal on any CPU and thread count, which fp32 reduction-order noise would not allow.
PET = "a photo of a {}, a type of pet."  # OxfordPets' template
EXACT = dict(atol=1e-10, rtol=1e-10)
PETS = ["abyssinian", "great_pyrenees", "staffordshire_bull_terrier", "pug", "english cocker spaniel"]


def _pets():
    return tokenize_prompts([prompt_for(PET, n) for n in PETS])


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


@pytest.mark.numeric
@pytest.mark.parametrize("model_name", ["tiny64", "vitb16_64"])
def test_shared_prefix_features_equal_full_prompts(model_name, request):
    model = request.getfixturevalue(model_name)
    full, shared = _full_and_shared(model)
    assert shared.share_prefix and not full.share_prefix
    prompts = _pets()
    with torch.no_grad():
        expected = model.encode_text(torch.nn.functional.pad(prompts.tokens, (0, 77 - prompts.length)))
        assert expected.dtype == torch.float64
        torch.testing.assert_close(full.encode(prompts), expected, **EXACT)
        torch.testing.assert_close(shared.encode(prompts), expected, **EXACT)


@pytest.mark.numeric
def test_groups_of_prefixes_equal_full_prompts_in_value_and_gradient(tiny64):
    """CoCoOp's case: one prefix per image, each shared by that image's class suffixes."""
    tiny = tiny64
    select_trainable(tiny, "clipfit")
    full, shared = _full_and_shared(tiny)
    torch.manual_seed(0)
    prompts = _pets()
    suffix_tokens = prompts.tokens[:, 3:]
    # 3 groups, 3 positions ([SOS] + 2 learned)
    prefix_leaf = torch.randn(3, 3, 64, dtype=torch.float64, requires_grad=True)
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
    torch.testing.assert_close(got[0], expected[0], **EXACT)
    for g, e in zip(got[1:3] + tuple(got[3]), expected[1:3] + tuple(expected[3])):
        assert e.abs().sum() > 0
        torch.testing.assert_close(g, e, **EXACT)


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


def test_suffix_layout_keeps_each_row_to_its_eot_and_pads_only_for_attention():
    eot = torch.tensor([6, 14, 7, 6])  # prefix 5: rows need 2, 10, 3, 2 positions of 11
    group = torch.tensor([0, 1, 2, 0])
    layout = plan_suffixes(eot, 5, 11, group)
    assert (layout.rows, layout.length, layout.tokens) == (4, 10, 17)  # 17 positions instead of 4 x 10
    assert layout.gather.tolist() == [0, 1] + list(range(11, 21)) + [22, 23, 24] + [33, 34, 35][:2]
    assert torch.equal(layout.pool, torch.tensor([1, 11, 14, 16]))  # flat position of each EOT
    assert torch.equal(layout.gather[layout.pool], torch.arange(4) * 11 + eot - 5)
    slots = layout.pad.view(4, 10)  # attention's padded view: a row's padding repeats its last position
    assert slots[0].tolist() == [0, 1] + [1] * 8 and slots[1].tolist() == list(range(2, 12))
    assert torch.equal(layout.pad[layout.unpad], torch.arange(17))  # unpad inverts pad on the real slots
    assert torch.equal(layout.group, group)
    padded = plan_suffixes(eot, 5, 11, group, unpad=False)
    assert padded.tokens == 40 and padded.pad is None and padded.unpad is None
    assert torch.equal(padded.pool, torch.arange(4) * 10 + eot - 5)
    assert plan_suffixes(torch.full((4,), 9), 5, 5).pad is None  # equal lengths: nothing to unpad
    with pytest.raises(ValueError, match="EOT positions must lie in the suffix"):
        plan_suffixes(torch.tensor([4, 9]), 5, 5)


@pytest.mark.numeric
def test_prompts_of_very_different_lengths_run_unpadded_with_the_same_features(tiny64):
    tiny = tiny64
    select_trainable(tiny, "clipfit")
    names = ["cat", "dog", "great crested newt", "ox", "a b c d e f g h i j k l", "x y z w v u t s", "pug", "emu"]
    prompts = tokenize_prompts([f"a photo of a {n}." for n in names])
    assert prompts.layout.unpad is not None
    assert prompts.layout.tokens == int((prompts.eot_index - prompts.prefix_length + 1).sum())
    results = []
    for encoder in _full_and_shared(tiny):
        tiny.zero_grad()
        features = encoder.encode(prompts)
        (features * torch.linspace(-1, 1, features.shape[-1])).sum().backward()
        results.append((features.detach(), [p.grad.clone() for p in tiny.parameters() if p.grad is not None]))
    (full, full_grads), (shared, shared_grads) = results
    torch.testing.assert_close(shared, full, **EXACT)
    assert len(full_grads) == len(shared_grads) == 2
    for g, e in zip(shared_grads, full_grads):
        torch.testing.assert_close(g, e, **EXACT)


def test_gpu_takes_a_separate_prefix_or_unpads_only_for_enough_tokens():
    cpu, cuda = torch.device("cpu"), torch.device("cuda")  # a device descriptor: no GPU needed
    assert worth_sharing(5, 50, device=cpu) and not worth_sharing(1, 50, device=cpu)
    assert not worth_sharing(5, 4, groups=4, device=cpu)  # one row per prefix: nothing to share
    # GPU: (rows - prefixes) x prefix positions saved per layer must reach GPU_MIN_SAVED_TOKENS (2048)
    assert not worth_sharing(5, 50, device=cuda)  # CLIPFit at 50 classes: 245
    assert worth_sharing(5, 500, device=cuda)  # CLIPFit at 500 classes: 2495
    assert worth_sharing(5, 2000, groups=4, device=cuda)  # CoCoOp, 4 images x 500 classes
    assert min_saved_tokens(cuda) == 2048 and min_saved_tokens(cpu) == 0
    # Unpadding 1000 rows of 2 or 4 positions (4000 padded, 3000 real) saves 1000: enough on a CPU only.
    assert plan_suffixes(torch.tensor([6, 8] * 500), 5, 4).unpad is not None
    assert worth_unpadding(4000, 3000, cpu) and not worth_unpadding(4000, 3000, cuda)
    assert worth_unpadding(10_000, 6000, cuda) and not worth_unpadding(4000, 4000, cpu)
