"""`clipfit demo`, the README's first command, end to end on the CPU."""
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _clipfit_command() -> list:
    """The `clipfit` console script installed beside this interpreter (`venv/bin/clipfit`), else `-m clipfit`."""
    script = os.path.join(os.path.dirname(sys.executable), "clipfit")
    return [script] if os.path.isfile(script) else [sys.executable, "-m", "clipfit"]


def _env_without_venv_on_path() -> dict:
    """As from a shell where the venv is not active: its bin folder is not on PATH, so the scripts the demo
    starts must be told which interpreter to use."""
    bin_dir = os.path.dirname(sys.executable)
    path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if os.path.abspath(p) != bin_dir)
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATA", "OUTPUT", "CFG", "OPTS", "TRAINER", "FORCE", "PYTHON", "VIRTUAL_ENV")}
    return {**env, "PATH": path}


def test_demo_runs_three_methods_and_writes_the_leaderboard(tmp_path):
    env = _env_without_venv_on_path()
    command = [*_clipfit_command(), "demo", "--output", str(tmp_path)]
    proc = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    shown_env = f"DATA={tmp_path / 'data'} OUTPUT={tmp_path / 'runs'} CFG=tiny_demo"  # each step reruns as printed
    for step in range(1, 7):
        assert f"[{step}/6] {shown_env} bash scripts/" in proc.stdout
    assert f"[1/6] {shown_env} bash scripts/clipfit/base2new_train.sh demo_shapes 1 ..." in proc.stdout
    assert proc.stdout.count("% on base classes") == 3 and proc.stdout.count("% on new classes") == 3
    markdown = (tmp_path / "leaderboard.md").read_text()
    for method in ("CLIPFit tiny_demo", "CoOp tiny_demo", "ZeroshotCLIP tiny_demo"):
        assert method in markdown
    assert "paper:" not in markdown  # synthetic data: no published reference rows
    assert "| Demo shapes (synthetic) " in markdown and "| DTD " not in markdown  # its own dataset, not DTD
    with open(tmp_path / "leaderboard.png", "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"

    again = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    assert again.returncode == 0 and again.stdout.count("done in") == 6
    run = tmp_path / "runs" / "base2new" / "train_base" / "demo_shapes" / "shots_16" / "CLIPFit" / "tiny_demo" / "seed1"
    assert len(list(run.glob("log.txt*"))) == 1  # finished runs were skipped, not rerun


def test_demo_trainers_need_scripts_and_a_demo_config_said_before_anything_runs(tmp_path, capsys):
    from clipfit.app.cli import main

    assert main(["demo", "--trainers", "IVLP", "NoSuch", "--output", str(tmp_path / "demo")]) == 2
    assert "demo --trainers: NoSuch has no scripts" in capsys.readouterr().err
    assert not (tmp_path / "demo").exists()
