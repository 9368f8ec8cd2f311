"""ProGrad against its repository (BeierZhu/Prompt-align: --authors <it>/ProGrad.public), best run on the Dassl fork
that repository ships (--dassl <it>/Dassl.ProGrad.pytorch): their gradients are then projected by their own
`prograd_backward_and_update`, where this engine's would run the same code as our trainer. The base-to-new settings
on ViT-B/16 (16 tokens, CTX_INIT True, T 1, LAMBDA 1) with DTD's template ("a texture of {}.": the context starts as
13 zero vectors and "a texture of"). The compared gradients are the projected ones; `projection` says whether the
two losses' gradients conflict in the compared step (only then does the projection act) and compares a second step
whose labels are zero-shot CLIP's least likely class per image, where they do conflict, in both codes."""
from __future__ import annotations

import torch

from ._adapter import Adapter


def _gradients(xe: torch.Tensor, kl: torch.Tensor, ctx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    g_xe, = torch.autograd.grad(xe, ctx, retain_graph=True)
    g_kl, = torch.autograd.grad(kl, ctx)
    return g_xe, g_kl


def _cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(torch.dot(a.flatten(), b.flatten()) / (a.norm() * b.norm()))


class ProGradAdapter(Adapter):
    def our_learner(self):
        from trainers.coop import PromptLearner

        return PromptLearner

    @staticmethod
    def _cosines(ours, theirs, batch) -> dict:
        """cos(cross-entropy gradient, distillation gradient) of both codes at their current values."""
        image, label = batch["img"], batch["label"]
        xe, _, extras = ours.model.loss(image, label)
        mine = _gradients(xe, extras["kl_loss"], ours.model.prompt_learner.ctx)
        with torch.no_grad():
            zero_shot = theirs.zs_clip(image)
        xe, kl = theirs.criterion(theirs.model(image), zero_shot, label)
        return {"ours": _cosine(*mine), "authors": _cosine(*_gradients(xe, kl, theirs.model.prompt_learner.ctx))}

    def extra(self, ours, theirs, batch) -> dict:
        """Whether the compared step's gradients conflict, and a second compared step whose labels are zero-shot
        CLIP's least likely class per image, where they do (so the projection acts in both codes)."""
        from ._authors import half_as_identity
        from ._run import _restore, _step_diffs, _step_record, _trained, _values

        for trainer in (ours, theirs):
            trainer.set_model_mode("train")
        report = {"compared step": {"gradient_cosine": self._cosines(ours, theirs, batch)}}
        with torch.no_grad():
            least_likely = theirs.zs_clip(batch["img"]).argmin(dim=-1)
        conflicting = {**batch, "label": least_likely}
        cosines = self._cosines(ours, theirs, conflicting)
        mine, their_params = _trained(ours), _trained(theirs, self)
        start = _values(their_params)
        with half_as_identity():
            their_step = _step_record(theirs, their_params, conflicting, self)
        our_step = _step_record(ours, mine, conflicting, self)
        diffs = _step_diffs(our_step, their_step, self)
        _restore(mine, start, ours)
        _restore(their_params, start, theirs)
        report["least likely labels"] = {"gradient_cosine": cosines, "labels": least_likely.tolist(),
                                         "projected_gradients": diffs["gradients"],
                                         "params_after": diffs["step"]["params_after"],
                                         "summary_losses": diffs["summary_losses"]}
        for case in report.values():
            case["projection_applied"] = case["gradient_cosine"]["authors"] < 0
        worst = max(diffs["gradients"]["max"], diffs["step"]["params_after"]["max"], *diffs["summary_losses"].values())
        return {"projection": {**report, "max_rel_diff": worst}}


ADAPTER = ProGradAdapter(
    method="ProGrad", authors_module="prograd", authors_repo="github.com/BeierZhu/Prompt-align (ProGrad.public)",
    config="configs/trainers/ProGrad/vit_b16_ep100.yaml",
    loss_terms={"cross_entropy#1": "cross_entropy", "softmax#1": "zero-shot CLIP's probabilities at T",
                "log_softmax#1": "log-probabilities at T"},
    learner_class="PromptLearner", logits_call="cross_entropy#1", summary_losses=("xe_loss", "kl_loss"),
    opts=("DATASET.NAME", "DescribableTextures", "LOSS.LAMBDA", "1.0"))
