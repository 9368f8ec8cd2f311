"""SIGTERM (`kill`, `scancel`, a SLURM time limit) stops a run as Ctrl-C does: one line saying how to resume,
exit status 143, the run's lock released, no temporary file left behind, and the rerun resumes."""
import os
import signal
import subprocess
import sys
import threading
import time

from clipfit.app import runner
from clipfit.app.run_lock import LOCK_NAME
from clipfit.errors import Terminated
from clipfit.testing.demo import make_demo_dataset

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
HANG_GUARD_S = 300  # only a hung run gets this far; a working one is done in seconds


def python(code: str) -> subprocess.CompletedProcess:
    """`code` in a fresh interpreter: its main thread and its signal handlers are its own."""
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)


def test_sigterm_in_a_command_is_one_line_and_exit_143():
    proc = python(
        "import os, signal, sys, time\n"
        "from clipfit.errors import report_errors\n"
        "def command():\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    time.sleep(60)\n"
        "code = report_errors(command, resume_hint='Run it again to resume.')\n"
        "print(code, signal.getsignal(signal.SIGTERM) is signal.SIG_DFL)\n"
    )
    assert proc.stdout == "143 True\n"  # and the default handler is back once the command is over
    assert proc.stderr == "\nTerminated (SIGTERM). Run it again to resume.\n"


def test_a_sigterm_handler_someone_else_installed_is_left_alone():
    proc = python(
        "import os, signal\n"
        "from clipfit.errors import report_errors\n"
        "seen = []\n"
        "signal.signal(signal.SIGTERM, lambda *a: seen.append('theirs'))\n"
        "def command():\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    return 0\n"
        "print(report_errors(command), seen)\n"
    )
    assert proc.stdout == "0 ['theirs']\n" and proc.stderr == ""


class FakeChild:
    """A train.py process: SIGTERM arrives during the first wait, Ctrl-C during the second."""

    def __init__(self):
        self.waits, self.sent = 0, []

    def wait(self):
        self.waits += 1
        if self.waits == 1:
            raise Terminated
        if self.waits == 2:
            raise KeyboardInterrupt
        return 143

    def terminate(self):
        self.sent.append("SIGTERM")


def test_waiting_for_train_py_passes_sigterm_on_and_sits_out_ctrl_c():
    child = FakeChild()
    assert runner.wait_through_ctrl_c(child) == 143
    assert child.sent == ["SIGTERM"]  # Ctrl-C reaches the child through the terminal; nothing to pass on
    assert not runner._children


def test_terminate_children_reaches_the_train_py_of_every_thread():
    procs = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"]) for _ in range(2)]
    codes = []
    threads = [threading.Thread(target=lambda p=p: codes.append(runner.wait_through_ctrl_c(p))) for p in procs]
    try:
        for t in threads:
            t.start()
        deadline = time.monotonic() + HANG_GUARD_S
        while len(runner._children) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert runner.terminate_children() == 2
        for t in threads:
            t.join(HANG_GUARD_S)
        assert codes == [-signal.SIGTERM] * 2 and not runner._children
    finally:
        for p in procs:
            p.kill()
            p.wait()


def test_sigterm_stops_a_script_run_cleanly_and_the_rerun_resumes(tmp_path):
    make_demo_dataset(str(tmp_path / "data"), num_classes=4, images_per_class=6, size=32)
    env = dict(os.environ, PYTHON=sys.executable, DATA=str(tmp_path / "data"), OUTPUT=str(tmp_path / "out"),
               CFG="tiny_demo", OPTS="OPTIM.MAX_EPOCH 3 TRAIN.CHECKPOINT_FREQ 1")
    for key in ("TRAINER", "FORCE", "LAMBDA", "CLIPFIT_DEBUG"):
        env.pop(key, None)
    marker = tmp_path / "held"
    held = dict(env, PYTHONPATH=HERE + os.pathsep + env.get("PYTHONPATH", ""), CLIPFIT_PLUGINS="hold_after_epoch",
                HOLD_AFTER_EPOCH="1", HOLD_MARKER=str(marker))
    script = ["bash", "scripts/clipfit/base2new_train.sh", "demo_shapes", "1"]
    proc = subprocess.Popen(script, cwd=REPO, env=held, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + HANG_GUARD_S
    while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if not marker.exists():
        proc.kill()
        raise AssertionError("the run never reached the end of epoch 1:\n" + "".join(proc.communicate()))
    proc.send_signal(signal.SIGTERM)  # bash exec'd the runner: this is the Python process
    out, err = proc.communicate(timeout=HANG_GUARD_S)

    run_dir = tmp_path / "out/base2new/train_base/demo_shapes/shots_16/CLIPFit/tiny_demo/seed1"
    line = f"Terminated (SIGTERM). Run the same command again to resume from the last checkpoint in {run_dir}."
    assert proc.returncode == 143, out + err
    assert err.strip() == line and "Traceback" not in err
    assert line in (run_dir / "log.txt").read_text()  # the run's log says why it stopped
    left = sorted(os.path.relpath(os.path.join(d, f), run_dir) for d, _, fs in os.walk(run_dir) for f in fs)
    assert LOCK_NAME not in left and not [f for f in left if f.endswith(".tmp")]
    assert os.path.join("prompt_learner", "model.pth.tar-1") in left

    again = subprocess.run(script, cwd=REPO, env=env, capture_output=True, text=True)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Unfinished run at" in again.stdout and "(will resume training)" in again.stdout
    assert "epoch [3/3]" in again.stdout and "epoch [1/3]" not in again.stdout
    assert "* accuracy:" in again.stdout
