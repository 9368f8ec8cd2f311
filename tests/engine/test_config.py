import pytest

from clipfit.app.commands.train import build_parser, setup_cfg
from clipfit.errors import UserInputError


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
    with pytest.raises(UserInputError, match=r"bad.yaml: Non-existent config key: OPTIM.LRR"):
        setup_cfg(_args("--config-file", str(bad)))


def test_unknown_key_in_opts_is_named():
    with pytest.raises(UserInputError, match="Non-existent key: DATASET.NUM_SHOT"):
        setup_cfg(_args("DATASET.NUM_SHOT", "16"))


def test_type_mismatch_and_odd_opts():
    with pytest.raises(UserInputError, match="Type mismatch"):
        setup_cfg(_args("OPTIM.LR", "1"))
    with pytest.raises(UserInputError, match="KEY VALUE pairs"):
        setup_cfg(_args("OPTIM.LR"))


def test_missing_config_file():
    with pytest.raises(UserInputError, match=r"--config-file nope.yaml: no such file"):
        setup_cfg(_args("--config-file", "nope.yaml"))
