"""`prograd_backward_and_update`, the Dassl.ProGrad.pytorch fork's SimpleTrainer method: the task gradient is
projected away from the general (KD) gradient where they conflict, then the optimizers step."""
import math

import pytest
import torch
import torch.nn as nn

from clipfit.core.prograd import project_conflicting
from clipfit.engine.trainer_models import LossNotFinite, RegisteredModels


def t(*values):
    return torch.tensor(values, dtype=torch.float64)


def close(a, b) -> bool:
    """Equal up to float64 rounding (u = b / |b| involves sqrt(2))."""
    return torch.allclose(a, b, rtol=0, atol=1e-12)


def test_a_conflicting_gradient_loses_its_component_along_the_general_one():
    # a . b < 0: a - (a . u) u with u = b / |b| = (-1, 1) / sqrt(2): (1, 0) + 1/2 (-1, 1)
    assert close(project_conflicting(t(1, 0), t(-1, 1)), t(0.5, 0.5))
    # lambda_ scales the removed component: (1, 0) - 0.5 * (-1/sqrt(2)) * (-1, 1)/sqrt(2) = (0.75, 0.25)
    assert close(project_conflicting(t(1, 0), t(-1, 1), 0.5), t(0.75, 0.25))
    aligned = t(1, 0)
    assert project_conflicting(aligned, t(1, 1)) is aligned  # not conflicting: untouched
    assert project_conflicting(aligned, t(0, 1)) is aligned  # orthogonal: untouched
    assert project_conflicting(aligned, t(0, 0)) is aligned  # a zero general gradient gives a NaN cosine
    matrix = project_conflicting(t(1, 0, 0, 1).view(2, 2), t(-1, 0, 0, 0).view(2, 2))
    assert torch.equal(matrix, t(0, 0, 0, 1).view(2, 2))  # norms and dots over the whole tensor


class Linear(nn.Module):
    def __init__(self, *weights):
        super().__init__()
        self.w = nn.Parameter(t(*weights))
        self.frozen_bias = nn.Parameter(t(0.0))  # in the model, not given to the optimizer


def trainer_with(model, lr=1.0):
    trainer = RegisteredModels()
    trainer.register_model("prompt_learner", model, torch.optim.SGD([model.w], lr=lr), None)
    return trainer


def test_the_step_uses_the_projected_task_gradient():
    model = Linear(2.0, 3.0)
    trainer = trainer_with(model)
    w = model.w
    # d(loss_a)/dw = (1, 0) (the task), d(loss_b)/dw = (-1, 1) (the general direction): they conflict
    trainer.prograd_backward_and_update(w @ t(1, 0) + model.frozen_bias, w @ t(-1, 1) + 2 * model.frozen_bias)
    assert close(model.w.detach(), t(2.0 - 0.5, 3.0 - 0.5))
    # the optimizers' zero_grad clears only their parameters: the other one keeps loss_b's 2 and adds loss_a's 1
    assert model.frozen_bias.grad.item() == 3.0

    model = Linear(2.0, 3.0)
    trainer = trainer_with(model, lr=0.1)
    trainer.prograd_backward_and_update(model.w @ t(1, 0), model.w @ t(1, 1), lambda_=0.8)
    assert close(model.w.detach(), t(1.9, 3.0))  # aligned: the plain step


def test_a_parameter_the_general_loss_does_not_reach_keeps_its_task_gradient():
    model = Linear(2.0, 3.0)
    trainer = trainer_with(model)
    trainer.prograd_backward_and_update(model.w @ t(1, 0), model.frozen_bias * 0 + torch.tensor(1.0))
    assert torch.equal(model.w.detach(), t(1.0, 3.0))


def test_a_non_finite_general_loss_stops_before_any_step():
    model = Linear(2.0, 3.0)
    trainer = trainer_with(model)
    with pytest.raises(LossNotFinite, match="Loss is infinite or NaN"):
        trainer.prograd_backward_and_update(model.w @ t(1, 0), model.w @ t(math.inf, 1))
    assert torch.equal(model.w.detach(), t(2.0, 3.0))
