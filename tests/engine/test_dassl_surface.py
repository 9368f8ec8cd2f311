"""The parts of Dassl's public API that other Dassl/CoOp-family repositories use beyond CoOp itself:
samplers, clean_cfg, modeling (backbones, heads, SimpleNet), RAdam, distances and layer helpers."""
import math
import os
import random
import sys
from collections import Counter

import pytest
import torch
import torch.nn as nn
from torchvision.transforms import ToTensor

from clipfit.engine import SimpleNet, build_data_loader, get_cfg_default
from clipfit.engine.config_defaults import clean_cfg
from clipfit.engine.data.samplers import RandomClassSampler, RandomDomainSampler, SeqDomainSampler, build_sampler
from clipfit.engine.metrics import compute_distance_matrix
from clipfit.engine.modeling import BACKBONE_REGISTRY, build_backbone, build_head, build_network
from clipfit.engine.optim import RAdam, build_optimizer
from clipfit.engine.optim.radam import AdamW, PlainRAdam
from clipfit.engine.utils import init_network_weights, open_specified_layers

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Item:
    def __init__(self, label, domain):
        self.label, self.domain = label, domain


def _items(n_domains=3, per_domain=6, n_labels=3):
    return [Item(i % n_labels, d) for d in range(n_domains) for i in range(per_domain)]


def test_random_domain_sampler_draws_k_unused_images_from_n_random_domains_per_batch():
    items = _items()
    random.seed(0)
    sampler = RandomDomainSampler(items, batch_size=4, n_domain=2)
    idxs = list(sampler)
    assert len(idxs) == len(sampler) and len(idxs) % 4 == 0 and len(set(idxs)) == len(idxs)
    for start in range(0, len(idxs), 4):
        domains = [items[i].domain for i in idxs[start:start + 4]]
        assert domains[0] == domains[1] and domains[2] == domains[3] and domains[0] != domains[2]
    random.seed(0)
    again = RandomDomainSampler(items, batch_size=4, n_domain=2)
    assert list(again) == idxs  # Python's `random` only, so seeding reproduces it


def test_seq_domain_sampler_visits_every_domain_in_sorted_order():
    items = list(reversed(_items(n_domains=3, per_domain=4)))
    sampler = SeqDomainSampler(items, batch_size=6)
    idxs = list(sampler)
    assert [items[i].domain for i in idxs[:6]] == [0, 0, 1, 1, 2, 2]
    assert len(idxs) == len(sampler) == 12
    with pytest.raises(AssertionError):
        SeqDomainSampler(items, batch_size=4)  # not a multiple of the 3 domains


def test_random_class_sampler_fills_small_classes_and_groups_instances():
    items = [Item(0, 0)] * 5 + [Item(1, 0)] * 2 + [Item(2, 0)] * 4
    sampler = RandomClassSampler(items, batch_size=4, n_ins=2)
    idxs = [int(i) for i in sampler]
    for start in range(0, len(idxs), 2):
        assert items[idxs[start]].label == items[idxs[start + 1]].label
    assert set(Counter(items[i].label for i in idxs)) <= {0, 1, 2}
    with pytest.raises(ValueError, match="batch_size=1 must be no less than n_ins=2"):
        RandomClassSampler(items, batch_size=1, n_ins=2)


def test_build_sampler_and_loader_take_the_sampler_by_name(image_file):
    from clipfit.engine import Datum

    data = [Datum(impath=image_file, label=i % 2, domain=i % 2) for i in range(8)]
    assert isinstance(build_sampler("RandomDomainSampler", data_source=data, batch_size=4), RandomDomainSampler)
    with pytest.raises(ValueError, match="Unknown sampler type: Nope"):
        build_sampler("Nope", data_source=data)
    cfg = get_cfg_default()
    cfg.DATALOADER.NUM_WORKERS = 0
    cfg.INPUT.SIZE = (8, 8)
    loader = build_data_loader(cfg, "SeqDomainSampler", data, batch_size=4, tfm=ToTensor(), is_train=True)
    assert [batch["domain"].tolist() for batch in loader] == [[0, 0, 1, 1], [0, 0, 1, 1]]


