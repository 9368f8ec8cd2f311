import pytest
import torch

from clipfit.engine.config_defaults import get_cfg_default
from clipfit.engine.data.base_dataset import DatasetBase, Datum
from clipfit.engine.data.data_manager import DatasetWrapper, build_data_loader, dataset_summary_rows, format_table


def _items(image_file, n, n_classes=2):
    return [Datum(image_file, i % n_classes, 0, f"class{i % n_classes}") for i in range(n)]


@pytest.mark.parametrize("n,batches", [(10, 1), (64, 2), (65, 2)])
def test_drop_last_rule_for_training(image_file, n, batches):
    cfg = get_cfg_default()
    cfg.DATALOADER.NUM_WORKERS = 0
    loader = build_data_loader(cfg, "RandomSampler", _items(image_file, n), batch_size=32, is_train=True)
    assert len(loader) == batches


def test_eval_loaders_never_drop(image_file):
    cfg = get_cfg_default()
    cfg.DATALOADER.NUM_WORKERS = 0
    loader = build_data_loader(cfg, "SequentialSampler", _items(image_file, 65), batch_size=32, is_train=False)
    assert len(loader) == 3


def test_unknown_sampler(image_file):
    cfg = get_cfg_default()
    with pytest.raises(ValueError, match="Unknown sampler type: Foo"):
        build_data_loader(cfg, "Foo", _items(image_file, 2), batch_size=1)


def test_wrapper_returns_dassl_batch_dict(image_file):
    cfg = get_cfg_default()
    cfg.DATALOADER.RETURN_IMG0 = True
    cfg.INPUT.SIZE = (16, 16)
    item = _items(image_file, 1)[0]
    out = DatasetWrapper(cfg, [item], transform=lambda im: torch.zeros(3, 2, 2), is_train=False)[0]
    assert set(out) == {"label", "domain", "impath", "index", "img", "img0"}
    assert out["img0"].shape == (3, 16, 16)
    assert out["impath"] == image_file and out["index"] == 0


def test_k_transforms_without_transform_is_an_error(image_file):
    cfg = get_cfg_default()
    cfg.DATALOADER.K_TRANSFORMS = 2
    with pytest.raises(ValueError):
        DatasetWrapper(cfg, _items(image_file, 1), transform=None, is_train=True)


def test_summary_table_layout(image_file):
    cfg = get_cfg_default()
    cfg.DATASET.NAME = "OxfordPets"
    train = _items(image_file, 592, n_classes=37)
    dataset = DatasetBase(train_x=train, val=_items(image_file, 148, 37), test=_items(image_file, 3669, 37))
    assert format_table(dataset_summary_rows(cfg, dataset)) == (
        "---------  ----------\n"
        "Dataset    OxfordPets\n"
        "# classes  37\n"
        "# train_x  592\n"
        "# val      148\n"
        "# test     3,669\n"
        "---------  ----------"
    )


def test_num_classes_and_names_come_from_train_x(image_file):
    train = [Datum(image_file, 0, 0, "a"), Datum(image_file, 2, 0, "c")]
    dataset = DatasetBase(train_x=train, test=train)
    assert dataset.num_classes == 3
    assert dataset.classnames == ["a", "c"]
    assert dataset.lab2cname == {0: "a", 2: "c"}
