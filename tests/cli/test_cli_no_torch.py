"""The command line answers without importing torch, torchvision or open_clip: every command's --help and
usage errors, the argument checks that need no model, `clipfit report` and `clipfit data check`.

Each command runs in a fresh interpreter that prints, at exit, which of those modules `sys.modules` holds:
a fact about the imports, not a timing. The commands come from the CLI's own parser, so a new subcommand
(or sub-subcommand) is covered with no edit here.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import pytest

from clipfit.app.cli import build_parser
from clipfit.app.trainer_names import registered

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLUGINS_DIR = os.path.join(REPO, "tests", "plugins")
sys.path.insert(0, os.path.join(REPO, "tests", "results"))
import fake_logs  # noqa: E402

HEAVY = ("torch", "torchvision", "open_clip")
MARK = "IMPORTED-HEAVY:"
# Runs the `clipfit` console script (or train.py) as its entry point would, then reports the heavy modules.
PROBE = f"""
import atexit, json, runpy, sys
atexit.register(lambda: print({MARK!r}, json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)),
                              file=sys.stderr))
entry, sys.argv = sys.argv[1], sys.argv[1:]
runpy.run_path(entry, run_name="__main__") if entry.endswith(".py") else runpy.run_module(entry, run_name="__main__")
"""


def run(*argv: str, entry: str = "clipfit", extra_path: str = "", **env: str
        ) -> tuple[subprocess.CompletedProcess, list[str]]:
    """(the finished process, the heavy modules it imported)."""
    base = {k: v for k, v in os.environ.items() if k not in ("CLIPFIT_PLUGINS", "CLIPFIT_ENGINE", "CLIPFIT_DEBUG")}
    pythonpath = os.pathsep.join(p for p in (extra_path, REPO, base.get("PYTHONPATH")) if p)
    proc = subprocess.run([sys.executable, "-c", PROBE, entry, *argv], cwd=REPO, capture_output=True, text=True,
                          env={**base, "PYTHONPATH": pythonpath, **env})
    line = next((x for x in proc.stderr.splitlines() if x.startswith(MARK)), None)
    assert line is not None, f"the probe did not report (exit {proc.returncode}):\n{proc.stderr}"
    return proc, json.loads(line[len(MARK):])


def command_paths(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command and subcommand of the parser: (), ("train",), ("data",), ("data", "check"), ..."""
    paths = [prefix]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                paths += command_paths(sub, (*prefix, name))
    return paths


COMMANDS = command_paths(build_parser()[0])


def test_the_walk_finds_every_command():
    names = {path[0] for path in COMMANDS if path}
    assert {"train", "data", "report", "sweep", "demo", "scripts", "with-dassl"} <= names
    assert ("data", "check") in COMMANDS


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "clipfit")
def test_help_imports_no_torch(path):
    proc, heavy = run(*path, "--help")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: clipfit")
    assert heavy == []


@pytest.mark.parametrize("path", [p for p in COMMANDS if p], ids=" ".join)
def test_a_usage_error_imports_no_torch(path):
    proc, heavy = run(*path, "--no-such-flag")
    assert proc.returncode != 0 and "Traceback" not in proc.stderr, proc.stderr
    assert heavy == []


def test_train_py_help_imports_no_torch():
    proc, heavy = run("--help", entry="train.py")
    assert proc.returncode == 0 and proc.stdout.startswith("usage: train.py"), proc.stderr
    assert "--dataset-config-file" in proc.stdout
    assert heavy == []


# the names the error lists (test_cli_trainer_names.py proves them the registry's)
REGISTERED = ", ".join(sorted(registered()))


