"""train.py's checks before the plugins: whether a trainer is named, read from the flags, the options and
the config files (in-process: the answers are plain values, no torch involved)."""
from __future__ import annotations

import pytest

from clipfit.app.commands.train import build_parser
from clipfit.app.train_checks import check_trainer_given
from clipfit.errors import UserInputError


def _args(*argv: str):
    return build_parser().parse_args(list(argv))


def _file(tmp_path, text: str) -> str:
    path = tmp_path / "cfg.yaml"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("text", [
    "TRAINER:\n  NAME: CoOp\n",  # names one
    "TRAINER:\n  NAME: ''\n",  # says '' itself: the merged config decides (and refuses)
    "TRAINER: CoOp\n",  # not a mapping: the merge reports it
    "- a\n- list\n",  # not a mapping of keys: likewise
    "OPTIM: [unclosed\n",  # not YAML: likewise
])
def test_a_file_that_may_name_the_trainer_leaves_it_to_the_merge(tmp_path, text):
    check_trainer_given(_args("--config-file", _file(tmp_path, text)))


@pytest.mark.parametrize("argv", [("--trainer", "CoOp"), ("TRAINER.NAME", "CoOp"), ("--config-file", "missing.yaml")])
def test_a_flag_an_option_or_a_file_yet_to_be_checked_passes(argv):
    check_trainer_given(_args(*argv))


@pytest.mark.parametrize("text", ["", "OPTIM:\n  LR: 0.1\n", "TRAINER:\n  COOP:\n    N_CTX: 4\n"])
def test_files_that_name_no_trainer_are_an_error(tmp_path, text):
    with pytest.raises(UserInputError, match=r"--trainer is required \(registered trainers: CLIPFit, ClipFit,"):
        check_trainer_given(_args("--dataset-config-file", _file(tmp_path, text), "OPTIM.LR", "0.1"))
