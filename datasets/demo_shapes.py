"""Demo shapes: the synthetic data `clipfit demo` writes (`clipfit.testing.demo`), one folder per class
under `images/` and a fixed split file. Not a benchmark: no roles, so no sweep over `all` and no average
of the leaderboard includes it."""
from __future__ import annotations

from clipfit.compat import DATASET_REGISTRY

from ._shared.base import SplitDataset, read_and_split_data


@DATASET_REGISTRY.register()
class DemoShapes(SplitDataset):
    dataset_dir = "demo_shapes"
    display_name = "Demo shapes (synthetic)"
    benchmarks = ()
    template = "a photo of a {}."
    image_subdir = "images"
    split_file = "split_DemoShapes.json"
    required = ("images",)

    def read_native(self):
        return read_and_split_data(self.image_dir)
