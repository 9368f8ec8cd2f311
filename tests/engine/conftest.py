import pytest
from PIL import Image


@pytest.fixture
def image_file(tmp_path):
    path = tmp_path / "img.jpg"
    Image.new("RGB", (40, 30), (200, 10, 10)).save(path)
    return str(path)
