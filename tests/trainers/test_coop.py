"""CoOp: learned parameters, token order of the three class-token positions, CTX_INIT, checkpoints."""
import pytest
import torch
import torch.nn as nn
from _helpers_baselines import make_trainer, tiny_clip, train_then_reload, vitb16, write_demo

from clipfit.clip import TextEncoder, compute_text_features, tokenize_prompts
from clipfit.clip.text import get_tokenizer
from clipfit.errors import UserInputError
from trainers.context_prompts import token_order
from trainers.coop import CoOpModel

CONFIG = "configs/trainers/CoOp/vit_b16_ep50.yaml"
NAMES = ["red_circle", "blue", "brown checkerboard pattern", "a_b_c_d"]


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    return write_demo(tmp_path_factory.mktemp("demo"))


def test_vit_b16_trains_16x512_context_or_one_per_class_with_csc():
    clip = vitb16()
    model = CoOpModel(clip, NAMES)
    trained = {n: p for n, p in model.named_parameters() if p.requires_grad}
    assert list(trained) == ["prompt_learner.ctx"] and trained["prompt_learner.ctx"].shape == (16, 512)
    assert sum(p.numel() for p in trained.values()) == 16 * 512
    assert list(model.prompt_learner.state_dict()) == ["ctx"]

    csc = CoOpModel(clip, NAMES, csc=True)
    assert csc.prompt_learner.ctx.shape == (len(NAMES), 16, 512)
    assert sum(p.numel() for p in csc.parameters() if p.requires_grad) == len(NAMES) * 16 * 512
    assert float(csc.prompt_learner.ctx.detach().std()) == pytest.approx(0.02, rel=0.05)
    # The text context is cut to the longest prompt: SOS + 16 ctx + name + '.' + EOS.
    longest = max(len(get_tokenizer().encode(n.replace("_", " "))) for n in NAMES)
    assert csc.prompt_learner.length == 1 + 16 + longest + 2