def test_clean_cfg_keeps_only_the_named_trainers_node():
    cfg = get_cfg_default()
    clean_cfg(cfg, "fixmatch")
    assert sorted(cfg.TRAINER.keys()) == ["FIXMATCH", "NAME"]


def test_backbones_heads_and_simplenet_as_dassl_builds_them(capsys):
    backbone = build_backbone("resnet18", pretrained=False)
    assert capsys.readouterr().out == "Backbone: resnet18\n"
    assert backbone.out_features == 512
    assert backbone(torch.zeros(2, 3, 32, 32)).shape == (2, 512)
    assert "conv1.weight" in backbone.state_dict() and "fc.weight" not in backbone.state_dict()
    head = build_head("mlp", verbose=False, in_features=512, hidden_layers=[64, 16], bn=True, dropout=0.1)
    assert head.out_features == 16 and [type(m).__name__ for m in head.mlp][:4] == [
        "Linear", "BatchNorm1d", "ReLU", "Dropout"]
    with pytest.raises(ValueError, match=r"do you mean \[resnet50\]"):
        build_backbone("resnet05")
    with pytest.raises(ValueError):
        build_network("anything")

    cfg = get_cfg_default()
    cfg.MODEL.BACKBONE.NAME, cfg.MODEL.BACKBONE.PRETRAINED = "resnet18", False
    cfg.MODEL.HEAD.NAME, cfg.MODEL.HEAD.HIDDEN_LAYERS = "mlp", (32,)
    net = SimpleNet(cfg, cfg.MODEL, num_classes=5)
    logits, features = net(torch.zeros(2, 3, 32, 32), return_feature=True)
    assert logits.shape == (2, 5) and features.shape == (2, 32) and net.fdim == 32
    assert "resnet18" in BACKBONE_REGISTRY.registered_names()


@pytest.mark.parametrize("name", ["vgg16", "alexnet", "resnet50_ms_l12", "efficientnet_b3", "cnn_digitsdg"])
def test_dassl_backbones_the_engine_lacks_say_so_and_what_to_do(name, monkeypatch):
    from clipfit.dassl_shim import _Finder
    from clipfit.errors import UnsupportedOption

    # Outside `clipfit with-dassl` (no shim finder installed), whatever other tests of this process did.
    monkeypatch.setattr(sys, "meta_path", [f for f in sys.meta_path if not isinstance(f, _Finder)])
    with pytest.raises(UnsupportedOption) as caught:
        build_backbone(name)
    assert str(caught.value) == (
        f"backbone {name!r} is one of Dassl's backbones, which clipfit's built-in engine does not serve (it builds "
        "resnet18, resnet34, resnet50, resnet101, resnet152); run with CLIPFIT_ENGINE=dassl and a real Dassl "
        "(Dassl.pytorch) installed, or register a backbone of that name into BACKBONE_REGISTRY yourself (e.g. from "
        "a module in CLIPFIT_PLUGINS)")


def _train_radam(optimizer_cls, steps=12, **kwargs):
    torch.manual_seed(0)
    model = nn.Linear(4, 3)
    optimizer = optimizer_cls(model.parameters(), lr=0.01, weight_decay=0.1, **kwargs)
    x, y = torch.randn(16, 4), torch.randint(0, 3, (16,))
    for _ in range(steps):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    return model.weight.detach()


def test_radam_is_rectified_adam_with_decoupled_weight_decay():
    expected = _train_radam(torch.optim.RAdam, decoupled_weight_decay=True)
    torch.testing.assert_close(_train_radam(RAdam), expected)
    torch.manual_seed(0)
    initial = nn.Linear(4, 3).weight.detach()
    torch.testing.assert_close(_train_radam(RAdam, steps=4, degenerated_to_sgd=False), initial)
    cfg = get_cfg_default()
    cfg.OPTIM.NAME = "radam"
    assert isinstance(build_optimizer(nn.Linear(2, 2), cfg.OPTIM), RAdam)


GRADS = [(0.5, -2.0), (0.25, -1.0), (-0.75, 3.0), (1.0, 0.5), (0.1, -0.2), (-0.3, 0.6), (0.8, 0.4)]


