"""ProGrad: trained tensors, the authors' keys, init and templates, both loss terms against a direct computation,
the projection in the step, checkpoints (the authors' and CoOp's), resume, precisions, recipe."""
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

from clipfit.clip import tokenize
from clipfit.core.prograd import project_conflicting
from clipfit.errors import UserInputError
from clipfit.testing import make_dataset_fixture
from trainers.prograd import ProGradModel

CONFIG = "configs/trainers/ProGrad/vit_b16_ep100.yaml"


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    return write_demo(tmp_path_factory.mktemp("demo"))


def test_vit_b16_trains_16x512_context_that_ends_with_the_template_words():
    clip = vitb16()
    model = ProGradModel(clip, NAMES, torch.zeros(len(NAMES), 512), 1.0, n_ctx=16, ctx_init="a photo of a")
    trained = {n: tuple(p.shape) for n, p in model.named_parameters() if p.requires_grad}
    assert trained == {"prompt_learner.ctx": (16, 512)}
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == 8192
    assert list(model.prompt_learner.state_dict()) == ["ctx"]
    ctx = model.prompt_learner.ctx.detach()
    assert torch.equal(ctx[:12], torch.zeros(12, 512))  # zeros, then "a photo of a"
    assert torch.equal(ctx[12:], clip.token_embedding.weight[[320, 1125, 539, 320]].detach())


def test_a_phrase_with_more_tokens_than_words_keeps_its_last_tokens_after_the_context():
    """The authors' rule for "a type of pet, a photo of a": 8 words, 9 tokens ("pet" ","): the context ends with
    the first 8 token embeddings, and the last "a" stays a fixed token before the class name."""
    clip, words = tiny_clip(), "a type of pet, a photo of a"
    learner = ProGradModel(clip, NAMES, torch.zeros(len(NAMES), 64), 1.0, n_ctx=10, ctx_init=words).prompt_learner
    phrase = tokenize([words])[0, 1:10]
    embed = clip.token_embedding
    assert torch.equal(learner.ctx.detach()[2:], embed(phrase[:8]).detach()) and not learner.ctx[:2].any()
    with torch.no_grad():
        prompts = learner()
    name = tokenize([f"X X a type of pet, a photo of a {NAMES[0]}."])[0]
    eot = int(learner.eot_index[0])
    assert eot == int(name.argmax())
    torch.testing.assert_close(prompts[0, 11 : eot + 1], embed(name[11 : eot + 1]), rtol=0, atol=0)
    assert torch.equal(name[11], phrase[8])  # the phrase's last "a"


def test_the_authors_config_keys_and_templates(tmp_path, data_root, capsys):
    trainer = make_trainer(data_root, tmp_path / "demo", "ProGrad", CONFIG, opts=("LOSS.LAMBDA", "0.8"))
    out = capsys.readouterr().out
    assert 'Zero-shot CLIP prompt: "a photo of a {}."' in out and f'Initial context: "{"X " * 12}a photo of a"' in out
    assert (trainer.cfg.LOSS.NAME, trainer.cfg.LOSS.T, trainer.cfg.LOSS.LAMBDA) == ("prograd", 1.0, 0.8)
    dtd_root = str(tmp_path / "dtd_data")
    make_dataset_fixture(dtd_root, "DescribableTextures", with_split_json=True)
    make_trainer(dtd_root, tmp_path / "dtd", "ProGrad", CONFIG, dataset_config="configs/datasets/dtd.yaml")
    out = capsys.readouterr().out
    assert 'Zero-shot CLIP prompt: "a texture of {}."' in out and f'Initial context: "{"X " * 13}a texture of"' in out


