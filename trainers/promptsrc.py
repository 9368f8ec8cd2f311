"""PromptSRC (Khattak et al., ICCV 2023, "Self-regulating Prompts: Foundational Model Adaptation without Forgetting").

IVLP's independent text and image prompts (`trainers.ivlp`), trained with self-regulating constraints towards
the frozen CLIP and aggregated over the epochs:

    loss = CE(logits, y) + (L_SCL_logits + TEXT_LOSS_WEIGHT * L1(t, t_zs) + IMAGE_LOSS_WEIGHT * L1(f, f_zs))

where t, f are the normalised prompted text and image features, t_zs the frozen text teacher: for each class
the mean over 60 ImageNet templates of frozen CLIP's (unnormalised) text features, normalised, computed once
from the fp32 weights; f_zs the frozen CLIP's features of the same images (no prompts, no gradient);
L_SCL_logits = KL(softmax(zs) || softmax(logits)) summed and divided by the number of logits, zs being the
frozen image features against t_zs at CLIP's logit scale. L1 is the mean absolute difference. After each
epoch the prompts enter the Gaussian prompt aggregation (`trainers.gpa`), which they become after the last.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from clipfit.clip import IMAGENET_TEMPLATES, TextEncoder, at_least_fp32, cosine_logits, prompt_for, tokenize_prompts
from clipfit.compat import TRAINER_REGISTRY
from clipfit.core.recipes import Recipe, RunSpec
from clipfit.errors import UserInputError

from .base import method_node
from .gpa import GaussianPromptAggregation, gaussian_weights
from .ivlp import IVLPModel, add_vl_prompt_keys
from .vl_prompts import VLPromptTrainer


def frozen_text_teacher(clip: nn.Module, classnames: Sequence[str],
                        templates: Sequence[str] = IMAGENET_TEMPLATES) -> torch.Tensor:
    """Normalised [n_cls, dim]: per class the mean of the unnormalised text features over `templates` (the
    authors' order: mean first, then normalise), in the dtype of `clip`'s weights, without gradient."""
    encoder = TextEncoder(clip)
    device = encoder.token_embedding.weight.device
    with torch.no_grad():
        total = sum(encoder.encode(tokenize_prompts([prompt_for(t, name) for name in classnames], device=device))
                    for t in templates)
    return F.normalize(total / len(templates), dim=-1)


class PromptSRCModel(IVLPModel):
    """IVLP's prompts with PromptSRC's losses; the prompt learner also holds the GPA aggregate (`gpa`)."""

    def __init__(self, clip: nn.Module, classnames: Sequence[str], teacher_text: torch.Tensor,
                 gpa_weights: Sequence[float], n_ctx_text: int = 4, n_ctx_vision: int = 4,
                 ctx_init: str = "a photo of a", depth_text: int = 9, depth_vision: int = 9,
                 text_weight: float = 25.0, image_weight: float = 10.0):
        super().__init__(clip, classnames, n_ctx_text, n_ctx_vision, ctx_init, depth_text, depth_vision,
                         "TRAINER.PROMPTSRC")
        self.register_buffer("teacher_text_features", teacher_text.detach().float(), persistent=False)
        self.text_weight, self.image_weight = text_weight, image_weight
        self.prompt_learner.gpa = GaussianPromptAggregation(dict(self.prompt_learner.named_parameters()), gpa_weights)

    def loss(self, image, label):
        text = self.class_text_features()
        features = F.normalize(self.encode_image(image), dim=-1)
        logits = cosine_logits(features, text, self.logit_scale, normalized=True)
        ce = F.cross_entropy(at_least_fp32(logits), label)
        teacher = self.teacher_text_features.to(at_least_fp32(text).dtype)
        with torch.no_grad():  # the frozen CLIP: the same towers without prompts
            zs_features = F.normalize(self.clip.encode_image(image), dim=-1)
            zs_logits = cosine_logits(zs_features, teacher, self.logit_scale, normalized=True)
        scl_text = F.l1_loss(at_least_fp32(text), teacher) * self.text_weight
        scl_image = F.l1_loss(at_least_fp32(features), at_least_fp32(zs_features)) * self.image_weight
        log_p, log_q = F.log_softmax(at_least_fp32(logits), dim=1), F.log_softmax(at_least_fp32(zs_logits), dim=1)
        scl_logits = F.kl_div(log_p, log_q, reduction="sum", log_target=True) / logits.numel()
        loss = ce + (scl_logits + scl_text + scl_image)
        extras = {"ce": ce.detach(), "scl_logits": scl_logits.detach(), "scl_text": scl_text.detach(),
                  "scl_image": scl_image.detach()}
        return loss, logits, extras


FEW_SHOT_NARROW_GPA = ("stanford_cars", "oxford_flowers", "fgvc_aircraft", "dtd", "eurosat")


class PromptSRCRecipe(Recipe):
    """The authors' configs: base-to-new 20 epochs; the cross-dataset ImageNet run its own (depth 3, GPA N(6, 10));
    few-shot 50 epochs with GPA N(30, 30), and N(45, 5) on the five datasets their config names."""

    def cfg(self, run: RunSpec) -> str:
        if run.transfer:
            return "vit_b16_c2_ep20_batch4_4+4ctx_cross_datasets"
        if run.protocol == "few_shot":
            return "vit_b16_c2_ep50_batch4_4+4ctx_few_shot"
        return "vit_b16_c2_ep20_batch4_4+4ctx"

    def opts(self, run: RunSpec) -> list[str]:
        if run.protocol == "few_shot" and not run.transfer and run.dataset in FEW_SHOT_NARROW_GPA:
            return ["TRAINER.PROMPTSRC.GPA_MEAN", "45.0", "TRAINER.PROMPTSRC.GPA_STD", "5.0"]
        return []


@TRAINER_REGISTRY.register()
class PromptSRC(VLPromptTrainer):
    """Self-regulating prompts (PromptSRC), https://arxiv.org/abs/2307.06948."""

    CONFIG_NODE = "PROMPTSRC"
    MODEL_NAME = "VLPromptLearner"
    RECIPE = PromptSRCRecipe("PromptSRC")
    SCRIPT_FOLDER = "promptsrc"
    TEACHER_TEMPLATES = IMAGENET_TEMPLATES  # the prompt ensemble of the frozen text teacher

    @classmethod
    def extend_cfg(cls, cfg) -> None:
        super().extend_cfg(cfg)
        node = method_node()
        add_vl_prompt_keys(node, n_ctx=4, depth=9)
        node.TEXT_LOSS_WEIGHT = 25.0  # weight of L1(text features, frozen text teacher)
        node.IMAGE_LOSS_WEIGHT = 10.0  # weight of L1(image features, frozen image features)
        node.GPA_MEAN = 15.0  # Gaussian prompt aggregation: the epoch weights are N(GPA_MEAN, GPA_STD^2)
        node.GPA_STD = 1.0
        cfg.TRAINER.PROMPTSRC = node

    def check_cfg(self, cfg) -> None:
        super().check_cfg(cfg)
        node = cfg.TRAINER.PROMPTSRC
        for key in ("TEXT_LOSS_WEIGHT", "IMAGE_LOSS_WEIGHT"):
            if node[key] < 0:
                raise UserInputError(f"TRAINER.PROMPTSRC.{key} is {node[key]}: a loss weight must not be negative")
        if node.GPA_STD <= 0:
            raise UserInputError(f"TRAINER.PROMPTSRC.GPA_STD is {node.GPA_STD}: the spread of the epoch weights must "
                                 "be positive (the authors use 1 to 30)")

    def build_teachers(self, clip, classnames) -> None:
        print(f"Encoding the frozen text teacher: {len(classnames)} classes x {len(self.TEACHER_TEMPLATES)} templates")
        self.teacher_text = frozen_text_teacher(clip, classnames, self.TEACHER_TEMPLATES)

    def build_method(self, clip, classnames):
        node, cfg = self.method_cfg(), self.cfg
        print("Building custom CLIP")
        weights = gaussian_weights(cfg.OPTIM.MAX_EPOCH, node.GPA_MEAN, node.GPA_STD)
        model = PromptSRCModel(clip, classnames, self.teacher_text, weights, node.N_CTX_TEXT, node.N_CTX_VISION,
                               node.CTX_INIT, node.PROMPT_DEPTH_TEXT, node.PROMPT_DEPTH_VISION,
                               node.TEXT_LOSS_WEIGHT, node.IMAGE_LOSS_WEIGHT)
        print("Turning off gradients in both the image and the text encoder")
        self.report_trained(model)
        print(f"GPA over {cfg.OPTIM.MAX_EPOCH} epochs, N({node.GPA_MEAN}, {node.GPA_STD}^2): the last epoch weighs "
              f"{weights[-1]:.4f}")
        return model

    def after_epoch(self) -> None:
        """GPA before the epoch's checkpoint (which holds the aggregate); after the last epoch the prompts become it."""
        learner = self.model.prompt_learner
        params = dict(learner.named_parameters())
        learner.gpa.add(self.epoch, params)
        if learner.gpa.complete():
            print("Using GPA model for final inference...")
            learner.gpa.load_into(params)
        super().after_epoch()
