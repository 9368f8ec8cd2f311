"""IVLP, MaPLe and PromptSRC on CUDA in every precision (skipped without a GPU): a training step as ClipTrainer runs
it (autocast, grad scaler, SGD) with finite values, and logits close to the fp32 ones."""
import pytest
import torch
from _vl_helpers import NAMES, images, labels

from clipfit.clip import IMAGENET_TEMPLATES, autocast, convert_model, input_dtype, load_clip, make_grad_scaler
from trainers.gpa import gaussian_weights
from trainers.ivlp import IVLPModel
from trainers.maple import MaPLeModel
from trainers.promptsrc import PromptSRCModel, frozen_text_teacher

BUILDERS = {
    "IVLP": lambda clip, teacher: IVLPModel(clip, NAMES, 2, 2, "a photo of a", 2, 2),
    "MaPLe": lambda clip, teacher: MaPLeModel(clip, NAMES, 2, "a photo of a", 2),
    "PromptSRC": lambda clip, teacher: PromptSRCModel(clip, NAMES, teacher, gaussian_weights(2, 1, 1), 2, 2,
                                                      "a photo of a", 2, 2),
}


def _step(method: str, mode: str):
    torch.manual_seed(0)
    clip = load_clip("tiny", device="cuda")
    teacher = frozen_text_teacher(clip, NAMES, IMAGENET_TEMPLATES[:3])  # from the fp32 weights, as the trainer
    model = BUILDERS[method](convert_model(clip, mode), teacher).cuda()
    optim = torch.optim.SGD(model.prompt_learner.parameters(), lr=0.01, momentum=0.9)
    scaler = make_grad_scaler(mode, "cuda")
    image, label = images(2).cuda().to(input_dtype(mode)), labels(2).cuda()
    with autocast(mode, "cuda"):
        loss, logits, _ = model.loss(image, label)
    scaler.scale(loss).backward()
    grads = [p.grad for p in model.prompt_learner.parameters()]
    scaler.step(optim)
    scaler.update()
    return loss, logits.float(), grads


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("method", list(BUILDERS))
@pytest.mark.parametrize("mode", ["fp16", "amp", "bf16"])
def test_cuda_step_in_every_precision_is_finite_and_close_to_fp32(method, mode):
    reference_loss, reference, _ = _step(method, "fp32")
    loss, logits, grads = _step(method, mode)
    assert torch.isfinite(loss) and all(g is not None and torch.isfinite(g).all() for g in grads)
    scale = float(reference.abs().max())
    torch.testing.assert_close(logits, reference, rtol=0, atol=0.05 * scale)  # half precision's rounding
    assert float(loss) == pytest.approx(float(reference_loss), rel=0.05)
