"""Shared pieces of the KgCoOp / ProGrad tests: the deep-prompt references of tests/trainers/_vl_helpers.py
without deep prompts (CoOp-style context in positions 1..n_ctx of the whole 77-token context), CLIP's own
hand-crafted features, and one step in each precision's layout on the CPU."""
import torch.nn.functional as F
from _vl_helpers import NAMES, images, labels, reference_text_features, run_in_precision

from clipfit.clip import tokenize

__all__ = ["NAMES", "hand_crafted_features", "images", "labels", "reference_text_features", "step_in_precision"]


def hand_crafted_features(clip, template: str, names=NAMES):
    """CLIP's own normalised features of the template for every name (the 77-token encode_text)."""
    return F.normalize(clip.encode_text(tokenize([template.format(n.replace("_", " ")) for n in names])), dim=-1)


def step_in_precision(build, mode: str):
    """run_in_precision's model, loss and extras, and the gradient of the context."""
    model, loss, extras = run_in_precision(build, mode)
    return model, loss, extras, model.prompt_learner.ctx.grad
