"""Fixtures of the reliability cases: the demo data (4 classes, 6 images each) and an environment without the
debug switch (it turns user errors into tracebacks, which the cases assert are absent)."""
import pytest

from clipfit.testing.demo import make_demo_dataset


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    make_demo_dataset(str(root), num_classes=4, images_per_class=6, size=32)
    return str(root)


@pytest.fixture(autouse=True)
def _quiet_env(monkeypatch):
    monkeypatch.delenv("CLIPFIT_DEBUG", raising=False)
