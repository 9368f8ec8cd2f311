"""Whether an evaluation run evaluated the model of the training run it is paired with.

A base-to-new New (`test_new`) and a transfer target evaluate a checkpoint of their training run
(`train_base`, the ImageNet source). Every run's log names the checkpoints it saved or loaded by their
sha256 (`Checkpoint sha256 <hex>: saved|loaded <path>`). When the training run was trained again since
(FORCE=1), it wrote other files, and the old evaluation belongs to a model that no longer exists: it is
stale. A table leaves it out (it would put two models into one HM) and says what to rerun; the scripts and
the sweep rerun it instead of skipping it. A training run whose logs name no checkpoint hash (written
before these lines existed, or by real Dassl) cannot be checked, and its pairing stands as before.
Torch-free (parse_test_res.py imports the results package).
"""
from __future__ import annotations

from collections.abc import Callable

from .logs import LogScan, log_files, scan_log
from .runs import Run, relative_to


def saved_digests(run_dir: str) -> set[str]:
    """The sha256 of every checkpoint that the logs of the run in `run_dir` say it saved."""
    digests = set()
    for path in log_files(run_dir):
        try:
            scan = scan_log(path)
        except OSError:  # read_run says that the log cannot be read
            continue
        digests.update(digest for action, digest, _ in scan.checkpoints if action == "saved")
    return digests


def stale_reason(evaluation: LogScan | None, train_dir: str, root: str | None = None) -> str | None:
    """Why the evaluation whose result log is `evaluation` did not evaluate the training run now in
    `train_dir`; None when it did, or when that cannot be told (no hashes in the training run's logs)."""
    saved = saved_digests(train_dir)
    if evaluation is None or not saved:
        return None
    where = relative_to(train_dir, root)
    loaded = [(digest, path) for action, digest, path in evaluation.checkpoints if action == "loaded"]
    if not loaded:
        return f"its log names no checkpoint hash, so it ran before the training run now in {where}"
    if any(digest in saved for digest, _ in loaded):  # other files it loaded (MODEL.INIT_WEIGHTS) do not count
        return None
    digest, path = loaded[-1]
    return (f"it evaluated {path} (sha256 {digest[:12]}...), a file the training run now in {where} did not "
            "write: that run was trained again since (e.g. with FORCE=1)")


def drop_stale(evaluations: list[Run], trainings: list[Run], label: str, rerun: Callable[[int], str],
               root: str | None = None) -> tuple[list[Run], list[str]]:
    """(the finished `evaluations` that evaluated their seed's training run, or cannot be checked; a line per
    stale one, saying why and what to rerun)."""
    train_by_seed = {run.seed: run for run in trainings}
    kept, notes = [], []
    for run in evaluations:
        train = train_by_seed.get(run.seed)
        reason = stale_reason(run.result.used, train.path, root) if train is not None and run.finished else None
        if reason is None:
            kept.append(run)
        else:
            notes.append(f"{label} seed {run.seed}: stale, left out of the table: {reason}; rerun {rerun(run.seed)} "
                         "(the scripts and `clipfit sweep` rerun a stale evaluation)")
    return kept, notes
