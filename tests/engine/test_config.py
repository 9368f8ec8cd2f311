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
    # CTX_INIT None: no type, so KgCoOp's and ProGrad's configs may write True and CoOp's a phrase
    assert (cfg.TRAINER.COOP.N_CTX, cfg.TRAINER.COOP.CSC, cfg.TRAINER.COOP.CTX_INIT) == (16, False, None)
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
    from datasets import CoOpDataset

    import_plugins()
    names = [cls.__name__ for cls in config_extenders()]
    # one per function, bases first: ClipFit and ZeroshotCLIP2 inherit theirs; every dataset inherits CoOpDataset's
    trainers, dataset = names[:9], config_extenders()[9]
    assert sorted(trainers) == ["CLIPFit", "CoCoOp", "CoOp", "IVLP", "KgCoOp", "MaPLe", "ProGrad", "PromptSRC",
                                "ZeroshotCLIP"]
    assert trainers.index("CoOp") < min(trainers.index("KgCoOp"), trainers.index("ProGrad"))
    assert len(names) == 10 and dataset.extend_cfg.__func__ is CoOpDataset.extend_cfg.__func__
    cfg = setup_cfg(_args())
    assert (cfg.MODEL.BACKBONE.WEIGHTS, cfg.MODEL.BACKBONE.TAG) == ("", "")
    assert (cfg.TRAINER.CLIPFIT.LAMBDA, cfg.TRAINER.CLIPFIT.REG, cfg.TRAINER.CLIPFIT.PRESET) == (8.0, "kd", "clipfit")
    assert (cfg.TRAINER.COOP.W1, cfg.TRAINER.COOP.W2, cfg.TRAINER.COOP.COMPILE_MODE) == (1.0, 1.0, "default")
    assert cfg.TRAINER.COOP.W == 1.0 and dict(cfg.LOSS) == {"NAME": "prograd", "T": 1.0, "LAMBDA": 1.0}  # the authors'


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


def test_settings_compare_as_values_on_the_keys_both_sides_have():
    """The one comparison of the resume check and of a finished run's skip: `8` and `8.0`, `[64, 64]` and
    `(64, 64)` are the same setting (another release or repr against str); a key one side lacks is not compared."""
    from clipfit.engine.config_checks import differences_text, differing_settings

    then = {"TRAINER.CLIPFIT.LAMBDA": "8", "INPUT.SIZE": "[64, 64]", "MODEL.BACKBONE.NAME": "tiny", "A.THEN": "1",
            "OPTIM.NAME": "'sgd'"}
    now = {"TRAINER.CLIPFIT.LAMBDA": "8.0", "INPUT.SIZE": "(64, 64)", "MODEL.BACKBONE.NAME": "ViT-B/16",
           "A.NOW": "2", "OPTIM.NAME": "'adam'"}
    keys = differing_settings(then, now)
    assert keys == ["MODEL.BACKBONE.NAME", "OPTIM.NAME"]
    assert differences_text(then, now, keys) == ("MODEL.BACKBONE.NAME: tiny then, ViT-B/16 now; "
                                                 "OPTIM.NAME: 'sgd' then, 'adam' now")


def test_result_and_training_settings_leave_out_where_and_how_fast():
    from clipfit.engine.config_checks import printed_settings, result_settings, training_settings

    cfg = setup_cfg(_args("--root", "/data", "DATALOADER.CACHE_TRAIN", "False"))
    printed = printed_settings(cfg)
    assert printed["DATASET.ROOT"] == "/data" and printed["OPTIM.NAME"] == "adam"  # str, as the log prints it
    result, trained = result_settings(printed), training_settings(cfg)
    for key in ("DATASET.ROOT", "OUTPUT_DIR", "DATALOADER.CACHE_TRAIN", "DATALOADER.TEST.BATCH_SIZE",
                "MODEL.BACKBONE.WEIGHTS"):
        assert key not in result and key not in trained
    # The loader workers seed the augmentation: a resume keeps their count, a finished run counts for any.
    assert "DATALOADER.NUM_WORKERS" not in result and trained["DATALOADER.NUM_WORKERS"] == "4"
    assert result["TEST.FINAL_MODEL"] == "last_step" and "TEST.FINAL_MODEL" not in trained  # decides a result only
    assert trained["OPTIM.NAME"] == "'adam'" and result["OPTIM.NAME"] == "adam"


def _foreign_tree():
    """A tree a repository builds itself (Koorye/SkipTuning does): Dassl's keys without TRAIN_U and without
    the engine's own keys."""
    from clipfit.engine.config_defaults import ENGINE_KEYS, get_cfg_default

    cfg = get_cfg_default()
    for key in ENGINE_KEYS:
        node, name = key.rsplit(".", 1)
        cfg[node].pop(name)
    cfg.DATALOADER.pop("TRAIN_U")
    return cfg


