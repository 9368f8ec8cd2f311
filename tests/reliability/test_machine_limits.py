"""Issue 26, raw errors of the machine: a read-only file system, a full disk, `ulimit -f`; a relative OUTPUT;
a SIGTERM'd sweep. Each is one message naming the file and what to do (exit 2, no traceback), or the
documented exit status. A test may run as root, whom permissions and read-only mounts do not stop, so the
file system's refusals are raised where the real ones would be (one real `ulimit -f` run in a subprocess)."""
from __future__ import annotations

import errno
import os
import resource
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_bad_input import DATASET_CFG, FAST, REPO, TRAINER_CFG, assert_user_error, train  # noqa: E402

from clipfit.app.results import find_result  # noqa: E402
from clipfit.errors import USER_ERROR_EXIT, report_errors  # noqa: E402


def refuse_writes(monkeypatch, code: int, names: tuple[str, ...], under: str = "/"):
    """Atomic writes of files named in `names` below the folder `under` fail with `code` once their content
    is written, as a full disk or `ulimit -f` makes them fail (torch.save then raises a RuntimeError over it)."""
    import clipfit.core.atomic_files as files

    real = os.fdopen

    class Refusing:
        def __init__(self, f):
            self.f = f

        def write(self, data):
            raise OSError(code, os.strerror(code))

        def __getattr__(self, name):
            return getattr(self.f, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    def fdopen(fd, *args, **kwargs):
        f = real(fd, *args, **kwargs)
        target = os.readlink(f"/proc/self/fd/{fd}")
        refused = target.startswith(under) and any(f".{name}." in os.path.basename(target) for name in names)
        return Refusing(f) if refused else f

    monkeypatch.setattr(files.os, "fdopen", fdopen)


def test_a_checkpoint_that_cannot_be_written_is_one_message_naming_it(data_root, tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    refuse_writes(monkeypatch, errno.ENOSPC, ("model.pth.tar-1",))
    exit_code, _, err = train(capsys, data_root, out)
    checkpoint = out / "prompt_learner" / "model.pth.tar-1"
    assert_user_error(exit_code, err, f"no space left on the device holding {checkpoint}", "free space there",
                      "--output-dir")
    assert err.count("\n") == 1 and "RuntimeError" not in err
    assert find_result(str(out)) is None and not (out / "prompt_learner" / "model.pth.tar-1").exists()
    assert not [n for n in os.listdir(out / "prompt_learner") if n.endswith(".tmp")]  # no partial file left


@pytest.mark.parametrize("code,words", [
    (errno.ENOSPC, "no space left on the device holding {path} (No space left on device): free space there"),
    (errno.EFBIG, "{path} would exceed the largest file this process may write (RLIMIT_FSIZE, `ulimit -f`)"),
    (errno.EDQUOT, "disk quota exceeded writing {path} (Disk quota exceeded): free space in your quota"),
    (errno.EROFS, "{path} is on a read-only file system (Read-only file system): make it writable"),
])
def test_torch_save_into_an_atomic_write_names_the_file_for_every_machine_limit(tmp_path, monkeypatch, code, words):
    from functools import partial

    import torch

    from clipfit.core.atomic_files import atomic_write
    from clipfit.errors import WriteFailed

    path = tmp_path / "model.pth.tar-1"
    refuse_writes(monkeypatch, code, (path.name,))
    with pytest.raises(WriteFailed) as raised:  # torch.save raised a RuntimeError over the OSError
        atomic_write(str(path), partial(torch.save, {"state_dict": {"w": torch.zeros(1000)}}))
    assert raised.value.errno == code and str(raised.value).startswith(words.format(path=path))
    assert os.listdir(tmp_path) == []


def test_a_full_dataset_folder_puts_its_caches_in_the_cache_folder(data_root, tmp_path, capsys, monkeypatch):
    import shutil

    root = tmp_path / "data"
    shutil.copytree(data_root, root, ignore=shutil.ignore_patterns("shot_*.pkl"))  # the pickle is written anew
    monkeypatch.setenv("CLIPFIT_CACHE", str(tmp_path / "cache"))
    refuse_writes(monkeypatch, errno.ENOSPC, ("shot_2-seed_1.pkl",), under=str(root))
    code, out, err = train(capsys, root, tmp_path / "out", flags=("--eval-only",))
    assert code == 0, err
    assert f"Note: {root / 'demo_shapes'} is full (cannot write there (No space left on device)); writing " \
           "split_fewshot/shot_2-seed_1.pkl to" in out
    assert [p.name for p in (tmp_path / "cache").rglob("*.pkl")] == ["shot_2-seed_1.pkl"]


def test_a_full_dataset_folder_and_cache_folder_name_the_file(data_root, tmp_path, capsys, monkeypatch):
    import shutil

    root = tmp_path / "data"
    shutil.copytree(data_root, root, ignore=shutil.ignore_patterns("shot_*.pkl"))  # the pickle is written anew
    monkeypatch.setenv("CLIPFIT_CACHE", str(tmp_path / "cache"))
    refuse_writes(monkeypatch, errno.ENOSPC, ("shot_2-seed_1.pkl",))  # in both folders
    code, _, err = train(capsys, root, tmp_path / "out", flags=("--eval-only",))
    assert_user_error(code, err, "cannot write split_fewshot/shot_2-seed_1.pkl", "is full", "CLIPFIT_CACHE")


@pytest.mark.parametrize("where", ["makedirs", "lock"])
def test_a_read_only_file_system_under_the_output(data_root, tmp_path, capsys, monkeypatch, where):
    import clipfit.app.run_lock as run_lock
    import clipfit.core.atomic_files as files

    def read_only(path, *args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", path)

    out = tmp_path / "out"
    if where == "makedirs":  # a folder to create on a read-only mount
        monkeypatch.setattr(files.os, "makedirs", read_only)
        words = (f"cannot create the output folder {out}: Read-only file system", "choose another --output-dir")
    else:  # an existing folder there: its lock file cannot be created
        out.mkdir()
        monkeypatch.setattr(run_lock.os, "open", read_only)
        words = (f"the output folder {out} is not writable (read-only file system)", "--output-dir")
    code, _, err = train(capsys, data_root, out)
    assert_user_error(code, err, *words)
    assert not (out / "log.txt").exists()


def test_any_other_write_that_hits_a_machine_limit_is_one_message(capsys):
    def logging_to_a_full_disk():
        raise OSError(errno.ENOSPC, "No space left on device", "/runs/x/tensorboard/events.out")

    def ulimit_on_a_plain_write():  # no file name: f.write on an open file
        raise OSError(errno.EFBIG, "File too large")

    assert report_errors(logging_to_a_full_disk) == USER_ERROR_EXIT
    assert report_errors(ulimit_on_a_plain_write) == USER_ERROR_EXIT
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "error: no space left on the device holding /runs/x/tensorboard/events.out (No space left on device): free "
        "space there or write elsewhere (--output-dir / OUTPUT for runs, CLIPFIT_CACHE for dataset caches)",
        "error: a file would exceed the largest file this process may write (RLIMIT_FSIZE, `ulimit -f`) (File too "
        "large): raise the limit (`ulimit -f unlimited`, or ask for it in the job script) and run again"]


def test_an_oserror_that_is_no_machine_limit_keeps_its_traceback():
    def bug():
        raise OSError(errno.EBADF, "Bad file descriptor")

    with pytest.raises(OSError, match="Bad file descriptor"):
        report_errors(bug)


def test_a_small_ulimit_f_stops_the_run_with_one_message(data_root, tmp_path):
    """The real limit: Python ignores SIGXFSZ, so a write past RLIMIT_FSIZE fails with EFBIG."""
    out = tmp_path / "out"
    limit = 24 * 1024  # below the 35 KB checkpoint of the tiny CLIPFit

    def small_limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    cmd = [sys.executable, "train.py", "--root", data_root, "--seed", "1", "--trainer", "CLIPFit",
           "--dataset-config-file", DATASET_CFG, "--config-file", TRAINER_CFG, "--output-dir", str(out), *FAST]
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""), PYTHONDONTWRITEBYTECODE="1")
    env.pop("CLIPFIT_DEBUG", None)
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, preexec_fn=small_limit)
    assert proc.returncode == USER_ERROR_EXIT, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr
    assert "would exceed the largest file this process may write (RLIMIT_FSIZE, `ulimit -f`)" in proc.stderr
    assert find_result(str(out)) is None


