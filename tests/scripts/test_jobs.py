"""The recipes (on the trainer classes) and output folders behind the scripts (clipfit/app/jobs.py)."""
import pytest

from clipfit.app.jobs import Job, job_from_env
from clipfit.errors import UserInputError


def _opt(cmd, key):
    return cmd[cmd.index(key) + 1]


@pytest.mark.parametrize("dataset,cfg,epochs", [("imagenet", "vit_b16_ep10", 10), ("food101", "vit_b16_ep10", 10),
                                                ("dtd", "vit_b16_ep100", 100), ("eurosat", "vit_b16_ep100", 100)])
def test_clipfit_base2new_recipe(dataset, cfg, epochs):
    train = Job("CLIPFit", "base2new_train", dataset, 1, output_root="output", data_root="data")
    assert train.output_dir == f"output/base2new/train_base/{dataset}/shots_16/CLIPFit/{cfg}/seed1"
    cmd = train.command()
    assert _opt(cmd, "--config-file") == f"configs/trainers/CLIPFit/{cfg}.yaml"
    assert "TRAINER.CLIPFIT.LAMBDA" not in cmd  # the config file's lambda holds
    assert _opt(cmd, "DATASET.SUBSAMPLE_CLASSES") == "base" and _opt(cmd, "DATASET.NUM_SHOTS") == "16"
    test = Job("CLIPFit", "base2new_test", dataset, 1, output_root="output", data_root="data")
    cmd = test.command()
    assert test.output_dir == f"output/base2new/test_new/{dataset}/shots_16/CLIPFit/{cfg}/seed1"
    assert _opt(cmd, "--model-dir") == train.output_dir and _opt(cmd, "--load-epoch") == str(epochs)
    assert "--eval-only" in cmd and _opt(cmd, "DATASET.SUBSAMPLE_CLASSES") == "new"


@pytest.mark.parametrize("dataset,lam", [("dtd", None), ("sun397", None), ("oxford_pets", "2.0")])
def test_clipfit_few_shot_lambda(dataset, lam):
    job = Job("CLIPFit", "few_shot", dataset, 2, shots=4)
    cmd = job.command()
    assert (_opt(cmd, "TRAINER.CLIPFIT.LAMBDA") if "TRAINER.CLIPFIT.LAMBDA" in cmd else None) == lam
    assert job.output_dir.endswith(f"{dataset}/CLIPFit/vit_b16_ep100_4shots/seed2")


def test_coop_folders_follow_coop():
    job = Job("CoOp", "few_shot", "oxford_pets", 1, shots=1, output_root="output")
    assert job.output_dir == "output/oxford_pets/CoOp/vit_b16_ep50_1shots/nctx16_cscFalse_ctpend/seed1"
    assert not {"TRAINER.COOP.N_CTX", "TRAINER.COOP.CSC", "TRAINER.COOP.CLASS_TOKEN_POSITION"} & set(job.command())
    set_ctx = Job("CoOp", "few_shot", "oxford_pets", 1, shots=1, output_root="output", knobs=(("NCTX", "4"),))
    assert set_ctx.output_dir.endswith("/nctx4_cscFalse_ctpend/seed1")
    assert _opt(set_ctx.command(), "TRAINER.COOP.N_CTX") == "4" and "TRAINER.COOP.CSC" not in set_ctx.command()


def test_coop_folder_defaults_are_the_configs():
    """The folder names CoOp's unset knobs by the config's defaults: the two must not drift apart."""
    from clipfit.app.plugins import import_plugins
    from clipfit.config import get_cfg
    from trainers.coop import CoOpRecipe

    import_plugins()
    node = get_cfg().TRAINER.COOP
    assert CoOpRecipe.DEFAULTS == {"NCTX": str(node.N_CTX), "CSC": str(node.CSC), "CTP": node.CLASS_TOKEN_POSITION}
    assert Job("CoOp", "base2new_train", "imagenet", 1).cfg == "vit_b16_ep50_ctxv1"
    assert Job("CoOp", "base2new_train", "dtd", 1).cfg == "vit_b16_ctxv1"


