"""CoCoOp: learned parameters, batched (image, class) prompts equal the per-image loop, chunking, checkpoints."""
import pytest
import torch
import torch.nn.functional as F
from _helpers_baselines import assert_same_update, make_trainer, tiny_clip, train_then_reload, vitb16, write_demo

from trainers.cocoop import CoCoOpModel

CONFIG = "configs/trainers/CoCoOp/vit_b16_c4_ep10_batch1_ctxv1.yaml"
NAMES = ["red_circle", "blue", "brown checkerboard pattern", "yellow star", "a_b_c_d"]
META_NET = ["meta_net.linear1.weight", "meta_net.linear1.bias", "meta_net.linear2.weight", "meta_net.linear2.bias"]


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    return write_demo(tmp_path_factory.mktemp("demo"))


def test_vit_b16_trains_context_and_meta_net_with_cocoop_names():
    clip = vitb16()
    model = CoCoOpModel(clip, NAMES)
    # ctx 16 x 512; meta-net 512 -> 32 -> 512 (vis_dim = CLIP output dim 512, ctx_dim = text width 512)
    expected = 16 * 512 + (512 * 32 + 32) + (32 * 512 + 512)
    assert expected == 41_504
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == expected
    state = model.prompt_learner.state_dict()
    assert list(state) == ["ctx", *META_NET]
    assert [tuple(v.shape) for v in state.values()] == [(16, 512), (32, 512), (32,), (512, 32), (512,)]

    half = CoCoOpModel(clip, NAMES, n_ctx=4, ctx_init="a photo of a", half=True)  # the c4 ctxv1 config, fp16 meta-net
    assert sum(p.numel() for p in half.parameters() if p.requires_grad) == 4 * 512 + 33_312
    assert all(p.dtype == torch.float16 for p in half.prompt_learner.meta_net.parameters())


def _per_image_logits(model, image):
    """CoCoOp's original computation: one text pass of n_cls prompts per image, in a Python loop."""
    learner, encoder = model.prompt_learner, model.text_encoder
    features = F.normalize(model.encode_image(image), dim=-1)
    ctx_shifted = learner.ctx.unsqueeze(0) + learner.meta_net(features).unsqueeze(1)
    logits = []
    for ctx_i, feature in zip(ctx_shifted, features):
        prompts = torch.cat([learner.token_prefix, ctx_i.unsqueeze(0).expand(learner.n_cls, -1, -1),
                             learner.token_suffix], dim=1)
        text = encoder.forward_embeddings(prompts, learner.eot_index)
        text = text / text.norm(dim=-1, keepdim=True)
        logits.append(model.logit_scale.exp() * feature @ text.t())
    return torch.stack(logits)


@pytest.fixture(scope="module")
def tiny_model():
    """In float64: batched, chunked and per-image paths are equal in exact arithmetic, and float64 keeps
    the 1e-10 tolerances below true on any CPU and thread count."""
    model = CoCoOpModel(tiny_clip(), NAMES, n_ctx=4).double()
    torch.manual_seed(1)
    with torch.no_grad():  # a non-trivial meta-net output
        for p in model.prompt_learner.meta_net.parameters():
            p.normal_(std=0.3)
    return model


def _loss_and_grads(model, fn, image, label):
    model.prompt_learner.zero_grad()
    loss = F.cross_entropy(fn(image), label)
    loss.backward()
    return loss.detach(), [p.grad.clone() for p in model.prompt_learner.parameters()]


EXACT = dict(atol=1e-10, rtol=1e-10)


@pytest.mark.numeric
def test_batched_pairs_equal_the_per_image_loop_in_value_and_gradient(tiny_model):
    torch.manual_seed(2)
    image, label = torch.randn(3, 3, 224, 224, dtype=torch.float64), torch.tensor([0, 4, 2])
    with torch.no_grad():
        logits = tiny_model(image)
        assert logits.dtype == torch.float64
        torch.testing.assert_close(logits, _per_image_logits(tiny_model, image), **EXACT)
    loss, grads = _loss_and_grads(tiny_model, tiny_model, image, label)
    ref_loss, ref_grads = _loss_and_grads(tiny_model, lambda x: _per_image_logits(tiny_model, x), image, label)
    assert loss.item() == pytest.approx(ref_loss.item(), rel=1e-12)
    for g, r in zip(grads, ref_grads):
        torch.testing.assert_close(g, r, **EXACT)
    assert all(g.abs().sum() > 0 for g in grads)


@pytest.mark.numeric
def test_chunks_over_images_and_classes_give_the_same_logits_and_gradients(tiny_model, monkeypatch):
    torch.manual_seed(3)
    image, label = torch.randn(3, 3, 224, 224, dtype=torch.float64), torch.tensor([1, 3, 0])
    with torch.no_grad():
        whole = tiny_model(image)
    loss, grads = _loss_and_grads(tiny_model, tiny_model, image, label)
    per_token = {True: tiny_model._bytes_per_token(True), False: tiny_model._bytes_per_token(False)}
    length = tiny_model.tokens_per_pair()
    # 4 pairs per chunk: chunks cross image boundaries (5 classes per image); training chunks are checkpointed.
    monkeypatch.setattr(tiny_model, "train_memory_budget", 4 * length * per_token[True])
    monkeypatch.setattr(tiny_model, "eval_memory_budget", 4 * length * per_token[False])
    assert tiny_model.pairs_per_chunk(True) == tiny_model.pairs_per_chunk(False) == 4
    with torch.no_grad():
        torch.testing.assert_close(tiny_model(image), whole, **EXACT)
    chunked_loss, chunked_grads = _loss_and_grads(tiny_model, tiny_model, image, label)
    assert chunked_loss.item() == pytest.approx(loss.item(), rel=1e-12)
    for g, r in zip(chunked_grads, grads):
        torch.testing.assert_close(g, r, **EXACT)


