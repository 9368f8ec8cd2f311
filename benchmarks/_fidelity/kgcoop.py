"""KgCoOp against its repository (htyao89/KgCoOp: --authors <it>/KgCoOp, trainers/kgcoop.py): the base-to-new config
(CTX_INIT True: "a photo of a", 4 tokens; W 8.0 as their scripts pass it) with DTD's template for the hand-crafted
prompts ("a photo of a {}, a type of texture." differs from the context's start, so the distance term is not zero).
Their hand-crafted features come from an fp16 CLIP in every precision: the fp32 comparison builds theirs in fp32
(`fp32_build`), and `fp16_teacher_kept` compares their fp16 features, and the distance term with them, with ours."""
from __future__ import annotations

import sys

import torch

from ._adapter import Adapter
from ._compare import rel_diff


class KgCoOpAdapter(Adapter):
    def our_learner(self):
        from trainers.coop import PromptLearner

        return PromptLearner

    def extra(self, ours, theirs, batch) -> dict:
        """Their hand-crafted features as their code builds them (an fp16 CLIP; here on the CPU) against ours."""
        from clipfit.clip import kd_loss

        module = sys.modules[f"authors_trainers.{self.authors_module}"]
        cfg, names = theirs.cfg, theirs.dm.dataset.classnames
        clip_fp16 = module.load_clip_to_cpu(cfg)  # their loader: fp16 weights
        template = module.CUSTOM_TEMPLATES[cfg.DATASET.NAME]
        tokens = torch.cat([module.clip.tokenize(template.format(n.replace("_", " "))) for n in names])
        with torch.no_grad():
            features = clip_fp16.encode_text(tokens).float()
            fp16_teacher = features / features.norm(dim=-1, keepdim=True)
            text = ours.model.class_text_features()
            distance = {name: kd_loss(text, teacher) for name, teacher in
                        (("fp32", ours.model.hand_crafted), ("fp16", fp16_teacher))}
        return {"fp16_teacher_kept": {
            "hand_crafted_features": rel_diff(ours.model.hand_crafted, fp16_teacher),
            "distance_term": rel_diff(distance["fp32"], distance["fp16"]),
            "note": "their hand-crafted features as their runs have them (an fp16 CLIP, in every precision) against "
                    "ours (the fp32 weights), and the distance term of the initial context with each"}}


ADAPTER = KgCoOpAdapter(
    method="KgCoOp", authors_module="kgcoop", authors_repo="github.com/htyao89/KgCoOp",
    config="configs/trainers/KgCoOp/vit_b16_ep100_ctxv1.yaml",
    loss_terms={"cross_entropy#1": "cross_entropy", "cosine_similarity#1": "cos(learned, hand-crafted) per class"},
    learner_class="PromptLearner", logits_call="cross_entropy#1", fp32_build=True,
    opts=("DATASET.NAME", "DescribableTextures", "TRAINER.COOP.N_CTX", "4", "TRAINER.COOP.W", "8.0"))