def test_cross_dataset_reuses_the_imagenet_16_shot_model():
    train = Job("CoCoOp", "xd_train", "imagenet", 3, output_root="output")
    assert train.output_dir == "output/imagenet/CoCoOp/vit_b16_c4_ep10_batch1_ctxv1_16shots/seed3"
    test = Job("CoCoOp", "xd_test", "imagenet_sketch", 3, output_root="output")
    assert test.output_dir == "output/evaluation/CoCoOp/vit_b16_c4_ep10_batch1_ctxv1_16shots/imagenet_sketch/seed3"
    cmd = test.command()
    assert _opt(cmd, "--model-dir") == train.output_dir and _opt(cmd, "--load-epoch") == "10"
    assert _opt(cmd, "--dataset-config-file") == "configs/datasets/imagenet_sketch.yaml"


def test_zero_shot_jobs_are_eval_only_without_model():
    job = Job("ZeroshotCLIP", "base2new_test", "dtd", 1)
    cmd = job.command()
    assert "--eval-only" in cmd and "--model-dir" not in cmd and job.train_job is None
    assert _opt(cmd, "--config-file") == "configs/trainers/CoOp/vit_b16.yaml"
    zero_shot = Job("ZeroshotCLIP", "few_shot", "dtd", 1, shots=8)
    assert zero_shot.output_dir.endswith("dtd/ZeroshotCLIP/vit_b16_0shots/seed1")


def test_env_knobs(monkeypatch):
    monkeypatch.setenv("DATA", "/data")
    monkeypatch.setenv("OUTPUT", "/runs")
    monkeypatch.setenv("CFG", "vit_b16_ep10")
    monkeypatch.setenv("OPTS", "OPTIM.MAX_EPOCH 3 TRAINER.CLIPFIT.PREC 'amp'")
    monkeypatch.setenv("LAMBDA", "4.0")
    job = job_from_env("CLIPFit", "base2new_train", ["dtd", "2"])
    cmd = job.command()
    assert job.output_dir == "/runs/base2new/train_base/dtd/shots_16/CLIPFit/vit_b16_ep10/seed2"
    assert _opt(cmd, "--root") == "/data" and _opt(cmd, "TRAINER.CLIPFIT.LAMBDA") == "4.0"
    assert cmd[-4:] == ["OPTIM.MAX_EPOCH", "3", "TRAINER.CLIPFIT.PREC", "amp"]
    test = job_from_env("CLIPFit", "base2new_test", ["dtd", "2"])
    assert _opt(test.command(), "--load-epoch") == "3"


def test_bad_script_arguments():
    with pytest.raises(UserInputError, match="usage: base2new_train.sh DATASET SEED"):
        job_from_env("CLIPFit", "base2new_train", ["dtd"])
    with pytest.raises(UserInputError, match="unknown dataset 'pets'"):
        job_from_env("CLIPFit", "base2new_train", ["pets", "1"])
    with pytest.raises(UserInputError, match=r"SHOTS must be an integer, got 'four' \(few_shot.sh DATASET"):
        job_from_env("CLIPFit", "few_shot", ["dtd", "four", "1"])
    with pytest.raises(UserInputError, match=r"SEED must be an integer, got 'abc' \(base2new_train.sh DATASET SEED\)"):
        job_from_env("CLIPFit", "base2new_train", ["dtd", "abc"])
    # The sweep's rule (one function): seed 0 or more, shots 1 or more.
    with pytest.raises(UserInputError, match=r"^SEED must be 0 or more, got -1: a negative seed means no fixed seed"):
        job_from_env("CLIPFit", "base2new_train", ["dtd", "-1"])
    with pytest.raises(UserInputError, match=r"^SHOTS must be 1 or more, got 0 \(the benchmarks use"):
        job_from_env("CLIPFit", "few_shot", ["dtd", "0", "1"])
    assert job_from_env("CLIPFit", "base2new_train", ["dtd", "0"]).output_dir.endswith("seed0")


