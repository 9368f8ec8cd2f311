"""CLIPFit trainer: exact trained set, loss values, evaluation cache, checkpoints, weights loading."""
import os
import re
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from _clipfit_helpers import REPO, make_trainer
from _helpers_baselines import assert_same_update, interrupt_training

from clipfit.clip import TrainedStateMismatch
from clipfit.errors import UserInputError
from clipfit.testing.demo import make_demo_dataset
from clipfit.testing.fixtures import make_dataset_fixture


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    make_demo_dataset(str(root), num_classes=4, images_per_class=6, size=32)
    return str(root)


def test_prompts_use_the_dataset_template_but_clipfits_own_on_dtd(data_root, tmp_path, capsys):
    """CLIPFit's one published deviation from CoOp's templates is DTD's; TRAINER.CLIPFIT.TEMPLATE wins."""
    assert make_trainer(data_root, tmp_path / "demo").dataset_template() == "a photo of a {}."  # DemoShapes'
    dtd_root = str(tmp_path / "dtd_data")
    make_dataset_fixture(dtd_root, "DescribableTextures", with_split_json=True)
    capsys.readouterr()
    make_trainer(dtd_root, tmp_path / "dtd", dataset_config="configs/datasets/dtd.yaml")
    assert ('Prompt template: "a photo of a {}, a type of texture." (e.g. "a photo of a banded, a type of texture.")'
            in capsys.readouterr().out)
    make_trainer(dtd_root, tmp_path / "own", dataset_config="configs/datasets/dtd.yaml",
                 opts=("TRAINER.CLIPFIT.TEMPLATE", "{} pattern."))
    assert 'Prompt template: "{} pattern." (e.g. "banded pattern.")' in capsys.readouterr().out


def _batch(trainer, n=4):
    batch = next(iter(trainer.train_loader_x))
    return {k: (v[:n] if torch.is_tensor(v) else v) for k, v in batch.items()}


def _train_one_step(trainer, batch):
    trainer.set_model_mode("train")
    trainer.batch_idx, trainer.num_batches = 0, 2
    return trainer.forward_backward(batch)


def test_vit_b16_default_preset_trains_exactly_46080_parameters(data_root, tmp_path):
    opts = ("MODEL.BACKBONE.NAME", "ViT-B/16", "MODEL.BACKBONE.PRETRAINED", "False",
            "DATALOADER.TRAIN_X.BATCH_SIZE", "2",
            # a visible step (the 1e-5 warm-up lr is below fp32 resolution at 1.0)
            "OPTIM.WARMUP_EPOCH", "0", "OPTIM.LR", "0.5")
    trainer = make_trainer(data_root, tmp_path, opts=opts)
    names = trainer.model._trained_names
    assert trainer.num_trainable() == 46_080
    text = [n for n in names if not n.startswith("clip.visual.")]
    image = [n for n in names if n.startswith("clip.visual.")]
    assert text == [f"clip.transformer.resblocks.{i}.mlp.c_proj.bias" for i in range(12)]
    assert len(image) == 52 and all(re.search(r"(ln_pre|ln_post|ln_1|ln_2)\.(weight|bias)$", n) for n in image)

    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters()}
    _train_one_step(trainer, _batch(trainer, 2))
    changed = {n for n, p in trainer.model.named_parameters() if not torch.equal(p, before[n])}
    assert changed == set(names)
    assert set(trainer.model.state_dict()) == set(names)
    assert sum(v.numel() for v in trainer.model.state_dict().values()) == 46_080


def _independent_features(model, image):
    """Full 77-token encode_text of the CLIP, normalised, and normalised image features."""
    clip = model.clip
    with torch.no_grad():
        tokens = torch.nn.functional.pad(model.prompts.tokens, (0, 77 - model.prompts.tokens.shape[1]))
    text = F.normalize(clip.encode_text(tokens), dim=-1)
    img = F.normalize(clip.encode_image(image), dim=-1)
    return text, img


