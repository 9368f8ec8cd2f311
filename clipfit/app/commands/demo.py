"""`clipfit demo`: the whole benchmark path on a synthetic dataset with the tiny CLIP, on CPU.

Generates a small image dataset with meaningful class names (the registered `DemoShapes` dataset,
datasets/demo_shapes.py), runs the real base-to-new scripts (train on base classes, test on new ones) for
CLIPFit, CoOp and ZeroshotCLIP (or the methods `--trainers` names) with the `tiny` random-init backbone
(config `tiny_demo`), then prints the leaderboard and the figure path.
"""
from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import time

from ...errors import INTERRUPTED_EXIT, TERMINATED_EXIT, Terminated, UserInputError
from ..jobs import DEMO_FOLDER, PROJECT_ROOT, Job, relative_to_project
from ..runner import wait_through_ctrl_c
from ..trainers_catalog import script_for

NAME = "demo"
HELP = "Run CLIPFit, CoOp and zero-shot CLIP base-to-new on a synthetic dataset with a tiny CLIP (CPU, minutes)."

METHODS = ("CLIPFit", "CoOp", "ZeroshotCLIP")
STEPS = ("base2new_train", "base2new_test")
DEMO_CFG = "tiny_demo"
DEFAULT_OUTPUT = os.path.join("output", DEMO_FOLDER)  # `clipfit report` on output/ leaves it out


def step_environment(data_root: str, runs_root: str, force: bool) -> str:
    """The environment of the demo's script steps as a shell prefix, so a printed step reruns by hand as it
    is (from the repository root, where the scripts resolve relative paths)."""
    pairs = [("DATA", relative_to_project(data_root)), ("OUTPUT", relative_to_project(runs_root)), ("CFG", DEMO_CFG)]
    if force:
        pairs.append(("FORCE", "1"))
    return " ".join(f"{name}={shlex.quote(value)}" for name, value in pairs)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", "--output-dir", "--out", dest="output", default=DEFAULT_OUTPUT,
                        help=f"where the data, runs and leaderboard go (default: {DEFAULT_OUTPUT})")
    parser.add_argument("--seed", type=int, default=1, help="seed of the runs (default: 1)")
    parser.add_argument("--force", action="store_true", help="rerun finished runs (by default they are skipped)")
    parser.add_argument("--trainers", nargs="+", metavar="TRAINER", default=list(METHODS),
                        help=f"the methods to run (default: {' '.join(METHODS)}); any with scripts and a "
                             f"configs/trainers/<its folder>/{DEMO_CFG}.yaml, e.g. CoCoOp KgCoOp ProGrad IVLP MaPLe "
                             f"PromptSRC")


def _run_step(script: str, dataset: str, seed: int, env: dict, log_path: str) -> tuple[int, float]:
    """Run one script step; Ctrl-C or SIGTERM stop it as they stop train.py, then stop the demo too."""
    start = time.time()
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.Popen(["bash", script, dataset, str(seed)], cwd=PROJECT_ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT)
        code = wait_through_ctrl_c(proc)
    if code == INTERRUPTED_EXIT:
        raise KeyboardInterrupt
    if code == TERMINATED_EXIT:
        raise Terminated
    return code, time.time() - start


def _tail(path: str, lines: int = 25) -> str:
    with open(path, encoding="utf-8", errors="replace") as f:
        return "".join(f.readlines()[-lines:])


def _check_trainers(trainers: list[str]) -> None:
    """Each method needs its scripts and a demo config, said before anything runs."""
    for trainer in trainers:
        if script_for(trainer, STEPS[0]) is None:
            raise UserInputError(f"demo --trainers: {trainer} has no scripts (the methods with scripts are the "
                                 "registered trainers with a SCRIPT_FOLDER; see `clipfit scripts --dry-run`)")
        Job(trainer, STEPS[0], "imagenet", 1, cfg_override=DEMO_CFG).check_config_file()


def run(args) -> int:
    from ...core.atomic_files import make_output_folder
    from ...testing.demo import make_demo_dataset
    from ..datasets_catalog import stem_of
    from ..results import build_report, find_result

    _check_trainers(args.trainers)
    output = os.path.abspath(args.output)
    data_root, runs_root, logs = (os.path.join(output, d) for d in ("data", "runs", "logs"))
    make_output_folder(logs, "--output")
    demo = make_demo_dataset(data_root)
    dataset = stem_of(demo.name)  # the name the scripts take
    print(
        f"Demo data: {len(demo.classnames)} classes ({', '.join(demo.classnames)}), "
        f"{'/'.join(map(str, demo.split_sizes))} train/val/test images in {demo.dataset_dir}\n"
        "Backbone: `tiny`, a randomly initialised CLIP of the real architecture (no pretrained weights, so\n"
        "new-class accuracy is near chance: this shows the pipeline, not CLIP's transfer).\n"
    )
    # The scripts run PYTHON: this interpreter, so the demo works without an activated venv.
    env = dict(os.environ, PYTHON=sys.executable, DATA=data_root, OUTPUT=runs_root, CFG=DEMO_CFG,
               FORCE="1" if args.force else "0")
    env.pop("TRAINER", None)
    env.pop("OPTS", None)
    shown_env = step_environment(data_root, runs_root, args.force)
    total, index, started = len(args.trainers) * len(STEPS), 0, time.time()
    for trainer in args.trainers:
        for step in STEPS:
            index += 1
            script = script_for(trainer, step)
            log_path = os.path.join(logs, f"{trainer}_{step}.log")
            print(f"[{index}/{total}] {shown_env} bash {script} {dataset} {args.seed} ...", end=" ", flush=True)
            code, seconds = _run_step(script, dataset, args.seed, env, log_path)
            if code != 0:
                print(f"FAILED (exit {code}); last lines of {log_path}:\n{_tail(log_path)}")
                return code
            subset = "base" if step == "base2new_train" else "new"
            job = Job(trainer, step, dataset, args.seed, data_root=data_root, output_root=runs_root,
                      cfg_override=DEMO_CFG)
            acc = find_result(job.output_dir)
            shown = f"{acc:.1f}% on {subset} classes" if acc is not None else "no result"
            print(f"done in {seconds:.0f} s: {shown}")
    report = build_report(runs_root, published=False)
    paths = report.write(output)
    print(f"\nFinished in {time.time() - started:.0f} s.\n")
    print(report.markdown())
    print(f"Leaderboard: {paths['markdown']}\nFigure: {paths.get('figure', '(none)')}")
    print(f"Run folders: {runs_root} (each has its log.txt); script output: {logs}")
    return 0
