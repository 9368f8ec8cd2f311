"""PromptSRC: the frozen teachers, each loss term against a direct computation, GPA (also across a resume),
precisions, checkpoints and the recipe."""
import math
import os

import pytest
import torch
import torch.nn.functional as F
from _helpers_baselines import make_trainer, tiny_clip, vitb16, write_demo
from _vl_helpers import NAMES, grads, images, labels, reference_image_features, reference_text_features
from _vl_helpers import step_in_precision as _step_in_precision

from clipfit.clip import IMAGENET_TEMPLATES, tokenize
from clipfit.errors import UserInputError
from trainers.gpa import gaussian_weights
from trainers.promptsrc import PromptSRC, PromptSRCModel, frozen_text_teacher

CONFIG = "configs/trainers/PromptSRC/tiny_demo.yaml"
LEARNER_KEYS = ["ctx", "vision_ctx", "deep_ctx.0", "vision_deep_ctx.0"]


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    return write_demo(tmp_path_factory.mktemp("demo"))


@pytest.fixture(autouse=True)
def few_teacher_templates(monkeypatch):
    """3 of the 60 templates keep the trainers quick; the teacher's computation is tested on its own."""
    monkeypatch.setattr(PromptSRC, "TEACHER_TEMPLATES", IMAGENET_TEMPLATES[:3])


def _model(clip, **kwargs):
    settings = {"n_ctx_text": 2, "n_ctx_vision": 2, "depth_text": 2, "depth_vision": 2, **kwargs}
    teacher = frozen_text_teacher(clip, NAMES, PromptSRC.TEACHER_TEMPLATES)
    return PromptSRCModel(clip, NAMES, teacher, gaussian_weights(3, 2, 1), **settings)


def test_vit_b16_trains_46080_prompt_values_and_checkpoints_them_with_the_gpa_aggregate():
    clip = vitb16()
    model = PromptSRCModel(clip, NAMES, torch.zeros(len(NAMES), 512), gaussian_weights(20, 15, 1))
    learner = model.prompt_learner
    trained = {n: p.numel() for n, p in learner.named_parameters() if p.requires_grad}
    assert sum(trained.values()) == 4 * 512 + 8 * 4 * 512 + 4 * 768 + 8 * 4 * 768 == 46_080
    assert len(trained) == 18 and not any(p.requires_grad for p in model.clip.parameters())
    state = learner.state_dict()
    assert list(state) == [*trained, *(f"gpa.sum_{n.replace('.', '__')}" for n in trained), "gpa.epochs"]


@pytest.mark.numeric
def test_text_teacher_is_the_normalised_template_mean_of_full_context_features():
    clip = tiny_clip().double()
    templates = IMAGENET_TEMPLATES[:4]
    teacher = frozen_text_teacher(clip, NAMES, templates)
    expected = torch.stack([
        clip.encode_text(tokenize([t.format(n.replace("_", " ")) for n in NAMES])) for t in templates
    ]).mean(dim=0)
    # By default all 60 of CoOp's ImageNet templates, as the authors'.
    assert frozen_text_teacher.__defaults__ == (IMAGENET_TEMPLATES,) and len(IMAGENET_TEMPLATES) == 60
    torch.testing.assert_close(teacher, F.normalize(expected, dim=-1), rtol=1e-12, atol=1e-12)


@pytest.mark.numeric
def test_each_loss_term_and_the_gradients_equal_a_direct_computation():
    """float64; the terms are the authors' formulas written out on the reference towers."""
    clip = tiny_clip().double()
    model = _model(clip, text_weight=25.0, image_weight=10.0).double()
    learner = model.prompt_learner
    image, label = images().double(), labels()
    loss, logits, terms = model.loss(image, label)
    loss.backward()
    ours = grads(learner)
    learner.zero_grad()

    scale = clip.logit_scale.exp()
    text = reference_text_features(clip, "a photo of a", learner.ctx, list(learner.deep_ctx))
    features = reference_image_features(clip, image, *learner.image_prompts())
    zs_features = reference_image_features(clip, image)
    teacher = model.teacher_text_features
    expected_logits = scale * features @ text.T
    zs_logits = scale * zs_features @ teacher.T
    p, q = expected_logits.log_softmax(1), zs_logits.log_softmax(1)
    expected = {
        "ce": F.cross_entropy(expected_logits, label),
        "scl_text": 25.0 * (text - teacher).abs().mean(),
        "scl_image": 10.0 * (features - zs_features).abs().mean(),
        "scl_logits": (q.exp() * (q - p)).sum() / expected_logits.numel(),
    }
    torch.testing.assert_close(logits, expected_logits, rtol=1e-10, atol=1e-10)
    for name, value in expected.items():
        torch.testing.assert_close(terms[name], value.detach(), rtol=1e-10, atol=1e-12, msg=name)
    total = expected["ce"] + expected["scl_logits"] + expected["scl_text"] + expected["scl_image"]
    torch.testing.assert_close(loss, total, rtol=1e-10, atol=1e-12)
    total.backward()
    for name, grad in grads(learner).items():
        torch.testing.assert_close(ours[name], grad, rtol=1e-9, atol=1e-12, msg=name)


