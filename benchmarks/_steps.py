"""Synthetic inputs and the training step every method's benchmark times (the trainers' own modules)."""
from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _prologue  # noqa: E402, F401  (the checkout importable)

from clipfit.clip import autocast, build_random_clip, input_dtype, make_grad_scaler  # noqa: E402
from clipfit.clip.shared_prefix import worth_sharing  # noqa: E402
from clipfit.clip.torch_compile import compile_step  # noqa: E402

TEMPLATE = "a photo of a {}, a type of pet."
_WORDS = (
    "great pyrenees staffordshire bull terrier american pit english cocker spaniel russian blue "
    "egyptian mau siamese basset hound german shorthaired pointer japanese chin wheaten yorkshire "
    "birman bombay maine coon newfoundland samoyed scottish havanese leonberger keeshond"
).split()


def class_names(count: int) -> list[str]:
    """Deterministic 2-3 word names, so prompts are ~12-20 tokens like real pet/car/flower names."""
    n = len(_WORDS)
    names = []
    for i in range(count):
        words = [_WORDS[i % n], _WORDS[(i // n + 3 * i) % n]]
        if i % 3 == 0:
            words.append(_WORDS[(7 * i + 5) % n])
        names.append(" ".join(words))
    return names


def varied_class_names(count: int) -> list[str]:
    """Deterministic names of 1 to 6 words (mostly short), spread like ImageNet's ("tench", "great white
    shark", "Chesapeake Bay retriever"), so prompt lengths vary as they do there (names may repeat)."""
    n = len(_WORDS)
    sizes = (1, 1, 1, 2, 2, 2, 3, 3, 4, 6)
    return [" ".join(_WORDS[(7 * i + 3 * j + i // n) % n] for j in range(sizes[i % len(sizes)])) for i in range(count)]


def random_backbone(name: str) -> torch.nn.Module:
    """The benchmarks' CLIP `name` with random weights, seed 0 (speed does not depend on the values)."""
    torch.manual_seed(0)
    return build_random_clip(name)


def synthetic_images(model: torch.nn.Module, batch: int, mode: str, device: torch.device) -> torch.Tensor:
    """Random images at the model's input size, in the dtype the image encoder takes in `mode`."""
    size = model.visual.image_size
    return torch.randn(batch, 3, size[0], size[1], device=device).to(input_dtype(mode))


def train_step(method: torch.nn.Module, mode: str, device: torch.device, classes: int, batch: int,
               compile_mode: str = "off") -> Callable[[], None]:
    """One training step of a ClipMethod as ClipTrainer runs it: `method.loss` under the precision's
    autocast (compiled as TRAINER.<NODE>.COMPILE / COMPILE_MODE do), backward, SGD (momentum 0.9) update
    of the trained parameters through the precision's grad scaler."""
    params = [p for p in method.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=0.002, momentum=0.9, weight_decay=5e-4)
    scaler = make_grad_scaler(mode, device)
    images = synthetic_images(method.clip, batch, mode, device)
    labels = torch.randint(0, classes, (batch,), device=device)

    def loss_fn(images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        with autocast(mode, device):
            return method.loss(images, labels)[0]

    if compile_mode != "off":
        loss_fn = compile_step(loss_fn, compile_mode)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(images, labels)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()

    return step


def text_path(share: bool, prefix_length: int, rows: int, groups: int, device: torch.device, layout) -> dict:
    """What the text tower runs for `rows` prompts of `groups` shared prefixes (`share`: the encoder's
    share_prefix): the prefix positions run once (0: full prompts) and whether the suffixes run unpadded."""
    shared = share and worth_sharing(prefix_length, rows, groups, device)
    return {"prefix_tokens": prefix_length if shared else 0, "unpadded": shared and layout.unpad is not None}


def compile_modes(value: str) -> list[str]:
    """--compile: comma-separated off, default, reduce-overhead, max-autotune, ..."""
    return [m for m in value.split(",") if m]
