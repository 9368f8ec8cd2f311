"""Timing (interleaved, medians) and FLOPs (torch.utils.flop_counter) of the two codes' steps."""
from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch
from torch.utils.flop_counter import FlopCounterMode, sdpa_backward_flop_count, sdpa_flop_count

aten = torch.ops.aten


def _sdpa_cpu(query, key, value, *args, out_shape=None, **kwargs) -> int:
    return sdpa_flop_count(query, key, value)


def _sdpa_cpu_backward(grad_out, query, key, value, *args, out_shape=None, **kwargs) -> int:
    return sdpa_backward_flop_count(grad_out, query, key, value)


def _native_mha(query, key, value, embed_dim, num_heads, *args, out_shape=None, **kwargs) -> int:
    """nn.MultiheadAttention's inference fast path ([B, L, E] self-attention): in-, out-projection, attention."""
    batch, length, width = query
    tokens = batch * length
    return 2 * tokens * width * 4 * width + 4 * tokens * length * width


# FlopCounterMode has no formula for the CPU's fused attention kernels nor for MultiheadAttention's fast path
# (evaluation of open_clip's towers); without these their products would count zero. A causal mask counts as
# full attention, the formula's convention.
CPU_ATTENTION = {
    aten._scaled_dot_product_flash_attention_for_cpu: _sdpa_cpu,
    aten._scaled_dot_product_flash_attention_for_cpu_backward: _sdpa_cpu_backward,
    aten._native_multi_head_attention: _native_mha,
}


def flops(fn: Callable[[], object]) -> int:
    with FlopCounterMode(display=False, custom_mapping=CPU_ATTENTION) as counter:
        fn()
    return int(counter.get_total_flops())


def interleaved_ms(cases: dict[str, Callable[[], object]], repeats: int, warmup: int = 1) -> dict[str, dict]:
    """Median / min ms of each case, the cases run alternately (forward, then reversed order each round) so
    that a machine's load drifting over time hits them alike."""
    for fn in cases.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {name: [] for name in cases}
    order = list(cases)
    for round_ in range(repeats):
        for name in order if round_ % 2 == 0 else reversed(order):
            start = time.perf_counter()
            cases[name]()
            times[name].append(1000.0 * (time.perf_counter() - start))
    return {name: {"median_ms": round(statistics.median(t), 1), "min_ms": round(min(t), 1), "runs": len(t)}
            for name, t in times.items()}
