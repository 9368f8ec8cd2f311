"""Shared pieces of the KgCoOp / ProGrad tests: a straightforward reference of CoOp-style prompted text features
(the whole 77-token context, the context written into positions 1..n_ctx, no truncation or shared prefix), small
batches on the tiny backbone, and one step in each precision's layout on the CPU."""
import torch
import torch.nn.functional as F

from clipfit.clip import load_clip, tokenize
from clipfit.clip.precision import autocast, convert_model

NAMES = ["red circle", "blue square", "green_triangle", "a yellow star with five points"]


def reference_text_features(clip, prefix: str, ctx: torch.Tensor, names=NAMES) -> torch.Tensor:
    """Normalised features of "{prefix} {name}." with positions 1..n_ctx replaced by ctx, over 77 tokens."""
    tokens = tokenize([f"{prefix} {name.replace('_', ' ')}." for name in names])
    n_ctx = ctx.shape[0]
    x = clip.token_embedding(tokens).to(ctx.dtype)
    x = torch.cat([x[:, :1], ctx.expand(len(names), -1, -1), x[:, 1 + n_ctx:]], dim=1)
    x = x + clip.positional_embedding.to(x.dtype)
    mask = torch.full((77, 77), float("-inf"), dtype=x.dtype).triu_(1)
    for block in clip.transformer.resblocks:
        x = block(x, attn_mask=mask)
    x = clip.ln_final(x)
    return F.normalize(x[torch.arange(len(names)), tokens.argmax(dim=-1)] @ clip.text_projection, dim=-1)


def hand_crafted_features(clip, template: str, names=NAMES) -> torch.Tensor:
    """CLIP's own normalised features of the template for every name (the 77-token encode_text)."""
    return F.normalize(clip.encode_text(tokenize([template.format(n.replace("_", " ")) for n in names])), dim=-1)


def images(batch: int = 3, size: int = 224, seed: int = 5) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(batch, 3, size, size, generator=generator)


def labels(batch: int = 3) -> torch.Tensor:
    return torch.arange(batch) % len(NAMES)


def step_in_precision(build, mode: str):
    """Build a method on the tiny CLIP in `mode`'s weight layout (fp16: half weights, fp32 LayerNorms) and run its
    loss and backward under the mode's autocast on the CPU; returns (model, loss, extras, ctx gradient)."""
    torch.manual_seed(0)
    clip = convert_model(load_clip("tiny"), mode)
    model = build(clip)
    image = images(2).to(torch.float16 if mode == "fp16" else torch.float32)
    with autocast(mode, "cpu"):
        loss, _, extras = model.loss(image, labels(2))
    loss.backward()
    return model, loss, extras, model.prompt_learner.ctx.grad
