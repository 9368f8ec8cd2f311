"""MaPLe: trained tensors, the authors' initialisation, text -> image coupling, a direct computation, checkpoints."""
import copy

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from _helpers_baselines import make_trainer, tiny_clip, vitb16, write_demo
from _vl_helpers import NAMES, grads, images, labels, reference_image_features, reference_text_features
from _vl_helpers import step_in_precision as _step_in_precision

from clipfit.errors import UserInputError
from trainers.maple import MaPLeModel

CONFIG = "configs/trainers/MaPLe/vit_b16_c2_ep5_batch4_2ctx.yaml"


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    return write_demo(tmp_path_factory.mktemp("demo"))


def test_vit_b16_trains_the_authors_tensors_3_55m_values():
    model = MaPLeModel(vitb16(), NAMES, n_ctx=2, depth=9)
    trained = {n.removeprefix("prompt_learner."): tuple(p.shape) for n, p in model.named_parameters()
               if p.requires_grad}
    expected = {"ctx": (2, 512), "proj.weight": (768, 512), "proj.bias": (768,)}
    for i in range(8):
        expected.update({f"compound_prompts_text.{i}": (2, 512), f"compound_prompt_projections.{i}.weight": (768, 512),
                         f"compound_prompt_projections.{i}.bias": (768,)})
    assert trained == expected
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == 3_555_072  # the paper's 3.55M
    assert set(model.prompt_learner.state_dict()) == set(expected)


def test_initial_values_are_the_authors_draws_for_the_same_random_state():
    clip = vitb16()
    torch.manual_seed(11)
    learner = MaPLeModel(clip, NAMES, n_ctx=2, depth=3).prompt_learner
    torch.manual_seed(11)  # their order: proj, the deep text prompts, one linear map copied for every block
    proj = nn.Linear(512, 768)
    compound = [torch.empty(2, 512).normal_(std=0.02) for _ in range(2)]
    coupling = nn.Linear(512, 768)
    assert torch.equal(learner.proj.weight, proj.weight) and torch.equal(learner.proj.bias, proj.bias)
    assert all(torch.equal(a, b) for a, b in zip(learner.compound_prompts_text, compound))
    for layer in learner.compound_prompt_projections:
        assert torch.equal(layer.weight, coupling.weight) and torch.equal(layer.bias, coupling.bias)
    embedded = clip.token_embedding.weight[[320, 1125]].detach()  # "a photo"
    assert torch.equal(learner.ctx.detach(), embedded)


def test_image_prompts_are_the_projections_of_the_text_prompts_and_pass_gradients_back():
    model = MaPLeModel(tiny_clip(), NAMES, n_ctx=2, depth=2)
    learner = model.prompt_learner
    shallow, deep = learner.image_prompts()
    torch.testing.assert_close(shallow, learner.ctx @ learner.proj.weight.T + learner.proj.bias, rtol=0, atol=0)
    layer = learner.compound_prompt_projections[0]
    torch.testing.assert_close(deep[0], learner.compound_prompts_text[0] @ layer.weight.T + layer.bias, rtol=0, atol=0)
    model.encode_image(images(2)).sum().backward()  # the image tower alone reaches the text prompts
    assert learner.ctx.grad.abs().sum() > 0 and learner.compound_prompts_text[0].grad.abs().sum() > 0


@pytest.mark.numeric
def test_logits_loss_and_gradients_equal_a_direct_full_context_computation():
    """float64, so the truncated, shared-prefix path and the full 77-token prompts agree to rounding."""
    model = MaPLeModel(tiny_clip(), NAMES, n_ctx=2, depth=2).double()
    learner = model.prompt_learner
    image, label = images().double(), labels()
    loss, logits, _ = model.loss(image, label)
    loss.backward()
    ours = grads(learner)
    learner.zero_grad()
    text = reference_text_features(model.clip, "a photo of a", learner.ctx, list(learner.compound_prompts_text))
    shallow = learner.proj(learner.ctx)
    deep = [learner.compound_prompt_projections[0](learner.compound_prompts_text[0])]
    expected_logits = model.clip.logit_scale.exp() * reference_image_features(model.clip, image, shallow, deep) @ text.T
    F.cross_entropy(expected_logits, label).backward()
    torch.testing.assert_close(logits, expected_logits, rtol=1e-10, atol=1e-10)
    assert set(ours) == set(grads(learner)) and len(ours) == 6
    for name, grad in grads(learner).items():
        torch.testing.assert_close(ours[name], grad, rtol=1e-9, atol=1e-12, msg=name)


