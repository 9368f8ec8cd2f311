"""What the deep vision-language prompting methods of Khattak et al. share (IVLP, MaPLe, PromptSRC): the text
context initialised as their code does it, the class prompts around it, a frozen CLIP whose two towers take
prompt tokens, and the checks of the prompt settings.

Compute kept lean, exactly: the text tower runs only up to the longest prompt, and the positions every class
prompt shares ([SOS], the learned context, the fixed words after it such as MaPLe's "of a", and the deep
prompts that take the context's place in later blocks) run once (`TextEncoder.forward_prefixed`).
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from open_clip.transformer import VisionTransformer

from clipfit.clip import PromptedImageEncoder, TextEncoder, tokenize
from clipfit.errors import UserInputError

from .base import ClipMethod, ClipTrainer
from .context_prompts import ContextPrompts

PROMPT_STD = 0.02  # every randomly initialised prompt of these methods: N(0, 0.02^2)


def initial_text_context(encoder: TextEncoder, n_ctx: int, ctx_init: str, dtype: torch.dtype,
                         node: str) -> tuple[torch.Tensor, str]:
    """Initial text context [n_ctx, width] and the prompt prefix, by the authors' rule (not CoOp's).

    With CTX_INIT and N_CTX <= 4 the context starts from the first N_CTX token embeddings of the phrase, and
    the prompts begin with the whole phrase: its tokens after the first N_CTX stay fixed ("a photo of a" with
    N_CTX 2 learns "a photo" and keeps "of a"). Otherwise (CTX_INIT is then ignored, as by the authors) N_CTX
    vectors from N(0, 0.02^2), drawn on the CPU in the model dtype, and the prompts "X X ... X {name}.".
    """
    if n_ctx < 1:
        raise UserInputError(f"{node}.N_CTX is {n_ctx}: the text prompt needs at least one context token")
    device = encoder.token_embedding.weight.device
    if ctx_init and n_ctx <= 4:
        phrase = ctx_init.replace("_", " ")
        tokens = tokenize([phrase])
        n_tokens = int(tokens.argmax(dim=-1)) - 1
        if n_ctx > n_tokens:
            raise UserInputError(f'{node}: CTX_INIT "{phrase}" has {n_tokens} tokens, fewer than the {n_ctx} context '
                                 "tokens asked for (the context would cover the class name); lower N_CTX or lengthen "
                                 "CTX_INIT")
        with torch.no_grad():
            vectors = encoder.embed(tokens.to(device))[0, 1 : 1 + n_ctx].to(dtype).clone()
        return vectors, phrase
    if ctx_init:
        print(f'Note: {node}.CTX_INIT "{ctx_init}" is used only with N_CTX <= 4 (the authors\' rule); with N_CTX '
              f"{n_ctx} the context starts random")
    vectors = torch.empty(n_ctx, encoder.token_embedding.weight.shape[1], dtype=dtype)  # CPU: the authors' draw
    nn.init.normal_(vectors, std=PROMPT_STD)
    return vectors.to(device), " ".join(["X"] * n_ctx)


def normal_prompts(count: int, n_tokens: int, width: int) -> nn.ParameterList:
    """`count` fp32 prompts [n_tokens, width] from N(0, 0.02^2), drawn one after the other on the CPU."""
    prompts = nn.ParameterList()
    for _ in range(count):
        vectors = torch.empty(n_tokens, width)
        nn.init.normal_(vectors, std=PROMPT_STD)
        prompts.append(nn.Parameter(vectors))
    return prompts


def check_depth(depth: int, layers: int, key: str, minimum: int = 1) -> None:
    """A prompt depth must lie between `minimum` and the tower's number of blocks."""
    if not minimum <= depth <= layers:
        raise UserInputError(f"{key} is {depth}: it must lie between {minimum} and {layers}, the number of blocks of "
                             "this backbone's tower")


class ClassPrompts(ContextPrompts):
    """CoOp's class prompts "{prefix} {name}." around the learned text context `ctx` (`ContextPrompts`), with the
    fixed tokens after the context that every class shares (`token_shared`) moved into the prefix that runs
    once. The text tower is causal, so those positions are the same in every prompt: sharing them is exact."""

    def __init__(self, encoder: TextEncoder, classnames: Sequence[str], vectors: torch.Tensor, prefix: str):
        super().__init__(encoder, classnames, vectors, prefix)
        suffix = self.token_suffix
        same = (suffix == suffix[:1]).all(dim=2).all(dim=0)
        differs = (~same).nonzero()
        common = int(differs[0]) if len(differs) else suffix.shape[1]
        shared = min(common, int(self.eot_index.min()) - 1 - self.n_ctx)  # every prompt keeps its EOT apart
        self.register_buffer("token_shared", suffix[:1, :shared].clone(), persistent=False)
        self.token_suffix = suffix[:, shared:].clone()
        self.prefix_length = 1 + self.n_ctx + shared

    def context_prefix(self, ctx: torch.Tensor) -> torch.Tensor:
        """[SOS] + context + the shared fixed tokens: [G, prefix_length, dim] for contexts [G, n_ctx, dim]."""
        groups = ctx.shape[0]
        return torch.cat([self.token_prefix[:1].expand(groups, -1, -1), ctx,
                          self.token_shared.expand(groups, -1, -1)], dim=1)


class PromptedClip(ClipMethod):
    """A frozen CLIP whose text and image towers take prompt tokens; the trained tensors are the prompt learner's."""

    def __init__(self, clip: nn.Module):
        super().__init__(clip)
        if not isinstance(clip.visual, VisionTransformer):
            raise UserInputError(f"prompts in the image tower need a ViT backbone; this one's image tower is "
                                 f"{type(clip.visual).__name__}: set MODEL.BACKBONE.NAME to a ViT (e.g. ViT-B/16)")
        clip.requires_grad_(False)
        self.text_encoder = TextEncoder(clip)
        self.image_encoder = PromptedImageEncoder(clip.visual)

    def prompted_text_features(self, learner: ClassPrompts, deep: Sequence[torch.Tensor] = ()) -> torch.Tensor:
        """Normalised class text features [n_cls, dim] of the learner's prompts, `deep` in blocks 1, 2, ..."""
        prefix = learner.context_prefix(learner.ctx.unsqueeze(0))
        features = self.text_encoder.forward_prefixed(prefix, learner.token_suffix, learner.eot_index,
                                                      layout=learner.pair_layout(0, learner.n_cls), deep_prompts=deep)
        return F.normalize(features, dim=-1)


class VLPromptTrainer(ClipTrainer):
    """The trainers of these methods: their prompt learner is the trained module (its state dict holds exactly
    the trained tensors), registered under the authors' name."""

    def trained_module(self) -> nn.Module:
        return self.model.prompt_learner

    def report_trained(self, model: PromptedClip) -> None:
        enabled = {n: p.numel() for n, p in model.prompt_learner.named_parameters() if p.requires_grad}
        print(f"Parameters to be updated: {list(enabled)}")
        print(f"Parameters count: {len(enabled)} tensors, {sum(enabled.values()):,} values")
