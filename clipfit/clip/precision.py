"""Precision modes (`TRAINER.<NAME>.PREC`) for CLIP training and evaluation.

* `fp16`: the authors' mode. CLIP weights in half precision as OpenAI's `convert_weights` leaves them
  (Linear/Conv/attention weights and the projections); trainable biases stay half and the optimizer
  updates them in half; every LayerNorm keeps fp32 parameters and computes in fp32, casting its output
  back to the input dtype (open_clip's `LayerNormFp32`). Inputs must be cast with `input_dtype`.
* `amp`: fp32 weights, autocast to fp16, and a GradScaler.
* `bf16`: fp32 weights, autocast to bf16 (no scaler needed: bf16 has fp32's exponent range).
* `fp32`: plain fp32.

On CPU every mode runs as `fp32`, with a printed notice for `fp16`, `amp` and `bf16`: half-precision
CPU kernels are missing or slow, and even bf16 autocast, which PyTorch supports on CPU, ran a ViT-B/16
CLIPFit step 5.6x slower than fp32 on a CPU without bf16 instructions (benchmarks/bench_clipfit_step.py
--quick). `autocast("bf16", "cpu")` itself still works for callers that want it. On CUDA devices
without bf16 support, `bf16` becomes `amp`.
"""
from __future__ import annotations

import contextlib
import functools

import torch
import torch.nn.functional as F
from open_clip.model import convert_weights_to_lp
from open_clip.transformer import LayerNormFp32
from torch import nn

__all__ = [
    "PRECISIONS",
    "resolve_precision",
    "convert_model",
    "fp32_layernorms",
    "input_dtype",
    "autocast",
    "make_grad_scaler",
    "at_least_fp32",
]

PRECISIONS = ("fp16", "amp", "bf16", "fp32")

Device = str | torch.device


def at_least_fp32(x: torch.Tensor) -> torch.Tensor:
    """`x` in fp32 when it is half precision; float64 stays float64 (the equivalence tests run in it)."""
    return x if x.dtype == torch.float64 else x.float()


def _device_type(device: Device) -> str:
    return torch.device(device).type


def resolve_precision(mode: str, device: Device) -> str:
    """The precision mode that will actually run on `device` (prints a notice when it differs)."""
    requested = str(mode).lower()
    if requested not in PRECISIONS:
        raise ValueError(f"unknown precision {mode!r}; choose one of {PRECISIONS} (config key TRAINER.<NAME>.PREC)")
    kind = _device_type(device)
    if kind == "cuda":
        if requested == "bf16" and not torch.cuda.is_bf16_supported():
            print("[clipfit.clip] PREC bf16: this GPU has no bf16 support; using amp (fp16 autocast) instead")
            return "amp"
        return requested
    if requested != "fp32":
        print(f"[clipfit.clip] PREC {requested}: half precision is unusable on {kind.upper()}; using fp32")
    return "fp32"


class MixedLayerNorm(LayerNormFp32):
    """fp32 parameters applied to half activations by the fused kernel, which accumulates in fp32 and
    writes the input dtype: the same result as LayerNormFp32 without its two cast kernels per call."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)


@functools.cache
def mixed_layer_norm_supported(device_type: str) -> bool:
    """Whether layer_norm runs forward and backward with fp16 input and fp32 weights on this device."""
    try:
        # Fixed values, not randn: a probe must not move the global random state (the prompts drawn next).
        x = torch.linspace(-1, 1, 8, device=device_type, dtype=torch.float16).view(2, 4).requires_grad_()
        w = torch.ones(4, device=device_type, requires_grad=True)
        b = torch.zeros(4, device=device_type, requires_grad=True)
        y = F.layer_norm(x, (4,), w, b)
        y.float().sum().backward()
    except (RuntimeError, NotImplementedError):
        return False
    return y.dtype == torch.float16 and w.grad is not None and w.grad.dtype == torch.float32


def fp32_layernorms(model: nn.Module) -> nn.Module:
    """Makes every LayerNorm keep fp32 parameters and compute in fp32 on any input dtype.

    Swaps the class (same parameters and state dict) to `MixedLayerNorm` where the device's kernel takes
    half input with fp32 weights, else to open_clip's `LayerNormFp32`, which casts the input to fp32 and
    the output back; so fp16 activations meet fp32 LayerNorm weights safely either way.
    """
    param = next(model.parameters(), None)
    device_type = param.device.type if param is not None else "cpu"
    norm_class = MixedLayerNorm if mixed_layer_norm_supported(device_type) else LayerNormFp32
    for module in model.modules():
        if isinstance(module, nn.LayerNorm):
            module.float()
            module.__class__ = norm_class
    return model


def convert_model(model: nn.Module, mode: str) -> nn.Module:
    """Puts the weights of `model` in the layout of `mode` (in place; returns the model).

    `fp16`: half weights as OpenAI's CLIP has them, fp32 LayerNorms. Other modes: fp32 weights.
    Pass the mode returned by `resolve_precision`.
    """
    if mode not in PRECISIONS:
        raise ValueError(f"unknown precision {mode!r}; choose one of {PRECISIONS}")
    model.float()
    if mode == "fp16":
        convert_weights_to_lp(model, dtype=torch.float16)
        fp32_layernorms(model)
    return model


def input_dtype(mode: str) -> torch.dtype:
    """dtype to cast images to before the image encoder (autocast modes cast inside)."""
    return torch.float16 if mode == "fp16" else torch.float32


def autocast(mode: str, device: Device) -> contextlib.AbstractContextManager:
    """Autocast context for `amp` (fp16) and `bf16`; a no-op for `fp16` and `fp32`."""
    kind = _device_type(device)
    if mode == "amp":
        return torch.autocast(kind, dtype=torch.float16)
    if mode == "bf16":
        return torch.autocast(kind, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def make_grad_scaler(mode: str, device: Device) -> torch.amp.GradScaler:
    """A GradScaler, enabled only for `amp` (the only mode whose fp16 gradients can underflow unscaled
    while the weights are fp32; `fp16` updates half weights directly, as the authors did)."""
    kind = _device_type(device)
    return torch.amp.GradScaler(kind, enabled=(mode == "amp" and kind == "cuda"))
