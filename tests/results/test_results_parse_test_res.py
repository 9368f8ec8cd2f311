"""parse_test_res.py: CoOp's command line and printed lines, with its traps fixed."""
import os
import subprocess
import sys

import pytest
from fake_logs import crashed_log, eval_log, result_block, training_log, write

from clipfit.app.results.coop_parser import NothingFoundError, main, parse_function

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STAMP = "log.txt-2024-05-01-10-00-00"


@pytest.fixture
def three_seeds(tmp_path):
    exp = tmp_path / "exp"
    for seed, acc in ((1, 80.0), (2, 81.0), (3, 82.5)):
        write(exp / f"seed{seed}", training_log(exp / f"seed{seed}", acc, seed=seed))
    return str(exp)


def run_main(capsys, *argv):
    rc = main(list(argv))
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def test_exact_output(three_seeds, capsys):
    rc, out, _ = run_main(capsys, three_seeds)
    d = three_seeds
    assert rc == 0
    assert out == (
        f"Parsing files in {d}\n"
        f"file: {d}/seed1/log.txt. accuracy: 80.00%. \n"
        f"file: {d}/seed2/log.txt. accuracy: 81.00%. \n"
        f"file: {d}/seed3/log.txt. accuracy: 82.50%. \n"
        "===\n"
        f"Summary of directory: {d}\n"
        "* accuracy: 81.17% +- 1.03%\n"  # population std (ddof=0), as CoOp's np.std
        "===\n"
    )


def test_ci95(three_seeds, capsys):
    _, out, _ = run_main(capsys, three_seeds, "--ci95")
    assert "* accuracy: 81.17% +- 1.16%\n" in out  # 1.96 * 1.0274 / sqrt(3)


def test_return_value(three_seeds, capsys):
    assert parse_function(three_seeds) == {"accuracy": pytest.approx(81.1666667)}


def test_rerun_logs_newest_complete_wins_and_is_named(three_seeds, capsys):
    d = three_seeds
    write(os.path.join(d, "seed1"), training_log(d, 85.0), STAMP)  # a newer complete re-run: used
    write(os.path.join(d, "seed2"), crashed_log(d), STAMP)  # a newer crashed re-run: ignored
    _, out, err = run_main(capsys, d)
    assert f"file: {d}/seed1/{STAMP}. accuracy: 85.00%. \n" in out
    assert f"file: {d}/seed2/log.txt. accuracy: 81.00%. \n" in out
    assert "* accuracy: 82.83% +- 1.65%\n" in out
    assert f"{d}/seed2" in err and STAMP in err


def test_both_end_markers(tmp_path, capsys):
    write(tmp_path / "seed1", training_log(tmp_path, 70.0, marker="Finish training"))
    write(tmp_path / "seed2", training_log(tmp_path, 72.0, marker="Finished training"))
    _, out, _ = run_main(capsys, str(tmp_path))
    assert "* accuracy: 71.00% +- 1.00%\n" in out


def test_files_and_hidden_entries_are_skipped(three_seeds, capsys):
    with open(os.path.join(three_seeds, "notes.txt"), "w") as f:
        f.write("not a run\n")
    write(os.path.join(three_seeds, ".hidden"), training_log(three_seeds, 1.0))
    os.makedirs(os.path.join(three_seeds, "empty"))
    rc, out, _ = run_main(capsys, three_seeds)
    assert rc == 0 and out.count("file: ") == 3 and "* accuracy: 81.17% +- 1.03%" in out


def test_runs_without_a_result_are_named(three_seeds, capsys):
    write(os.path.join(three_seeds, "seed4"), crashed_log(three_seeds))
    rc, out, err = run_main(capsys, three_seeds)
    assert rc == 0 and "* accuracy: 81.17% +- 1.03%" in out  # CoOp's lines, over the three finished runs
    assert f"note: {three_seeds}: no result in seed4 (crashed or still running); the summary is over the other 3 " \
           "run(s)" in err


def test_gating_and_last_hit_wins(tmp_path, capsys):
    before = training_log(tmp_path, 10.0).split("Finish training")[0]
    text = before + result_block(10.0) + "Finish training\n" + result_block(60.0) + result_block(65.0)
    write(tmp_path / "seed1", text)
    _, out, _ = run_main(capsys, str(tmp_path))
    assert "accuracy: 65.00%. \n" in out  # the hit before the marker is ignored; the last hit wins
    _, out, _ = run_main(capsys, str(tmp_path), "--test-log")
    assert "accuracy: 65.00%. \n" in out


def test_eval_only_logs_need_test_log(tmp_path, capsys):
    for seed, acc in ((1, 75.0), (2, 77.0)):
        write(tmp_path / f"seed{seed}", eval_log(tmp_path, acc, seed=seed))
    rc, out, err = run_main(capsys, str(tmp_path))
    assert rc == 2 and out == f"Parsing files in {tmp_path}\n"
    assert f"Nothing found in {tmp_path}" in err and "--test-log" in err
    rc, _, err = run_main(capsys, str(tmp_path / "seed1"))
    assert rc == 2 and "this folder is one run: pass its parent" in err
    rc, out, _ = run_main(capsys, str(tmp_path), "--test-log")
    assert rc == 0 and "* accuracy: 76.00% +- 1.00%\n" in out


def test_nothing_found_is_an_assertion_error(tmp_path, capsys):
    os.makedirs(tmp_path / "seed1")
    with pytest.raises(AssertionError, match=f"Nothing found in {tmp_path}"):
        parse_function(str(tmp_path))
    with pytest.raises(NothingFoundError):
        parse_function(str(tmp_path))


def test_keyword_and_its_escaping(three_seeds, capsys):
    _, out, _ = run_main(capsys, three_seeds, "--keyword", "macro_f1")
    assert f"file: {three_seeds}/seed1/log.txt. macro_f1: 79.50%. \n" in out and "* macro_f1: 80.67% +- 1.03%" in out
    rc, _, err = run_main(capsys, three_seeds, "--keyword", "accurac.")  # `.` is literal, not "any character"
    assert rc == 2 and "Nothing found" in err


def test_multi_exp(tmp_path, capsys):
    for exp, accs in (("a", (60.0, 62.0)), ("b", (70.0, 74.0))):
        for seed, acc in enumerate(accs, 1):
            write(tmp_path / exp / f"seed{seed}", training_log(tmp_path, acc))
    (tmp_path / "README").write_text("a file next to the experiments\n")
    _, out, _ = run_main(capsys, str(tmp_path), "--multi-exp")
    assert out.count("Parsing files in") == 2
    assert out.endswith("===\nAverage performance\n* accuracy: 66.50%\n")


def test_script_in_repo_root(three_seeds):
    proc = subprocess.run([sys.executable, "parse_test_res.py", three_seeds, "--ci95"], cwd=REPO,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-2:] == ["* accuracy: 81.17% +- 1.16%", "==="]


def test_script_starts_without_torch_or_the_datasets(three_seeds):
    """CoOp users run the parser over many folders: it stays light (the dataset catalog is read by the report only)."""
    code = ("import runpy, sys; sys.argv = ['parse_test_res.py', sys.argv[1]]\n"
            "try:\n    runpy.run_path('parse_test_res.py', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('torch', 'datasets', 'trainers') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code, three_seeds], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "[]"


def test_missing_directory(tmp_path, capsys):
    rc, _, err = run_main(capsys, str(tmp_path / "nope"))
    assert rc == 2 and "no such directory" in err
