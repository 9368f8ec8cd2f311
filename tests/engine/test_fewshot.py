"""generate_fewshot_dataset picks what Dassl picks: checked against an independent re-implementation."""
import random

import pytest

from clipfit.engine.data.base_dataset import DatasetBase, Datum


def reference_fewshot(items, k):
    by_label = {}
    for it in items:
        by_label.setdefault(it.label, []).append(it)
    out = []
    for group in by_label.values():
        out += random.sample(group, k) if len(group) >= k else group
    return out


@pytest.fixture
def items(image_file):
    labels = [3, 1, 3, 0, 1, 1, 3, 0, 2, 3, 1, 0, 3, 1, 0]
    return [Datum(image_file, lab, 0, f"c{lab}") for lab in labels]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_same_picks_as_reference(items, seed):
    random.seed(seed)
    expected_train = reference_fewshot(items, 3)
    expected_val = reference_fewshot(items, 2)
    random.seed(seed)
    base = DatasetBase(train_x=items)
    train = base.generate_fewshot_dataset(items, num_shots=3)
    val = base.generate_fewshot_dataset(items, num_shots=2)
    assert [id(x) for x in train] == [id(x) for x in expected_train]
    assert [id(x) for x in val] == [id(x) for x in expected_val]
    # first-appearance label order, and label 2 (one item) is taken whole
    assert [x.label for x in train] == [3, 3, 3, 1, 1, 1, 0, 0, 0, 2]


def test_small_class_consumes_no_randomness(image_file):
    items = [Datum(image_file, 0, 0, "a")]
    random.seed(0)
    state = random.getstate()
    assert DatasetBase(train_x=items).generate_fewshot_dataset(items, num_shots=4) == items
    assert random.getstate() == state


def test_multiple_sources_and_negative_shots(items, capsys):
    base = DatasetBase(train_x=items)
    assert base.generate_fewshot_dataset(items, num_shots=-1) is items
    a, b = base.generate_fewshot_dataset(items, items, num_shots=1)
    assert len(a) == len(b) == 4
    assert capsys.readouterr().out == "Creating a 1-shot dataset\n"


def test_repeat_draws_with_replacement(image_file):
    items = [Datum(image_file, 0, 0, "a"), Datum(image_file, 0, 0, "a")]
    out = DatasetBase(train_x=items).generate_fewshot_dataset(items, num_shots=5, repeat=True)
    assert len(out) == 5
