"""Build CLIP trainers in-process on the demo dataset (shared by the CLIPFit tests)."""
import os

from clipfit.app.plugins import import_plugins
from clipfit.compat import build_trainer, set_random_seed
from clipfit.config import get_cfg

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def make_cfg(data_root, out_dir, trainer="CLIPFit", config="configs/trainers/CLIPFit/vit_b16_ep10.yaml", opts=(),
             dataset_config="configs/datasets/demo_shapes.yaml"):
    import_plugins()
    cfg = get_cfg()
    cfg.merge_from_file(os.path.join(REPO, dataset_config))
    cfg.merge_from_file(os.path.join(REPO, config))
    cfg.TRAINER.NAME = trainer
    cfg.DATASET.ROOT = str(data_root)
    cfg.OUTPUT_DIR = str(out_dir)
    cfg.SEED = 1
    cfg.merge_from_list(
        ["MODEL.BACKBONE.NAME", "tiny", "DATALOADER.NUM_WORKERS", "0", "DATASET.NUM_SHOTS", "2",
         "DATALOADER.TRAIN_X.BATCH_SIZE", "4", "DATALOADER.TEST.BATCH_SIZE", "8", "USE_CUDA", "False", *opts]
    )
    cfg.freeze()
    return cfg


def make_trainer(data_root, out_dir, **kwargs):
    cfg = make_cfg(data_root, out_dir, **kwargs)
    set_random_seed(cfg.SEED)
    return build_trainer(cfg)
