"""Fixtures of the CLIP library tests (CPU, fp32). GPU tests carry @pytest.mark.gpu."""
from __future__ import annotations

import pytest
import torch

from clipfit.clip import build_random_clip, load_clip


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "gpu: needs a CUDA device (skipped without one)")


def pytest_runtest_setup(item: pytest.Item) -> None:
    # A runtest hook in this conftest applies to the tests of this folder only.
    if item.get_closest_marker("gpu") is not None and not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")


@pytest.fixture
def tiny():
    """A fresh tiny CLIP (ViT tower, 224 px), seed 0."""
    torch.manual_seed(0)
    return load_clip("tiny")


@pytest.fixture
def tiny64():
    """The tiny CLIP in float64, for tests that compare two mathematically equal computations: fp32
    reduction-order noise depends on the CPU and the thread count, float64's is ~1e-15, so a tight
    tolerance there proves equality on any machine."""
    torch.manual_seed(0)
    return load_clip("tiny").double()


@pytest.fixture(scope="session")
def vitb16_64(vitb16):
    """A float64 copy of `vitb16` (see `tiny64`)."""
    import copy

    return copy.deepcopy(vitb16).double()


@pytest.fixture
def tiny_rn():
    torch.manual_seed(0)
    return load_clip("tiny-rn")


@pytest.fixture(scope="session")
def vitb16():
    """The one full-size model of the test run: ViT-B/16 with random weights (about 3 s to build).

    Shared by several tests: they may change requires_grad but must not change weights.
    """
    torch.manual_seed(0)
    return build_random_clip("ViT-B/16")
