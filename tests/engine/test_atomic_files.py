"""Atomic writes: nothing half-written under the final name, and the final file's mode follows the umask."""
from __future__ import annotations

import os
import stat

import pytest

from clipfit.core.atomic_files import atomic_open, atomic_write, current_umask


@pytest.fixture
def umask():
    def set_mask(mask: int) -> None:
        os.umask(mask)

    saved = os.umask(0o022)
    yield set_mask
    os.umask(saved)


@pytest.mark.parametrize("mask,mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_the_final_file_gets_the_mode_open_would_give(tmp_path, umask, mask, mode):
    umask(mask)
    assert current_umask() == mask
    path = tmp_path / "split.json"
    atomic_write(str(path), lambda f: f.write("{}"), mode="w")
    assert stat.S_IMODE(path.stat().st_mode) == mode
    plain = tmp_path / "plain.json"
    plain.write_text("{}")
    assert stat.S_IMODE(plain.stat().st_mode) == mode


def test_a_failed_write_leaves_neither_the_file_nor_its_temp(tmp_path):
    path = tmp_path / "model.pth.tar-1"
    with pytest.raises(RuntimeError, match="interrupted"), atomic_open(str(path)) as f:
        f.write(b"partial")
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []
