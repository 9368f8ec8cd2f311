import argparse

import torch
from dassl.engine import build_trainer
from dassl.utils import collect_env_info, set_random_seed, setup_logger

import datasets.color_dots  # noqa: F401  (registers ColorDots)
import trainers  # noqa: F401  (registers FeatureProbe, TwoViews, ProGradProbe)
from configs import get_cfg_default


def setup_cfg(args, trainer, output_dir):
    cfg = get_cfg_default()
    cfg.merge_from_file(args.dataset_config_file)
    cfg.merge_from_file(f"configs/{trainer}.yaml")
    cfg.DATASET.ROOT, cfg.OUTPUT_DIR, cfg.SEED, cfg.TRAINER.NAME = args.root, output_dir, args.seed, trainer
    cfg.merge_from_list(args.opts)
    cfg.freeze()
    return cfg


def main(args):
    """Several trainers (comma-separated) run one after the other, into --output-dir/<trainer>, so that a test
    pays the start of Python once."""
    names = args.trainer.split(",")
    for name in names:
        output_dir = args.output_dir if len(names) == 1 else f"{args.output_dir}/{name}"
        run(args, setup_cfg(args, name, output_dir))


def run(args, cfg):
    set_random_seed(cfg.SEED)
    setup_logger(cfg.OUTPUT_DIR)
    if torch.cuda.is_available() and cfg.USE_CUDA:
        torch.backends.cudnn.benchmark = True
    print(cfg)
    print(f"** System info **\n{collect_env_info()}\n")
    trainer = build_trainer(cfg)
    if args.eval_only:
        trainer.load_model(args.model_dir, epoch=args.load_epoch)
        trainer.test()
        return
    trainer.train()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    for flag in ("--root", "--output-dir", "--dataset-config-file", "--trainer", "--model-dir"):
        parser.add_argument(flag, type=str, default="")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--eval-only", action="store_true")
    parser.add_argument("--load-epoch", type=int)
    parser.add_argument("opts", default=None, nargs=argparse.REMAINDER)
    main(parser.parse_args())