def _steps(optimizer_cls, grads=GRADS, start=(1.0, -0.5), **kwargs):
    """The float64 parameter after each step with the given gradients."""
    param = nn.Parameter(torch.tensor(start, dtype=torch.float64))
    optimizer = optimizer_cls([param], **kwargs)
    seen = []
    for grad in grads:
        param.grad = torch.tensor(grad, dtype=torch.float64)
        optimizer.step()
        seen.append(param.detach().clone())
    return seen


def _by_hand(grads, start, update, beta1=0.9, beta2=0.999):
    """Per element, with Python floats: the moments, then `update(p, m, v, t)` gives the new p."""
    p, m, v, seen = list(start), [0.0] * len(start), [0.0] * len(start), []
    for t, grad in enumerate(grads, 1):
        for i, g in enumerate(grad):
            m[i] = beta1 * m[i] + (1 - beta1) * g
            v[i] = beta2 * v[i] + (1 - beta2) * g * g
            p[i] = update(p[i], m[i], v[i], t)
        seen.append(torch.tensor(p, dtype=torch.float64))
    return seen


def _plain_radam_update(lr, wd, eps=1e-8, beta1=0.9, beta2=0.999, degenerated_to_sgd=True):
    def update(p, m, v, t):
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * t * beta2**t / (1 - beta2**t)
        if rho_t < 5 and not degenerated_to_sgd:
            return p
        p -= wd * lr * p
        if rho_t >= 5:
            rect = math.sqrt((1 - beta2**t) * (rho_t - 4) * (rho_t - 2) * rho_inf
                             / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            return p - lr * rect / (1 - beta1**t) * m / (math.sqrt(v) + eps)
        return p - lr / (1 - beta1**t) * m
    return update


def test_plain_radam_takes_sgd_steps_until_the_variance_is_tractable_then_rectified_ones():
    # With beta2 = 0.999 the variance length rho_t passes 5 at step 6: five SGD-like steps, then two rectified.
    got = _steps(PlainRAdam, lr=0.1, weight_decay=0.1)
    # Step 1 by hand: m = 0.1 g, so p - wd*lr*p - lr/(1 - 0.9) * m = 0.99 p - 0.1 g.
    torch.testing.assert_close(got[0], torch.tensor([0.99 * 1.0 - 0.05, 0.99 * -0.5 + 0.2], dtype=torch.float64))
    expected = _by_hand(GRADS, (1.0, -0.5), _plain_radam_update(lr=0.1, wd=0.1))
    torch.testing.assert_close(torch.stack(got), torch.stack(expected), rtol=1e-12, atol=1e-12)
    assert not torch.allclose(got[5], got[4])
    # Same update as RAdam (Dassl's RAdam only caches the step sizes).
    torch.testing.assert_close(torch.stack(_steps(RAdam, lr=0.1, weight_decay=0.1)), torch.stack(got))

    frozen = _steps(PlainRAdam, lr=0.1, weight_decay=0.1, degenerated_to_sgd=False)
    assert all(p.tolist() == [1.0, -0.5] for p in frozen[:5])  # no step, not even the weight decay
    expected = _by_hand(GRADS, (1.0, -0.5), _plain_radam_update(lr=0.1, wd=0.1, degenerated_to_sgd=False))
    torch.testing.assert_close(torch.stack(frozen), torch.stack(expected), rtol=1e-12, atol=1e-12)


def _adamw_update(lr, wd, warmup, eps=1e-8, beta1=0.9, beta2=0.999):
    def update(p, m, v, t):
        scheduled = 1e-8 + t * lr / warmup if t < warmup else lr
        p -= wd * scheduled * p
        return p - scheduled * math.sqrt(1 - beta2**t) / (1 - beta1**t) * m / (math.sqrt(v) + eps)
    return update


def test_adamw_warms_the_learning_rate_up_linearly_and_decays_the_weights_decoupled():
    got = _steps(AdamW, grads=GRADS[:4], lr=0.3, weight_decay=0.5, warmup=3)
    # Step 1 by hand: lr 1e-8 + 0.3/3, the decay multiplies p by 1 - 0.5 lr, then Adam's first step is
    # lr * g / (|g| + eps / sqrt(1 - beta2)), about lr * sign(g).
    lr1 = 1e-8 + 0.1
    first = [p * (1 - 0.5 * lr1) - lr1 * g / (abs(g) + 1e-8 / math.sqrt(0.001)) for p, g in zip((1.0, -0.5), GRADS[0])]
    torch.testing.assert_close(got[0], torch.tensor(first, dtype=torch.float64), rtol=1e-12, atol=1e-12)
    expected = _by_hand(GRADS[:4], (1.0, -0.5), _adamw_update(lr=0.3, wd=0.5, warmup=3))
    torch.testing.assert_close(torch.stack(got), torch.stack(expected), rtol=1e-12, atol=1e-12)


def test_adamw_without_warmup_is_torchs_adamw():
    # eps=0: torch adds eps after bias-correcting sqrt(v), Dassl's AdamW before; without eps they coincide.
    ours = torch.stack(_steps(AdamW, lr=0.05, weight_decay=0.2, eps=0.0))
    torch.testing.assert_close(ours, torch.stack(_steps(torch.optim.AdamW, lr=0.05, weight_decay=0.2, eps=0.0)),
                               rtol=1e-12, atol=1e-12)
    # With eps the difference stays of the order of lr * eps / |sqrt(v)|.
    torch.testing.assert_close(torch.stack(_steps(AdamW, lr=0.05, weight_decay=0.2)),
                               torch.stack(_steps(torch.optim.AdamW, lr=0.05, weight_decay=0.2)), rtol=0, atol=1e-7)
    assert not torch.equal(ours, torch.stack(_steps(AdamW, lr=0.05, weight_decay=0.2, warmup=3)))


def test_the_dassl_radam_module_path_serves_all_three():
    import subprocess

    from clipfit.dassl_shim import SITE_DIR

    code = ("from dassl.optim.radam import AdamW, PlainRAdam, RAdam; from clipfit.engine.optim import radam; "
            "print(AdamW is radam.AdamW, PlainRAdam is radam.PlainRAdam, RAdam is radam.RAdam)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": SITE_DIR + ":" + REPO})
    assert proc.stdout.split() == ["True", "True", "True"], proc.stderr