def test_a_relative_output_says_where_it_goes(tmp_path, capsys, monkeypatch):
    from clipfit.app import runner
    from clipfit.app.jobs import Job

    assert runner.relative_output_note("./output") is None and runner.relative_output_note(str(tmp_path)) is None
    job = Job("CLIPFit", "few_shot", "demo_shapes", 1, shots=2, data_root=str(tmp_path), output_root="my_runs")
    monkeypatch.setattr(runner, "check_inputs", lambda job: None)
    monkeypatch.setattr(runner, "run_train_in_process", lambda argv: 0)  # nothing is written under the repository
    assert runner.run_job(job, in_process=True) == runner.DONE
    out = capsys.readouterr().out
    assert (f"Note: OUTPUT my_runs is a relative path, taken from the repository root {REPO}: runs go to "
            f"{os.path.join(REPO, 'my_runs')} (give OUTPUT an absolute path to write elsewhere)") in out


def test_a_sigterm_stops_a_sweep_with_exit_143(tmp_path, capsys, monkeypatch):
    import clipfit.app.sweep.local as local
    from clipfit.app.cli import main
    from clipfit.errors import Terminated

    (tmp_path / "data").mkdir()

    def started(planned, gpus, log_dir, force):  # the job's train.py, stopped by the SIGTERM passed on to it
        return local.Outcome(planned, local.FAILED, error="train.py was killed by signal 15")

    def sigterm_while_waiting(*args, **kwargs):
        raise Terminated

    monkeypatch.setattr(local, "run_one", started)
    monkeypatch.setattr(local, "wait", sigterm_while_waiting)
    code = main(["sweep", "--trainers", "CLIPFit", "--datasets", "demo_shapes", "--protocols", "few_shot", "--shots",
                 "2", "--seeds", "1", "--data", str(tmp_path / "data"), "--output", str(tmp_path / "out"),
                 "--no-progress-bar"])
    out = capsys.readouterr().out
    assert code == 143, out
    assert "INTERRUPTED #1 CLIPFit demo_shapes seed 1: 2-shot" in out