def test_gpa_weights_are_the_normalised_gaussian_density_over_the_epochs():
    weights = gaussian_weights(20, 15, 1)
    density = [math.exp(-0.5 * (e - 15) ** 2) for e in range(1, 21)]
    assert weights == pytest.approx([d / sum(density) for d in density], rel=1e-12)
    assert sum(weights) == pytest.approx(1.0) and max(range(20), key=weights.__getitem__) == 14  # epoch 15


def _train(data_root, out, epochs=3, crash_at=None, monkeypatch=None):
    trainer = make_trainer(data_root, out, "PromptSRC", CONFIG, opts=("OPTIM.MAX_EPOCH", str(epochs)))
    snapshots = []
    original_after, original_step = trainer.after_epoch, trainer.forward_backward

    def after_epoch():
        snapshots.append({k: v.detach().clone() for k, v in trainer.model.prompt_learner.named_parameters()})
        original_after()

    def forward_backward(batch):
        if trainer.epoch == crash_at:
            raise KeyboardInterrupt
        return original_step(batch)

    trainer.after_epoch, trainer.forward_backward = after_epoch, forward_backward
    if crash_at is None:
        trainer.train()
    else:
        with pytest.raises(KeyboardInterrupt):
            trainer.train()
    return trainer, snapshots


def test_prompts_end_as_the_gpa_of_the_epochs_and_a_resumed_run_ends_the_same(data_root, tmp_path):
    straight, snapshots = _train(data_root, tmp_path / "straight")
    weights = gaussian_weights(3, 20.0, 5.0)  # the tiny_demo config's GPA over 3 epochs
    learner = straight.model.prompt_learner
    for name, param in learner.named_parameters():
        expected = sum(w * s[name] for w, s in zip(weights, snapshots))
        torch.testing.assert_close(param.detach(), expected, rtol=1e-6, atol=1e-7, msg=name)
    assert int(learner.gpa.epochs) == 3

    _train(data_root, tmp_path / "resumed", crash_at=2)  # interrupted in epoch 3: the checkpoint of epoch 2 stays
    assert sorted(os.listdir(tmp_path / "resumed" / "VLPromptLearner")) == ["checkpoint", "model.pth.tar-2"]
    resumed, _ = _train(data_root, tmp_path / "resumed")
    a, b = straight.model.prompt_learner.state_dict(), resumed.model.prompt_learner.state_dict()
    assert list(a) == list(b) and all(torch.equal(a[k], b[k]) for k in a)

    checkpoint = torch.load(tmp_path / "resumed" / "VLPromptLearner" / "model.pth.tar-3", weights_only=False)
    assert list(checkpoint["state_dict"]) == list(a)
    fresh = make_trainer(data_root, tmp_path / "eval", "PromptSRC", CONFIG, opts=("OPTIM.MAX_EPOCH", "3"))
    fresh.load_model(str(tmp_path / "resumed"), epoch=3)
    image = images(2, size=64)
    fresh.set_model_mode("eval")
    resumed.set_model_mode("eval")
    torch.testing.assert_close(fresh.model_inference(image), resumed.model_inference(image), rtol=0, atol=0)


@pytest.mark.parametrize("mode", ["fp16", "amp", "bf16", "fp32"])
def test_every_precision_runs_a_step_on_the_cpu_with_every_loss_term(mode):
    model, loss, grads_ = _step_in_precision(_model, mode)
    assert torch.isfinite(loss) and list(grads_) == LEARNER_KEYS
    assert all(torch.isfinite(g).all() and g.abs().sum() > 0 for g in grads_.values())
    assert model.teacher_text_features.dtype == torch.float32  # encoded once from the fp32 weights


@pytest.mark.parametrize("opts, message", [
    (("TRAINER.PROMPTSRC.GPA_STD", "0.0"), "GPA_STD is 0.0"),
    (("TRAINER.PROMPTSRC.TEXT_LOSS_WEIGHT", "-1.0"), "TEXT_LOSS_WEIGHT is -1.0"),
])
def test_bad_settings_are_user_errors(data_root, tmp_path, opts, message):
    with pytest.raises(UserInputError, match=message):
        make_trainer(data_root, tmp_path, "PromptSRC", CONFIG, opts=opts)


def test_recipe_uses_the_authors_configs_per_setting_and_dataset():
    from clipfit.app.jobs import Job

    assert Job("PromptSRC", "base2new_train", "dtd", 1).cfg == "vit_b16_c2_ep20_batch4_4+4ctx"
    assert Job("PromptSRC", "xd_train", "imagenet", 1).cfg == "vit_b16_c2_ep20_batch4_4+4ctx_cross_datasets"
    few = Job("PromptSRC", "few_shot", "dtd", 1, shots=4)
    assert few.cfg == "vit_b16_c2_ep50_batch4_4+4ctx_few_shot"
    assert few.opts()[:4] == ["TRAINER.PROMPTSRC.GPA_MEAN", "45.0", "TRAINER.PROMPTSRC.GPA_STD", "5.0"]
    assert Job("PromptSRC", "few_shot", "imagenet", 1, shots=4).opts() == ["DATASET.NUM_SHOTS", "4"]
    test = Job("PromptSRC", "base2new_test", "dtd", 1).command()
    assert test[test.index("--load-epoch") + 1] == "20"
