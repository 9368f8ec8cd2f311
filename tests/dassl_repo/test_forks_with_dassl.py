"""`clipfit with-dassl` runs the forks that once failed on the built-in engine, with its default settings (both
caches on): forks/ has their shapes (its README says which repository each trainer stands for)."""
import importlib.util
import os
import re
import shutil

import pytest
from test_with_dassl import COLORS, with_dassl

from clipfit.testing.fixtures import jpeg_bytes

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture(scope="module")
def forks(tmp_path_factory):
    base = tmp_path_factory.mktemp("forks")
    shutil.copytree(os.path.join(HERE, "forks"), base / "repo")
    shutil.copytree(os.path.join(HERE, "repo", "datasets"), base / "repo" / "datasets")
    shutil.copy(os.path.join(HERE, "repo", "configs", "datasets", "color_dots.yaml"), base / "repo" / "configs")
    for classname, rgb in COLORS.items():
        folder = base / "data" / "color_dots" / "images" / classname
        folder.mkdir(parents=True)
        for i in range(8):
            (folder / f"{i}.jpg").write_bytes(jpeg_bytes(rgb, noise=40 + i, size=12))
    return base / "repo"


def train(forks, trainers, out, *extra, subsample="base"):
    proc = with_dassl("python", "train.py", "--root", forks.parent / "data", "--trainer", trainers,
                      "--dataset-config-file", "configs/color_dots.yaml", "--output-dir", out, *extra,
                      "DATASET.NUM_SHOTS", "2", "DATASET.SUBSAMPLE_CLASSES", subsample, "USE_CUDA", "False", cwd=forks)
    return proc.stdout


@pytest.fixture(scope="module")
def logs(forks):
    """The three trainers in one process (the stand-in's train.py takes several): their log.txt files."""
    out = forks.parent / "out"
    train(forks, "FeatureProbe,TwoViews,ProGradProbe", out)
    return {name: (out / name / "log.txt").read_text() for name in ("FeatureProbe", "TwoViews", "ProGradProbe")}


def test_a_repository_that_copies_its_loaders_with_the_caches_on_trains_and_reloads(forks, logs):
    """jusiro/CLAP (`KeyError: 'loader'` before), in a config tree of the repository's own (Koorye/SkipTuning:
    `AttributeError: TRAIN_U` before)."""
    out = forks.parent / "out" / "FeatureProbe"
    log = logs["FeatureProbe"]
    assert "train cache: 4 images decoded once into memory" in log and "eval cache: wrote 4 test images" in log
    assert ("train_loader_x: DatasetWrapper batch_size=2 num_workers=0 pin_memory=False len=2 "
            "transform=['Resize', 'RandomHorizontalFlip', 'ToTensor', 'Normalize']") in log
    assert ("test_loader: DatasetWrapper batch_size=8 num_workers=0 pin_memory=False len=1 "
            "transform=['Resize', 'CenterCrop', 'ToTensor', 'Normalize']") in log
    assert re.search(r"^features: train \(4, 3\) labels \[[01], [01], [01], [01]\] test \(4, 3\); a copied test "
                     r"loader gives the same images: True$", log, re.M), log
    assert "TRAIN_U" not in log and "CACHE_EVAL" not in log  # neither is in the repository's tree
    assert re.search(r"^\* accuracy: [\d.]+%$", log, re.M) and "eval: 4 test images from cache in" in log

    reloaded = train(forks, "FeatureProbe", forks.parent / "new", "--eval-only", "--model-dir", out, "--load-epoch",
                     "1", subsample="new")
    assert f"Load {out}/probe/model.pth.tar-1 to probe (epoch=1, val_result=None)" in reloaded
    assert "SUBSAMPLE NEW CLASSES!" in reloaded and re.search(r"^\* accuracy: [\d.]+%$", reloaded, re.M)


def test_randaugment_views_and_names_dassl_engine_trainer_imports(forks, logs):
    """ShuvenduRoy/CoPrompt (`UnsupportedOption: INPUT.TRANSFORMS ['randaugment']` before) and Koorye/DePT
    (`cannot import name 'MetricMeter' from 'dassl.engine.trainer'` before)."""
    out = forks.parent / "out" / "TwoViews"
    log = logs["TwoViews"]
    assert "+ randaugment (n=2, m=10)\n+ to torch tensor of range [0, 1]\n" in log
    if importlib.util.find_spec("tensorboard") is None:  # SummaryWriter from dassl.engine.trainer writes nothing
        assert f"Note: tensorboard is not installed, so SummaryWriter(log_dir={out}/tensorboard) writes" in log
    assert re.search(r"^two views per image: \[\(2, 3, 8, 8\), \(2, 3, 8, 8\)\]; loss [\d.]+ \([\d.]+\)$", log, re.M)
    assert "Checkpoint saved to" in log and re.search(r"^\* accuracy: [\d.]+%$", log, re.M)


def test_prograd_backward_and_update_of_the_prograd_fork(logs):
    """BeierZhu/Prompt-align, and the ProGrad trainers of htyao89/KgCoOp and TCP (`'ProGrad' object has no
    attribute 'prograd_backward_and_update'` before)."""
    log = logs["ProGradProbe"]
    assert re.search(r"^epoch \[1/1\] batch \[2/2\] .* xe_loss [\d.]+ \([\d.]+\) kl_loss [\d.]+ \([\d.]+\) lr ",
                     log, re.M), log
    assert "Checkpoint saved to" in log and re.search(r"^\* accuracy: [\d.]+%$", log, re.M)