def test_kd_is_zero_before_training_and_loss_matches_independent_computation(data_root, tmp_path):
    trainer = make_trainer(data_root, tmp_path)
    model = trainer.model
    image, label = trainer.parse_batch_train(_batch(trainer))
    _, _, extras = model.loss(image, label)
    assert abs(extras["kd"]) < 1e-6
    zs_text, _ = _independent_features(model, image)

    with torch.no_grad():
        for i in range(2):
            bias = model.clip.transformer.resblocks[i].mlp.c_proj.bias
            bias.add_(torch.linspace(-1, 1, bias.numel()))  # not a constant: LayerNorm would remove that
    loss, logits, extras = model.loss(image, label)
    text, img = _independent_features(model, image)
    kd = 1 - (text * zs_text).sum(-1).mean()
    expected = F.cross_entropy(model.clip.logit_scale.exp() * img @ text.t(), label) + 8.0 * kd
    assert extras["kd"] == pytest.approx(kd.item(), rel=1e-4) and kd.item() > 1e-3
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)


def test_lambda_zero_is_plain_cross_entropy(data_root, tmp_path):
    trainer = make_trainer(data_root, tmp_path, opts=("TRAINER.CLIPFIT.LAMBDA", "0.0"))
    image, label = trainer.parse_batch_train(_batch(trainer))
    loss, logits, extras = trainer.model.loss(image, label)
    assert extras == {} and loss.item() == pytest.approx(F.cross_entropy(logits, label).item(), rel=1e-6)


def test_mse_regulariser_matches_independent_value(data_root, tmp_path):
    trainer = make_trainer(data_root, tmp_path, opts=("TRAINER.CLIPFIT.REG", "mse", "TRAINER.CLIPFIT.LAMBDA", "2.0"))
    model = trainer.model
    image, label = trainer.parse_batch_train(_batch(trainer))
    biases = [block.mlp.c_proj.bias for block in model.clip.transformer.resblocks]
    initial = [b.detach().clone() for b in biases]
    with torch.no_grad():
        biases[0].add_(0.5)
        biases[1].sub_(torch.linspace(0, 1, biases[1].numel()))
    loss, logits, extras = model.loss(image, label)
    expected_mse = sum(((b - i) ** 2).sum() for b, i in zip(biases, initial)) / len(biases)
    assert extras["mse"] == pytest.approx(expected_mse.item(), rel=1e-6)
    assert loss.item() == pytest.approx(F.cross_entropy(logits, label).item() + 2.0 * expected_mse.item(), rel=1e-5)


@pytest.mark.numeric
def test_eval_cache_recomputes_only_after_weights_change(data_root, tmp_path):
    trainer = make_trainer(data_root, tmp_path)
    trainer.set_model_mode("eval")
    image, _ = trainer.parse_batch_test(next(iter(trainer.test_loader)))
    first = trainer.model_inference(image)
    trainer.model_inference(image)
    assert trainer.text_cache.computations == 1
    _train_one_step(trainer, _batch(trainer))
    trainer.set_model_mode("eval")
    after = trainer.model_inference(image)
    assert trainer.text_cache.computations == 2
    with torch.no_grad():
        expected = trainer.model(image).float()
    # Logits are 100 x a cosine: fp32 rounding of the two orders of work is ~1e-6 of the largest logit on
    # any CPU; stale class features would change them by far more than 1e-4 of it.
    torch.testing.assert_close(after, expected, atol=float(1e-4 * expected.abs().max()), rtol=0)
    assert not torch.equal(first, after)