def test_a_job_keeps_the_knobs_read_when_it_was_built(monkeypatch):
    """The environment is read once, by job_from_env; the Job and its recipe never look at it again."""
    for name, value in {"LAMBDA": "4.0", "LOAD_EPOCH": "3", "NCTX": "8", "CSC": "True"}.items():
        monkeypatch.setenv(name, value)
    clipfit = job_from_env("CLIPFit", "base2new_test", ["dtd", "1"])
    coop = job_from_env("CoOp", "few_shot", ["dtd", "2", "1"])
    assert clipfit.knobs == (("LAMBDA", "4.0"), ("LOAD_EPOCH", "3"))  # only what CLIPFit's jobs read
    assert coop.knobs == (("CSC", "True"), ("LOAD_EPOCH", "3"), ("NCTX", "8"))
    for name in ("LAMBDA", "LOAD_EPOCH", "NCTX", "CSC"):
        monkeypatch.delenv(name)
    cmd = clipfit.command()
    assert _opt(cmd, "TRAINER.CLIPFIT.LAMBDA") == "4.0" and _opt(cmd, "--load-epoch") == "3"
    assert coop.output_dir.endswith("dtd/CoOp/vit_b16_ep100_2shots/nctx8_cscTrue_ctpend/seed1")
    assert _opt(coop.command(), "TRAINER.COOP.N_CTX") == "8"
    assert clipfit.train_job.knobs == clipfit.knobs


def test_the_sweep_grid_hands_each_job_its_trainers_knobs():
    from clipfit.app.sweep import Grid

    knobs = (("LAMBDA", "3.0"), ("NCTX", "4"))
    jobs = Grid(("CLIPFit", "CoOp"), ("few_shot",), (1,), datasets=("dtd",), shots=(1,), knobs=knobs).jobs()
    assert [(j.trainer, j.knobs) for j in jobs] == [("CLIPFit", (("LAMBDA", "3.0"),)), ("CoOp", (("NCTX", "4"),))]
    assert _opt(jobs[0].command(), "TRAINER.CLIPFIT.LAMBDA") == "3.0"
    assert "/nctx4_cscFalse_ctpend/" in jobs[1].output_dir


def test_trainer_tables_come_from_the_registered_classes():
    from clipfit.app import trainers_catalog

    # ClipFit, the authors' alias, has no recipe or scripts of its own
    assert trainers_catalog.names() == ("CLIPFit", "CoOp", "CoCoOp", "IVLP", "KgCoOp", "MaPLe", "ProGrad",
                                        "PromptSRC", "ZeroshotCLIP", "ZeroshotCLIP2")
    assert {f: t.name for f, t in trainers_catalog.scripted().items()} == {
        "clipfit": "CLIPFit", "coop": "CoOp", "cocoop": "CoCoOp", "independent-vlp": "IVLP", "kgcoop": "KgCoOp",
        "maple": "MaPLe", "prograd": "ProGrad", "promptsrc": "PromptSRC", "zsclip": "ZeroshotCLIP"}
    zero_shot = [n for n in trainers_catalog.names() if trainers_catalog.is_zero_shot(n)]
    assert zero_shot == ["ZeroshotCLIP", "ZeroshotCLIP2"]
    assert trainers_catalog.script_for("CoOp", "xd_test") == "scripts/coop/xd_test.sh"
    assert trainers_catalog.script_for("ZeroshotCLIP2", "xd_test") is None


def test_a_trainer_without_recipe_needs_cfg():
    with pytest.raises(UserInputError, match=r"no built-in recipe for trainer 'ClipFit' \(known: .*\); set CFG"):
        Job("ClipFit", "few_shot", "dtd", 1).command()
    job = Job("ClipFit", "few_shot", "dtd", 1, cfg_override="vit_b16_ep100")
    assert _opt(job.command(), "--config-file") == "configs/trainers/ClipFit/vit_b16_ep100.yaml"
