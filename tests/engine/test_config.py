import os
import re
import subprocess
import sys

import pytest

from clipfit.app.commands.train import build_parser, setup_cfg
from clipfit.errors import UserInputError

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _args(*argv):
    return build_parser().parse_args(list(argv))


def test_merge_order_dataset_then_trainer_then_flags_then_opts(tmp_path):
    ds = tmp_path / "ds.yaml"
    ds.write_text('DATASET:\n  NAME: "OxfordPets"\nOPTIM:\n  MAX_EPOCH: 3\n')
    tr = tmp_path / "tr.yaml"
    tr.write_text("OPTIM:\n  MAX_EPOCH: 5\n  LR: 0.002\nINPUT:\n  TRANSFORMS: [\"random_flip\", \"normalize\"]\n")
    cfg = setup_cfg(
        _args("--dataset-config-file", str(ds), "--config-file", str(tr), "--seed", "2", "--trainer", "CoOp",
              "OPTIM.MAX_EPOCH", "7", "DATASET.SUBSAMPLE_CLASSES", "base", "TRAINER.COOP.CSC", "True")
    )
    assert cfg.DATASET.NAME == "OxfordPets"
    assert cfg.OPTIM.MAX_EPOCH == 7 and cfg.OPTIM.LR == 0.002
    assert cfg.INPUT.TRANSFORMS == ("random_flip", "normalize")
    assert cfg.SEED == 2 and cfg.TRAINER.NAME == "CoOp"
    assert cfg.DATASET.SUBSAMPLE_CLASSES == "base" and cfg.TRAINER.COOP.CSC is True
    assert cfg.is_frozen()


def test_coop_defaults():
    cfg = setup_cfg(_args())
    assert (cfg.TRAINER.COOP.N_CTX, cfg.TRAINER.COOP.CSC, cfg.TRAINER.COOP.CTX_INIT) == (16, False, "")
    assert (cfg.TRAINER.COOP.PREC, cfg.TRAINER.COOP.CLASS_TOKEN_POSITION) == ("fp16", "end")
    assert (cfg.TRAINER.COCOOP.N_CTX, cfg.TRAINER.COCOOP.CTX_INIT, cfg.TRAINER.COCOOP.PREC) == (16, "", "fp16")
    assert cfg.DATASET.SUBSAMPLE_CLASSES == "all"
    assert cfg.SEED == -1 and cfg.OPTIM.NAME == "adam" and cfg.DATALOADER.NUM_WORKERS == 4


def test_seed_zero_is_ignored_like_coop():
    assert setup_cfg(_args("--seed", "0")).SEED == -1


def test_unknown_key_in_file_is_named(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("OPTIM:\n  LRR: 0.1\n")
    with pytest.raises(UserInputError, match=r"bad.yaml: Non-existent config key: OPTIM.LRR; did you mean OPTIM.LR\?"):
        setup_cfg(_args("--config-file", str(bad)))


def test_unknown_key_in_opts_is_named():
    with pytest.raises(UserInputError, match="Non-existent key: DATASET.NUM_SHOT; did you mean DATASET.NUM_SHOTS"):
        setup_cfg(_args("DATASET.NUM_SHOT", "16"))
    with pytest.raises(UserInputError, match="Non-existent key: DATASET.ZZZ; check the key's spelling"):
        setup_cfg(_args("DATASET.ZZZ", "16"))  # nothing close: the general advice


def test_type_mismatch_and_odd_opts():
    with pytest.raises(UserInputError, match="Type mismatch"):
        setup_cfg(_args("OPTIM.LR", "'fast'"))
    assert setup_cfg(_args("OPTIM.LR", "1")).OPTIM.LR == 1.0  # an int for a float key is that float
    with pytest.raises(UserInputError, match="KEY VALUE pairs"):
        setup_cfg(_args("OPTIM.LR"))


def test_missing_config_file():
    with pytest.raises(UserInputError, match=r"--config-file nope.yaml: no such file"):
        setup_cfg(_args("--config-file", "nope.yaml"))


def test_config_nodes_come_from_the_registered_classes():
    from clipfit.app.plugins import import_plugins
    from clipfit.config import config_extenders

    import_plugins()
    names = [cls.__name__ for cls in config_extenders()]
    # bases first; CoOp's node once although ZeroshotCLIP shares it and ClipFit/ZeroshotCLIP2 inherit theirs
    assert names == ["ClipTrainer", "CLIPFit", "CoOp", "CoCoOp", "IVLP", "MaPLe", "PromptSRC", "CoOpDataset"]
    cfg = setup_cfg(_args())
    assert (cfg.MODEL.BACKBONE.WEIGHTS, cfg.MODEL.BACKBONE.TAG) == ("", "")
    assert (cfg.TRAINER.CLIPFIT.LAMBDA, cfg.TRAINER.CLIPFIT.REG, cfg.TRAINER.CLIPFIT.PRESET) == (8.0, "kd", "clipfit")
    assert (cfg.TRAINER.COOP.W1, cfg.TRAINER.COOP.W2, cfg.TRAINER.COOP.COMPILE_MODE) == (1.0, 1.0, "default")


def test_get_cfg_before_any_registration_says_what_to_do():
    proc = subprocess.run([sys.executable, "-c", "from clipfit.config import get_cfg; get_cfg()"], cwd=REPO,
                          capture_output=True, text=True)
    assert proc.returncode != 0
    assert "no registered trainer or dataset class adds config keys" in proc.stderr
    assert "import the plugins first" in proc.stderr


def test_a_node_no_registered_class_adds_is_explained(tmp_path):
    with pytest.raises(UserInputError, match=r"Non-existent key: TRAINER.MYMETHOD.X; no registered class adds "
                                             r"TRAINER.MYMETHOD: is the module"):
        setup_cfg(_args("TRAINER.MYMETHOD.X", "1"))
    bad = tmp_path / "mine.yaml"
    bad.write_text("TRAINER:\n  MYMETHOD:\n    X: 1\n")
    with pytest.raises(UserInputError, match=r"CLIPFIT_PLUGINS=your.module"):
        setup_cfg(_args("--config-file", str(bad)))


def test_the_help_examples_name_existing_config_files():
    from clipfit.app.commands.train import EPILOG

    paths = re.findall(r"configs/\S+\.yaml", EPILOG)
    assert paths and all(os.path.isfile(os.path.join(REPO, p)) for p in paths)
