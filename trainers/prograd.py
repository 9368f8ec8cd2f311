"""ProGrad (Zhu et al., ICCV 2023, "Prompt-aligned Gradient for Prompt Tuning").

CoOp's learned context; each step back-propagates two losses of the same forward pass: the cross-entropy
(the "domain" direction) and the distillation towards zero-shot CLIP's predictions (the "general"
direction), -sum_k p_k^zs(T) log p_k(T) * T^2 averaged over the batch, with p(T) the softmax of logits / T
(the authors' code: a cross-entropy with soft targets, which has the KL divergence's gradient). Where the
two gradients of a parameter conflict (negative cosine), the cross-entropy's is projected off the general
one (times LOSS.LAMBDA), `clipfit.core.prograd`; the optimizer steps on the result.

Zero-shot CLIP is the loaded CLIP on the dataset's hand-crafted prompt (the authors' own templates, below):
its class text features are encoded once from the fp32 weights and its image features are the student's
(the image tower is frozen and the same weights), so each step runs the image tower once, not twice. The
authors' keys are kept: TRAINER.COOP (N_CTX, CSC, CTX_INIT, PREC, CLASS_TOKEN_POSITION) and LOSS (NAME,
T, LAMBDA). Their `CTX_INIT: True` starts the context from the words of the dataset's template before the
class name, at its end after zeros ("X X ... a photo of a"); a phrase starts it from that phrase the same
way. The prompt learner's state dict is CoOp's (`ctx`), so checkpoints move between CoOp, the authors'
ProGrad and this one.

Differences from their code: at PREC fp16 the teacher's image features are the student's fp16 ones (theirs
come from a second, fp32 CLIP); amp works (theirs fails on the loss tuple) and bf16 is accepted; the
class-token positions middle and front work (theirs fails on an undefined name).
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from yacs.config import CfgNode as CN

from clipfit.clip import TextEncoder, at_least_fp32, cosine_logits, tokenize
from clipfit.compat import TRAINER_REGISTRY, compute_accuracy
from clipfit.core.prograd import backward_projected
from clipfit.core.recipes import RunSpec
from clipfit.errors import UserInputError

from .coop import CoOp, CoOpModel, CoOpRecipe
from .kgcoop import hand_crafted_features

# The authors' few-shot runs with 8 and 16 shots on these datasets use LOSS.LAMBDA 0.8 (their README).
SOFTER_PROJECTION = ("oxford_flowers", "dtd", "eurosat")


def prograd_losses(logits: torch.Tensor, zero_shot_logits: torch.Tensor, label: torch.Tensor,
                   temperature: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(cross-entropy, distillation to the zero-shot predictions), in the authors' order of operations."""
    xe = F.cross_entropy(logits, label)
    teacher = F.softmax(zero_shot_logits / temperature, dim=-1)
    kl = (-teacher * F.log_softmax(logits / temperature, -1) * temperature * temperature).sum(1).mean()
    return xe, kl


def words_at_the_end(encoder: TextEncoder, n_ctx: int, phrase: str, dtype: torch.dtype) -> tuple[torch.Tensor, str]:
    """ProGrad's initial context for a phrase of w words: n_ctx - w zero vectors, then the embeddings of the
    phrase's first w tokens; the prompt prefix is "X ... X {phrase}" (so a phrase with more tokens than words
    keeps its last tokens as fixed prompt tokens after the context, as in the authors' code)."""
    words = len(phrase.split(" "))
    if n_ctx < words:
        raise UserInputError(f"TRAINER.COOP.N_CTX is {n_ctx}, fewer than the {words} words of ProGrad's initial "
                             f"context {phrase!r}; set N_CTX to {words} or more")
    device = encoder.token_embedding.weight.device
    with torch.no_grad():
        embedded = encoder.embed(tokenize([phrase]).to(device))[0, 1 : 1 + words].to(dtype)
    vectors = torch.zeros(n_ctx, embedded.shape[-1], dtype=dtype, device=device)
    vectors[n_ctx - words :] = embedded
    return vectors, " ".join(["X"] * (n_ctx - words) + [phrase])


class ProGradModel(CoOpModel):
    """CoOp's model with zero-shot CLIP's class text features [n_cls, dim] as the teacher."""

    def __init__(self, clip: nn.Module, classnames: Sequence[str], zero_shot_text: torch.Tensor, temperature: float,
                 n_ctx: int = 16, ctx_init: str = "", csc: bool = False, class_token_position: str = "end"):
        super().__init__(clip, classnames, n_ctx, ctx_init, csc, class_token_position)
        self.register_buffer("zero_shot_text", zero_shot_text.detach(), persistent=False)
        self.temperature = temperature

    def initial_context(self, classnames, n_ctx, ctx_init):
        return words_at_the_end(self.text_encoder, n_ctx, ctx_init, self.text_encoder.dtype) if ctx_init else None

    def loss(self, image: torch.Tensor, label: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, dict]:
        """(cross-entropy, logits, {"kl_loss": the distillation term, with its graph}): the trainer back-propagates
        the two separately."""
        image_features = F.normalize(self.encode_image(image), dim=-1)
        logits = cosine_logits(image_features, self.class_text_features(), self.logit_scale, normalized=True)
        with torch.no_grad():
            zero_shot = at_least_fp32(self.logit_scale.exp()) * at_least_fp32(image_features) @ self.zero_shot_text.t()
        xe, kl = prograd_losses(at_least_fp32(logits), zero_shot, label, self.temperature)
        return xe, logits, {"kl_loss": kl}


