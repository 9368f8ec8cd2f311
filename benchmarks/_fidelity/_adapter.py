"""What the benchmark needs to know of one method: the authors' module and trainer, the config both codes read,
the loss terms and how their trained tensors are named in our code. A method's adapter is one module of this
package defining `ADAPTER` (see `_fidelity.adapters`); a method with more to check overrides the hooks."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Adapter:
    method: str  # the registered trainer name, the same in both codes
    authors_module: str  # trainers/<module>.py of the authors' checkout
    authors_repo: str  # the public repository it is run against (for the record)
    config: str  # our copy of the authors' config file (the same values)
    # torch.nn.functional calls recorded in both steps, by call number -> the loss term each returns.
    loss_terms: dict[str, str] = field(default_factory=lambda: {"cross_entropy#1": "cross_entropy"})
    # Their prompt learner class, whose random draws the initial values depend on: reseeded (both codes) before
    # it is built, to compare the initial values; None when they are drawn elsewhere (then ours are copied).
    learner_class: str | None = None
    # Our names of the tensors their code rounds to fp16 when it builds them, in every precision (MaPLe's proj).
    fp16_in_authors_init: tuple[str, ...] = ()
    # The recorded call whose first argument is the training logits ("" = the first recorded call).
    logits_call: str = ""
    # The loss values of the step's summary (forward_backward's dict) compared; ProGrad's has no total.
    summary_losses: tuple[str, ...] = ("loss",)
    # Build their trainer with `Tensor.half` as identity: their code encodes a frozen teacher with an fp16 CLIP in
    # every precision (KgCoOp), which the fp32 comparison turns off like their forward's casts.
    fp32_build: bool = False
    opts: tuple[str, ...] = ()  # config options of this benchmark on top of the config file
    gpa_epochs: int = 0  # > 0: also compare PromptSRC's prompt aggregation over this many one-step epochs

    def our_name(self, name: str) -> str:
        """Their trained tensor `name` (a parameter of their whole CustomCLIP) -> ours (of our prompt learner)."""
        return name.removeprefix("prompt_learner.")

    def our_learner(self):
        """Our prompt learner class (reseeded like theirs), when `learner_class` is set."""
        raise NotImplementedError

    def extra(self, ours, theirs, batch) -> dict:
        """Method-specific comparisons, run after the compared step with both trainers at their initial values
        again; a part holding "max_rel_diff" counts towards the run's worst difference."""
        return {}


def vl_prompt_name(name: str) -> str:
    """IVLP / PromptSRC: their prompts live in their modified CLIP; ours in the prompt learner."""
    if name == "prompt_learner.ctx":
        return "ctx"
    if name == "image_encoder.VPT":
        return "vision_ctx"
    for tower, ours in (("image_encoder", "vision_deep_ctx"), ("text_encoder", "deep_ctx")):
        prefix = f"{tower}.transformer.resblocks."
        if name.startswith(prefix) and name.endswith(".VPT_shallow"):
            return f"{ours}.{int(name[len(prefix):].split('.')[0]) - 1}"  # block j's prompt is deep prompt j - 1
    raise KeyError(f"no counterpart for their trained tensor {name}")
