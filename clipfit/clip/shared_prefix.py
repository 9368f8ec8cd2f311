"""CLIP's text transformer over prompts that begin with the same tokens, running those tokens once.

The text tower is causal: the first P positions of a prompt attend only to each other, so when many
prompts start with the same P embeddings ("[SOS] a photo of a", or CoOp's "[SOS] X X ... X"), those
positions carry identical activations in every prompt of the group. Here each distinct prefix (a group)
goes through the tower once; the remaining positions of every prompt (its suffix) attend to their group's
prefix keys/values and causally to their own positions. The result equals running the full prompts;
gradients reach the shared positions summed over the prompts, as they would through the full prompts.

Each suffix also runs only up to its own EOT: per-token work (LayerNorms, projections, MLP: nearly all
the arithmetic) runs on one flat list of the prefixes' and the suffixes' real positions, without padding.
Only attention, a small share of the work, sees the suffixes padded to the longest: the padded slots come
after every real position of their row, so causality keeps them out of the real outputs (and their
gradients are zero). A layer launches about as many kernels as the plain path.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from open_clip.transformer import ResidualAttentionBlock
from torch import nn

__all__ = [
    "supports_shared_prefix", "shared_prefix_length", "worth_sharing", "worth_unpadding", "SuffixLayout",
    "plan_suffixes", "run_prefixed",
]

# On a GPU small kernel launches cost far more than their arithmetic: running a shared prefix apart, or
# unpadding the suffixes (two more launches per layer), must save at least this many token positions per
# layer. An estimate, to be tuned with benchmarks/bench_text_prefix.py on a GPU; on a CPU any saving pays.
GPU_MIN_SAVED_TOKENS = 2048
UNPAD_SUFFIXES = True  # False pads every suffix to the longest in all work (for comparisons)


def min_saved_tokens(device) -> int:
    """Token positions per layer a separate prefix or unpadding must save on `device`."""
    return GPU_MIN_SAVED_TOKENS if torch.device(device).type == "cuda" else 0


def worth_sharing(prefix_length: int, rows: int, groups: int = 1, device="cpu") -> bool:
    """Whether running the shared prefixes once saves enough: more rows than prefixes, more than [SOS]
    shared, and on a GPU at least `min_saved_tokens` positions per layer."""
    saved = (rows - groups) * prefix_length
    return prefix_length >= 2 and rows > groups and saved >= min_saved_tokens(device)


def worth_unpadding(padded_tokens: int, real_tokens: int, device="cpu") -> bool:
    """Whether running the suffixes unpadded outside attention saves enough positions per layer."""
    return UNPAD_SUFFIXES and padded_tokens - real_tokens >= max(1, min_saved_tokens(device))


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


@dataclass(frozen=True)
class SuffixLayout:
    """Where the suffix positions of M rows go: flat and unpadded for per-token work, padded to
    `length` for attention.

    gather: [T] indices into the suffixes flattened to [M * S, d], each row's positions up to its EOT;
    pad / unpad: [M * length] flat position filling each padded slot (a row's padding repeats its last
    position) / [T] padded slot of each flat position, both None when no row is padded;
    group: [M] prefix index of each row (None: one prefix); pool: [M] flat position of each row's EOT.
    """

    rows: int
    length: int
    gather: torch.Tensor
    pad: torch.Tensor | None
    unpad: torch.Tensor | None
    group: torch.Tensor | None
    pool: torch.Tensor

    @property
    def tokens(self) -> int:
        return int(self.gather.shape[0])

    def to(self, device: torch.device) -> SuffixLayout:
        pool = self.pool.to(device)
        if pool is self.pool:  # already there ("cuda" and "cuda:0" alike)
            return self
        moved = [None if t is None else t.to(device) for t in (self.gather, self.pad, self.unpad, self.group)]
        return SuffixLayout(self.rows, self.length, *moved, pool)


def plan_suffixes(eot_index: torch.Tensor, prefix_length: int, width: int, group: torch.Tensor | None = None,
                  device: torch.device | None = None, unpad: bool | None = None) -> SuffixLayout:
    """The layout of M suffixes of `width` positions, row m ending at EOT eot_index[m] of the full prompt;
    tensors on `device`. Rows are unpadded when `worth_unpadding` (or as `unpad` says). Runs on the CPU, once per
    prompt set: callers that run every step keep the layout."""
    need = eot_index.detach().cpu().long() - prefix_length + 1  # suffix positions through each EOT
    rows = need.shape[0]
    if int(need.min()) < 1 or int(need.max()) > width:
        raise ValueError(f"plan_suffixes: EOT positions must lie in the suffix (prefix {prefix_length}, width {width})")
    device = torch.device(device or eot_index.device)
    length = int(need.max())
    if unpad is None:
        unpad = worth_unpadding(rows * length, int(need.sum()), device)
    kept = need if unpad else torch.full_like(need, length)  # positions each row runs in per-token work
    real = torch.arange(length)[None, :] < kept[:, None]  # [M, length]: the slot holds a kept position
    gather = (torch.arange(rows)[:, None] * width + torch.arange(length)[None, :])[real]
    # Flat position of each slot; a padding slot gets its row's last kept position (cumsum stops there).
    flat_of_slot = (torch.cumsum(real.reshape(-1), 0) - 1).view(rows, length)
    pool = flat_of_slot.gather(1, (need - 1)[:, None]).reshape(-1)
    pad = flat_of_slot.reshape(-1) if unpad else None
    unpad_index = torch.arange(rows * length).view(rows, length)[real] if unpad else None
    group = None if group is None else group.detach().cpu().long()
    layout = SuffixLayout(rows, length, gather, pad, unpad_index, group, pool)
    return layout.to(device)


def _heads(qkv: torch.Tensor, rows: int, length: int, heads: int):
    """[rows * length, 3 * d] -> q, k, v of shape [rows, heads, length, d / heads]."""
    return qkv.view(rows, length, 3, heads, -1).permute(2, 0, 3, 1, 4).unbind(0)


def _merge_heads(x: torch.Tensor) -> torch.Tensor:
    """[rows, heads, length, head_dim] -> [rows * length, heads * head_dim]."""
    rows, heads, length, head_dim = x.shape
    return x.transpose(1, 2).reshape(rows * length, heads * head_dim)


def _attention(block: nn.Module, x: torch.Tensor, groups: int, prefix: int, layout: SuffixLayout,
               mask: torch.Tensor) -> torch.Tensor:
    attn = block.attn
    heads = attn.num_heads
    dropout = attn.dropout if attn.training else 0.0
    qkv = F.linear(block.ln_1(x), attn.in_proj_weight, attn.in_proj_bias)
    n_prefix = groups * prefix
    q_p, k_p, v_p = _heads(qkv[:n_prefix], groups, prefix, heads)
    out_p = F.scaled_dot_product_attention(q_p, k_p, v_p, is_causal=True, dropout_p=dropout)
    qkv_s = qkv[n_prefix:]
    if layout.pad is not None:
        qkv_s = qkv_s.index_select(0, layout.pad)
    q_s, k_s, v_s = _heads(qkv_s, layout.rows, layout.length, heads)
    if layout.group is None:  # one prefix shared by every row
        k_p, v_p = k_p.expand(layout.rows, -1, -1, -1), v_p.expand(layout.rows, -1, -1, -1)
    else:
        k_p, v_p = k_p.index_select(0, layout.group), v_p.index_select(0, layout.group)
    k, v = torch.cat([k_p, k_s], dim=2), torch.cat([v_p, v_s], dim=2)
    out_s = _merge_heads(F.scaled_dot_product_attention(q_s, k, v, attn_mask=mask, dropout_p=dropout))
    if layout.unpad is not None:
        out_s = out_s.index_select(0, layout.unpad)
    return attn.out_proj(torch.cat([_merge_heads(out_p), out_s]))


def run_prefixed(blocks: Iterable[nn.Module], prefix: torch.Tensor, suffix: torch.Tensor,
                 layout: SuffixLayout, deep_prompts: Sequence[torch.Tensor] = ()) -> torch.Tensor:
    """Runs `blocks` over the prompts prefix[group[m]] ++ suffix[m]; returns each row's EOT output [M, d].

    prefix: [G, P, d] (positional embeddings added); suffix: [M, S, d] (likewise, positions P..P+S-1);
    layout: `plan_suffixes` of the rows (its group indexes the G prefixes; None needs G == 1).
    deep_prompts: [n, d] each, taking prefix positions 1..n before blocks 1, 2, ... (`clipfit.clip.deep_prompts`;
    one prefix only: they are what every prompt shares, so the prefix stays shared).
    """
    groups, prefix_len, width = prefix.shape
    if layout.group is None and groups != 1:
        raise ValueError(f"run_prefixed: {groups} prefixes need a group index per suffix row")
    if deep_prompts and groups != 1:
        raise ValueError(f"run_prefixed: deep prompts are shared by every prompt, so one prefix, not {groups}")
    layout = layout.to(suffix.device)
    # Suffix position i sees every prefix position and suffix positions <= i (True = may attend).
    mask = torch.ones(layout.length, prefix_len + layout.length, dtype=torch.bool, device=suffix.device)
    mask = mask.tril_(prefix_len)
    flat_suffix = suffix.reshape(-1, width).index_select(0, layout.gather)
    x = torch.cat([prefix.reshape(groups * prefix_len, width), flat_suffix])
    for j, block in enumerate(blocks):
        if 0 < j <= len(deep_prompts):  # the prefix's positions 1..n are flat rows 1..n
            prompt = deep_prompts[j - 1]
            x = torch.cat([x[:1], prompt.to(x.dtype), x[1 + prompt.shape[0]:]])
        x = x + block.ls_1(_attention(block, x, groups, prefix_len, layout, mask))
        x = x + block.ls_2(block.mlp(block.ln_2(x)))
    return x[groups * prefix_len :].index_select(0, layout.pool)
