"""Installs the `clipfit` package: CLIPFit and its baselines on a Dassl-compatible engine."""
from setuptools import find_packages, setup

setup(
    name="clipfit",
    version="0.1.0",
    description=(
        "CLIPFit (EMNLP 2024): fine-tune CLIP through text FFN biases and image LayerNorms, "
        "with a built-in Dassl-compatible engine and CoOp-style benchmark scripts"
    ),
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["clipfit", "clipfit.*"]),
    # the folder `clipfit with-dassl` puts on PYTHONPATH (a plain folder, not a subpackage)
    package_data={"clipfit.dassl_shim": ["site/dassl/__init__.py", "dassl_names.json"]},
    install_requires=[
        "torch",
        "torchvision",
        "open_clip_torch",
        "yacs",
        "tabulate",
        "tqdm",
        "Pillow",
        "scipy",
        "gdown",
        "matplotlib",
    ],
    extras_require={
        "test": ["pytest", "pytest-xdist", "submitit", "ruff"],
        "slurm": ["submitit"],
    },
    entry_points={"console_scripts": ["clipfit=clipfit.app.cli:main"]},
)