def test_checkpoint_holds_trained_parameters_and_reproduces_logits(data_root, tmp_path):
    trainer = make_trainer(data_root, tmp_path / "a")
    _train_one_step(trainer, _batch(trainer))
    trainer.save_model(0, str(tmp_path / "a"))
    ckpt = torch.load(tmp_path / "a" / "prompt_learner" / "model.pth.tar-1", weights_only=False)
    assert list(ckpt["state_dict"]) == trainer.model._trained_names
    assert "zs_text_features" not in ckpt["state_dict"]

    fresh = make_trainer(data_root, tmp_path / "b")
    image, _ = trainer.parse_batch_test(next(iter(trainer.test_loader)))
    trainer.set_model_mode("eval")
    fresh.set_model_mode("eval")
    assert not torch.allclose(fresh.model_inference(image), trainer.model_inference(image))
    fresh.load_model(str(tmp_path / "a"), epoch=1)
    torch.testing.assert_close(fresh.model_inference(image), trainer.model_inference(image), rtol=0, atol=0)


def test_checkpoint_from_another_preset_is_a_clear_error(data_root, tmp_path):
    trainer = make_trainer(data_root, tmp_path / "a", opts=("TRAINER.CLIPFIT.PRESET", "text_bias"))
    trainer.save_model(0, str(tmp_path / "a"))
    other = make_trainer(data_root, tmp_path / "b")
    with pytest.raises(TrainedStateMismatch, match="missing from the checkpoint"):
        other.load_model(str(tmp_path / "a"), epoch=1)


def test_nothing_trainable_cannot_train(data_root, tmp_path):
    trainer = make_trainer(data_root, tmp_path, opts=("TRAINER.CLIPFIT.PRESET", "none"))
    with pytest.raises(UserInputError, match="nothing is trainable"):
        trainer.train()


def test_rn_backbone_reports_what_the_preset_selects(data_root, tmp_path, capsys):
    make_trainer(data_root, tmp_path, opts=("MODEL.BACKBONE.NAME", "tiny-rn"))
    out = capsys.readouterr().out
    assert "has no LayerNorm" in out and "@batchnorm" in out


def test_weights_file_option_loads_openai_layout_state_dict(data_root, tmp_path):
    from clipfit.clip import build_tiny_clip

    source = build_tiny_clip(224)
    path = tmp_path / "tiny-openai.pt"
    torch.save(source.state_dict(), path)
    trainer = make_trainer(data_root, tmp_path / "run", opts=("MODEL.BACKBONE.WEIGHTS", str(path)))
    loaded = trainer.model.clip.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in source.state_dict().items())


def test_missing_weights_error_names_the_file_and_the_ways(data_root, tmp_path, monkeypatch):
    from clipfit.clip import ClipWeightsNotFound

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("CLIPFIT_OFFLINE", "1")
    with pytest.raises(ClipWeightsNotFound) as e:
        make_trainer(data_root, tmp_path / "run", opts=("MODEL.BACKBONE.NAME", "ViT-B/16"))
    message = str(e.value)
    assert "ViT-B-16.pt" in message and "MODEL.BACKBONE.WEIGHTS" in message
    assert os.path.join(str(tmp_path), ".cache", "clip") in message


@pytest.mark.parametrize("opts", [("MODEL.BACKBONE.NAME", "ViT-B/16"), ("MODEL.BACKBONE.WEIGHTS", "/no/such.pt")])
def test_missing_weights_are_said_before_the_data_is_prepared(tmp_path, monkeypatch, opts):
    """On ImageNet the data takes minutes (few-shot split, eval cache): the weights are checked first, so a data
    root that does not exist at all is never reached."""
    from clipfit.clip import ClipWeightsNotFound

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("CLIPFIT_OFFLINE", "1")
    with pytest.raises(ClipWeightsNotFound, match=r"No CLIP weights found|/no/such.pt does not exist"):
        make_trainer(tmp_path / "no-data-root", tmp_path / "run", opts=opts)


