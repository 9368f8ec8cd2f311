"""Builders of synthetic on-disk datasets: test fixtures in the 15 real layouts and the demo data."""
from .demo import DEMO_CLASSNAMES, DEMO_DATASET_NAME, DemoDataset, make_demo_dataset
from .fixtures import (
    EXPECTED,
    FIXTURE_NAMES,
    fixture_split,
    fixture_split_json,
    make_all_fixtures,
    make_dataset_fixture,
)

__all__ = [
    "DEMO_CLASSNAMES",
    "DEMO_DATASET_NAME",
    "DemoDataset",
    "EXPECTED",
    "FIXTURE_NAMES",
    "fixture_split",
    "fixture_split_json",
    "make_all_fixtures",
    "make_dataset_fixture",
    "make_demo_dataset",
]
