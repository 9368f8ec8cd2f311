import re
import sys

from clipfit.engine.utils.logger import Logger, log_file_path, setup_logger


def test_log_path_rules(tmp_path):
    assert log_file_path(str(tmp_path)) == str(tmp_path / "log.txt")
    assert log_file_path(str(tmp_path / "x.log")) == str(tmp_path / "x.log")
    (tmp_path / "log.txt").write_text("old run")
    again = log_file_path(str(tmp_path))
    assert re.fullmatch(re.escape(str(tmp_path / "log.txt")) + r"-\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d", again)


def test_setup_logger_tees_stdout_and_keeps_old_log(tmp_path):
    (tmp_path / "log.txt").write_text("old run")
    original = sys.stdout
    try:
        setup_logger(str(tmp_path))
        print("hello log")
        sys.stdout.flush()
        logger = sys.stdout
    finally:
        sys.stdout = original
    assert isinstance(logger, Logger)
    logger.close()
    assert (tmp_path / "log.txt").read_text() == "old run"
    (new_log,) = [p for p in tmp_path.iterdir() if p.name.startswith("log.txt-")]
    assert new_log.read_text() == "hello log\n"
