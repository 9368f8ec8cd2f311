"""`train.py` / `clipfit train`: CoOp's command line, config merge order and main sequence."""
from __future__ import annotations

import argparse
import os

from ...errors import UserInputError, report_errors

NAME = "train"
HELP = "Train or evaluate a trainer on a dataset (the flags of CoOp's train.py)."

EPILOG = """\
Config merge order (later wins): engine defaults, --dataset-config-file, --config-file, the flags
above, then trailing KEY VALUE pairs (e.g. DATASET.NUM_SHOTS 16 DATASET.SUBSAMPLE_CLASSES base).

examples:
  python train.py --root data --seed 1 --trainer CLIPFit \\
      --dataset-config-file configs/datasets/oxford_pets.yaml \\
      --config-file configs/trainers/CLIPFit/vit_b16_ep100.yaml \\
      --output-dir output/base2new/train_base/oxford_pets/shots_16/CLIPFit/vit_b16_ep100/seed1 \\
      DATASET.NUM_SHOTS 16 DATASET.SUBSAMPLE_CLASSES base
  python train.py ... --eval-only --model-dir <train output dir> --load-epoch 100 DATASET.SUBSAMPLE_CLASSES new
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..flag_values import GivenValue

    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EPILOG
    parser.add_argument("--root", type=str, default="", action=GivenValue, help="path to the data root (DATASET.ROOT)")
    parser.add_argument("--output-dir", type=str, default="", action=GivenValue, help="output directory (OUTPUT_DIR)")
    parser.add_argument("--resume", type=str, default="", action=GivenValue,
                        help="checkpoint directory to resume from (RESUME)")
    parser.add_argument("--seed", type=int, default=-1, help="only positive value enables a fixed seed (SEED)")
    parser.add_argument("--source-domains", type=str, nargs="+", help="source domains for DA/DG")
    parser.add_argument("--target-domains", type=str, nargs="+", help="target domains for DA/DG")
    parser.add_argument("--transforms", type=str, nargs="+", help="data augmentation methods (INPUT.TRANSFORMS)")
    parser.add_argument("--config-file", type=str, default="", action=GivenValue,
                        help="path to the trainer config file")
    parser.add_argument("--dataset-config-file", type=str, default="", action=GivenValue,
                        help="path to the dataset config file")
    parser.add_argument("--trainer", type=str, default="", action=GivenValue, help="name of the trainer (TRAINER.NAME)")
    parser.add_argument("--backbone", type=str, default="", action=GivenValue,
                        help="name of the CNN/CLIP backbone (MODEL.BACKBONE.NAME)")
    parser.add_argument("--head", type=str, default="", action=GivenValue, help="name of the head (MODEL.HEAD.NAME)")
    parser.add_argument("--eval-only", action="store_true", help="evaluation only")
    parser.add_argument("--model-dir", type=str, default="", action=GivenValue,
                        help="load model from this directory for eval-only mode")
    parser.add_argument("--load-epoch", type=int, help="load model weights at this epoch for evaluation")
    parser.add_argument("--no-train", action="store_true", help="do not call trainer.train()")
    parser.add_argument("opts", default=None, nargs=argparse.REMAINDER,
                        help="modify config options using the command-line")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="train.py", description=HELP)
    add_arguments(parser)
    return parser


def reset_cfg(cfg, args) -> None:
    if args.root:
        cfg.DATASET.ROOT = args.root
    if args.output_dir:
        cfg.OUTPUT_DIR = args.output_dir
    if args.resume:
        cfg.RESUME = args.resume
    if args.seed:
        cfg.SEED = args.seed
    if args.source_domains:
        cfg.DATASET.SOURCE_DOMAINS = args.source_domains
    if args.target_domains:
        cfg.DATASET.TARGET_DOMAINS = args.target_domains
    if args.transforms:
        cfg.INPUT.TRANSFORMS = args.transforms
    if args.trainer:
        cfg.TRAINER.NAME = args.trainer
    if args.backbone:
        cfg.MODEL.BACKBONE.NAME = args.backbone
    if args.head:
        cfg.MODEL.HEAD.NAME = args.head


def _unknown_key(cfg, message: str, check: str, is_node: bool = False) -> str:
    """yacs's 'Non-existent ... key: A.B.C', then why its node is missing (an unregistered class) or `check`."""
    from ...config import missing_node_hint

    return message + (missing_node_hint(cfg, message.rsplit(" ", 1)[-1], is_node) or f"; {check}")


def _is_node_in_file(path: str, key: str) -> bool:
    """Whether `key` holds a mapping in the YAML file `path` (a whole node the config tree lacks)."""
    from ...core.config_files import load_config_file

    node = load_config_file(path)
    for part in key.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return isinstance(node, dict)


def _merge_file(cfg, path: str, flag: str) -> None:
    from ...config import floats_for_ints_in_node
    from ...core.config_files import load_config_file

    loaded = load_config_file(path, flag)  # duplicate, dotted and no keys are its errors
    try:
        floats_for_ints_in_node(cfg, loaded)
        cfg.merge_from_other_cfg(loaded)
    except KeyError as e:
        check = "check the key's spelling against `print(cfg)` in a log"
        is_node = _is_node_in_file(path, e.args[0].rsplit(" ", 1)[-1])
        raise UserInputError(f"{flag} {path}: {_unknown_key(cfg, e.args[0], check, is_node)}") from e
    except ValueError as e:
        raise UserInputError(f"{flag} {path}: {e}") from e


