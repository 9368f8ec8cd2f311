"""ImageNet-Sketch, test only: one folder per wnid under `images/`, labels by sorted wnid."""
from __future__ import annotations

from clipfit.compat import DATASET_REGISTRY

from ._shared.base import TestOnlyDataset
from ._shared.published_files import PublishedFile
from .imagenet import CLASSNAMES_FILE


@DATASET_REGISTRY.register()
class ImageNetSketch(TestOnlyDataset):
    dataset_dir = "imagenet-sketch"
    display_name = "ImageNet-Sketch"
    benchmarks = ("dg_target",)
    template = "a photo of a {}."
    image_subdir = "images"
    required = ("images", "classnames.txt")
    published_files = (  # the authors' Google Drive file; size and SHA-256 as TensorFlow Datasets publishes them
        PublishedFile(
            "ImageNet-Sketch.zip", drive_id="1Mj0i5HBthqH1p_yeXzsg22gZduvgoNeA",
            size=7593573012, sha256="4d3ce6b82a7c48aabf14aeac105eb533e75707f152cc858f55bfc022031a72ed",
            take={"sketch": "images"},
        ),
        CLASSNAMES_FILE,
    )
