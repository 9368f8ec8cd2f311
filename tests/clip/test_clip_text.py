import copy

import pytest
import torch

from clipfit.clip import TextEncoder, autocast, convert_model, prompt_for, select_trainable, tokenize, tokenize_prompts

PET = "a photo of a {}, a type of pet."  # OxfordPets' template
PETS = ["abyssinian", "great_pyrenees", "staffordshire_bull_terrier", "pug"]
MIXED = [
    "a photo of a cat.",
    "a photo of a great pyrenees, a type of pet.",
    "itap of a {}.".format("x"),
    "a centered satellite photo of annual crop land with irrigation and some trees nearby.",
]


def test_tokenize_prompts_cuts_at_the_longest_prompt():
    prompts = tokenize_prompts([prompt_for(PET, n) for n in PETS])
    full = tokenize(prompts.texts)
    eot = full.argmax(dim=-1)
    assert prompts.texts[1] == "a photo of a great pyrenees, a type of pet."
    assert torch.equal(prompts.eot_index, eot)
    assert prompts.length == int(eot.max()) + 1 < 77
    assert torch.equal(prompts.tokens, full[:, : prompts.length])
    assert (prompts.tokens[torch.arange(len(PETS)), prompts.eot_index] == 49407).all()
    with pytest.raises(ValueError, match="no texts"):
        tokenize_prompts([])


# Truncation is exact; compared in float64 so that a tight tolerance holds on any CPU and thread count.
EXACT = dict(atol=1e-10, rtol=1e-10)


@pytest.mark.numeric
def test_truncated_features_equal_encode_text_on_tiny(tiny64):
    tiny = tiny64
    encoder = TextEncoder(tiny)
    prompts = tokenize_prompts(MIXED)
    with torch.no_grad():
        expected = tiny.encode_text(tokenize(MIXED))
        truncated = encoder.encode(prompts)
        from_full_tokens = encoder.forward_tokens(tokenize(MIXED))  # cut inside
        from_embeddings = encoder.forward_embeddings(encoder.embed(prompts.tokens), prompts.eot_index)
    assert prompts.length < 30
    assert expected.dtype == torch.float64
    for result in (truncated, from_full_tokens, from_embeddings):
        torch.testing.assert_close(result, expected, **EXACT)


@pytest.mark.numeric
def test_truncated_features_equal_encode_text_on_vitb16(vitb16_64):
    vitb16 = vitb16_64
    encoder = TextEncoder(vitb16)
    prompts = tokenize_prompts([prompt_for(PET, n) for n in PETS] + MIXED)
    with torch.no_grad():
        expected = vitb16.encode_text(tokenize(prompts.texts))
        truncated = encoder.encode(prompts)
    assert expected.shape == (8, 512)
    assert expected.abs().max() > 0.1  # real, non-degenerate features
    torch.testing.assert_close(truncated, expected, **EXACT)


def test_encoder_shares_the_model_parameters(tiny):
    encoder = TextEncoder(tiny)
    model_params = {id(p) for p in tiny.parameters()}
    assert all(id(p) in model_params for p in encoder.parameters())
    assert encoder.token_embedding.weight is tiny.token_embedding.weight
    assert encoder.positional_embedding is tiny.positional_embedding
    assert sum(p.numel() for p in encoder.parameters()) == sum(
        p.numel() for n, p in tiny.named_parameters() if not n.startswith("visual.") and n != "logit_scale"
    )


def test_gradient_reaches_only_the_trained_text_biases(tiny):
    select_trainable(tiny, "clipfit")
    encoder = TextEncoder(tiny)
    encoder.encode(tokenize_prompts(MIXED)).sum().backward()
    with_grad = {n for n, p in tiny.named_parameters() if p.grad is not None}
    assert with_grad == {"transformer.resblocks.0.mlp.c_proj.bias", "transformer.resblocks.1.mlp.c_proj.bias"}


def test_half_precision_model(tiny):
    reference = copy.deepcopy(tiny)
    convert_model(tiny, "fp16")
    encoder = TextEncoder(tiny)
    assert encoder.dtype == torch.float16
    prompts = tokenize_prompts(MIXED)
    with torch.no_grad():
        half = encoder.encode(prompts)
        full = TextEncoder(reference).encode(prompts)
    assert half.dtype == torch.float16
    torch.testing.assert_close(half.float(), full, atol=2e-2, rtol=2e-2)


def test_bf16_autocast_on_cpu(tiny):
    encoder = TextEncoder(tiny)
    prompts = tokenize_prompts(MIXED)
    with torch.no_grad():
        full = encoder.encode(prompts)
        with autocast("bf16", "cpu"):
            mixed = encoder.encode(prompts)
    assert mixed.dtype == torch.bfloat16
    torch.testing.assert_close(mixed.float(), full, atol=5e-2, rtol=5e-2)


def test_too_long_embeddings_are_refused(tiny):
    encoder = TextEncoder(tiny)
    with pytest.raises(ValueError, match="78 positions but the text tower has only 77"):
        encoder.forward_embeddings(torch.zeros(1, 78, 64), torch.tensor([77]))


def test_non_clip_models_are_refused():
    with pytest.raises(TypeError, match="OpenAI text tower"):
        TextEncoder(torch.nn.Linear(2, 2))
