"""CLIPFIT_ENGINE picks the engine; `dassl` re-exports an importable Dassl and explains a missing one."""
import os
import subprocess
import sys
import textwrap

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# A stand-in `dassl` package with Dassl's module paths (its own registries, distinct from the engine's).
FAKE_DASSL = {
    "dassl/__init__.py": "",
    "dassl/config/__init__.py": "from clipfit.engine.config_defaults import get_cfg_default\n",
    "dassl/engine/__init__.py": textwrap.dedent("""\
        from clipfit.engine.registry import Registry
        from clipfit.engine.trainer import SimpleTrainer, TrainerX
        TRAINER_REGISTRY = Registry("TRAINER")
        def build_trainer(cfg):
            return TRAINER_REGISTRY.get(cfg.TRAINER.NAME)(cfg)
        """),
    "dassl/engine/trainer.py": "from clipfit.engine.trainer import TrainerBase\n",
    "dassl/data/__init__.py": "from clipfit.engine.data.data_manager import DataManager, DatasetWrapper\n",
    "dassl/data/data_manager.py": "from clipfit.engine.data.data_manager import build_data_loader\n",
    "dassl/data/datasets/__init__.py": textwrap.dedent("""\
        from clipfit.engine.registry import Registry
        from .base_dataset import Datum, DatasetBase
        from clipfit.engine.data.base_dataset import build_dataset
        DATASET_REGISTRY = Registry("DATASET")
        """),
    "dassl/data/datasets/base_dataset.py": "from clipfit.engine.data.base_dataset import Datum, DatasetBase\n",
    "dassl/data/transforms/__init__.py": "from clipfit.engine.data.transforms import build_transform\n",
    "dassl/data/transforms/transforms.py": "from clipfit.engine.data.transforms import INTERPOLATION_MODES\n",
    "dassl/evaluation/__init__.py": (
        "from clipfit.engine.evaluation import build_evaluator\n"
        "from clipfit.engine.registry import Registry\n"
        "EVALUATOR_REGISTRY = Registry('EVALUATOR')\n"
    ),
    "dassl/metrics/__init__.py": "from clipfit.engine.metrics import compute_accuracy\n",
    "dassl/optim/__init__.py": "from clipfit.engine.optim import build_lr_scheduler, build_optimizer\n",
    "dassl/utils/__init__.py": (
        "from clipfit.engine.utils import *\n"
        "from clipfit.engine.utils import AverageMeter, MetricMeter, Registry, check_availability\n"
    ),
}


def _python(code, env):
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True)


def test_builtin_is_default():
    env = {k: v for k, v in os.environ.items() if k != "CLIPFIT_ENGINE"}
    proc = _python(
        "import clipfit.compat as c; "
        "print(c.ENGINE, c.TRAINER_REGISTRY is __import__('clipfit.engine', fromlist=['x']).TRAINER_REGISTRY)",
        env,
    )
    assert proc.stdout.split() == ["builtin", "True"], proc.stderr


def test_dassl_engine_reexports_real_package(tmp_path):
    for rel, text in FAKE_DASSL.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    env = dict(os.environ, CLIPFIT_ENGINE="dassl", PYTHONPATH=str(tmp_path))
    code = (
        "import clipfit.compat as c, dassl.engine, dassl.data.datasets, clipfit.engine as e;"
        "print(c.ENGINE, c.TRAINER_REGISTRY is dassl.engine.TRAINER_REGISTRY,"
        " c.DATASET_REGISTRY is dassl.data.datasets.DATASET_REGISTRY, c.TRAINER_REGISTRY is e.TRAINER_REGISTRY)"
    )
    proc = _python(code, env)
    assert proc.stdout.split() == ["dassl", "True", "True", "False"], proc.stderr


def test_dassl_engine_missing_is_explained(tmp_path):
    env = dict(os.environ, CLIPFIT_ENGINE="dassl", PYTHONPATH=str(tmp_path))
    proc = _python("import clipfit.compat", env)
    assert proc.returncode != 0
    assert "CLIPFIT_ENGINE=dassl but `import dassl.config` failed: ModuleNotFoundError" in proc.stderr
    assert "unset CLIPFIT_ENGINE to use the built-in engine" in proc.stderr


def test_unknown_engine_name():
    proc = _python("import clipfit.compat", dict(os.environ, CLIPFIT_ENGINE="detectron"))
    assert "CLIPFIT_ENGINE='detectron' is not an engine; use one of ['builtin', 'dassl']" in proc.stderr


def test_dassl_engine_config_comes_from_the_registered_classes(tmp_path):
    """With a real Dassl, get_cfg adds the nodes of the classes registered into Dassl's registries and skips
    Dassl's own trainers, which have no extend_cfg."""
    for rel, text in FAKE_DASSL.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    env = dict(os.environ, CLIPFIT_ENGINE="dassl", PYTHONPATH=str(tmp_path))
    code = textwrap.dedent("""\
        import dassl.engine
        from dassl.engine import TRAINER_REGISTRY, TrainerX
        TRAINER_REGISTRY.register(type("Vanilla", (TrainerX,), {}))
        from clipfit.app.plugins import import_plugins
        import_plugins()
        from clipfit.config import get_cfg
        cfg = get_cfg()
        print(cfg.TRAINER.CLIPFIT.LAMBDA, cfg.TRAINER.COOP.N_CTX, cfg.TRAINER.COCOOP.PREC,
              cfg.DATASET.SUBSAMPLE_CLASSES, "CLIPFit" in TRAINER_REGISTRY.registered_names())
        """)
    proc = _python(code, env)
    assert proc.stdout.split() == ["8.0", "16", "fp16", "all", "True"], proc.stderr


def test_a_static_reader_follows_every_compat_name_to_its_definition():
    """compat's names are bound at run time; the imports under TYPE_CHECKING say where each one is defined
    (issue 22): they must name every exported name, and the very object the built-in engine exports."""
    import ast
    import importlib

    import clipfit.compat as compat

    tree = ast.parse(open(compat.__file__).read())
    guarded = next(n for n in tree.body if isinstance(n, ast.If) and getattr(n.test, "id", "") == "TYPE_CHECKING")
    static = {alias.name: f"clipfit.{node.module}" for node in guarded.body for alias in node.names}
    assert set(static) == set(compat.__all__) - {"ENGINE"}
    for name, module in static.items():
        assert getattr(importlib.import_module(module), name) is getattr(compat, name), name
