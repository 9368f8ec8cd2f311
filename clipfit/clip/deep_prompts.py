"""Deep prompts: learned tokens that take over the same positions of a transformer's residual stream before
each of its first blocks (VPT-deep, and the vision-language methods IVLP, MaPLe, PromptSRC).

Block 0 sees the prompts the input already holds (the shallow ones). Before block j, 1 <= j <= len(deep), the
n tokens at positions start..start+n-1 are replaced by deep[j-1] (the same for every row): what the previous
block wrote there is dropped, as in the authors' code. Blocks after the last deep prompt run unchanged.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .shared_prefix import supports_shared_prefix

__all__ = ["check_deep_prompts", "replace_tokens", "run_blocks"]


def check_deep_prompts(deep: Sequence[torch.Tensor], blocks: int, positions: int | None = None) -> None:
    """Raise ValueError when there are prompts for more blocks than there are after the first, when they
    differ in shape, or when they are more tokens than the `positions` they may take."""
    if not deep:
        return
    if len(deep) >= blocks:
        raise ValueError(f"{len(deep)} deep prompts for a transformer of {blocks} blocks: at most {blocks - 1} "
                         "(block 0 takes the prompts of the input)")
    shapes = {tuple(p.shape) for p in deep}
    if len(shapes) != 1 or len(next(iter(shapes))) != 2:
        raise ValueError(f"deep prompts must all be [n_tokens, width]; got shapes {sorted(shapes)}")
    if positions is not None and deep[0].shape[0] > positions:
        raise ValueError(f"{deep[0].shape[0]} deep prompt tokens do not fit the {positions} prompt positions")


def replace_tokens(x: torch.Tensor, prompt: torch.Tensor, start: int) -> torch.Tensor:
    """x [N, L, d] with positions start..start+n-1 replaced by prompt [n, d] (in x's dtype) in every row."""
    rows = prompt.to(x.dtype).unsqueeze(0).expand(x.shape[0], -1, -1)
    return torch.cat([x[:, :start], rows, x[:, start + prompt.shape[0]:]], dim=1)


def plain_block(block: nn.Module, x: torch.Tensor, attn_mask: torch.Tensor | None = None) -> torch.Tensor:
    """open_clip's plain residual block over x [N, L, d] with its own weights and nn.MultiheadAttention's maths
    (packed in-projection, scaled dot-product attention, out-projection), on the tokens flattened to rows.

    Why not `block(x)`: batch-first MultiheadAttention transposes x to [L, N, d] and, when gradients flow, its
    in-projection of that strided view runs as a batched matmul over L copies of the weight (4 s of a ViT-B/16
    training step on a CPU, where one matrix product takes 0.4 s).
    """
    attn = block.attn
    rows, length, width = x.shape
    heads = attn.num_heads
    qkv = F.linear(block.ln_1(x), attn.in_proj_weight, attn.in_proj_bias)
    q, k, v = qkv.view(rows, length, 3, heads, width // heads).permute(2, 0, 3, 1, 4).unbind(0)
    mask = None if attn_mask is None else attn_mask.to(q.dtype)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=attn.dropout if attn.training else 0.0)
    x = x + block.ls_1(attn.out_proj(out.transpose(1, 2).reshape(rows, length, width)))
    return x + block.ls_2(block.mlp(block.ln_2(x)))


def pooled_block(block: nn.Module, x: torch.Tensor, index: int) -> torch.Tensor:
    """`plain_block` (no mask) for the one token `index` whose output is pooled: [N, 1, d]. Every token still
    gives its key and value; the query, out-projection and MLP run for that token only (exact: the block's
    output at a position depends on the other positions only through their keys and values)."""
    attn = block.attn
    rows, length, width = x.shape
    heads = attn.num_heads
    h = block.ln_1(x)
    weight, bias = attn.in_proj_weight, attn.in_proj_bias
    q = F.linear(h[:, index : index + 1], weight[:width], None if bias is None else bias[:width])
    kv = F.linear(h, weight[width:], None if bias is None else bias[width:])
    k, v = kv.view(rows, length, 2, heads, width // heads).permute(2, 0, 3, 1, 4).unbind(0)
    q = q.view(rows, 1, heads, width // heads).transpose(1, 2)
    out = F.scaled_dot_product_attention(q, k, v, dropout_p=attn.dropout if attn.training else 0.0)
    y = x[:, index : index + 1] + block.ls_1(attn.out_proj(out.transpose(1, 2).reshape(rows, 1, width)))
    return y + block.ls_2(block.mlp(block.ln_2(y)))


def run_blocks(blocks: Sequence[nn.Module], x: torch.Tensor, deep: Sequence[torch.Tensor] = (), start: int = 1,
               attn_mask: torch.Tensor | None = None, pool_index: int | None = None) -> torch.Tensor:
    """Runs batch-first residual blocks over x [N, L, d], deep prompt j - 1 taking positions start.. before block j
    (open_clip's plain blocks through `plain_block`, others as they are). With `pool_index` (no mask) the output is
    that token's only, [N, 1, d]: for plain blocks the last one runs for it alone (`pooled_block`)."""
    plain = supports_shared_prefix(blocks)
    last = len(blocks) - 1
    for j, block in enumerate(blocks):
        if 0 < j <= len(deep):
            x = replace_tokens(x, deep[j - 1], start)
        if plain and j == last and pool_index is not None:
            return pooled_block(block, x, pool_index)
        x = plain_block(block, x, attn_mask) if plain else block(x, attn_mask=attn_mask)
    return x if pool_index is None else x[:, pool_index : pool_index + 1]
