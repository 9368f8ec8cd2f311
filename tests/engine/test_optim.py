import math

import pytest
import torch

from clipfit.compat import build_lr_scheduler, build_optimizer
from clipfit.engine.config_defaults import get_cfg_default


def _optim_cfg(max_epoch=10, warmup=1, **overrides):
    cfg = get_cfg_default()
    cfg.OPTIM.NAME = "sgd"
    cfg.OPTIM.LR = 0.002
    cfg.OPTIM.MAX_EPOCH = max_epoch
    cfg.OPTIM.LR_SCHEDULER = "cosine"
    cfg.OPTIM.WARMUP_EPOCH = warmup
    cfg.OPTIM.WARMUP_TYPE = "constant"
    cfg.OPTIM.WARMUP_CONS_LR = 1e-5
    for k, v in overrides.items():
        setattr(cfg.OPTIM, k, v)
    return cfg.OPTIM


def _lr_per_epoch(optim_cfg):
    model = torch.nn.Linear(2, 2)
    optim = build_optimizer(model, optim_cfg)
    sched = build_lr_scheduler(optim, optim_cfg)
    lrs = []
    for _ in range(optim_cfg.MAX_EPOCH):
        lrs.append(optim.param_groups[0]["lr"])
        optim.step()
        sched.step()
    return lrs


@pytest.mark.parametrize(
    "max_epoch,e2,last", [(10, 1.951057e-3, 1.90983e-4), (50, 1.998027e-3, 7.885e-6), (200, 1.999877e-3, 4.93e-7)]
)
def test_constant_warmup_cosine_table(max_epoch, e2, last):
    lrs = _lr_per_epoch(_optim_cfg(max_epoch))
    assert lrs[0] == pytest.approx(1e-5)
    assert lrs[1] == pytest.approx(2e-3, rel=1e-9)
    assert lrs[2] == pytest.approx(e2, rel=1e-5)
    assert lrs[-1] == pytest.approx(last, rel=1e-3)
    for e in range(1, max_epoch):
        assert lrs[e] == pytest.approx(0.002 * (1 + math.cos(math.pi * (e - 1) / max_epoch)) / 2, rel=1e-9)


def test_two_warmup_epochs_shift_the_cosine():
    lrs = _lr_per_epoch(_optim_cfg(10, warmup=2))
    assert lrs[:3] == pytest.approx([1e-5, 1e-5, 2e-3])


def test_no_warmup_is_plain_cosine():
    lrs = _lr_per_epoch(_optim_cfg(10, warmup=0))
    assert lrs == pytest.approx([0.002 * (1 + math.cos(math.pi * e / 10)) / 2 for e in range(10)])


def test_warmup_without_recount_follows_torch_chained_cosine():
    lrs = _lr_per_epoch(_optim_cfg(5, WARMUP_RECOUNT=False))
    assert lrs == pytest.approx([1e-5, 2e-3, 1.447214e-3, 7.63932e-4, 2.11146e-4], rel=1e-5)


def test_linear_warmup():
    lrs = _lr_per_epoch(_optim_cfg(10, warmup=2, WARMUP_TYPE="linear", WARMUP_MIN_LR=1e-5))
    assert lrs[:3] == pytest.approx([1e-5, 0.001, 0.002])


def test_scheduler_state_round_trip_keeps_stepping_the_real_optimizer():
    optim_cfg = _optim_cfg(10)
    model = torch.nn.Linear(2, 2)
    optim = build_optimizer(model, optim_cfg)
    sched = build_lr_scheduler(optim, optim_cfg)
    for _ in range(3):
        optim.step()
        sched.step()
    state = sched.state_dict()
    optim2 = build_optimizer(model, optim_cfg)
    sched2 = build_lr_scheduler(optim2, optim_cfg)
    optim2.load_state_dict(optim.state_dict())
    sched2.load_state_dict(state)
    optim.step()
    optim2.step()
    sched.step()
    sched2.step()
    assert optim2.param_groups[0]["lr"] == pytest.approx(optim.param_groups[0]["lr"])
    assert optim2.param_groups[0]["lr"] == pytest.approx(0.002 * (1 + math.cos(math.pi * 3 / 10)) / 2)


def test_optimizer_receives_all_parameters_including_frozen():
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 2))
    model[0].weight.requires_grad_(False)
    optim = build_optimizer(model, _optim_cfg())
    assert len(optim.param_groups[0]["params"]) == 4
    assert optim.param_groups[0]["momentum"] == 0.9
    assert optim.param_groups[0]["weight_decay"] == 5e-4


def test_unknown_optimizer_and_scheduler():
    model = torch.nn.Linear(2, 2)
    with pytest.raises(ValueError, match=r"optim must be one of .* but got lamb"):
        build_optimizer(model, _optim_cfg(NAME="lamb"))
    optim = build_optimizer(model, _optim_cfg())
    with pytest.raises(ValueError, match="scheduler must be one of"):
        build_lr_scheduler(optim, _optim_cfg(LR_SCHEDULER="poly"))
    with pytest.raises(ValueError, match="Unknown warmup type"):
        build_lr_scheduler(optim, _optim_cfg(WARMUP_TYPE="exp"))


def test_step_schedulers():
    lrs = _lr_per_epoch(_optim_cfg(6, warmup=0, LR_SCHEDULER="single_step", STEPSIZE=(2,)))
    assert lrs == pytest.approx([0.002, 0.002, 2e-4, 2e-4, 2e-5, 2e-5])
    lrs = _lr_per_epoch(_optim_cfg(4, warmup=0, LR_SCHEDULER="multi_step", STEPSIZE=(1, 3)))
    assert lrs == pytest.approx([0.002, 2e-4, 2e-4, 2e-5])
