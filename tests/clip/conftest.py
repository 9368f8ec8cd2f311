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
