"""`clipfit demo`, the README's first command, end to end on the CPU."""
import os
import subprocess

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_demo_runs_three_methods_and_writes_the_leaderboard(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATA", "OUTPUT", "CFG", "OPTS", "TRAINER", "FORCE")}
    proc = subprocess.run(["clipfit", "demo", "--output", str(tmp_path)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for step in range(1, 7):
        assert f"[{step}/6] bash scripts/" in proc.stdout
    assert proc.stdout.count("% on base classes") == 3 and proc.stdout.count("% on new classes") == 3
    markdown = (tmp_path / "leaderboard.md").read_text()
    for method in ("CLIPFit tiny_demo", "CoOp tiny_demo", "ZeroshotCLIP tiny_demo"):
        assert method in markdown
    assert "paper:" not in markdown  # synthetic data: no published reference rows
    with open(tmp_path / "leaderboard.png", "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"

    again = subprocess.run(["clipfit", "demo", "--output", str(tmp_path)], cwd=REPO, env=env,
                           capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and again.stdout.count("done in") == 6
    assert len(list((tmp_path / "runs" / "base2new" / "train_base" / "dtd" / "shots_16" / "CLIPFit" / "tiny_demo"
                     / "seed1").glob("log.txt*"))) == 1  # finished runs were skipped, not rerun
