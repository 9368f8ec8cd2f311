"""CLIP's text transformer over prompts that begin with the same tokens, running those tokens once.

The text tower is causal: the first P positions of a prompt attend only to each other, so when many
prompts start with the same P embeddings ("[SOS] a photo of a", or CoOp's "[SOS] X X ... X"), those
positions carry identical activations in every prompt of the group. Here each distinct prefix (a group)
goes through the tower once; the remaining S positions of every prompt attend to their group's prefix
keys/values and causally to their own positions. The result equals running the full prompts; gradients
reach the shared positions summed over the prompts, as they would through the full prompts.

Per-token work (LayerNorms, projections, MLP) runs on one flat token list holding the prefixes and the
suffixes, so a layer launches about as many kernels as the plain path; only attention is split in two.
CoOp's 500-class step then runs 17 + 500 x 5 tokens instead of 500 x 22 per layer.
"""
from __future__ import annotations

from typing import Iterable, Optional

import torch
import torch.nn.functional as F
from open_clip.transformer import ResidualAttentionBlock
from torch import nn

__all__ = ["supports_shared_prefix", "shared_prefix_length", "run_prefixed"]


def _plain_block(block: nn.Module) -> bool:
    attn = getattr(block, "attn", None)
    return (
        type(block) is ResidualAttentionBlock
        and not hasattr(block, "ln_1_kv")
        and isinstance(attn, nn.MultiheadAttention)
        and attn._qkv_same_embed_dim
        and attn.bias_k is None
        and not attn.add_zero_attn
    )


def supports_shared_prefix(blocks: Iterable[nn.Module]) -> bool:
    """Whether every block is open_clip's plain self-attention block (the OpenAI text tower)."""
    return all(_plain_block(b) for b in blocks)


def shared_prefix_length(tokens: torch.Tensor, eot_index: torch.Tensor) -> int:
    """Length of the token prefix all rows share, kept before every row's EOT (so each prompt keeps at
    least its EOT outside the prefix). 0 for a single row: nothing is shared."""
    if tokens.shape[0] < 2:
        return 0
    same = (tokens == tokens[:1]).all(dim=0)
    differs = (~same).nonzero()
    common = int(differs[0]) if len(differs) else tokens.shape[1]
    return min(common, int(eot_index.min()))


def _split_heads(qkv: torch.Tensor, rows: int, length: int, heads: int):
    """[rows * length, 3 * d] -> q, k, v of shape [rows, heads, length, d / heads]."""
    return qkv.view(rows, length, 3, heads, -1).permute(2, 0, 3, 1, 4).unbind(0)


def _merge_heads(x: torch.Tensor) -> torch.Tensor:
    """[rows, heads, length, head_dim] -> [rows * length, heads * head_dim]."""
    rows, heads, length, head_dim = x.shape
    return x.transpose(1, 2).reshape(rows * length, heads * head_dim)


def _attention(block: nn.Module, x: torch.Tensor, groups: int, prefix: int, rows: int, suffix: int,
               group: Optional[torch.Tensor], mask: torch.Tensor) -> torch.Tensor:
    attn = block.attn
    heads = attn.num_heads
    qkv = F.linear(block.ln_1(x), attn.in_proj_weight, attn.in_proj_bias)
    n_prefix = groups * prefix
    q_p, k_p, v_p = _split_heads(qkv[:n_prefix], groups, prefix, heads)
    q_s, k_s, v_s = _split_heads(qkv[n_prefix:], rows, suffix, heads)
    dropout = attn.dropout if attn.training else 0.0
    out_p = F.scaled_dot_product_attention(q_p, k_p, v_p, is_causal=True, dropout_p=dropout)
    if group is None:  # one prefix shared by every row
        k_p, v_p = k_p.expand(rows, -1, -1, -1), v_p.expand(rows, -1, -1, -1)
    else:
        k_p, v_p = k_p.index_select(0, group), v_p.index_select(0, group)
    k, v = torch.cat([k_p, k_s], dim=2), torch.cat([v_p, v_s], dim=2)
    out_s = F.scaled_dot_product_attention(q_s, k, v, attn_mask=mask, dropout_p=dropout)
    return attn.out_proj(torch.cat([_merge_heads(out_p), _merge_heads(out_s)]))


def run_prefixed(blocks: Iterable[nn.Module], prefix: torch.Tensor, suffix: torch.Tensor,
                 group: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Runs `blocks` over prompts prefix[group[m]] ++ suffix[m]; returns the suffix outputs [M, S, d].

    prefix: [G, P, d] (positional embeddings added); suffix: [M, S, d] (likewise, positions P..P+S-1);
    group: [M] indices into the G prefixes, or None when G == 1 and every row shares the one prefix.
    """
    groups, prefix_len, width = prefix.shape
    rows, suffix_len, _ = suffix.shape
    if group is None and groups != 1:
        raise ValueError(f"run_prefixed: {groups} prefixes need a group index per suffix row")
    # Suffix position i sees every prefix position and suffix positions <= i (True = may attend).
    mask = torch.ones(suffix_len, prefix_len + suffix_len, dtype=torch.bool, device=suffix.device).tril_(prefix_len)
    x = torch.cat([prefix.reshape(groups * prefix_len, width), suffix.reshape(rows * suffix_len, width)])
    for block in blocks:
        x = x + block.ls_1(_attention(block, x, groups, prefix_len, rows, suffix_len, group, mask))
        x = x + block.ls_2(block.mlp(block.ln_2(x)))
    return x[groups * prefix_len :].view(rows, suffix_len, width)
