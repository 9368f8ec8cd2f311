"""IVLP: trained tensors, prompt initialisation, the prompted towers against a direct computation, checkpoints."""
import pytest
import torch
import torch.nn.functional as F
from _helpers_baselines import make_trainer, tiny_clip, vitb16, write_demo
from _vl_helpers import NAMES, grads, images, labels, reference_image_features, reference_text_features
from _vl_helpers import step_in_precision as _step_in_precision

from clipfit.errors import UserInputError
from trainers.ivlp import IVLPModel

CONFIG = "configs/trainers/IVLP/vit_b16_c2_ep5_batch4_2+2ctx.yaml"


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    return write_demo(tmp_path_factory.mktemp("demo"))


@pytest.mark.parametrize("n_ctx, depth, total", [(2, 12, 2 * 512 + 11 * 2 * 512 + 2 * 768 + 11 * 2 * 768),
                                                 (4, 9, 4 * 512 + 8 * 4 * 512 + 4 * 768 + 8 * 4 * 768)])
def test_vit_b16_trains_text_and_image_prompts_of_every_prompted_block(n_ctx, depth, total):
    model = IVLPModel(vitb16(), NAMES, n_ctx, n_ctx, "a photo of a", depth, depth)
    trained = {n: tuple(p.shape) for n, p in model.named_parameters() if p.requires_grad}
    expected = {"prompt_learner.ctx": (n_ctx, 512), "prompt_learner.vision_ctx": (n_ctx, 768)}
    expected.update({f"prompt_learner.deep_ctx.{i}": (n_ctx, 512) for i in range(depth - 1)})
    expected.update({f"prompt_learner.vision_deep_ctx.{i}": (n_ctx, 768) for i in range(depth - 1)})
    assert trained == expected
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == total  # 30,720 and 46,080
    assert set(model.prompt_learner.state_dict()) == {n.removeprefix("prompt_learner.") for n in expected}


def test_context_starts_from_the_first_tokens_of_ctx_init_and_prompts_start_random_in_the_authors_order():
    clip = tiny_clip()
    torch.manual_seed(3)
    model = IVLPModel(clip, NAMES, 2, 3, "a photo of a", 2, 2)
    learner = model.prompt_learner
    tokens = model.text_encoder.embed(torch.tensor([[49406, 320, 1125]]))[0, 1:]  # [SOS] a photo
    assert torch.equal(learner.ctx.detach(), tokens.detach())
    # "of a" stays fixed and, shared by every class, runs in the prefix: [SOS] ctx ctx of a.
    assert learner.prefix_length == 5
    torch.manual_seed(3)  # the authors' CLIP draws the image prompts first, then the deep text prompts
    draws = [torch.empty(3, 64).normal_(std=0.02) for _ in range(2)] + [torch.empty(2, 64).normal_(std=0.02)]
    assert torch.equal(learner.vision_ctx.detach(), draws[0])
    assert torch.equal(learner.vision_deep_ctx[0].detach(), draws[1])
    assert torch.equal(learner.deep_ctx[0].detach(), draws[2])


@pytest.mark.numeric
@pytest.mark.parametrize("depth_vision", [2, 0])
def test_logits_loss_and_gradients_equal_a_direct_full_context_computation(depth_vision):
    """float64, so the truncated, shared-prefix path and the full 77-token prompts agree to rounding."""
    model = IVLPModel(tiny_clip(), NAMES, 2, 2, "a photo of a", 2, depth_vision).double()
    learner = model.prompt_learner
    image, label = images().double(), labels()
    loss, logits, _ = model.loss(image, label)
    loss.backward()
    ours = grads(learner)
    learner.zero_grad()
    text = reference_text_features(model.clip, "a photo of a", learner.ctx, list(learner.deep_ctx))
    shallow, deep = learner.image_prompts()
    expected_logits = model.clip.logit_scale.exp() * reference_image_features(model.clip, image, shallow, deep) @ text.T
    F.cross_entropy(expected_logits, label).backward()
    torch.testing.assert_close(logits, expected_logits, rtol=1e-10, atol=1e-10)
    assert set(ours) == set(grads(learner))
    for name, grad in grads(learner).items():
        torch.testing.assert_close(ours[name], grad, rtol=1e-9, atol=1e-12, msg=name)
    if depth_vision == 0:  # the image tower is CLIP's own
        assert learner.vision_ctx is None and len(learner.vision_deep_ctx) == 0
        torch.testing.assert_close(model.encode_image(image), model.clip.encode_image(image), rtol=0, atol=0)


