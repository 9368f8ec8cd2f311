"""A plugin module (CLIPFIT_PLUGINS=shapes_plugin, this folder on PYTHONPATH): one dataset and one trainer
that declare their facts on their classes and nothing else, to show that they reach every table.

- ToyShapes: the demo's shapes in their own folder `toy_shapes/`, its YAML beside this module.
- ShapesFit: CLIPFit with a config node of its own (TRAINER.SHAPESFIT), its own recipe (configs beside
  this module, one env knob, BANNER) and its own scripts/shapesfit/ (SHAPESFIT_SCRIPT_FOLDER renames it,
  so that test processes running at the same time each write and remove their own).
"""
from __future__ import annotations

import os

from yacs.config import CfgNode as CN

from clipfit.compat import DATASET_REGISTRY, TRAINER_REGISTRY
from clipfit.core.recipes import Recipe, RunSpec
from datasets import SplitDataset
from trainers.clipfit import CLIPFit

HERE = os.path.dirname(os.path.abspath(__file__))


@DATASET_REGISTRY.register()
class ToyShapes(SplitDataset):
    dataset_dir = "toy_shapes"
    image_subdir = "images"
    split_file = "split_toy_shapes.json"
    required = ("images",)
    config_stem = "toy_shapes"
    config_file = os.path.join(HERE, "toy_shapes.yaml")
    display_name = "Toy Shapes"
    benchmarks = ("base2new", "few_shot", "xd_target")

    def read_native(self):
        return self.read_and_split_data(self.image_dir)  # CoOp's helper, a static method of every dataset


class ShapesRecipe(Recipe):
    knobs = ("BANNER",)

    def cfg(self, run: RunSpec) -> str:
        return "tiny"

    def opts(self, run: RunSpec) -> list[str]:
        return ["TRAINER.SHAPESFIT.BANNER", run.knob("BANNER", "plain")]


@TRAINER_REGISTRY.register()
class ShapesFit(CLIPFit):
    RECIPE = ShapesRecipe(os.path.join(HERE, "configs", "ShapesFit"))
    SCRIPT_FOLDER = os.environ.get("SHAPESFIT_SCRIPT_FOLDER", "shapesfit")

    @classmethod
    def extend_cfg(cls, cfg) -> None:
        super().extend_cfg(cfg)
        cfg.TRAINER.SHAPESFIT = CN()
        cfg.TRAINER.SHAPESFIT.BANNER = ""

    def build_method(self, clip, classnames):
        print(f"ShapesFit banner: {self.cfg.TRAINER.SHAPESFIT.BANNER}")
        return super().build_method(clip, classnames)
