"""The child process of bench_data.py's `startup` case: `python _startup.py LAUNCHED BACKBONE DATA_ROOT`.

Imports nothing before the first mark, so the marks are the costs of a run's own start: seconds since
LAUNCHED (the parent's time.time() just before it started this process) at the end of each phase, in
train.py's order (the environment report is gathered in the background while the rest is imported).
"""
import json
import os
import sys
import time


def main(launched: float, backbone: str, root: str) -> None:
    marks = {"interpreter": time.time() - launched}
    from clipfit.app.commands.train import env_report_in_background

    env_report = env_report_in_background()
    import torch  # noqa: F401

    marks["import_torch"] = time.time() - launched
    import open_clip  # noqa: F401

    marks["import_open_clip"] = time.time() - launched
    from clipfit.app.plugins import import_plugins
    from clipfit.compat import build_trainer, set_random_seed
    from clipfit.config import get_cfg

    import_plugins()
    marks["import_plugins"] = time.time() - launched
    env_report.result()
    marks["env_report"] = time.time() - launched
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    cfg = get_cfg()
    cfg.merge_from_file(os.path.join(repo, "configs/datasets/demo_shapes.yaml"))
    cfg.merge_from_file(os.path.join(repo, "configs/trainers/CLIPFit/vit_b16_ep10.yaml"))
    cfg.merge_from_list(["TRAINER.NAME", "CLIPFit", "DATASET.ROOT", root, "OUTPUT_DIR", os.path.join(root, "out"),
                         "SEED", "1", "MODEL.BACKBONE.NAME", backbone, "MODEL.BACKBONE.PRETRAINED", "False",
                         "DATASET.NUM_SHOTS", "2", "DATALOADER.NUM_WORKERS", "0", "DATALOADER.TRAIN_X.BATCH_SIZE",
                         "4", "TRAINER.CLIPFIT.PREC", "fp32"])
    cfg.freeze()
    set_random_seed(1)
    trainer = build_trainer(cfg)
    marks["build_trainer"] = time.time() - launched
    trainer.set_model_mode("train")
    trainer.num_batches, trainer.batch_idx = len(trainer.train_loader_x), 0
    trainer.forward_backward(next(iter(trainer.train_loader_x)))
    marks["first_step"] = time.time() - launched
    print("STARTUP " + json.dumps(marks), flush=True)


if __name__ == "__main__":
    main(float(sys.argv[1]), sys.argv[2], sys.argv[3])
