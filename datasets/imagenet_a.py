"""ImageNet-A, test only: 200 wnid folders under `imagenet-a/`; labels 0..199 by sorted wnid (not ImageNet's)."""
from __future__ import annotations

from clipfit.compat import DATASET_REGISTRY

from ._shared.base import TestOnlyDataset
from ._shared.published_files import PublishedFile
from .imagenet import CLASSNAMES_FILE


@DATASET_REGISTRY.register()
class ImageNetA(TestOnlyDataset):
    dataset_dir = "imagenet-adversarial"
    display_name = "ImageNet-A"
    benchmarks = ("dg_target",)
    template = "a photo of a {}."
    image_subdir = "imagenet-a"
    required = ("imagenet-a", "classnames.txt")
    published_files = (  # size and SHA-256 as TensorFlow Datasets publishes them
        PublishedFile(
            "imagenet-a.tar", url="https://people.eecs.berkeley.edu/~hendrycks/imagenet-a.tar",
            size=687552512, sha256="3bb3632277e6ba6392ea64c02ddbf4dd2266c9caffd6bc09c9656d28f012589e",
            take={"imagenet-a": "imagenet-a"},
        ),
        CLASSNAMES_FILE,
    )
