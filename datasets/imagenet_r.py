"""ImageNet-R, test only: 200 wnid folders under `imagenet-r/`; labels 0..199 by sorted wnid (not ImageNet's)."""
from __future__ import annotations

from clipfit.compat import DATASET_REGISTRY

from ._shared.base import TestOnlyDataset
from ._shared.published_files import PublishedFile
from .imagenet import CLASSNAMES_FILE


@DATASET_REGISTRY.register()
class ImageNetR(TestOnlyDataset):
    dataset_dir = "imagenet-rendition"
    display_name = "ImageNet-R"
    benchmarks = ("dg_target",)
    template = "a photo of a {}."
    image_subdir = "imagenet-r"
    required = ("imagenet-r", "classnames.txt")
    published_files = (  # size and SHA-256 as TensorFlow Datasets publishes them
        PublishedFile(
            "imagenet-r.tar", url="https://people.eecs.berkeley.edu/~hendrycks/imagenet-r.tar",
            size=2191079936, sha256="18c6bf493b39a0d975d48e587437f562caab9c52ae6327dcfa9dd8eb54aa1b52",
            take={"imagenet-r": "imagenet-r"},
        ),
        CLASSNAMES_FILE,
    )
