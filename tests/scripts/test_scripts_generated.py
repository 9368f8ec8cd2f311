"""scripts/<folder>/*.sh come from `clipfit scripts`: the committed ones are its output."""
import os

from clipfit.app.cli import main as cli_main
from clipfit.app.commands.scripts import differences, generated, write_scripts
from clipfit.app.jobs import PROTOCOLS

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_committed_scripts_are_the_generators_output(capsys):
    scripts = generated()
    folders = ["clipfit", "cocoop", "coop", "independent-vlp", "kgcoop", "maple", "prograd", "promptsrc", "zsclip"]
    assert sorted({path.split(os.sep)[1] for path in scripts}) == folders
    assert len(scripts) == len(folders) * len(PROTOCOLS)
    assert differences(scripts, REPO) == [], "run `clipfit scripts` and commit the result"
    assert cli_main(["scripts", "--check"]) == 0
    assert capsys.readouterr().out.strip() == f"all {len(scripts)} script(s) are as generated"


def test_script_content_follows_the_trainer_class():
    scripts = generated()
    clipfit = scripts[os.path.join("scripts", "clipfit", "base2new_train.sh")]
    assert clipfit.splitlines() == [
        "#!/usr/bin/env bash",
        "# CLIPFit, base-to-new: train on the base classes of DATASET (16 shots) and test on them.",
        "# usage: bash scripts/clipfit/base2new_train.sh DATASET SEED   (env knobs: LAMBDA and those in "
        "clipfit/app/jobs.py)",
        'source "$(dirname "$0")/../common.sh"',
        'run_job CLIPFit base2new_train "$@"',
    ]
    zero_shot = scripts[os.path.join("scripts", "zsclip", "xd_train.sh")]
    assert "evaluate zero-shot CLIP on ImageNet (the source)" in zero_shot
    assert 'run_job ZeroshotCLIP xd_train "$@"' in zero_shot
    few_shot = scripts[os.path.join("scripts", "coop", "few_shot.sh")]
    assert "usage: bash scripts/coop/few_shot.sh DATASET SHOTS SEED\n" in few_shot


def test_check_lists_scripts_that_differ_or_are_missing(tmp_path):
    scripts = generated(["CoCoOp"])
    write_scripts(scripts, str(tmp_path))
    assert differences(scripts, str(tmp_path)) == []
    assert os.access(tmp_path / "scripts" / "cocoop" / "xd_test.sh", os.X_OK)
    (tmp_path / "scripts" / "cocoop" / "few_shot.sh").write_text("#!/usr/bin/env bash\necho stale\n")
    (tmp_path / "scripts" / "cocoop" / "xd_test.sh").unlink()
    assert differences(scripts, str(tmp_path)) == [
        (os.path.join("scripts", "cocoop", "few_shot.sh"), "differs"),
        (os.path.join("scripts", "cocoop", "xd_test.sh"), "missing"),
    ]


def test_unknown_trainer_is_an_input_error(capsys):
    assert cli_main(["scripts", "--trainers", "ClipFit", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no scripts for trainer(s) ClipFit")
    assert "CLIPFit, CoOp, CoCoOp, IVLP, KgCoOp, MaPLe, ProGrad, PromptSRC, ZeroshotCLIP" in err