def test_distances_and_layer_helpers():
    a, b = torch.tensor([[1.0, 0.0], [0.0, 2.0]]), torch.tensor([[0.0, 1.0]])
    torch.testing.assert_close(compute_distance_matrix(a, b), torch.tensor([[2.0], [1.0]]))
    torch.testing.assert_close(compute_distance_matrix(a, b, "cosine"), torch.tensor([[1.0], [0.0]]))
    model = nn.Sequential()
    model.add_module("body", nn.Linear(2, 2))
    model.add_module("classifier", nn.Linear(2, 2))
    open_specified_layers(model, "classifier")
    assert [p.requires_grad for p in model.parameters()] == [False, False, True, True]
    assert not model.body.training and model.classifier.training
    init_network_weights(model, "normal", gain=0.0)
    assert float(model.body.weight.abs().sum()) == 0.0 and float(model.body.bias.abs().sum()) == 0.0


def test_trainer_xu_counts_batches_by_count_iter_and_restarts_the_shorter_loader(capsys):
    from clipfit.engine import TrainerXU, get_cfg_default
    from clipfit.engine.trainer_models import RegisteredModels

    class Recorder(TrainerXU):
        def forward_backward(self, batch_x, batch_u):
            self.seen.append((batch_x, batch_u))
            return {"loss": 0.5}

        def get_current_lr(self, names=None):
            return 0.1

    def epoch(count_iter):
        trainer = Recorder.__new__(Recorder)
        RegisteredModels.__init__(trainer)
        trainer._writer, trainer.seen, trainer.epoch, trainer.max_epoch = None, [], 0, 1
        trainer.cfg = get_cfg_default()
        trainer.cfg.TRAIN.COUNT_ITER = count_iter
        trainer.train_loader_x, trainer.train_loader_u = ["x0", "x1", "x2"], ["u0", "u1"]
        trainer.run_epoch()
        return trainer.seen

    assert epoch("train_x") == [("x0", "u0"), ("x1", "u1"), ("x2", "u0")]
    assert epoch("train_u") == [("x0", "u0"), ("x1", "u1")]
    assert epoch("smaller_one") == [("x0", "u0"), ("x1", "u1")]
    assert "epoch [1/1] batch [3/3] time" in capsys.readouterr().out
    with pytest.raises(ValueError, match="TRAIN.COUNT_ITER must be one of"):
        epoch("both")