def _yaml(tmp_path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


ARGUMENT_CHECKS = {
    "train without a trainer": (("train",), f"--trainer is required (registered trainers: {REGISTERED});"),
    "train.py without a trainer": (("train.py",), "--trainer is required"),
    "a trainer config that names none": (("train", "--config-file", "{plain}"), "--trainer is required"),
    "a missing config file": (("train", "--trainer", "CoOp", "--config-file", "nope.yaml"),
                              "--config-file nope.yaml: no such file"),
    "an odd number of options": (("train", "--trainer", "CoOp", "OPTIM.LR"), "must be KEY VALUE pairs"),
    "options taken by a list flag": (("train", "--trainer", "CoOp", "--transforms", "normalize", "OPTIM.LR", "1"),
                                     "--transforms took the config option(s) ['OPTIM.LR']"),
    "a missing --model-dir": (("train", "--trainer", "CoOp", "--eval-only", "--model-dir", "nope"),
                              "--model-dir nope: no such folder"),
    "sweep: an unknown trainer": (("sweep", "--trainers", "Nope"),
                                  "unknown trainer(s) 'Nope'; known: CLIPFit, CoOp, CoCoOp"),
    "sweep: an unknown protocol": (("sweep", "--trainers", "CoOp", "--protocols", "nope"), "unknown protocol(s)"),
    "sweep: an unknown dataset": (("sweep", "--trainers", "CoOp", "--datasets", "nope"), "unknown dataset(s)"),
    "sweep: a dataset outside the protocol": (("sweep", "--trainers", "CoOp", "--protocols", "dg", "--datasets",
                                               "dtd"), "protocol dg has none of the given datasets"),
    "sweep: a negative seed": (("sweep", "--trainers", "CoOp", "--seeds", "-1"), "--seeds must be 0 or more"),
    "sweep: a SLURM flag on the local executor": (("sweep", "--trainers", "CoOp", "--partition", "gpu"),
                                                  "used only with --executor slurm"),
    "sweep: --print-commands without --dry-run": (("sweep", "--trainers", "CoOp", "--print-commands"),
                                                  "--print-commands is used only with --dry-run"),
    "scripts: a trainer without scripts": (("scripts", "--trainers", "ZeroshotCLIP2"),
                                           "no scripts for trainer(s) ZeroshotCLIP2"),
    "data check: a missing root": (("data", "check", "--root", "nope"), "does not exist"),
    "data check: an unknown dataset": (("data", "check", "--root", "{tmp}", "--datasets", "nope"),
                                       "unknown dataset name(s) ['nope']"),
    "report: no runs": (("report", "--output-dir", "{tmp}"), "no runs found under"),
    "with-dassl: no command": (("with-dassl",), "give the command to run"),
}


@pytest.mark.parametrize("case", ARGUMENT_CHECKS)
def test_an_argument_check_imports_no_torch(case, tmp_path):
    argv, message = ARGUMENT_CHECKS[case]
    values = {"tmp": str(tmp_path), "plain": _yaml(tmp_path, "plain.yaml", "OPTIM:\n  LR: 0.1\n")}
    argv = [a.format(**values) for a in argv]
    entry = "train.py" if argv[0] == "train.py" else "clipfit"
    proc, heavy = run(*argv[entry == "train.py":], entry=entry)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert heavy == []


def test_report_reads_logs_and_writes_csv_without_torch(tmp_path):
    out = tmp_path / "output"
    for seed, (base, new) in enumerate([(90.0, 80.0), (92.0, 78.0)], start=1):
        fake_logs.b2n_run(out, "oxford_pets", "CLIPFit", "vit_b16", seed, base=base, new=new)
    proc, heavy = run("report", "--output-dir", str(out), "--out", str(tmp_path / "report"), "--no-published")
    assert proc.returncode == 0, proc.stderr
    with open(tmp_path / "report" / "leaderboard.csv") as f:
        rows = f.read().splitlines()
    assert any("OxfordPets" in row and "CLIPFit" in row and "91.0" in row for row in rows), rows
    assert heavy == []


def test_data_check_without_images_imports_no_torch(tmp_path):
    from clipfit.testing.fixtures import make_dataset_fixture

    make_dataset_fixture(str(tmp_path), "OxfordPets", with_split_json=True)
    proc, heavy = run("data", "check", "--root", str(tmp_path), "--datasets", "oxford_pets")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    line = next(x for x in proc.stdout.splitlines() if x.startswith("OxfordPets"))
    assert "ready" in line
    assert heavy == []


def test_help_with_plugins_imports_no_plugin():
    """The help lists the project's trainers and mentions the plugins' without importing them (the plugin
    imports trainers.clipfit, so no torch means no plugin): a broken plugin cannot break --help."""
    proc, heavy = run("sweep", "--help", extra_path=PLUGINS_DIR, CLIPFIT_PLUGINS="shapes_plugin")
    assert proc.returncode == 0, proc.stderr
    text = " ".join(proc.stdout.split())
    assert "registered trainers with a recipe: CLIPFit, CoOp, CoCoOp," in text
    assert "and those of CLIPFIT_PLUGINS" in text and "ShapesFit" not in text
    assert heavy == []

