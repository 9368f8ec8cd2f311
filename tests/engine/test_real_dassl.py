"""The project's trainers on a real Dassl (CLIPFIT_ENGINE=dassl): train, --eval-only reload and resume on
current PyTorch, with the same printed results as the built-in engine.

Dassl.pytorch is served by no package registry, so CI has none and these tests skip; they run wherever a
real `dassl` (with its requirements) is importable, e.g. its source folder on PYTHONPATH. The adapters
themselves are tested on a stand-in in test_dassl_adapters.py.
"""
import importlib
import importlib.util
import os
import re
import subprocess
import sys

import pytest

from clipfit.testing.demo import make_demo_dataset

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _real_dassl_problem() -> str | None:
    if importlib.util.find_spec("dassl") is None:
        return "no real `dassl` importable (no package registry serves Dassl.pytorch; put its source on PYTHONPATH)"
    try:
        for module in ("dassl.engine", "dassl.data", "dassl.utils", "dassl.optim"):
            importlib.import_module(module)
    except Exception as e:  # Dassl imports tensorboard, sklearn, wilds... at import time
        return f"`dassl` is present but not importable: {type(e).__name__}: {e}"
    if "dassl_shim" in (sys.modules["dassl"].__file__ or ""):
        return "`dassl` here is clipfit's own shim, not a real Dassl"
    return None


pytestmark = pytest.mark.skipif(_real_dassl_problem() is not None, reason=str(_real_dassl_problem()))

TRAINER_CONFIGS = {
    "CLIPFit": "configs/trainers/CLIPFit/tiny_demo.yaml",
    "CoOp": "configs/trainers/CoOp/tiny_demo.yaml",
    "CoCoOp": "configs/trainers/CoOp/tiny_demo.yaml",
    "ZeroshotCLIP": "configs/trainers/CoOp/tiny_demo.yaml",
}
OPTS = ["DATASET.NUM_SHOTS", "2", "DATALOADER.TRAIN_X.BATCH_SIZE", "2", "DATALOADER.NUM_WORKERS", "0",
        "USE_CUDA", "False"]
# what must agree between the engines: results, and each progress line without its timings
_COMPARED = re.compile(r"^(\* .*|epoch \[.*)$", re.M)
_TIMINGS = re.compile(r" (time|data) [\d.]+ \([\d.]+\)| eta \S+")


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    make_demo_dataset(str(root), num_classes=4, images_per_class=4, size=32)
    return str(root)


def _train_py(engine, data_root, trainer, out, *extra, epochs=2):
    cmd = [sys.executable, "train.py", "--root", data_root, "--seed", "1", "--trainer", trainer,
           "--dataset-config-file", "configs/datasets/demo_shapes.yaml", "--config-file", TRAINER_CONFIGS[trainer],
           "--output-dir", str(out), *extra, *OPTS, "OPTIM.MAX_EPOCH", str(epochs)]
    env = dict(os.environ, CLIPFIT_ENGINE=engine, CUDA_VISIBLE_DEVICES="", CLIPFIT_OFFLINE="1")
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    return proc


def _compared(text):
    return [_TIMINGS.sub("", line) for line in _COMPARED.findall(text)]


@pytest.mark.parametrize("trainer", ["CLIPFit", "CoCoOp", "CoOp"])
def test_trainer_trains_reloads_and_resumes_on_real_dassl_as_on_the_builtin_engine(data_root, tmp_path, trainer):
    builtin = _train_py("builtin", data_root, trainer, tmp_path / "builtin")
    real = _train_py("dassl", data_root, trainer, tmp_path / "dassl")
    assert "clipfit: adapted Dassl" in real.stderr or "Traceback" not in real.stderr
    assert _compared(real.stdout) == _compared(builtin.stdout)
    trained = re.findall(r"^\* accuracy: (.+)%$", real.stdout, re.M)[-1]

    reload = _train_py("dassl", data_root, trainer, tmp_path / "eval", "--eval-only", "--model-dir",
                       tmp_path / "dassl", "--load-epoch", "2")
    assert re.findall(r"^\* accuracy: (.+)%$", reload.stdout, re.M)[-1] == trained

    resumed = _train_py("dassl", data_root, trainer, tmp_path / "dassl", epochs=3)
    assert "Loaded scheduler" in resumed.stdout and "Previous epoch: 2" in resumed.stdout
    assert "epoch [3/3]" in resumed.stdout and "epoch [2/3]" not in resumed.stdout


def test_zero_shot_clip_evaluates_on_real_dassl_as_on_the_builtin_engine(data_root, tmp_path):
    """ZeroshotCLIP registers no model: --eval-only with no --model-dir skips load_model on both engines."""
    args = ("--eval-only", "DATASET.SUBSAMPLE_CLASSES", "new")
    builtin = _train_py("builtin", data_root, "ZeroshotCLIP", tmp_path / "builtin", *args)
    real = _train_py("dassl", data_root, "ZeroshotCLIP", tmp_path / "dassl", *args)
    assert _compared(real.stdout) == _compared(builtin.stdout) != []


def test_the_trainer_tests_pass_with_the_trainers_registered_into_real_dassl():
    """tests/trainers run as they are, on CLIPFIT_ENGINE=dassl, but for two things Dassl does differently:
    a resumed run there does not end with an uninterrupted run's weights (its warm-up scheduler restores a
    successor bound to a copy of the optimizer, and its checkpoints hold no RNG state), and test_zsclip.py's
    exact float comparisons also fail on the built-in engine on some CPUs, which says nothing about Dassl."""
    files = ["tests/trainers/test_coop.py", "tests/trainers/test_cocoop.py", "tests/trainers/test_clipfit.py"]
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *files,
                           "-k", "not resumes_from_the_rolling_checkpoint"], cwd=REPO,
                          env=dict(os.environ, CLIPFIT_ENGINE="dassl"), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-4000:]