class ProGradRecipe(CoOpRecipe):
    """The authors' settings on ViT-B/16 (their configs are RN50's: the vit_b16_* files are those with the ViT-B/16
    backbone): base-to-new 100 epochs (ImageNet 50), few-shot CoOp's epochs per shot count; 16 generic context
    vectors at the end, started from the template's words (CTX_INIT True); LOSS.LAMBDA 1.0, 0.8 for 8 and 16
    shots on Flowers102, DTD and EuroSAT (knob LAMBDA). Their own scripts run RN50 with 4 shots:
    CFG=rn50_ep100 SHOTS=4."""

    knobs = (*CoOpRecipe.knobs, "LAMBDA")

    def cfg(self, run: RunSpec) -> str:
        if run.protocol.startswith("base2new"):
            return "vit_b16_ep50" if run.dataset == "imagenet" else "vit_b16_ep100"
        return super().cfg(run)

    def opts(self, run: RunSpec) -> list[str]:
        """CoOp's knobs; LOSS.LAMBDA from its knob, else 0.8 where the authors soften the projection (else the
        config's 1.0 holds)."""
        softer = run.protocol == "few_shot" and run.shots >= 8 and run.dataset in SOFTER_PROJECTION
        lam = run.knob("LAMBDA") or ("0.8" if softer else "")
        return [*super().opts(run), *(["LOSS.LAMBDA", lam] if lam else [])]


@TRAINER_REGISTRY.register()
class ProGrad(CoOp):
    """Prompt-aligned Gradient (ProGrad), https://arxiv.org/abs/2205.14865."""

    RECIPE = ProGradRecipe("ProGrad")
    SCRIPT_FOLDER = "prograd"
    # The authors' hand-crafted templates where they differ from the datasets' own.
    TEMPLATE_OVERRIDES = {
        "OxfordPets": "a type of pet, a photo of a {}.",
        "OxfordFlowers": "a type of flower, a photo of a {}.",
        "FGVCAircraft": "a type of aircraft, a photo of a {}.",
        "DescribableTextures": "a texture of {}.",
        "Food101": "a type of food, a photo of {}.",
    }

    @classmethod
    def extend_cfg(cls, cfg) -> None:
        """The authors' LOSS node (their configs set NAME and T, their scripts LAMBDA)."""
        super().extend_cfg(cfg)
        node = CN()
        node.NAME = "prograd"  # the only loss of their trainer
        node.T = 1.0  # temperature of the distillation
        node.LAMBDA = 1.0  # how much of the conflicting component the projection removes (1: all of it)
        cfg.LOSS = node

    def check_cfg(self, cfg) -> None:
        super().check_cfg(cfg)
        if cfg.LOSS.NAME != "prograd":
            raise UserInputError(f"LOSS.NAME is {cfg.LOSS.NAME!r}: ProGrad has the one loss 'prograd'")
        if cfg.LOSS.T <= 0:
            raise UserInputError(f"LOSS.T is {cfg.LOSS.T}: the temperature must be positive (the authors: 1.0)")

    def check_ctx_init(self, cfg) -> None:
        """True/False (the authors' switch) or a phrase."""

    def initial_words(self) -> str:
        """CTX_INIT as words: True -> the dataset template's words before the class name (the authors' rule)."""
        value = self.cfg.TRAINER.COOP.CTX_INIT
        if value is not True:
            return value or ""
        template = self.dataset_template()
        if not template.endswith(" {}."):
            raise UserInputError(f"TRAINER.COOP.CTX_INIT True starts ProGrad's context from the words before the class "
                                 f"name, but the template of {self.cfg.DATASET.NAME} ({template!r}) does not end with "
                                 "it; set TRAINER.COOP.CTX_INIT to the initial words (e.g. a_photo_of_a)")
        return template[: -len(" {}.")].replace("_", " ")

    def build_teachers(self, clip, classnames) -> None:
        template = self.dataset_template()
        print(f'Zero-shot CLIP prompt: "{template}"')
        self.zero_shot_text = hand_crafted_features(clip, classnames, template)

    def build_method(self, clip, classnames):
        node, loss = self.cfg.TRAINER.COOP, self.cfg.LOSS
        print("Building custom CLIP")
        model = ProGradModel(clip, classnames, self.zero_shot_text, loss.T, node.N_CTX, self.initial_words(), node.CSC,
                             node.CLASS_TOKEN_POSITION)
        print(f"Turning off gradients in both the image and the text encoder; T = {loss.T}, LAMBDA = {loss.LAMBDA}")
        return model

    def forward_backward(self, batch) -> dict:
        """The fork's `prograd_backward_and_update` (both losses scaled alike under amp: the projection is
        linear in the task gradient and blind to the general one's scale), then the scaler's step."""
        image, label = self.parse_batch_train(batch)
        xe, logits, extras = self.training_loss(image, label)
        kl, names = extras["kl_loss"], self.get_model_names()
        backward_projected(self.scaler.scale(xe), self.scaler.scale(kl), [self._models[n] for n in names],
                           self.cfg.LOSS.LAMBDA, self.model_zero_grad, self.detect_anomaly)
        for name in names:
            self.scaler.step(self._optims[name])
        self.scaler.update()
        summary = {"xe_loss": xe.item(), "kl_loss": kl.item(), "acc": compute_accuracy(logits, label)[0].item()}
        if (self.batch_idx + 1) == self.num_batches:
            self.update_lr()
        return summary
