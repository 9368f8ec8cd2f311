"""CLIP's text transformer over prompts that begin with the same tokens, running those tokens once.

The text tower is causal: the first P positions of a prompt attend only to each other, so when many
prompts start with the same P embeddings ("[SOS] a photo of a", or CoOp's "[SOS] X X ... X"), those
positions carry identical activations in every prompt of the group. Here each distinct prefix (a group)
goes through the tower once; the remaining positions of every prompt attend to their group's prefix
keys/values and causally to their own positions. The result equals running the full prompts; gradients
reach the shared positions summed over the prompts, as they would through the full prompts.

The rest of each prompt (its suffix) runs only up to its own EOT: suffixes are sorted into a few buckets
of similar length (`plan_suffixes`), each padded to its longest member, instead of all being padded to
the longest prompt. Per-token work (LayerNorms, projections, MLP) runs on one flat token list holding the
prefixes and every bucket, so a layer launches about as many kernels as the plain path; only attention
is split, one call for the prefixes and one per bucket.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, List, Optional, Tuple

import torch
import torch.nn.functional as F
from open_clip.transformer import ResidualAttentionBlock
from torch import nn

__all__ = [
    "supports_shared_prefix", "shared_prefix_length", "worth_sharing", "SuffixLayout", "plan_suffixes", "run_prefixed",
]

# Each bucket beyond the first costs a few more kernel launches per layer, so it must save this share of
# the suffix tokens that one bucket (everything padded to the longest) would run ...
BUCKET_MIN_SAVING = 0.05
MAX_BUCKETS = 4
# ... and on a GPU, where small launches cost far more than their arithmetic, at least this many token
# positions per layer; the same holds for running a shared prefix apart at all. An estimate, to be tuned
# with benchmarks/bench_text_prefix.py on a GPU (0 times the paths whatever they save).
GPU_MIN_SAVED_TOKENS = 2048


def min_saved_tokens(device) -> int:
    """Token positions per layer a separate prefix or another bucket must save on `device`."""
    return GPU_MIN_SAVED_TOKENS if torch.device(device).type == "cuda" else 0


def worth_sharing(prefix_length: int, rows: int, groups: int = 1, device="cpu") -> bool:
    """Whether running the shared prefixes once saves enough: more rows than prefixes, more than [SOS]
    shared, and on a GPU at least `min_saved_tokens` positions per layer."""
    saved = (rows - groups) * prefix_length
    return prefix_length >= 2 and rows > groups and saved >= min_saved_tokens(device)


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
    """Where each prompt's suffix positions go in the flat token list, bucket by bucket.

    buckets: (rows, length) per bucket, in flat order; gather: [tokens] indices into the suffixes
    flattened to [M * S, d]; group: [M] prefix index of each row in bucket order (None: one prefix);
    pool: [M] flat position of each row's EOT, in the callers' row order.
    """

    buckets: Tuple[Tuple[int, int], ...]
    gather: torch.Tensor
    group: Optional[torch.Tensor]
    pool: torch.Tensor

    @property
    def tokens(self) -> int:
        return sum(rows * length for rows, length in self.buckets)

    def to(self, device: torch.device) -> "SuffixLayout":
        pool = self.pool.to(device)
        if pool is self.pool:  # already there ("cuda" and "cuda:0" alike)
            return self
        group = None if self.group is None else self.group.to(device)
        return SuffixLayout(self.buckets, self.gather.to(device), group, pool)


def _bucket_bounds(lengths: List[int], counts: List[int], max_buckets: int, min_saving: int) -> List[int]:
    """Indices of the distinct lengths that end a bucket: fewest padded tokens for each bucket count
    (dynamic programming over the sorted lengths), each bucket beyond the first charged the larger of
    BUCKET_MIN_SAVING of the one-bucket tokens and `min_saving` tokens."""
    k = len(lengths)
    prefix_counts = [0]
    for c in counts:
        prefix_counts.append(prefix_counts[-1] + c)

    def cost(i: int, j: int) -> int:  # one bucket over distinct lengths i..j: all padded to lengths[j]
        return (prefix_counts[j + 1] - prefix_counts[i]) * lengths[j]

    inf = float("inf")
    best = [[inf] * (k + 1) for _ in range(max_buckets + 1)]  # best[b][j]: first j lengths in b buckets
    back = [[0] * (k + 1) for _ in range(max_buckets + 1)]
    best[0][0] = 0
    for b in range(1, max_buckets + 1):
        for j in range(1, k + 1):
            for i in range(b - 1, j):
                value = best[b - 1][i] + cost(i, j - 1)
                if value < best[b][j]:
                    best[b][j], back[b][j] = value, i
    penalty = max(BUCKET_MIN_SAVING * best[1][k], min_saving)  # per bucket beyond the first
    chosen = min(range(1, max_buckets + 1), key=lambda b: best[b][k] + penalty * (b - 1))
    ends, j = [], k
    for b in range(chosen, 0, -1):
        ends.append(j - 1)
        j = back[b][j]
    return sorted(ends)


def plan_suffixes(eot_index: torch.Tensor, prefix_length: int, width: int, group: Optional[torch.Tensor] = None,
                  device: Optional[torch.device] = None, max_buckets: Optional[int] = None) -> SuffixLayout:
    """The layout of M suffixes (each `width` positions, row m ending at EOT eot_index[m] of the full
    prompt) into at most `max_buckets` (default MAX_BUCKETS) length buckets; tensors on `device`.
    Runs on the CPU, once per prompt set: callers that run every step keep the layout."""
    need = eot_index.detach().cpu().long() - prefix_length + 1  # suffix positions through each EOT
    if int(need.min()) < 1 or int(need.max()) > width:
        raise ValueError(f"plan_suffixes: EOT positions must lie in the suffix (prefix {prefix_length}, width {width})")
    order = torch.sort(need, stable=True).indices
    lengths, counts = (t.tolist() for t in torch.unique_consecutive(need[order], return_counts=True))
    device = torch.device(device or eot_index.device)
    ends = _bucket_bounds(lengths, counts, max_buckets or MAX_BUCKETS, min_saved_tokens(device))
    buckets, gather, pool = [], [], torch.empty_like(need)
    row, offset, start = 0, 0, 0
    for end in ends:
        rows = sum(counts[start : end + 1])
        length = lengths[end]
        members = order[row : row + rows]
        gather.append((members[:, None] * width + torch.arange(length)).reshape(-1))
        pool[members] = offset + torch.arange(rows) * length + need[members] - 1
        buckets.append((rows, length))
        row, offset, start = row + rows, offset + rows * length, end + 1
    sorted_group = None if group is None else group.detach().cpu().long()[order]
    layout = SuffixLayout(tuple(buckets), torch.cat(gather), sorted_group, pool)
    return layout.to(device)


def _heads(qkv: torch.Tensor, rows: int, length: int, heads: int):
    """[rows * length, 3 * d] -> q, k, v of shape [rows, heads, length, d / heads]."""
    return qkv.view(rows, length, 3, heads, -1).permute(2, 0, 3, 1, 4).unbind(0)


def _merge_heads(x: torch.Tensor) -> torch.Tensor:
    """[rows, heads, length, head_dim] -> [rows * length, heads * head_dim]."""
    rows, heads, length, head_dim = x.shape
    return x.transpose(1, 2).reshape(rows * length, heads * head_dim)


def _attention(block: nn.Module, x: torch.Tensor, groups: int, prefix: int, layout: SuffixLayout,
               masks: List[torch.Tensor]) -> torch.Tensor:
    attn = block.attn
    heads = attn.num_heads
    dropout = attn.dropout if attn.training else 0.0
    qkv = F.linear(block.ln_1(x), attn.in_proj_weight, attn.in_proj_bias)
    n_prefix = groups * prefix
    q_p, k_p, v_p = _heads(qkv[:n_prefix], groups, prefix, heads)
    outputs = [_merge_heads(F.scaled_dot_product_attention(q_p, k_p, v_p, is_causal=True, dropout_p=dropout))]
    start, first_row = n_prefix, 0
    for (rows, length), mask in zip(layout.buckets, masks):
        q_s, k_s, v_s = _heads(qkv[start : start + rows * length], rows, length, heads)
        if layout.group is None:  # one prefix shared by every row
            k_g, v_g = k_p.expand(rows, -1, -1, -1), v_p.expand(rows, -1, -1, -1)
        else:
            group = layout.group[first_row : first_row + rows]
            k_g, v_g = k_p.index_select(0, group), v_p.index_select(0, group)
        k, v = torch.cat([k_g, k_s], dim=2), torch.cat([v_g, v_s], dim=2)
        outputs.append(_merge_heads(F.scaled_dot_product_attention(q_s, k, v, attn_mask=mask, dropout_p=dropout)))
        start, first_row = start + rows * length, first_row + rows
    return attn.out_proj(torch.cat(outputs))


def run_prefixed(blocks: Iterable[nn.Module], prefix: torch.Tensor, suffix: torch.Tensor,
                 layout: SuffixLayout) -> torch.Tensor:
    """Runs `blocks` over the prompts prefix[group[m]] ++ suffix[m]; returns each row's EOT output [M, d].

    prefix: [G, P, d] (positional embeddings added); suffix: [M, S, d] (likewise, positions P..P+S-1);
    layout: `plan_suffixes` of the rows (its group indexes the G prefixes; None needs G == 1).
    """
    groups, prefix_len, width = prefix.shape
    if layout.group is None and groups != 1:
        raise ValueError(f"run_prefixed: {groups} prefixes need a group index per suffix row")
    layout = layout.to(suffix.device)
    # Suffix position i sees every prefix position and suffix positions <= i (True = may attend).
    masks = [
        torch.ones(length, prefix_len + length, dtype=torch.bool, device=suffix.device).tril_(prefix_len)
        for _, length in layout.buckets
    ]
    flat_suffix = suffix.reshape(-1, width).index_select(0, layout.gather)
    x = torch.cat([prefix.reshape(groups * prefix_len, width), flat_suffix])
    for block in blocks:
        x = x + block.ls_1(_attention(block, x, groups, prefix_len, layout, masks))
        x = x + block.ls_2(block.mlp(block.ln_2(x)))
    return x[groups * prefix_len :].index_select(0, layout.pool)
