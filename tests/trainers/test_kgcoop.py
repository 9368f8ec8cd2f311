"""KgCoOp: trained tensors, the authors' keys, init and templates, the loss against a direct computation,
checkpoints (the authors' and CoOp's), resume, precisions, recipe."""
import os

import pytest
import torch
import torch.nn.functional as F
from _helpers_baselines import (
    assert_ctx_checkpoints_cross_load,
    interrupt_training,
    make_trainer,
    tiny_clip,
    train_then_reload,
    vitb16,
    write_demo,
)
from _prompt_reference import NAMES, hand_crafted_features, images, labels, reference_text_features, step_in_precision

from clipfit.errors import UserInputError
from clipfit.testing import make_dataset_fixture
from trainers.kgcoop import KgCoOpModel

CONFIG = "configs/trainers/KgCoOp/vit_b16_ep100_ctxv1.yaml"


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    return write_demo(tmp_path_factory.mktemp("demo"))


def test_vit_b16_trains_the_4x512_context_only():
    clip = vitb16()
    model = KgCoOpModel(clip, NAMES, torch.zeros(len(NAMES), 512), 8.0, ctx_init="a photo of a")
    trained = {n: tuple(p.shape) for n, p in model.named_parameters() if p.requires_grad}
    assert trained == {"prompt_learner.ctx": (4, 512)}  # "a photo of a": 4 tokens, whatever N_CTX says
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == 2048
    assert list(model.prompt_learner.state_dict()) == ["ctx"]
    embedded = clip.token_embedding.weight[[320, 1125, 539, 320]].detach()  # a photo of a
    assert torch.equal(model.prompt_learner.ctx.detach(), embedded)


def test_the_authors_config_and_keys_start_from_a_photo_of_a_and_the_distance_is_zero(data_root, tmp_path, capsys):
    """Their CTX_INIT True and TRAINER.COOP.W; DemoShapes' template is "a photo of a {}.", so the learned prompts
    start as the hand-crafted ones."""
    trainer = make_trainer(data_root, tmp_path, "KgCoOp", CONFIG, opts=("TRAINER.COOP.W", "8.0",
                                                                        "TRAINER.COOP.N_CTX", "16"))
    out = capsys.readouterr().out
    assert 'Hand-crafted prompt: "a photo of a {}."' in out and 'Initial context: "a photo of a"' in out
    assert trainer.cfg.TRAINER.COOP.CTX_INIT is True and trainer.model.weight == 8.0
    assert [n for n, p in trainer.model.named_parameters() if p.requires_grad] == ["prompt_learner.ctx"]
    assert trainer.num_trainable() == 4 * 64
    model = trainer.model
    image, label = images(3, 224), torch.tensor([0, 1, 0])
    loss, logits, _ = model.loss(image, label)
    assert loss.item() == pytest.approx(F.cross_entropy(logits, label).item(), abs=1e-5)  # the distance is ~0


def test_hand_crafted_prompts_are_the_datasets_but_the_authors_own_on_dtd(tmp_path, capsys):
    dtd_root = str(tmp_path / "dtd_data")
    make_dataset_fixture(dtd_root, "DescribableTextures", with_split_json=True)
    capsys.readouterr()
    make_trainer(dtd_root, tmp_path / "dtd", "KgCoOp", CONFIG, dataset_config="configs/datasets/dtd.yaml")
    assert 'Hand-crafted prompt: "a photo of a {}, a type of texture."' in capsys.readouterr().out