@pytest.mark.numeric
def test_both_loss_terms_and_their_gradients_equal_a_direct_full_context_computation():
    """float64; a random context, zero-shot CLIP on another template, T = 2 so that the temperature shows."""
    clip = tiny_clip().double()
    zero_shot_text = hand_crafted_features(clip, "a photo of a {}, a type of shape.")
    torch.manual_seed(3)
    model = ProGradModel(clip, NAMES, zero_shot_text, 2.0, n_ctx=5).double()
    ctx = model.prompt_learner.ctx
    image, label = images().double(), labels()
    xe, logits, extras = model.loss(image, label)
    kl = extras["kl_loss"]

    text = reference_text_features(clip, "X X X X X", ctx)
    image_features = F.normalize(clip.encode_image(image), dim=-1)
    scale = clip.logit_scale.exp()
    expected_logits = scale * image_features @ text.T
    teacher = F.softmax(scale * image_features @ zero_shot_text.T / 2.0, dim=-1)
    expected_kl = (-(teacher * F.log_softmax(expected_logits / 2.0, dim=-1)).sum(-1) * 4.0).mean()
    expected_xe = F.cross_entropy(expected_logits, label)
    torch.testing.assert_close(logits, expected_logits, rtol=1e-10, atol=1e-10)
    for ours, expected in ((xe, expected_xe), (kl, expected_kl)):
        torch.testing.assert_close(ours, expected, rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(torch.autograd.grad(ours, ctx, retain_graph=True)[0],
                                   torch.autograd.grad(expected, ctx, retain_graph=True)[0], rtol=1e-9, atol=1e-12)


def _step(trainer, batch):
    trainer.set_model_mode("train")
    trainer.batch_idx, trainer.num_batches = 0, 2
    return trainer.forward_backward(batch)


@pytest.mark.parametrize("direction", [(-1.0, 1.0), (1.0, 1.0)], ids=["conflicting", "aligned"])
def test_the_step_projects_the_cross_entropy_gradient_only_where_it_conflicts(data_root, tmp_path, monkeypatch,
                                                                            direction):
    """Losses with known gradients (cross-entropy: e_0 on every context value, distillation: a direction of
    cosine -1/sqrt(2) or +1/sqrt(2) with it): conflicting, the step takes e_0 minus LAMBDA times its component."""
    trainer = make_trainer(data_root, tmp_path, "ProGrad", CONFIG, opts=("LOSS.LAMBDA", "0.5", "OPTIM.WARMUP_EPOCH",
                                                                          "0", "OPTIM.WEIGHT_DECAY", "0.0"))
    ctx = trainer.model.prompt_learner.ctx
    a = torch.zeros_like(ctx)
    a[..., 0] = 1.0
    b = torch.zeros_like(ctx)
    b[..., 0], b[..., 1] = direction

    def loss(image, label):
        return (ctx * a).sum(), torch.zeros(len(label), 2), {"kl_loss": (ctx * b).sum()}

    monkeypatch.setattr(trainer.model, "loss", loss)
    before = ctx.detach().clone()
    summary = _step(trainer, {"img": torch.zeros(2, 3, 224, 224), "label": torch.tensor([0, 1])})
    expected = project_conflicting(a, b, 0.5)
    if direction[0] < 0:  # a - 0.5 (a . u) u with u = b / |b|: a + b / 4, rows (0.75, 0.25, 0, ...)
        torch.testing.assert_close(expected, a + b / 4, rtol=0, atol=1e-6)
    else:
        assert expected is a
    assert torch.equal(ctx.grad, expected)
    torch.testing.assert_close(ctx.detach(), before - trainer.cfg.OPTIM.LR * expected, rtol=0, atol=1e-7)
    assert set(summary) == {"xe_loss", "kl_loss", "acc"}


def test_the_real_step_takes_the_projection_of_the_cross_entropy_gradient(data_root, tmp_path):
    trainer = make_trainer(data_root, tmp_path, "ProGrad", CONFIG, opts=("TRAINER.COOP.CTX_INIT", "False"))
    ctx = trainer.model.prompt_learner.ctx
    image, label = images(4, 224), torch.tensor([0, 1, 1, 0])
    xe, _, extras = trainer.model.loss(image, label)
    g_xe, = torch.autograd.grad(xe, ctx, retain_graph=True)
    g_kl, = torch.autograd.grad(extras["kl_loss"], ctx)
    summary = _step(trainer, {"img": image, "label": label})
    torch.testing.assert_close(ctx.grad, project_conflicting(g_xe, g_kl, 1.0), rtol=1e-5, atol=1e-9)
    assert summary["xe_loss"] == pytest.approx(xe.item(), rel=1e-6)


@pytest.mark.parametrize("mode", ["fp16", "amp", "bf16", "fp32"])
def test_every_precision_runs_a_step_on_the_cpu(mode):
    def build(clip):
        with torch.no_grad():
            zero_shot_text = hand_crafted_features(clip, "a photo of a {}.").float()
        return ProGradModel(clip, NAMES, zero_shot_text, 1.0, n_ctx=8, ctx_init="a photo of a")

    model, xe, extras, grad = step_in_precision(build, mode)
    assert torch.isfinite(xe) and torch.isfinite(extras["kl_loss"]) and torch.isfinite(grad).all()
    assert xe.dtype == extras["kl_loss"].dtype == torch.float32
    assert model.prompt_learner.ctx.dtype == (torch.float16 if mode == "fp16" else torch.float32)


def test_checkpoints_hold_ctx_only_and_the_authors_and_coops_load(data_root, tmp_path):
    trainer = make_trainer(data_root, tmp_path / "a", "ProGrad", CONFIG)
    trainer.save_model(0, str(tmp_path / "a"))
    saved = torch.load(tmp_path / "a" / "prompt_learner" / "model.pth.tar-1", weights_only=False)
    assert list(saved["state_dict"]) == ["ctx"] and saved["state_dict"]["ctx"].shape == (16, 64)
    theirs = {"ctx": torch.randn(16, 64), "token_prefix": torch.zeros(2, 1, 64), "token_suffix": torch.zeros(2, 60, 64)}
    assert_ctx_checkpoints_cross_load(trainer, data_root, tmp_path, theirs)


def test_interrupted_training_resumes_to_the_uninterrupted_result(data_root, tmp_path, monkeypatch):
    opts = ("OPTIM.MAX_EPOCH", "3", "OPTIM.LR", "0.5")
    trainer = make_trainer(data_root, tmp_path / "run", "ProGrad", CONFIG, opts=opts)
    interrupt_training(trainer, monkeypatch)  # Ctrl-C in the third epoch
    assert "model.pth.tar-2" in os.listdir(tmp_path / "run" / "prompt_learner")
    resumed = make_trainer(data_root, tmp_path / "run", "ProGrad", CONFIG, opts=opts)
    resumed.train()
    straight = make_trainer(data_root, tmp_path / "straight", "ProGrad", CONFIG, opts=opts)
    start = straight.model.prompt_learner.ctx.detach().clone()
    straight.train()
    assert not torch.equal(straight.model.prompt_learner.ctx, start)
    assert torch.equal(resumed.model.prompt_learner.ctx, straight.model.prompt_learner.ctx)


def test_train_py_trains_and_eval_only_reload_reproduces_accuracy(data_root, tmp_path):
    # two epochs: the config's one warm-up epoch and one at OPTIM.LR (a run that is all warm-up is refused)
    trained = train_then_reload(data_root, tmp_path, "ProGrad", CONFIG, epochs=2)
    assert "xe_loss" in trained and "kl_loss" in trained and "trainable parameters: 1,024" in trained


def test_bad_loss_settings_are_user_errors(data_root, tmp_path):
    for opts, message in ((("LOSS.NAME", "kd"), "LOSS.NAME is 'kd': ProGrad has the one loss 'prograd'"),
                          (("LOSS.T", "0.0"), "LOSS.T is 0.0"),
                          (("TRAINER.COOP.N_CTX", "3"), "N_CTX is 3, fewer than the 4 words")):
        with pytest.raises(UserInputError, match=message):
            make_trainer(data_root, tmp_path / "bad", "ProGrad", CONFIG, opts=opts)


def test_recipe_runs_the_authors_settings_on_vit_b16():
    from clipfit.app.jobs import Job

    assert Job("ProGrad", "base2new_train", "dtd", 1).cfg == "vit_b16_ep100"
    assert Job("ProGrad", "base2new_train", "imagenet", 1).cfg == "vit_b16_ep50"
    assert [Job("ProGrad", "few_shot", "dtd", 1, shots=k).cfg for k in (1, 2, 4, 8, 16)] == [
        "vit_b16_ep50", "vit_b16_ep100", "vit_b16_ep100", "vit_b16", "vit_b16"]
    # LOSS.LAMBDA only where the authors soften the projection; elsewhere the config's 1.0 holds
    lambdas = {(d, k): Job("ProGrad", "few_shot", d, 1, shots=k).opts()[:-2] for d in ("dtd", "caltech101")
               for k in (4, 8)}
    assert lambdas == {("dtd", 4): [], ("dtd", 8): ["LOSS.LAMBDA", "0.8"], ("caltech101", 4): [], ("caltech101", 8): []}
    few = Job("ProGrad", "few_shot", "dtd", 1, shots=16, output_root="output")
    assert few.output_dir == "output/dtd/ProGrad/vit_b16_16shots/nctx16_cscFalse_ctpend/seed1"
    assert Job("ProGrad", "base2new_test", "dtd", 1, knobs=(("LAMBDA", "0.9"), ("NCTX", "8"))).opts()[:4] == [
        "TRAINER.COOP.N_CTX", "8", "LOSS.LAMBDA", "0.9"]