def _merge_opts(cfg, opts: list[str]) -> None:
    from ...config import floats_for_ints_in_opts

    try:
        cfg.merge_from_list(floats_for_ints_in_opts(cfg, opts))
    except AssertionError as e:
        check = "check the key's spelling (e.g. DATASET.NUM_SHOTS)"
        raise UserInputError(f"command-line option: {_unknown_key(cfg, str(e), check)}") from e
    except ValueError as e:
        raise UserInputError(f"command-line option: {e}") from e


def setup_cfg(args, require_trainer: bool = False):
    """The run's frozen config; the plugins are imported first, as their classes add config keys. What can
    be checked without them is checked before (no torch yet); `require_trainer`: a run needs a trainer."""
    from ...config import get_cfg
    from ..plugins import import_plugins
    from ..train_checks import check_args, check_trainer_given, check_trainer_named

    check_args(args)
    if require_trainer:
        check_trainer_given(args)
    import_plugins()
    cfg = get_cfg()
    if args.dataset_config_file:
        _merge_file(cfg, args.dataset_config_file, "--dataset-config-file")
    if args.config_file:
        _merge_file(cfg, args.config_file, "--config-file")
    reset_cfg(cfg, args)
    _merge_opts(cfg, args.opts or [])
    cfg.freeze()
    if require_trainer:
        check_trainer_named(cfg)
    return cfg


def print_args(args, cfg) -> None:
    print("***************")
    print("** Arguments **")
    print("***************")
    for key in sorted(args.__dict__.keys()):
        if key in ("command", "func"):
            continue
        print(f"{key}: {args.__dict__[key]}")
    print("************")
    print("** Config **")
    print("************")
    print(cfg)


def _warn_if_untrained(trainer) -> None:
    trainable = sum(
        p.numel()
        for model in trainer._models.values()
        for p in model.parameters()
        if p.requires_grad
    )
    if trainable:
        name = trainer.cfg.TRAINER.NAME
        print(
            "\n" + "!" * 78 + f"\n!! --eval-only without --model-dir: evaluating an UNTRAINED {name} model\n"
            f"!! ({trainable:,} trainable parameters at their initial values). Pass --model-dir <train output dir>\n"
            "!! and --load-epoch <E> to evaluate a trained model.\n" + "!" * 78 + "\n"
        )


def _announce_seed(cfg) -> None:
    if cfg.SEED < 0:
        print(f"Note: SEED is {cfg.SEED}, so no fixed seed (CoOp's convention): training differs from run to run and "
              "the result cannot be reproduced. The few-shot picks are drawn at random once and then reused from "
              f"split_fewshot/shot_<K>-seed_{cfg.SEED}.pkl, as Dassl does. Pass --seed N (N > 0; --seed 0 counts as "
              "unset, as in CoOp) to fix both.")


def _remove_stale_temp_files(output_dir: str) -> None:
    from ...core.atomic_files import remove_stale_temp_files

    remove_stale_temp_files(output_dir)
    for entry in os.scandir(output_dir):
        if entry.is_dir() and not entry.name.startswith("."):
            remove_stale_temp_files(entry.path)


def env_report_in_background():
    """The environment report (Dassl's "System info", which starts pip, nvidia-smi, ...) gathered while
    the config, plugins and data are prepared; `.result()` waits for it."""
    from concurrent.futures import ThreadPoolExecutor

    from ...compat import collect_env_info

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="env-report")
    future = pool.submit(collect_env_info)
    pool.shutdown(wait=False)
    return future


def _check_model_dir(args) -> None:
    """--model-dir is read only by --eval-only (as in Dassl); elsewhere it would be ignored without a word."""
    if not args.model_dir:
        return
    if not args.eval_only:
        print(f"Note: --model-dir {args.model_dir} is used only with --eval-only; it is ignored here "
              "(--resume is what resumes a run)")
    elif not os.path.isdir(args.model_dir):
        raise UserInputError(f"--model-dir {args.model_dir}: no such folder; give the output folder of a training run")


def main(args) -> None:
    from ..run_lock import locked

    _check_model_dir(args)
    cfg = setup_cfg(args, require_trainer=True)
    env_report = env_report_in_background()
    with locked(cfg.OUTPUT_DIR):
        _remove_stale_temp_files(cfg.OUTPUT_DIR)
        _run(args, cfg, env_report)


def _run(args, cfg, env_report) -> None:
    from ...compat import build_trainer, set_random_seed, setup_logger

    if cfg.SEED >= 0:
        print(f"Setting fixed seed: {cfg.SEED}")
        set_random_seed(cfg.SEED)
    setup_logger(cfg.OUTPUT_DIR)
    _announce_seed(cfg)
    import torch

    if torch.cuda.is_available() and cfg.USE_CUDA:
        torch.backends.cudnn.benchmark = True
    print_args(args, cfg)
    print("Collecting env info ...")
    print(f"** System info **\n{env_report.result()}\n")

    trainer = build_trainer(cfg)
    if args.eval_only:
        trainer.load_model(args.model_dir, epoch=args.load_epoch)
        if not args.model_dir:
            _warn_if_untrained(trainer)
        trainer.test()
        return
    if not args.no_train:
        trainer.train()


def run(args) -> int:
    where = args.output_dir or "its output folder"
    return report_errors(
        lambda: main(args),
        resume_hint=f"Run the same command again to resume from the last checkpoint in {where}.",
    )
