"""`clipfit scripts`: writes scripts/<folder>/<protocol>.sh of every registered trainer with a script folder.

The scripts are thin (they source scripts/common.sh and hand their arguments to `clipfit.app.runner`), so
they are generated rather than kept by hand: a trainer registered from a plugin (CLIPFIT_PLUGINS) gets its
five scripts from one command, and the committed ones are checked against this output in the tests.
"""
from __future__ import annotations

import argparse
import os
import sys

from ...errors import UserInputError

NAME = "scripts"
HELP = "Write (or check) scripts/<folder>/<protocol>.sh for every registered trainer with a SCRIPT_FOLDER."

EPILOG = """\
Each trainer class with a recipe and a SCRIPT_FOLDER gets one script per protocol (base2new_train,
base2new_test, few_shot, xd_train, xd_test) in scripts/<SCRIPT_FOLDER>/; scripts/common.sh is not touched.

examples:
  clipfit scripts                 # (re)write the scripts
  clipfit scripts --check         # exit 1 and list the scripts that differ or are missing
  CLIPFIT_PLUGINS=my_pkg.my_trainer clipfit scripts --trainers MyTrainer
"""

# protocol -> (setting, what a trained method's script does, what a zero-shot one's does); {source} is the
# display name of the transfer source (ImageNet).
WHAT = {
    "base2new_train": ("base-to-new", "train on the base classes of DATASET (16 shots) and test on them",
                       "evaluate zero-shot CLIP on the base classes of DATASET (nothing is trained)"),
    "base2new_test": ("base-to-new", "evaluate the base2new_train model of DATASET/SEED on the new classes",
                      "evaluate zero-shot CLIP on the new classes of DATASET"),
    "few_shot": ("few-shot", "train on all classes of DATASET with SHOTS images per class, test on the full test set",
                 "evaluate zero-shot CLIP on all classes of DATASET (SHOTS is ignored; the run is filed as 0 shots)"),
    "xd_train": ("cross-dataset / domain generalization", "train on {source}, all classes, 16 shots",
                 "evaluate zero-shot CLIP on {source} (the source)"),
    "xd_test": ("cross-dataset / domain generalization",
                "evaluate the xd_train model on DATASET (or an {source} variant)",
                "evaluate zero-shot CLIP on DATASET (or an {source} variant)"),
}
KNOBS_DOC = "clipfit/app/jobs.py"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EPILOG
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true",
                      help="write nothing; exit 1 and list the scripts that differ from the generated ones "
                           "or are missing")
    mode.add_argument("--dry-run", action="store_true", help="write nothing; list what would be written or changed")
    parser.add_argument("--trainers", nargs="+", metavar="TRAINER", help="only these trainers (default: all)")


def script_text(facts, protocol: str) -> str:
    """The script of one trainer (`trainers_catalog.TrainerFacts`) and protocol."""
    from .. import datasets_catalog
    from ..jobs import USAGE

    setting, trained, zero_shot = WHAT[protocol]
    source = datasets_catalog.display_name(datasets_catalog.transfer_source())
    what = (zero_shot if facts.zero_shot else trained).format(source=source)
    usage = f"bash scripts/{facts.script_folder}/{protocol}.sh {USAGE[protocol]}"
    if protocol == "base2new_train":  # a method's first script: where its knobs are named
        knobs = facts.recipe.knobs
        listed = f"{', '.join(knobs)} and those in {KNOBS_DOC}" if knobs else f"see {KNOBS_DOC}"
        usage += f"   (env knobs: {listed})"
    return (
        "#!/usr/bin/env bash\n"
        f"# {facts.name}, {setting}: {what}.\n"
        f"# usage: {usage}\n"
        'source "$(dirname "$0")/../common.sh"\n'
        f'run_job {facts.name} {protocol} "$@"\n'
    )


def generated(trainers: list[str] | None = None) -> dict[str, str]:
    """Path relative to the checkout -> text of every script the registered trainers (or `trainers`) get."""
    from .. import trainer_names, trainers_catalog
    from ..jobs import PROTOCOLS

    if trainers:  # checked before the trainers (and torch) are imported
        known = trainer_names.with_scripts()
        unknown = [name for name in trainers if name not in known]
        if unknown:
            raise UserInputError(f"no scripts for trainer(s) {', '.join(unknown)}: the trainers with a "
                                 f"SCRIPT_FOLDER are {', '.join(known)}")
    folders = trainers_catalog.scripted()
    if trainers:
        folders = {f.script_folder: f for f in folders.values() if f.name in trainers}
    return {os.path.join("scripts", folder, f"{protocol}.sh"): script_text(facts, protocol)
            for folder, facts in folders.items() for protocol in PROTOCOLS}


def differences(scripts: dict[str, str], root: str) -> list[tuple[str, str]]:
    """(path, 'missing' or 'differs') of the scripts whose file under `root` is not the generated text."""
    found = []
    for path, text in scripts.items():
        full = os.path.join(root, path)
        if not os.path.isfile(full):
            found.append((path, "missing"))
            continue
        with open(full, encoding="utf-8") as f:
            if f.read() != text:
                found.append((path, "differs"))
    return found


def write_scripts(scripts: dict[str, str], root: str) -> None:
    from ...core.atomic_files import atomic_open

    for path, text in scripts.items():
        full = os.path.join(root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with atomic_open(full, "w") as f:
            f.write(text)
        os.chmod(full, 0o755)


def run(args) -> int:
    from ..plugins import PROJECT_ROOT

    try:
        scripts = generated(args.trainers)
    except UserInputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    changed = differences(scripts, PROJECT_ROOT)
    if args.check or args.dry_run:
        for path, why in changed:
            print(f"{path}: {why}")
        verdict = "would be written" if args.dry_run else "not as generated; run `clipfit scripts` to rewrite them"
        print(f"{len(changed)} of {len(scripts)} script(s) {verdict}" if changed
              else f"all {len(scripts)} script(s) are as generated")
        return 1 if changed and args.check else 0
    todo = dict(changed)
    write_scripts({path: text for path, text in scripts.items() if path in todo}, PROJECT_ROOT)
    for path, why in changed:
        print(f"wrote {path} ({'new' if why == 'missing' else 'updated'})")
    kept = len(scripts) - len(changed)
    print(f"{len(changed)} script(s) written" + (f", {kept} already up to date" if kept else ""))
    return 0
