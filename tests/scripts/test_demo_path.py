"""The path a newcomer follows from `clipfit demo`: its printed steps, its output folder errors, and the README's
and the sweep help's commands on the demo data, checked against what the demo writes and the configs that exist."""
import os
import re
import shlex

import pytest

from clipfit.app import trainers_catalog
from clipfit.app.cli import build_parser, main
from clipfit.app.commands.demo import DEFAULT_OUTPUT, DEMO_CFG, step_environment
from clipfit.app.commands.sweep import EPILOG as SWEEP_HELP
from clipfit.app.jobs import PROJECT_ROOT, Job, relative_to_project
from clipfit.app.run_settings import asked_settings

DEMO_DATA = relative_to_project(os.path.join(PROJECT_ROOT, DEFAULT_OUTPUT, "data"))  # from the checkout's root


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs a /proc, where no folder can be made")
@pytest.mark.parametrize("flag", ["--output", "--output-dir", "--out"])
def test_an_output_folder_that_cannot_be_made_is_one_message(flag, capsys):
    assert main(["demo", flag, "/proc/nope"]) == 2
    captured = capsys.readouterr()
    assert captured.err == ("error: cannot create the output folder /proc/nope/logs: No such file or directory "
                            "(/proc/nope); choose another --output\n")
    assert captured.out == ""


def test_the_demo_steps_are_printed_with_the_environment_they_need():
    inside = step_environment(os.path.join(PROJECT_ROOT, "output", "demo", "data"),
                              os.path.join(PROJECT_ROOT, "output", "demo", "runs"), force=False)
    assert inside == "DATA=output/demo/data OUTPUT=output/demo/runs CFG=tiny_demo"
    outside = step_environment("/tmp/my demo/data", "/tmp/my demo/runs", force=True)
    assert outside == "DATA='/tmp/my demo/data' OUTPUT='/tmp/my demo/runs' CFG=tiny_demo FORCE=1"
    assert DEMO_DATA == "output/demo/data"


@pytest.mark.parametrize("folder", sorted(trainers_catalog.scripted()))
def test_every_scripted_method_has_a_tiny_demo_config(folder):
    trainer = trainers_catalog.scripted()[folder].name
    job = Job(trainer, "base2new_train", "demo_shapes", 1, cfg_override=DEMO_CFG)
    job.check_config_file()
    settings = asked_settings(job)
    assert settings["MODEL.BACKBONE.NAME"] == "tiny" and settings["DATALOADER.NUM_WORKERS"] == "0"


def _readme_demo_lines() -> list[str]:
    with open(os.path.join(PROJECT_ROOT, "README.md"), encoding="utf-8") as f:
        blocks = re.findall(r"```bash\n(.*?)```", f.read(), flags=re.S)
    (block,) = [b for b in blocks if f"DATA={DEMO_DATA}" in b]
    return block.strip().splitlines()


def test_the_readme_runs_the_scripts_on_the_data_the_demo_leaves():
    lines = _readme_demo_lines()
    scripts = [line for line in lines if " bash scripts/" in line]
    assert len(scripts) == 4
    folders = trainers_catalog.scripted()
    for line in scripts:
        words = shlex.split(line)
        env = dict(w.split("=", 1) for w in words[: words.index("bash")])
        assert env == {"DATA": DEMO_DATA, "CFG": DEMO_CFG}
        script, dataset, seed = words[words.index("bash") + 1:]
        assert os.path.isfile(os.path.join(PROJECT_ROOT, script)) and (dataset, seed) == ("demo_shapes", "1")
        trainer = folders[script.split("/")[1]].name
        Job(trainer, "base2new_train", dataset, 1, cfg_override=env["CFG"]).check_config_file()
    (report,) = [line for line in lines if line.startswith("clipfit ")]
    args = build_parser()[0].parse_args(shlex.split(report)[1:])
    assert args.command == "report" and args.output_dir == "output"


def test_the_sweep_helps_quick_check_uses_the_demo_data_and_configs_that_exist():
    text = SWEEP_HELP.split("a quick check", 1)[1]
    command = re.search(r"(clipfit sweep .*?)\n(?!\s)", text.replace("\\\n", " "), flags=re.S).group(1)
    words = shlex.split(command)
    value = {w: words[i + 1] for i, w in enumerate(words) if w.startswith("--") and i + 1 < len(words)}
    assert value["--data"] == DEMO_DATA and value["--cfg"] == DEMO_CFG
    trainers = words[words.index("--trainers") + 1: words.index("--datasets")]
    for trainer in trainers:
        Job(trainer, "base2new_train", value["--datasets"], 1, cfg_override=value["--cfg"]).check_config_file()
