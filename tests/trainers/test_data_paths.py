"""The cached data paths change no result: a trainer's test logits from the evaluation cache equal the PIL
path's exactly, and a training step on the decoded set equals one on the decoded files."""
import pytest
import torch
from _clipfit_helpers import make_trainer

from clipfit.testing.demo import make_demo_dataset


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    make_demo_dataset(str(root), num_classes=4, images_per_class=6, size=48)
    return str(root)


def _logits(trainer) -> tuple[torch.Tensor, torch.Tensor]:
    trainer.set_model_mode("eval")
    outputs, labels = [], []
    for batch in trainer.test_loader:
        image, label = trainer.parse_batch_test(batch)
        outputs.append(trainer.model_inference(image))
        labels.append(label)
    return torch.cat(outputs), torch.cat(labels)


def test_logits_from_the_eval_cache_equal_the_pil_path(data_root, tmp_path, capsys):
    pil = make_trainer(data_root, tmp_path / "pil",
                       opts=("DATALOADER.CACHE_EVAL", "False", "DATALOADER.CACHE_TRAIN", "False"))
    cached = make_trainer(data_root, tmp_path / "cached")
    assert "eval cache:" in capsys.readouterr().out
    logits, labels = _logits(pil)
    cached_logits, cached_labels = _logits(cached)
    assert torch.equal(labels, cached_labels)
    assert torch.equal(logits, cached_logits)
    capsys.readouterr()
    cached.test()
    out = capsys.readouterr().out
    # Dassl's result block stays whole; the cache's line follows it.
    assert "Evaluate on the *test* set\n=> result\n* total: " in out
    assert "* macro_f1: " in out.split("eval: ")[0] and "test images from cache in" in out

    torch.manual_seed(0)
    pil_batch = next(iter(pil.train_loader_x))
    torch.manual_seed(0)
    cached_batch = next(iter(cached.train_loader_x))
    assert torch.equal(pil_batch["img"], cached_batch["img"])
    for trainer, batch in ((pil, pil_batch), (cached, cached_batch)):
        trainer.set_model_mode("train")
        trainer.batch_idx, trainer.num_batches = 0, 2
    assert pil.forward_backward(pil_batch) == cached.forward_backward(cached_batch)
