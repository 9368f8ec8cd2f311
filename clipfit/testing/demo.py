"""A small learnable image dataset with meaningful class names, for the demo and end-to-end tests.

It is the layout of the registered `DemoShapes` dataset (datasets/demo_shapes.py, configs/datasets/
demo_shapes.yaml), so it loads with `DATASET.NAME = "DemoShapes"` and `DATASET.ROOT = <root>`:

    <root>/demo_shapes/images/<class>/<class>_0001.jpg ...
    <root>/demo_shapes/split_DemoShapes.json     (a fixed 50/20/30 split per class)

The layout is written here without importing `datasets/` (this is the library layer); a test checks that
it agrees with the registered class.

Each class is a coloured shape ("red circle", "blue triangle", ...) drawn at a random position, size
and angle on a noisy light background: colour and shape both tell the classes apart, so a model can
learn them in a few steps, and the names mean something to a text encoder ("a photo of a red circle.").
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

DEMO_DATASET_NAME = "DemoShapes"  # the registered name (DATASET.NAME)
DEMO_DATASET_DIR = "demo_shapes"
DEMO_SPLIT_FILE = "split_DemoShapes.json"

# class name (underscores, as the benchmark class names) -> (RGB colour, shape)
DEMO_CLASSES = {
    "red_circle": ((220, 30, 30), "circle"),
    "green_square": ((30, 160, 50), "square"),
    "blue_triangle": ((40, 70, 220), "triangle"),
    "yellow_star": ((235, 200, 20), "star"),
    "purple_cross": ((140, 40, 180), "cross"),
    "orange_stripes": ((245, 130, 20), "stripes"),
    "cyan_ring": ((20, 190, 200), "ring"),
    "black_diamond": ((20, 20, 20), "diamond"),
    "pink_dots": ((240, 110, 180), "dots"),
    "brown_checkerboard": ((120, 70, 30), "checkerboard"),
}
DEMO_CLASSNAMES = tuple(DEMO_CLASSES)


@dataclass(frozen=True)
class DemoDataset:
    root: str  # the DATASET.ROOT to use
    name: str  # the DATASET.NAME to use
    dataset_dir: str
    classnames: tuple[str, ...]
    split_sizes: tuple[int, int, int]  # train, val, test


def _polygon(cx: float, cy: float, radius: float, angle: float, corners: int, inner: float | None = None) -> list:
    points = []
    steps = corners * (2 if inner else 1)
    for k in range(steps):
        r = radius if inner is None or k % 2 == 0 else radius * inner
        a = angle + 2 * math.pi * k / steps
        points.append((cx + r * math.cos(a), cy + r * math.sin(a)))
    return points


def draw_demo_image(classname: str, size: int, rng: np.random.Generator) -> Image.Image:
    """One image of class `classname`: its shape in its colour, jittered, on a noisy background."""
    color, shape = DEMO_CLASSES[classname]
    background = rng.integers(200, 256, size=(size, size, 3), dtype=np.uint8)
    image = Image.fromarray(background)
    draw = ImageDraw.Draw(image)
    jitter = rng.integers(-12, 13, size=3)
    fill = tuple(int(np.clip(c + j, 0, 255)) for c, j in zip(color, jitter))
    radius = size * rng.uniform(0.25, 0.38)
    cx, cy = (size / 2 + rng.uniform(-0.12, 0.12, size=2) * size).tolist()
    angle = rng.uniform(0, 2 * math.pi)
    box = [cx - radius, cy - radius, cx + radius, cy + radius]
    width = max(2, size // 10)
    if shape == "circle":
        draw.ellipse(box, fill=fill)
    elif shape == "ring":
        draw.ellipse(box, outline=fill, width=width)
    elif shape == "square":
        draw.polygon(_polygon(cx, cy, radius * 1.2, angle, 4), fill=fill)
    elif shape == "diamond":
        draw.polygon(_polygon(cx, cy, radius * 1.2, math.pi / 2 + rng.uniform(-0.2, 0.2), 4), fill=fill)
    elif shape == "triangle":
        draw.polygon(_polygon(cx, cy, radius * 1.2, angle, 3), fill=fill)
    elif shape == "star":
        draw.polygon(_polygon(cx, cy, radius * 1.2, angle, 5, inner=0.45), fill=fill)
    elif shape == "cross":
        draw.rectangle([cx - radius, cy - width, cx + radius, cy + width], fill=fill)
        draw.rectangle([cx - width, cy - radius, cx + width, cy + radius], fill=fill)
    elif shape == "stripes":
        period = max(4, size // 6)
        offset = int(rng.integers(0, period))
        for y in range(-period + offset, size, period):
            draw.rectangle([0, y, size, y + period // 2 - 1], fill=fill)
    elif shape == "dots":
        for _ in range(6):
            x, y = rng.uniform(0.15, 0.85, size=2) * size
            r = size * 0.07
            draw.ellipse([x - r, y - r, x + r, y + r], fill=fill)
    elif shape == "checkerboard":
        cell = max(4, size // 6)
        for gy in range(0, size, cell):
            for gx in range(0, size, cell):
                if (gx // cell + gy // cell) % 2 == 0:
                    draw.rectangle([gx, gy, gx + cell - 1, gy + cell - 1], fill=fill)
    return image


def make_demo_dataset(
    root: str, num_classes: int = len(DEMO_CLASSES), images_per_class: int = 12, size: int = 64, seed: int = 0
) -> DemoDataset:
    """Write the demo dataset under `root` (the DemoShapes layout) and describe it.

    Deterministic for a given `seed`; does not touch Python's, numpy's or torch's global RNG.
    Needs at least 4 images per class (the 50/20/30 split gives each part at least one).
    """
    if not 1 <= num_classes <= len(DEMO_CLASSES):
        raise ValueError(f"num_classes must be 1..{len(DEMO_CLASSES)}, got {num_classes}")
    if images_per_class < 4:
        raise ValueError(f"images_per_class must be >= 4 (train/val/test each need one), got {images_per_class}")
    rng = np.random.default_rng(seed)
    classnames = tuple(sorted(DEMO_CLASSNAMES[:num_classes]))  # the label order of the folder layout
    dataset_dir = os.path.join(root, DEMO_DATASET_DIR)
    n_train, n_val = round(images_per_class * 0.5), round(images_per_class * 0.2)
    split = {"train": [], "val": [], "test": []}
    for label, classname in enumerate(classnames):
        folder = os.path.join(dataset_dir, "images", classname)
        os.makedirs(folder, exist_ok=True)
        for i in range(1, images_per_class + 1):
            name = f"{classname}_{i:04d}.jpg"
            draw_demo_image(classname, size, rng).save(os.path.join(folder, name), format="JPEG", quality=90)
            part = "train" if i <= n_train else "val" if i <= n_train + n_val else "test"
            split[part].append([f"{classname}/{name}", label, classname])
    from ..core.atomic_files import write_json

    write_json(split, os.path.join(dataset_dir, DEMO_SPLIT_FILE))
    return DemoDataset(
        root=os.path.abspath(root),
        name=DEMO_DATASET_NAME,
        dataset_dir=os.path.abspath(dataset_dir),
        classnames=classnames,
        split_sizes=(len(split["train"]), len(split["val"]), len(split["test"])),
    )