@pytest.mark.parametrize("kwargs, message", [
    ({"depth_text": 3}, "PROMPT_DEPTH_TEXT is 3: it must lie between 1 and 2"),
    ({"depth_text": 0}, "PROMPT_DEPTH_TEXT is 0"),
    ({"depth_vision": 3}, "PROMPT_DEPTH_VISION is 3: it must lie between 0 and 2"),
    ({"n_ctx_vision": 0}, "N_CTX_VISION is 0 with PROMPT_DEPTH_VISION 2"),
    ({"n_ctx_text": 3, "ctx_init": "a photo"}, 'CTX_INIT "a photo" has 2 tokens, fewer than the 3'),
])
def test_bad_prompt_settings_are_user_errors_naming_the_key(kwargs, message):
    settings = {"depth_text": 2, "depth_vision": 2, **kwargs}
    with pytest.raises(UserInputError, match=message):
        IVLPModel(tiny_clip(), NAMES, **settings)


def test_rn_backbone_is_refused_with_what_to_use(data_root, tmp_path):
    with pytest.raises(UserInputError, match="need a ViT backbone"):
        make_trainer(data_root, tmp_path, "IVLP", CONFIG, opts=("MODEL.BACKBONE.NAME", "tiny-rn"))


@pytest.mark.parametrize("mode", ["fp16", "amp", "bf16", "fp32"])
def test_every_precision_runs_a_step_on_the_cpu_with_the_authors_dtypes(mode):
    model, loss, grads_ = _step_in_precision(lambda clip: IVLPModel(clip, NAMES, 2, 2, "a photo of a", 2, 2), mode)
    assert torch.isfinite(loss) and set(grads_) == {"ctx", "vision_ctx", "deep_ctx.0", "vision_deep_ctx.0"}
    assert all(torch.isfinite(g).all() for g in grads_.values())
    learner = model.prompt_learner
    # fp16: the text context in the model's half precision, the other prompts fp32 (cast where they go in).
    assert learner.ctx.dtype == (torch.float16 if mode == "fp16" else torch.float32)
    assert learner.vision_ctx.dtype == learner.deep_ctx[0].dtype == torch.float32


def test_train_checkpoint_holds_the_prompts_and_eval_only_reload_reproduces_logits(data_root, tmp_path):
    # one epoch without the config's warm-up epoch (a run that is all warm-up is refused)
    opts = ("TRAINER.IVLP.PROMPT_DEPTH_TEXT", "2", "TRAINER.IVLP.PROMPT_DEPTH_VISION", "2", "OPTIM.MAX_EPOCH", "1",
            "OPTIM.WARMUP_EPOCH", "0")
    trainer = make_trainer(data_root, tmp_path / "a", "IVLP", CONFIG, opts=opts)
    trainer.train()
    checkpoint = torch.load(tmp_path / "a" / "VLPromptLearner" / "model.pth.tar-1", weights_only=False)
    assert list(checkpoint["state_dict"]) == ["ctx", "vision_ctx", "deep_ctx.0", "vision_deep_ctx.0"]
    fresh = make_trainer(data_root, tmp_path / "b", "IVLP", CONFIG, opts=opts)
    image = images(2)
    fresh.set_model_mode("eval")
    before = fresh.model_inference(image)
    fresh.load_model(str(tmp_path / "a"), epoch=1)
    trainer.set_model_mode("eval")
    expected = trainer.model_inference(image)
    assert not torch.equal(before, expected)
    torch.testing.assert_close(fresh.model_inference(image), expected, rtol=0, atol=0)


def test_recipe_is_the_config_of_maples_repository_in_every_setting():
    from clipfit.app.jobs import Job

    for protocol, dataset in [("base2new_train", "dtd"), ("few_shot", "dtd"), ("xd_train", "imagenet")]:
        assert Job("IVLP", protocol, dataset, 1).cfg == "vit_b16_c2_ep5_batch4_2+2ctx"
    assert Job("IVLP", "base2new_train", "dtd", 1, output_root="o").output_dir == \
        "o/base2new/train_base/dtd/shots_16/IVLP/vit_b16_c2_ep5_batch4_2+2ctx/seed1"