def _expected_prompt(model, i, position, n_ctx):
    """The embedded prompt of class i from its parts, in CoOp's order (an independent construction)."""
    tokenizer = get_tokenizer()
    embed = model.text_encoder.token_embedding
    name = torch.tensor(tokenizer.encode(NAMES[i].replace("_", " ")))
    sot_id, eot_id = tokenizer.encoder["<start_of_text>"], tokenizer.encoder["<end_of_text>"]
    period = torch.tensor(tokenizer.encode("."))
    ctx = model.prompt_learner.ctx.detach()
    parts = {
        "end": [embed(torch.tensor([sot_id])), ctx, embed(name), embed(period)],
        "middle": [embed(torch.tensor([sot_id])), ctx[: n_ctx // 2], embed(name), ctx[n_ctx // 2 :], embed(period)],
        "front": [embed(torch.tensor([sot_id])), embed(name), ctx, embed(period)],
    }[position]
    return torch.cat([*parts, embed(torch.tensor([eot_id]))]).detach()


@pytest.mark.parametrize("position", ["end", "middle", "front"])
def test_class_token_position_places_ctx_name_period_and_eot_as_coop(position):
    n_ctx = 5  # odd: 'middle' puts 2 vectors before the name, 3 after
    model = CoOpModel(tiny_clip(), NAMES, n_ctx=n_ctx, class_token_position=position)
    with torch.no_grad():
        prompts = model.prompt_learner()
    for i, name in enumerate(NAMES):
        expected = _expected_prompt(model, i, position, n_ctx)
        eot = int(model.prompt_learner.eot_index[i])
        assert eot == len(expected) - 1  # EOT position does not depend on the position option
        assert torch.equal(prompts[i, : eot + 1], expected), (position, name)
    # The class-token position changes the features (and only through the order of the same vectors).
    end = CoOpModel(tiny_clip(), NAMES, n_ctx=n_ctx)
    if position != "end":
        with torch.no_grad():
            assert not torch.allclose(model.class_text_features(), end.class_text_features())


@pytest.mark.numeric
def test_shared_context_prefix_runs_once_with_the_full_prompts_features_and_gradient():
    # float64: the two paths are equal in exact arithmetic, so a 1e-10 tolerance holds on any CPU.
    model = CoOpModel(tiny_clip(), NAMES, n_ctx=6).double()
    learner = model.prompt_learner

    def features_and_grad():
        learner.ctx.grad = None
        features = model.class_text_features()
        (features * torch.linspace(-1, 1, features.shape[-1])).sum().backward()
        return features.detach(), learner.ctx.grad.clone()

    shared = features_and_grad()
    model.text_encoder.share_prefix = False
    full = features_and_grad()
    with torch.no_grad():  # the full path: Dassl's embedded prompts [SOS][ctx][name][.][EOS]
        direct = torch.nn.functional.normalize(
            model.text_encoder.forward_embeddings(learner(), learner.eot_index), dim=-1
        )
    torch.testing.assert_close(full[0], direct, atol=0, rtol=0)
    assert shared[0].dtype == torch.float64
    torch.testing.assert_close(shared[0], full[0], atol=1e-10, rtol=1e-10)
    torch.testing.assert_close(shared[1], full[1], atol=1e-10, rtol=1e-10)
    assert full[1].abs().sum() > 0


@pytest.mark.numeric
def test_vit_image_features_run_the_last_block_for_the_class_token_and_rn_towers_as_they_are():
    """float64: CoOp's frozen image features are CLIP's (to rounding: the pooled path's kernels differ)."""
    from clipfit.clip import PromptedImageEncoder, load_clip

    vit = CoOpModel(tiny_clip(), NAMES, n_ctx=4).double()
    image = torch.randn(2, 3, 224, 224, dtype=torch.float64)
    assert vit.image_features.__func__ is PromptedImageEncoder.class_token_features
    assert vit.image_features.__self__.visual is vit.clip.visual
    with torch.no_grad():
        torch.testing.assert_close(vit.encode_image(image), vit.clip.encode_image(image), rtol=1e-12, atol=1e-12)
    rn = CoOpModel(load_clip("tiny-rn"), NAMES, n_ctx=4)
    assert rn.image_features is rn.clip.visual
    with torch.no_grad():
        assert torch.equal(rn.encode_image(image.float()), rn.clip.encode_image(image.float()))


def test_token_order_caps_a_name_longer_than_the_prompt():
    order = token_order([5], [9], n_ctx=2, length=6, position="front")
    # name capped to the 2 positions between the context and the EOT; the EOT stays at 5
    assert order.tolist() == [[0, 3, 4, 1, 2, 5]]


def test_ctx_init_starts_exactly_from_the_zero_shot_prompt():
    clip = tiny_clip()
    model = CoOpModel(clip, NAMES, n_ctx=16, ctx_init="a_photo_of_a", csc=True)  # CSC ignored with CTX_INIT
    assert model.prompt_learner.ctx.shape == (4, 64)
    texts = [f"a photo of a {n.replace('_', ' ')}." for n in NAMES]
    with torch.no_grad():
        expected = compute_text_features(TextEncoder(clip), tokenize_prompts(texts))
        assert torch.equal(model.class_text_features(), expected)


def test_bad_class_token_position_is_a_user_error(data_root, tmp_path):
    with pytest.raises(UserInputError, match="CLASS_TOKEN_POSITION"):
        make_trainer(data_root, tmp_path, "CoOp", CONFIG, opts=("TRAINER.COOP.CLASS_TOKEN_POSITION", "start"))


def test_checkpoints_hold_ctx_only_and_original_coop_layout_loads(data_root, tmp_path):
    trainer = make_trainer(data_root, tmp_path, "CoOp", CONFIG, opts=("TRAINER.COOP.CLASS_TOKEN_POSITION", "middle"))
    learner = trainer.model.prompt_learner
    assert trainer.get_model_names() == ["prompt_learner"] and trainer._models["prompt_learner"] is learner
    trainer.save_model(0, str(tmp_path / "ours"))
    saved = torch.load(tmp_path / "ours" / "prompt_learner" / "model.pth.tar-1", weights_only=False)
    assert list(saved["state_dict"]) == ["ctx"]

    # A checkpoint as the original CoOp writes it: ctx plus the fixed token embeddings (77 positions).
    ctx = torch.randn_like(learner.ctx)
    original = {"ctx": ctx.half(), "token_prefix": torch.zeros(4, 1, 64).half(),
                "token_suffix": torch.zeros(4, 60, 64).half()}
    folder = tmp_path / "original" / "prompt_learner"
    folder.mkdir(parents=True)
    torch.save({"state_dict": original, "epoch": 50, "optimizer": None, "scheduler": None}, folder / "model.pth.tar-50")
    before = trainer.model.class_text_features().detach()
    trainer.load_model(str(tmp_path / "original"), epoch=50)
    assert torch.equal(learner.ctx.detach(), ctx.half().float())
    assert learner.token_prefix.shape[1] == 1 and learner.token_suffix.shape[1] == learner.length - 1 - 16
    after = trainer.model.class_text_features().detach()
    assert not torch.allclose(before, after)

    # And ours loads into the original's module (strict=False, as CoOp's load_model does).
    theirs = nn.Module()
    theirs.ctx = nn.Parameter(torch.zeros(16, 64))
    theirs.register_buffer("token_prefix", torch.zeros(4, 1, 64))
    theirs.load_state_dict(saved["state_dict"], strict=False)
    assert torch.equal(theirs.ctx, saved["state_dict"]["ctx"])


def test_train_py_trains_and_eval_only_reload_reproduces_accuracy(data_root, tmp_path):
    trained = train_then_reload(data_root, tmp_path, "CoOp", CONFIG, epochs=2, opts=("TRAINER.COOP.N_CTX", "4"))
    assert "Initializing a generic context" in trained and "trainable parameters: 256" in trained


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("position", ["end", "middle"])
def test_cuda_fp16_step_updates_the_half_context(position, monkeypatch):
    from clipfit.clip import convert_model, input_dtype, shared_prefix

    monkeypatch.setattr(shared_prefix, "GPU_MIN_SAVED_TOKENS", 0)  # 'end' takes the shared-prefix path
    device = torch.device("cuda")
    clip = convert_model(tiny_clip(), "fp16").to(device)
    model = CoOpModel(clip, NAMES, n_ctx=8, class_token_position=position).to(device)
    ctx = model.prompt_learner.ctx
    assert ctx.dtype == torch.float16
    before = ctx.detach().clone()
    image = torch.randn(4, 3, 224, 224, device=device).to(input_dtype("fp16"))
    loss, logits, _ = model.loss(image, torch.tensor([0, 1, 2, 3], device=device))
    loss.backward()
    torch.optim.SGD([ctx], lr=0.1).step()
    assert torch.isfinite(loss) and logits.shape == (4, len(NAMES))
    assert not torch.equal(before, ctx.detach())
