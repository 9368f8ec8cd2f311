"""The recipes and output folders behind the scripts (clipfit/jobs.py)."""
import pytest

from clipfit.errors import UserInputError
from clipfit.app.jobs import Job, job_from_env


def _opt(cmd, key):
    return cmd[cmd.index(key) + 1]


@pytest.mark.parametrize("dataset,cfg,epochs", [("imagenet", "vit_b16_ep10", 10), ("food101", "vit_b16_ep10", 10),
                                                ("dtd", "vit_b16_ep100", 100), ("eurosat", "vit_b16_ep100", 100)])
def test_clipfit_base2new_recipe(dataset, cfg, epochs):
    train = Job("CLIPFit", "base2new_train", dataset, 1, output_root="output", data_root="data")
    assert train.output_dir == f"output/base2new/train_base/{dataset}/shots_16/CLIPFit/{cfg}/seed1"
    cmd = train.command()
    assert _opt(cmd, "--config-file") == f"configs/trainers/CLIPFit/{cfg}.yaml"
    assert _opt(cmd, "TRAINER.CLIPFIT.LAMBDA") == "8.0"
    assert _opt(cmd, "DATASET.SUBSAMPLE_CLASSES") == "base" and _opt(cmd, "DATASET.NUM_SHOTS") == "16"
    test = Job("CLIPFit", "base2new_test", dataset, 1, output_root="output", data_root="data")
    cmd = test.command()
    assert test.output_dir == f"output/base2new/test_new/{dataset}/shots_16/CLIPFit/{cfg}/seed1"
    assert _opt(cmd, "--model-dir") == train.output_dir and _opt(cmd, "--load-epoch") == str(epochs)
    assert "--eval-only" in cmd and _opt(cmd, "DATASET.SUBSAMPLE_CLASSES") == "new"


@pytest.mark.parametrize("dataset,lam", [("dtd", "8.0"), ("sun397", "8.0"), ("oxford_pets", "2.0")])
def test_clipfit_few_shot_lambda(dataset, lam):
    job = Job("CLIPFit", "few_shot", dataset, 2, shots=4)
    assert _opt(job.command(), "TRAINER.CLIPFIT.LAMBDA") == lam
    assert job.output_dir.endswith(f"{dataset}/CLIPFit/vit_b16_ep100_4shots/seed2")


def test_coop_folders_follow_coop():
    job = Job("CoOp", "few_shot", "oxford_pets", 1, shots=1, output_root="output")
    assert job.output_dir == "output/oxford_pets/CoOp/vit_b16_ep50_1shots/nctx16_cscFalse_ctpend/seed1"
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
    assert Job("ZeroshotCLIP", "few_shot", "dtd", 1, shots=8).output_dir.endswith("dtd/ZeroshotCLIP/vit_b16_0shots/seed1")


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
    with pytest.raises(UserInputError, match="must be integers"):
        job_from_env("CLIPFit", "few_shot", ["dtd", "four", "1"])
