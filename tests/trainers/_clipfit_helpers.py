"""Build CLIP trainers in-process on the demo dataset (shared by the CLIPFit tests)."""
from _helpers_baselines import REPO  # noqa: F401  (the CLIPFit tests take it from here)
from _helpers_baselines import make_cfg as _make_cfg

from clipfit.compat import build_trainer, set_random_seed


def make_cfg(data_root, out_dir, trainer="CLIPFit", config="configs/trainers/CLIPFit/vit_b16_ep10.yaml", opts=(),
             dataset_config="configs/datasets/demo_shapes.yaml"):
    return _make_cfg(data_root, out_dir, trainer, config, opts, dataset_config)


def make_trainer(data_root, out_dir, **kwargs):
    cfg = make_cfg(data_root, out_dir, **kwargs)
    set_random_seed(cfg.SEED)
    return build_trainer(cfg)
