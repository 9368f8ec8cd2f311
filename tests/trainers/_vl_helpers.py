"""Shared pieces of the IVLP / MaPLe / PromptSRC tests: a straightforward reference of the prompted CLIP towers
(full 77-token prompts, the authors' token surgery written out, no truncation or shared prefix), and small
batches on the tiny backbone."""
import torch
import torch.nn.functional as F

from clipfit.clip import tokenize
from clipfit.clip.precision import autocast, convert_model

NAMES = ["red circle", "blue square", "green_triangle", "a yellow star with five points"]


def reference_text_features(clip, prefix: str, ctx: torch.Tensor, deep=(), names=NAMES) -> torch.Tensor:
    """Normalised features of "{prefix} {name}." with positions 1..n_ctx replaced by ctx at the input and by
    deep[j - 1] before block j, over the whole 77-token context."""
    tokens = tokenize([f"{prefix} {name.replace('_', ' ')}." for name in names])
    n_ctx = ctx.shape[0]
    x = clip.token_embedding(tokens).to(ctx.dtype)
    x = torch.cat([x[:, :1], ctx.expand(len(names), -1, -1), x[:, 1 + n_ctx:]], dim=1)
    x = x + clip.positional_embedding.to(x.dtype)
    mask = torch.full((77, 77), float("-inf"), dtype=x.dtype).triu_(1)
    for j, block in enumerate(clip.transformer.resblocks):
        if 1 <= j <= len(deep):
            x = torch.cat([x[:, :1], deep[j - 1].expand(len(names), -1, -1), x[:, 1 + n_ctx:]], dim=1)
        x = block(x, attn_mask=mask)
    x = clip.ln_final(x)
    return F.normalize(x[torch.arange(len(names)), tokens.argmax(dim=-1)] @ clip.text_projection, dim=-1)


def reference_image_features(clip, image: torch.Tensor, shallow=None, deep=()) -> torch.Tensor:
    """Normalised features with `shallow` appended after the patch tokens (before ln_pre) and the last n tokens
    replaced by deep[j - 1] before block j."""
    v = clip.visual
    x = v.conv1(image).flatten(2).transpose(1, 2)
    x = torch.cat([v.class_embedding.expand(x.shape[0], 1, -1), x], dim=1) + v.positional_embedding
    if shallow is not None:
        x = torch.cat([x, shallow.expand(x.shape[0], -1, -1)], dim=1)
    x = v.ln_pre(x)
    for j, block in enumerate(v.transformer.resblocks):
        if 1 <= j <= len(deep):
            n = deep[j - 1].shape[0]
            x = torch.cat([x[:, : x.shape[1] - n], deep[j - 1].expand(x.shape[0], -1, -1)], dim=1)
        x = block(x)
    return F.normalize(v.ln_post(x[:, 0]) @ v.proj, dim=-1)


def images(batch: int = 3, size: int = 224, seed: int = 5) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(batch, 3, size, size, generator=generator)


def labels(batch: int = 3) -> torch.Tensor:
    return torch.arange(batch) % len(NAMES)


def grads(module) -> dict[str, torch.Tensor]:
    return {n: p.grad.detach().clone() for n, p in module.named_parameters() if p.grad is not None}


def run_in_precision(build, mode: str):
    """Build a method on the tiny CLIP in `mode`'s weight layout (fp16: half weights, fp32 LayerNorms) and run one
    loss and backward under its autocast on the CPU; returns (model, loss, the loss's extras)."""
    from clipfit.clip import load_clip

    torch.manual_seed(0)
    clip = convert_model(load_clip("tiny"), mode)
    model = build(clip)
    image = images(2).to(torch.float16 if mode == "fp16" else torch.float32)
    with autocast(mode, "cpu"):
        loss, _, extras = model.loss(image, labels(2))
    loss.backward()
    return model, loss, extras


def step_in_precision(build, mode: str):
    """run_in_precision's model and loss, and the gradients of the prompt learner."""
    model, loss, _ = run_in_precision(build, mode)
    return model, loss, grads(model.prompt_learner)