@pytest.mark.numeric
def test_loss_and_gradient_equal_a_direct_full_context_computation():
    """float64: the truncated, shared-prefix text path and the 77-token prompts agree to rounding. A random context
    and another template for the hand-crafted prompts, so that both terms are far from zero."""
    clip = tiny_clip().double()
    hand = hand_crafted_features(clip, "a photo of a {}, a type of shape.")
    torch.manual_seed(3)
    model = KgCoOpModel(clip, NAMES, hand, 8.0, n_ctx=5).double()
    ctx = model.prompt_learner.ctx
    image, label = images().double(), labels()
    loss, logits, _ = model.loss(image, label)
    grad, = torch.autograd.grad(loss, ctx)

    text = reference_text_features(clip, "X X X X X", ctx)
    image_features = F.normalize(clip.encode_image(image), dim=-1)
    expected_logits = clip.logit_scale.exp() * image_features @ text.T
    distance = 1 - (text * hand).sum(-1).mean()
    expected = F.cross_entropy(expected_logits, label) + 8.0 * distance
    expected_grad, = torch.autograd.grad(expected, ctx)
    assert distance.item() > 0.05 and loss.dtype == torch.float64
    torch.testing.assert_close(logits, expected_logits, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(loss, expected, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(grad, expected_grad, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("mode", ["fp16", "amp", "bf16", "fp32"])
def test_every_precision_runs_a_step_on_the_cpu(mode):
    """amp included (the authors' amp branch fails on the loss tuple)."""
    def build(clip):
        with torch.no_grad():
            hand = hand_crafted_features(clip, "a photo of a {}.").float()
        return KgCoOpModel(clip, NAMES, hand, 8.0, ctx_init="a photo of a")

    model, loss, _, grad = step_in_precision(build, mode)
    assert torch.isfinite(loss) and loss.dtype == torch.float32 and torch.isfinite(grad).all()
    assert model.prompt_learner.ctx.dtype == (torch.float16 if mode == "fp16" else torch.float32)


def test_checkpoints_hold_ctx_only_and_the_authors_and_coops_load(data_root, tmp_path):
    opts = ("TRAINER.COOP.CTX_INIT", "False", "TRAINER.COOP.N_CTX", "4")
    trainer = make_trainer(data_root, tmp_path / "a", "KgCoOp", CONFIG, opts=opts)
    trainer.save_model(0, str(tmp_path / "a"))
    saved = torch.load(tmp_path / "a" / "prompt_learner" / "model.pth.tar-1", weights_only=False)
    assert list(saved["state_dict"]) == ["ctx"] and saved["state_dict"]["ctx"].shape == (4, 64)

    # The authors' checkpoint: ctx plus untrained bias_vectors and meta_net, and the 77-token fixed embeddings.
    theirs = {"ctx": torch.randn(4, 64), "bias_vectors": torch.randn(1, 512),
              "meta_net.linear1.weight": torch.randn(512, 512), "meta_net.linear1.bias": torch.randn(512),
              "token_prefix": torch.zeros(2, 1, 64), "token_suffix": torch.zeros(2, 72, 64)}
    # CoOp's checkpoint (the same prompt learner) loads into KgCoOp, and KgCoOp's into CoOp.
    assert_ctx_checkpoints_cross_load(trainer, data_root, tmp_path, theirs, coop_opts=("TRAINER.COOP.N_CTX", "4"))


def test_interrupted_training_resumes_to_the_uninterrupted_result(data_root, tmp_path, monkeypatch):
    opts = ("OPTIM.MAX_EPOCH", "3", "OPTIM.LR", "0.5")
    trainer = make_trainer(data_root, tmp_path / "run", "KgCoOp", CONFIG, opts=opts)
    interrupt_training(trainer, monkeypatch)  # Ctrl-C in the third epoch
    assert "model.pth.tar-2" in os.listdir(tmp_path / "run" / "prompt_learner")
    resumed = make_trainer(data_root, tmp_path / "run", "KgCoOp", CONFIG, opts=opts)
    resumed.train()
    straight = make_trainer(data_root, tmp_path / "straight", "KgCoOp", CONFIG, opts=opts)
    straight.train()
    start = KgCoOpModel(tiny_clip(), ["x"], torch.zeros(1, 64), 1.0, ctx_init="a photo of a").prompt_learner.ctx
    assert not torch.equal(straight.model.prompt_learner.ctx, start.to(straight.model.prompt_learner.ctx))
    assert torch.equal(resumed.model.prompt_learner.ctx, straight.model.prompt_learner.ctx)


def test_train_py_trains_and_eval_only_reload_reproduces_accuracy(data_root, tmp_path):
    # two epochs: the config's one warm-up epoch and one at OPTIM.LR (a run that is all warm-up is refused)
    trained = train_then_reload(data_root, tmp_path, "KgCoOp", CONFIG, epochs=2)
    assert 'Initial context: "a photo of a"' in trained and "trainable parameters: 256" in trained


def test_negative_weight_and_coops_switchless_ctx_init_are_user_errors(data_root, tmp_path):
    with pytest.raises(UserInputError, match="TRAINER.COOP.W is -1.0"):
        make_trainer(data_root, tmp_path / "w", "KgCoOp", CONFIG, opts=("TRAINER.COOP.W", "-1.0"))
    with pytest.raises(UserInputError, match="CTX_INIT is True: CoOp takes the initial words"):
        make_trainer(data_root, tmp_path / "coop", "CoOp", CONFIG)


def test_recipe_is_the_authors_scripts():
    from clipfit.app.jobs import Job

    train = Job("KgCoOp", "base2new_train", "dtd", 1, output_root="output").command()
    assert train[train.index("--config-file") + 1] == CONFIG
    opts = " ".join(train[train.index("--output-dir") + 2:])
    assert opts == "DATASET.NUM_SHOTS 16 DATASET.SUBSAMPLE_CLASSES base"  # the rest is the config file's
    from clipfit.app.run_settings import asked_settings

    run = asked_settings(Job("KgCoOp", "base2new_train", "dtd", 1, output_root="output"))  # what train.py builds
    assert [run[f"TRAINER.COOP.{key}"] for key in ("N_CTX", "CSC", "CLASS_TOKEN_POSITION", "W", "CTX_INIT")] == [
        "4", "False", "end", "8.0", "True"]
    test = Job("KgCoOp", "base2new_test", "dtd", 1, output_root="output", knobs=(("WEIGHT", "2.0"),)).command()
    assert test[test.index("--load-epoch") + 1] == "100" and "TRAINER.COOP.W 2.0" in " ".join(test)
    assert Job("KgCoOp", "few_shot", "imagenet", 1, shots=4).cfg == "vit_b16_ep100_ctxv1"