def test_depth_outside_the_towers_is_a_user_error():
    with pytest.raises(UserInputError, match="TRAINER.MAPLE.PROMPT_DEPTH is 3: it must lie between 1 and 2"):
        MaPLeModel(tiny_clip(), NAMES, depth=3)


@pytest.mark.parametrize("mode", ["fp16", "amp", "bf16", "fp32"])
def test_every_precision_runs_a_step_on_the_cpu(mode):
    """fp32 included (the authors' code fails there: its `proj` is always half)."""
    model, loss, grads_ = _step_in_precision(lambda clip: MaPLeModel(clip, NAMES, n_ctx=2, depth=2), mode)
    assert torch.isfinite(loss) and len(grads_) == 6 and all(torch.isfinite(g).all() for g in grads_.values())
    learner = model.prompt_learner
    half = torch.float16 if mode == "fp16" else torch.float32
    assert learner.ctx.dtype == learner.proj.weight.dtype == half  # as the authors' fp16 runs have them
    coupling = learner.compound_prompt_projections[0].weight
    assert learner.compound_prompts_text[0].dtype == coupling.dtype == torch.float32


def test_checkpoint_holds_the_trained_tensors_in_the_authors_folder_and_reloads(data_root, tmp_path):
    opts = ("TRAINER.MAPLE.PROMPT_DEPTH", "2")
    trainer = make_trainer(data_root, tmp_path / "a", "MaPLe", CONFIG, opts=opts)
    with torch.no_grad():
        for p in trainer.model.prompt_learner.parameters():
            p.add_(0.01)
    trainer.save_model(0, str(tmp_path / "a"))
    checkpoint = torch.load(tmp_path / "a" / "MultiModalPromptLearner" / "model.pth.tar-1", weights_only=False)
    state = copy.deepcopy(trainer.model.prompt_learner.state_dict())
    assert list(checkpoint["state_dict"]) == list(state) == [
        "ctx", "proj.weight", "proj.bias", "compound_prompts_text.0", "compound_prompt_projections.0.weight",
        "compound_prompt_projections.0.bias"]
    fresh = make_trainer(data_root, tmp_path / "b", "MaPLe", CONFIG, opts=opts)
    fresh.load_model(str(tmp_path / "a"), epoch=1)
    assert all(torch.equal(fresh.model.prompt_learner.state_dict()[k], v) for k, v in state.items())


def test_recipe_uses_the_authors_configs_and_folders():
    from clipfit.app.jobs import Job

    test = Job("MaPLe", "base2new_test", "dtd", 1, output_root="output").command()
    assert test[test.index("--model-dir") + 1] == \
        "output/base2new/train_base/dtd/shots_16/MaPLe/vit_b16_c2_ep5_batch4_2ctx/seed1"
    assert test[test.index("--load-epoch") + 1] == "5"
    # The cross-dataset ImageNet run has its own config (depth 3, 2 epochs); an ImageNet few-shot run does not.
    transfer = Job("MaPLe", "xd_test", "dtd", 2, output_root="output").command()
    assert transfer[transfer.index("--model-dir") + 1] == \
        "output/imagenet/MaPLe/vit_b16_c2_ep5_batch4_2ctx_cross_datasets_16shots/seed2"
    assert transfer[transfer.index("--load-epoch") + 1] == "2"
    assert Job("MaPLe", "few_shot", "imagenet", 1, shots=16).cfg == "vit_b16_c2_ep5_batch4_2ctx"