def test_original_cocoop_checkpoint_loads_and_ours_has_cocoop_keys(data_root, tmp_path):
    trainer = make_trainer(data_root, tmp_path, "CoCoOp", CONFIG)
    learner = trainer.model.prompt_learner
    trainer.save_model(0, str(tmp_path / "ours"))
    saved = torch.load(tmp_path / "ours" / "prompt_learner" / "model.pth.tar-1", weights_only=False)
    assert list(saved["state_dict"]) == ["ctx", *META_NET]

    original = {k: torch.randn_like(v).half() for k, v in learner.state_dict().items()}
    original.update(token_prefix=torch.zeros(4, 1, 64).half(), token_suffix=torch.zeros(4, 72, 64).half())
    folder = tmp_path / "original" / "prompt_learner"
    folder.mkdir(parents=True)
    torch.save({"state_dict": original, "epoch": 10, "optimizer": None, "scheduler": None}, folder / "model.pth.tar-10")
    trainer.load_model(str(tmp_path / "original"), epoch=10)
    for name, value in learner.state_dict().items():
        assert torch.equal(value, original[name].float()), name


def test_train_py_trains_batch_2_and_eval_only_reload_reproduces_accuracy(data_root, tmp_path):
    trained = train_then_reload(data_root, tmp_path, "CoCoOp", CONFIG, epochs=1,
                                opts=("DATALOADER.TRAIN_X.BATCH_SIZE", "2", "OPTIM.WARMUP_EPOCH", "0"))
    assert 'Initial context: "a photo of a"' in trained and "trainable parameters: 836" in trained


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("mode", ["fp16", "amp"])
@pytest.mark.parametrize("min_saved", [0, 2048])  # 0: the shared-prefix path even for these few pairs
def test_cuda_half_precision_batched_equals_per_image_with_finite_gradients(mode, min_saved, monkeypatch):
    from clipfit.clip import autocast, convert_model, input_dtype, shared_prefix

    monkeypatch.setattr(shared_prefix, "GPU_MIN_SAVED_TOKENS", min_saved)
    device = torch.device("cuda")
    clip = convert_model(tiny_clip(), mode).to(device)
    model = CoCoOpModel(clip, NAMES, n_ctx=4, ctx_init="a photo of a", half=mode == "fp16").to(device)
    learner = model.prompt_learner
    dtype = torch.float16 if mode == "fp16" else torch.float32
    assert learner.ctx.dtype == dtype and learner.meta_net.linear1.weight.dtype == dtype
    torch.manual_seed(0)
    image = torch.randn(4, 3, 224, 224, device=device).to(input_dtype(mode))
    label = torch.tensor([0, 1, 2, 3], device=device)
    with torch.no_grad(), autocast(mode, device):
        batched, reference = model(image).float(), _per_image_logits(model, image).float()
    assert torch.allclose(batched, reference, atol=0.05 * reference.abs().max().item())
    with autocast(mode, device):
        loss, _, _ = model.loss(image, label)
    loss.backward()
    assert torch.isfinite(loss)
    for name, p in learner.named_parameters():  # fp16 steps may round small updates away; check the gradients
        assert p.grad is not None and p.grad.dtype == dtype and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


@pytest.mark.numeric
def test_compiled_step_equals_the_eager_step(data_root, tmp_path):
    """TRAINER.COCOOP.COMPILE through torch.compile on the CPU: the per-image prefixes, unpadded
    suffixes and their cached layouts trace, and the step gives the eager step's loss and update."""
    opts = ("OPTIM.WARMUP_EPOCH", "0", "OPTIM.LR", "0.5", "DATALOADER.TRAIN_X.BATCH_SIZE", "2")
    eager = make_trainer(data_root, tmp_path / "eager", "CoCoOp", CONFIG, opts)
    compiled = make_trainer(
        data_root, tmp_path / "compiled", "CoCoOp", CONFIG, (*opts, "TRAINER.COCOOP.COMPILE", "True")
    )
    batch = next(iter(eager.train_loader_x))
    initial = {k: v.clone() for k, v in eager.model.prompt_learner.state_dict().items()}
    assert all(torch.equal(v, initial[k]) for k, v in compiled.model.prompt_learner.state_dict().items())
    losses = []
    for trainer in (eager, compiled):
        trainer.set_model_mode("train")
        trainer.batch_idx, trainer.num_batches = 0, 2
        losses.append(trainer.forward_backward(batch)["loss"])
    assert losses[1] == pytest.approx(losses[0], rel=1e-5)
    assert_same_update(compiled.model.prompt_learner.state_dict(), eager.model.prompt_learner.state_dict(), initial)
