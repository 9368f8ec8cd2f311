"""The benchmark scripts as modules (benchmarks/ is not a package)."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def load_benchmark(name: str):
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # as an import would (dataclasses look their module up there)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def bench():
    return load_benchmark("bench_clipfit_step")


@pytest.fixture(scope="session")
def benchmark_module():
    """load_benchmark, cached: benchmark_module("run_all")."""
    cache = {}
    return lambda name: cache.setdefault(name, load_benchmark(name))
