"""Writers of run logs in the engine's format (header, progress lines, end marker, result block)."""
from __future__ import annotations

import os

HEADER = """\
***************
** Arguments **
***************
backbone: 
config_file: configs/trainers/{trainer}/{cfg}.yaml
dataset_config_file: configs/datasets/{dataset}.yaml
eval_only: {eval_only}
head: 
load_epoch: {load_epoch}
model_dir: {model_dir}
no_train: False
opts: {opts}
output_dir: {output_dir}
resume: 
root: data
seed: {seed}
source_domains: None
target_domains: None
trainer: {trainer}
transforms: None
************
** Config **
************
DATASET:
  NAME: {dataset_name}
  NUM_SHOTS: {shots}
  ROOT: data
  SUBSAMPLE_CLASSES: {subsample}
SEED: {seed}
TRAINER:
  NAME: {trainer}
Collecting env info ...
** System info **
PyTorch version: 2.4.0

Loading trainer: {trainer}
Loading evaluator: Classification
"""

EPOCHS = """\
epoch [1/2] batch [1/1] time 0.019 (0.019) data 0.004 (0.004) loss 2.1864 (2.1864) acc 50.0000 (50.0000) lr 1.0000e-05 eta 0:00:01
epoch [2/2] batch [1/1] time 0.002 (0.011) data 0.001 (0.003) loss 1.3088 (1.2476) acc 75.0000 (75.0000) lr 2.0000e-03 eta 0:00:00
Checkpoint saved to {output_dir}/prompt_learner/model.pth.tar-2
"""  # noqa: E501 (Dassl's epoch lines, kept verbatim: the log parser is tested on them)

# The registered names (DATASET.NAME) of the stems the tests use: a dump the report compares with the real config.
DATASET_NAMES = {"oxford_pets": "OxfordPets", "dtd": "DescribableTextures", "imagenet": "ImageNet",
                 "caltech101": "Caltech101", "eurosat": "EuroSAT", "ucf101": "UCF101", "imagenetv2": "ImageNetV2",
                 "imagenet_a": "ImageNetA", "demo_shapes": "DemoShapes", "fgvc_aircraft": "FGVCAircraft",
                 "food101": "Food101", "oxford_flowers": "OxfordFlowers", "stanford_cars": "StanfordCars",
                 "sun397": "SUN397"}


def result_block(accuracy: float, total: int = 1000) -> str:
    correct = round(total * accuracy / 100)
    return (f"=> result\n* total: {total:,}\n* correct: {correct:,}\n* accuracy: {accuracy:.1f}%\n"
            f"* error: {100 - accuracy:.1f}%\n* macro_f1: {accuracy - 0.5:.1f}%\n")


def header(run_dir, *, trainer="CLIPFit", cfg="vit_b16", dataset="oxford_pets", seed=1, eval_only=False,
           shots=16, subsample="all") -> str:
    opts = ["DATASET.NUM_SHOTS", str(shots), "DATASET.SUBSAMPLE_CLASSES", subsample]
    return HEADER.format(trainer=trainer, cfg=cfg, dataset=dataset, eval_only=eval_only, seed=seed,
                         load_epoch=2 if eval_only else None, model_dir="out/train" if eval_only else "",
                         opts=opts, output_dir=run_dir, dataset_name=DATASET_NAMES.get(dataset, dataset),
                         shots=shots, subsample=subsample)


def training_log(run_dir, accuracy, *, marker="Finish training", with_header=True, **kw) -> str:
    text = header(run_dir, **kw) if with_header else ""
    text += EPOCHS.format(output_dir=run_dir)
    text += f"{marker}\nDeploy the last-epoch model\nEvaluate on the *test* set\n"
    return text + result_block(accuracy) + "Elapsed: 0:12:34\n"


def eval_log(run_dir, accuracy, **kw) -> str:
    text = header(run_dir, eval_only=True, **kw)
    text += "Loading weights to prompt_learner from \"out/train/prompt_learner/model.pth.tar-2\" (epoch = 2)\n"
    return text + "Evaluate on the *test* set\n" + result_block(accuracy)


def crashed_log(run_dir, **kw) -> str:
    first_epoch_line = EPOCHS.format(output_dir=run_dir).splitlines(True)[0]
    return header(run_dir, **kw) + first_epoch_line + "Traceback (most recent call last):\n"


def write(run_dir, text: str, name: str = "log.txt") -> str:
    os.makedirs(run_dir, exist_ok=True)
    path = os.path.join(str(run_dir), name)
    with open(path, "w") as f:
        f.write(text)
    return path


def b2n_run(root, dataset, trainer, cfg, seed, base=None, new=None, shots_dir="shots_16"):
    """Writes a train_base log (Base) and/or a test_new eval-only log (New); None leaves it out."""
    written = {}
    if base is not None:
        d = os.path.join(str(root), "base2new", "train_base", dataset, shots_dir, trainer, cfg, f"seed{seed}")
        if trainer.startswith("ZeroshotCLIP"):
            text = eval_log(d, base, trainer=trainer, cfg=cfg, dataset=dataset, seed=seed, subsample="base")
        else:
            text = training_log(d, base, trainer=trainer, cfg=cfg, dataset=dataset, seed=seed, subsample="base")
        written["base"] = write(d, text)
    if new is not None:
        d = os.path.join(str(root), "base2new", "test_new", dataset, shots_dir, trainer, cfg, f"seed{seed}")
        written["new"] = write(d, eval_log(d, new, trainer=trainer, cfg=cfg, dataset=dataset, seed=seed,
                                           subsample="new"))
    return written


def few_shot_run(root, dataset, trainer, cfg, shots, seed, accuracy, variant=""):
    d = os.path.join(str(root), dataset, trainer, f"{cfg}_{shots}shots", variant, f"seed{seed}")
    return write(d, training_log(d, accuracy, trainer=trainer, cfg=cfg, dataset=dataset, seed=seed, shots=shots))


def transfer_run(root, dataset, trainer, cfg, seed, accuracy, shots=16, variant=""):
    d = os.path.join(str(root), "evaluation", trainer, f"{cfg}_{shots}shots", variant, dataset, f"seed{seed}")
    # xd_test passes no DATASET.NUM_SHOTS: the target's whole test set, the dataset config's -1
    return write(d, eval_log(d, accuracy, trainer=trainer, cfg=cfg, dataset=dataset, seed=seed, shots=-1))


def md_rows(markdown: str) -> list[list[str]]:
    """The cells of every Markdown table row (padding stripped)."""
    return [[c.strip() for c in line.strip().strip("|").split("|")]
            for line in markdown.splitlines() if line.startswith("| ")]
