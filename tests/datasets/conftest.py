"""Fixtures of the dataset tests: pristine synthetic layouts built once, fresh copies for tests that write."""
from __future__ import annotations

import os
import shutil

import pytest

import datasets  # noqa: F401  (registers the 15 datasets)
from clipfit.compat import build_dataset
from clipfit.config import get_cfg
from clipfit.engine.utils.env import set_random_seed
from clipfit.testing.fixtures import DATASET_DIRS, make_all_fixtures


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Fallback caches of read-only datasets go to a per-test folder, never to ~/.cache."""
    cache = tmp_path / "clipfit-cache"
    monkeypatch.setenv("CLIPFIT_CACHE", str(cache))
    return cache


@pytest.fixture(scope="session")
def pristine(tmp_path_factory):
    """{(name, with_json): root} of untouched fixtures. Read them only: loaders write next to the data."""
    roots = {}
    for with_json in (False, True):
        root = str(tmp_path_factory.mktemp("json" if with_json else "native"))
        make_all_fixtures(root, with_split_json=with_json)
        roots[with_json] = root
    return roots


@pytest.fixture
def fresh(pristine, tmp_path):
    """fresh(name, with_json=False) -> a data root holding a private copy of that dataset's fixture."""

    def copy(name: str, with_json: bool = False, root: str | None = None) -> str:
        root = root or str(tmp_path / "data")
        folder = DATASET_DIRS[name]
        shutil.copytree(os.path.join(pristine[with_json], folder), os.path.join(root, folder))
        return root

    return copy


def _make_cfg(root: str, name: str, shots: int = -1, seed: int = 1, subsample: str = "all"):
    cfg = get_cfg()
    cfg.DATASET.ROOT = root
    cfg.DATASET.NAME = name
    cfg.DATASET.NUM_SHOTS = shots
    cfg.DATASET.SUBSAMPLE_CLASSES = subsample
    cfg.SEED = seed
    return cfg


def _build(root: str, name: str, shots: int = -1, seed: int = 1, subsample: str = "all"):
    """Construct a dataset as train.py does: config, then seed, then build."""
    cfg = _make_cfg(root, name, shots, seed, subsample)
    if seed >= 0:
        set_random_seed(seed)
    return build_dataset(cfg)


def _triples(items, prefix: str) -> list[tuple[str, int, str]]:
    """(path relative to prefix, label, classname) of each item."""
    return [(os.path.relpath(d.impath, prefix), d.label, d.classname) for d in items]


@pytest.fixture
def make_cfg():
    """make_cfg(root, name, shots=-1, seed=1, subsample="all") -> cfg (get_cfg() with the dataset keys set)."""
    return _make_cfg


@pytest.fixture
def build():
    """build(root, name, shots=-1, seed=1, subsample="all") -> dataset, seeded first as train.py does."""
    return _build


@pytest.fixture
def triples():
    """triples(items, prefix) -> [(relative path, label, classname)]."""
    return _triples
