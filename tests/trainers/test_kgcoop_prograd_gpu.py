"""KgCoOp and ProGrad on CUDA in every precision (skipped without a GPU): the trainers' own training step (autocast,
grad scaler; ProGrad's projection on the half or scaled gradients) with finite values, a moved context, and losses
close to the fp32 step's."""
import pytest
import torch
from _helpers_baselines import make_trainer, write_demo

CONFIGS = {"KgCoOp": "configs/trainers/KgCoOp/vit_b16_ep100_ctxv1.yaml",
           "ProGrad": "configs/trainers/ProGrad/vit_b16_ep100.yaml"}
pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    return write_demo(tmp_path_factory.mktemp("demo"))


def _step(data_root, out, trainer_name: str, mode: str):
    trainer = make_trainer(data_root, out, trainer_name, CONFIGS[trainer_name],
                           opts=("USE_CUDA", "True", "TRAINER.COOP.PREC", mode, "OPTIM.WARMUP_EPOCH", "0"))
    assert trainer.precision == mode or (mode == "bf16" and trainer.precision == "amp")
    batch = next(iter(trainer.train_loader_x))
    ctx = trainer.model.prompt_learner.ctx
    before = ctx.detach().clone()
    trainer.set_model_mode("train")
    trainer.batch_idx, trainer.num_batches = 0, 2
    summary = trainer.forward_backward(batch)
    assert ctx.dtype == (torch.float16 if mode == "fp16" else torch.float32)
    assert ctx.grad is not None and torch.isfinite(ctx.grad).all() and not torch.equal(ctx.detach(), before)
    return summary


@pytest.mark.parametrize("trainer_name", list(CONFIGS))
@pytest.mark.parametrize("mode", ["fp16", "amp", "bf16"])
def test_cuda_step_in_every_precision_is_finite_and_close_to_fp32(data_root, tmp_path, trainer_name, mode):
    reference = _step(data_root, tmp_path / "fp32", trainer_name, "fp32")
    summary = _step(data_root, tmp_path / mode, trainer_name, mode)
    for key in ("loss",) if trainer_name == "KgCoOp" else ("xe_loss", "kl_loss"):
        assert summary[key] == pytest.approx(reference[key], rel=0.05, abs=1e-3), key  # half precision's rounding