def test_engine_only_keys_take_their_default_in_a_tree_without_them():
    from clipfit.engine.config_checks import check_run_config
    from clipfit.engine.config_defaults import config_value, engine_option

    cfg = _foreign_tree()
    assert [engine_option(cfg, k) for k in ("INPUT.GPU_AUGMENT", "DATALOADER.CACHE_EVAL", "DATALOADER.CACHE_TRAIN",
                                            "DATALOADER.CACHE_TRAIN_MAX_GB")] == [False, True, True, 8.0]
    assert config_value(cfg, "DATALOADER.CACHE_TRAIN_MAX_GB") == 8.0
    check_run_config(cfg)  # neither TRAIN_U nor the engine's keys are needed
    cfg.DATALOADER.CACHE_EVAL = False
    assert engine_option(cfg, "DATALOADER.CACHE_EVAL") is False
    with pytest.raises(ValueError, match="OPTIM.LR is not one of the engine's own keys"):
        engine_option(cfg, "OPTIM.LR")


def test_a_needed_key_the_tree_lacks_is_named_with_the_fix():
    from clipfit.engine.config_checks import check_run_config

    cfg = _foreign_tree()
    cfg.DATALOADER.TEST.pop("BATCH_SIZE")
    with pytest.raises(UserInputError) as err:
        check_run_config(cfg)
    assert str(err.value) == ("the config has no DATALOADER.TEST.BATCH_SIZE, which the engine needs (as Dassl does); "
                              "add it to the config tree the script builds (Dassl's default: "
                              "DATALOADER.TEST.BATCH_SIZE = 32)")


def test_train_u_is_read_only_with_a_train_u_set(tmp_path):
    from PIL import Image

    from clipfit.engine.data.base_dataset import DatasetBase, Datum
    from clipfit.engine.data.data_manager import DataManager
    from clipfit.engine.registry import DATASET_REGISTRY

    image = tmp_path / "a.png"
    Image.new("RGB", (8, 8)).save(image)
    items = [Datum(impath=str(image), label=i % 2, classname=f"c{i % 2}") for i in range(4)]

    class WithUnlabeled(DatasetBase):
        def __init__(self, cfg):
            super().__init__(train_x=items, train_u=items if cfg.DATASET.NUM_LABELED else [], test=items)

    DATASET_REGISTRY.register(WithUnlabeled, force=True)
    cfg = _foreign_tree()
    cfg.DATASET.NAME, cfg.USE_CUDA, cfg.VERBOSE, cfg.DATALOADER.NUM_WORKERS = "WithUnlabeled", False, False, 0
    cfg.INPUT.SIZE, cfg.DATALOADER.TRAIN_X.BATCH_SIZE = (8, 8), 2
    cfg.DATASET.NUM_LABELED = 0
    assert DataManager(cfg).train_loader_u is None
    cfg.DATASET.NUM_LABELED = 4
    with pytest.raises(UserInputError, match=r"^the config has no DATALOADER.TRAIN_U.SAME_AS_X, which the engine "
                       r"needs \(as Dassl does\); .* DATALOADER.TRAIN_U.SAME_AS_X = True\)$"):
        DataManager(cfg)  # unlabeled data needs the node, in Dassl too


def test_extend_cfg_chains_with_super_and_a_subclass_keeps_the_keys_it_adds_to_its_base_node(monkeypatch):
    """A subclass registered before its base (a plugin may be) still keeps the key it adds to the base's node."""
    from yacs.config import CfgNode as CN

    import clipfit.config as config
    from clipfit.engine.registry import Registry

    class Base:
        @classmethod
        def extend_cfg(cls, cfg) -> None:
            cfg.TRAINER.BASE = CN()
            cfg.TRAINER.BASE.N = 1

    class Child(Base):
        @classmethod
        def extend_cfg(cls, cfg) -> None:
            super().extend_cfg(cfg)
            cfg.TRAINER.BASE.W = 8.0

    class Alias(Child):
        pass

    trainers = Registry("TRAINER")
    for klass in (Child, Alias, Base):  # the subclass first
        trainers.register(klass)
    monkeypatch.setattr(config, "TRAINER_REGISTRY", trainers)
    monkeypatch.setattr(config, "DATASET_REGISTRY", Registry("DATASET"))
    assert config.config_extenders() == [Base, Child]  # the alias shares Child's function
    node = config.get_cfg().TRAINER.BASE
    assert (node.N, node.W) == (1, 8.0)
