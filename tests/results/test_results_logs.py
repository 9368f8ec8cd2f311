"""Reading one run folder: which log is used, and when a log counts as complete."""
import os

import pytest
from fake_logs import crashed_log, eval_log, result_block, training_log, write

from clipfit.app.results import find_result, log_files, read_run, scan_log

T1 = "log.txt-2024-05-01-10-00-00"
T2 = "log.txt-2024-05-02-09-00-00"


def test_training_log_header_and_result(tmp_path):
    path = write(tmp_path, training_log(tmp_path, 81.3, dataset="dtd", seed=2, subsample="base"))
    scan = scan_log(path)
    assert scan.value == 81.3 and scan.complete and scan.trained and scan.eval_only is False
    assert scan.args["seed"] == "2" and scan.args["dataset_config_file"] == "configs/datasets/dtd.yaml"
    assert scan.config["DATASET.NAME"] == "DescribableTextures"
    assert scan.config["DATASET.SUBSAMPLE_CLASSES"] == "base" and scan.config["SEED"] == "2"
    assert scan.opt("DATASET.NUM_SHOTS") == "16"
    assert scan_log(path, "macro_f1").value == 80.8 and scan_log(path, "error").value == pytest.approx(18.7)


def test_newer_complete_rerun_wins(tmp_path):
    write(tmp_path, training_log(tmp_path, 70.0))
    write(tmp_path, training_log(tmp_path, 72.0), T1)
    write(tmp_path, training_log(tmp_path, 74.0), T2)
    assert [os.path.basename(p) for p in log_files(tmp_path)] == ["log.txt", T1, T2]
    assert find_result(tmp_path) == 74.0
    assert read_run(tmp_path).log_file == os.path.join(tmp_path, T2)


def test_newer_crashed_log_does_not_hide_older_result(tmp_path):
    write(tmp_path, training_log(tmp_path, 70.0))
    write(tmp_path, training_log(tmp_path, 72.0), T1)
    write(tmp_path, crashed_log(tmp_path), T2)
    run = read_run(tmp_path)
    assert run.value == 72.0 and run.finished and run.skipped == [T2]
    assert run.newest.path.endswith(T2)


def test_only_crashed_logs_is_not_finished(tmp_path):
    write(tmp_path, crashed_log(tmp_path))
    assert find_result(tmp_path) is None and not read_run(tmp_path).finished


def test_other_file_names_are_not_logs(tmp_path):
    write(tmp_path, training_log(tmp_path, 70.0))
    write(tmp_path, training_log(tmp_path, 99.0), "log.txt.bak")
    write(tmp_path, training_log(tmp_path, 98.0), "log.txt-old")
    assert find_result(tmp_path) == 70.0


def test_missing_folder_and_folder_without_logs(tmp_path):
    assert find_result(tmp_path / "nope") is None
    assert find_result(tmp_path) is None


def test_finished_training_marker_of_forks(tmp_path):
    write(tmp_path, training_log(tmp_path, 66.6, marker="Finished training"))
    assert find_result(tmp_path) == 66.6


def test_per_epoch_validation_before_the_marker_does_not_count(tmp_path):
    epochs = training_log(tmp_path, 50.0).split("Finish training")[0]
    write(tmp_path, epochs + "Do evaluation on val set\n" + result_block(40.0) + "epoch [3/5] batch [1/1]\n")
    assert find_result(tmp_path) is None  # best_val training interrupted: no final result
    write(tmp_path, epochs + result_block(40.0) + "Finish training\nDeploy the model with the best val performance\n"
          + result_block(55.0), T1)
    assert find_result(tmp_path) == 55.0


def test_eval_only_log(tmp_path):
    write(tmp_path, eval_log(tmp_path, 77.7, subsample="new"))
    scan = scan_log(os.path.join(tmp_path, "log.txt"))
    assert scan.eval_only and not scan.trained and scan.value == 77.7
    assert scan.gated_value(test_log=False) is None and scan.gated_value(test_log=True) == 77.7


def test_eval_only_log_cut_inside_the_result_block(tmp_path):
    write(tmp_path, eval_log(tmp_path, 77.7).split("* accuracy")[0])
    assert find_result(tmp_path) is None


def test_log_without_header(tmp_path):
    write(tmp_path, "Evaluate on the *test* set\n" + result_block(61.0))
    assert find_result(tmp_path) == 61.0  # no header, no training lines: an eval-only log
    write(tmp_path, training_log(tmp_path, 62.0, with_header=False), T1)
    assert find_result(tmp_path) == 62.0
    write(tmp_path, "epoch [1/2] batch [1/1] loss 1.0\n=> result\n* accuracy: 10.0%\n", T2)
    assert read_run(tmp_path).value == 62.0  # a header-less training log without the marker is incomplete


def test_last_hit_after_the_marker_wins(tmp_path):
    write(tmp_path, training_log(tmp_path, 70.0) + "Evaluate on the *test* set\n" + result_block(71.5))
    assert find_result(tmp_path) == 71.5