def _train_py(*args):
    proc = subprocess.run([sys.executable, "train.py", *args], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def test_train_py_end_to_end_and_eval_only_with_authors_alias(data_root, tmp_path):
    common = ["--root", data_root, "--seed", "1", "--dataset-config-file", "configs/datasets/demo_shapes.yaml",
              "--config-file", "configs/trainers/CLIPFit/vit_b16_ep10.yaml"]
    opts = ["MODEL.BACKBONE.NAME", "tiny", "OPTIM.MAX_EPOCH", "2", "DATASET.NUM_SHOTS", "2",
            "DATALOADER.NUM_WORKERS", "0", "DATASET.SUBSAMPLE_CLASSES", "base"]
    out = _train_py(*common, "--trainer", "CLIPFit", "--output-dir", str(tmp_path / "train"), *opts)
    acc = re.findall(r"\* accuracy: ([\d.]+)%", out)[-1]
    assert (tmp_path / "train" / "prompt_learner" / "model.pth.tar-2").is_file()
    out = _train_py(*common, "--trainer", "ClipFit", "--output-dir", str(tmp_path / "eval"), "--eval-only",
                    "--model-dir", str(tmp_path / "train"), "--load-epoch", "2", *opts)
    assert "Loading trainer: ClipFit" in out
    assert re.findall(r"\* accuracy: ([\d.]+)%", out)[-1] == acc


def test_interrupted_training_resumes_from_the_rolling_checkpoint(data_root, tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    opts = ("OPTIM.MAX_EPOCH", "3")
    trainer = make_trainer(data_root, out, opts=opts)
    interrupt_training(trainer, monkeypatch)  # Ctrl-C in the third epoch
    assert sorted(os.listdir(out / "prompt_learner")) == ["checkpoint", "model.pth.tar-2"]

    resumed = make_trainer(data_root, out, opts=opts)
    resumed.train()
    log = capsys.readouterr().out
    assert "Previous epoch: 2" in log and "epoch [3/3]" in log
    assert sorted(os.listdir(out / "prompt_learner")) == ["checkpoint", "model.pth.tar-3"]
    assert (out / "prompt_learner" / "checkpoint").read_text() == "model.pth.tar-3\n"

    straight = make_trainer(data_root, tmp_path / "straight", opts=opts)
    straight.train()
    a, b = straight.model.state_dict(), resumed.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.numeric
def test_compiled_step_equals_the_eager_step_and_compile_mode_is_checked(data_root, tmp_path):
    """TRAINER.CLIPFIT.COMPILE runs the same step through torch.compile (inductor on CPU, ~30 s)."""
    eager = make_trainer(data_root, tmp_path / "eager", opts=("OPTIM.WARMUP_EPOCH", "0", "OPTIM.LR", "0.5"))
    compiled = make_trainer(data_root, tmp_path / "compiled", opts=("OPTIM.WARMUP_EPOCH", "0", "OPTIM.LR", "0.5",
                                                                    "TRAINER.CLIPFIT.COMPILE", "True"))
    batch = _batch(eager)
    initial = {k: v.clone() for k, v in eager.model.state_dict().items()}
    assert all(torch.equal(v, initial[k]) for k, v in compiled.model.state_dict().items())
    summaries = [_train_one_step(t, batch) for t in (eager, compiled)]
    assert summaries[1]["loss"] == pytest.approx(summaries[0]["loss"], rel=1e-5)
    # kd = 1 - cos(w, w_zs) is ~0 before the first update: a few fp32 ulps of a cosine near 1 either way
    assert summaries[1]["kd"] == pytest.approx(summaries[0]["kd"], abs=1e-6)
    assert_same_update(compiled.model.state_dict(), eager.model.state_dict(), initial)
    for opts, message in (
        (("TRAINER.CLIPFIT.COMPILE_MODE", "reduce-overhead"), "needs TRAINER.CLIPFIT.COMPILE True"),
        (("TRAINER.CLIPFIT.COMPILE", "True", "TRAINER.CLIPFIT.COMPILE_MODE", "fastest"), "COMPILE_MODE is 'fastest'"),
    ):
        with pytest.raises(UserInputError, match=message):
            make_trainer(data_root, tmp_path / "bad", opts=opts)
