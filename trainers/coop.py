"""CoOp (Zhou et al., IJCV 2022, "Learning to Prompt for Vision-Language Models").

The class prompts are "[SOS] X X ... X {name}. [EOS]" where the X embeddings are learned context vectors
(shared by all classes, or class-specific with CSC) and everything else is CLIP's frozen token embeddings.
Only the context trains. The registered `prompt_learner` module is the prompt learner itself, so its
state dict is CoOp's (`ctx`; the fixed `token_prefix` / `token_suffix` embeddings are rebuilt from the
current class names and kept out of checkpoints), and checkpoints move between the original CoOp and
this one in both directions.

The prompts are cut to the longest prompt's EOT + 1 positions (about 20 instead of 77): the text tower is
causal, so the features are the same (see `clipfit.clip.text`).
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from clipfit.clip import TextEncoder, frozen_image_features, tokenize, tokenize_prompts
from clipfit.clip.shared_prefix import SuffixLayout, plan_suffixes
from clipfit.clip.text import get_tokenizer
from clipfit.compat import TRAINER_REGISTRY
from clipfit.errors import UserInputError
from clipfit.recipes import Recipe, RunSpec

from .base import ClipMethod, ClipTrainer, method_node

CLASS_TOKEN_POSITIONS = ("end", "middle", "front")


def context_vectors(
    encoder: TextEncoder, n_ctx: int, ctx_init: str, dtype: torch.dtype, n_cls: int = 0
) -> tuple[torch.Tensor, str]:
    """Initial context vectors and the prompt prefix they stand for, as CoOp/CoCoOp build them.

    With `ctx_init` ("a_photo_of_a" or "a photo of a"), n_ctx is its number of words and the context
    starts from the embeddings of its first n_ctx tokens; the prefix is the phrase. Otherwise n_ctx
    vectors drawn from N(0, 0.02^2) on the CPU generator ([n_cls, n_ctx, dim] when `n_cls` > 0, i.e.
    class-specific), and the prefix is "X X ... X".
    """
    device = encoder.token_embedding.weight.device
    if ctx_init:
        phrase = ctx_init.replace("_", " ")
        n_ctx = len(phrase.split(" "))
        tokens = tokenize([phrase]).to(device)
        n_tokens = int(tokens.argmax(dim=-1)) - 1
        if n_tokens != n_ctx:
            print(
                f'Note: CTX_INIT "{phrase}" has {n_ctx} words but {n_tokens} tokens; as in CoOp, the context '
                f"takes the first {n_ctx} token embeddings and the rest stays as fixed prompt tokens"
            )
        with torch.no_grad():
            vectors = encoder.embed(tokens)[0, 1 : 1 + n_ctx].to(dtype).clone()
        return vectors, phrase
    if n_ctx < 1:
        raise UserInputError(f"N_CTX is {n_ctx}: CoOp/CoCoOp need at least one context token (or set CTX_INIT)")
    dim = encoder.token_embedding.weight.shape[1]
    shape = (n_cls, n_ctx, dim) if n_cls else (n_ctx, dim)
    vectors = torch.empty(shape, dtype=dtype)  # CPU, as in CoOp, for the same draw from the global RNG
    nn.init.normal_(vectors, std=0.02)
    return vectors.to(device), " ".join(["X"] * n_ctx)


def class_prompts(prefix: str, classnames: Sequence[str]) -> tuple[list[str], list[int]]:
    """CoOp's prompts "{prefix} {name}." and the token count of every name (underscores -> spaces)."""
    names = [name.replace("_", " ") for name in classnames]
    tokenizer = get_tokenizer()
    return [f"{prefix} {name}." for name in names], [len(tokenizer.encode(name)) for name in names]


def token_order(
    eot_index: Sequence[int], name_lens: Sequence[int], n_ctx: int, length: int, position: str
) -> torch.Tensor:
    """Per class, where each position of the prompt comes from in [SOS][ctx][name][.][EOS][pad].

    CoOp's rules: `middle` puts the first n_ctx // 2 context vectors before the name and the rest after
    it; `front` puts the name right after SOS. The '.' and EOS stay after everything, so the EOT
    position does not move. Name lengths are CoOp's (the name tokenized alone), capped to what is
    between the context and the EOT.
    """
    if position not in CLASS_TOKEN_POSITIONS:
        raise ValueError(f"class token position {position!r}; use one of {list(CLASS_TOKEN_POSITIONS)}")
    rows = []
    half = n_ctx // 2
    for eot, name_len in zip(eot_index, name_lens):
        name_len = max(0, min(int(name_len), int(eot) - 1 - n_ctx))
        ctx = list(range(1, 1 + n_ctx))
        name = list(range(1 + n_ctx, 1 + n_ctx + name_len))
        rest = list(range(1 + n_ctx + name_len, length))
        if position == "end":
            middle = ctx + name
        elif position == "middle":
            middle = ctx[:half] + name + ctx[half:]
        else:
            middle = name + ctx
        rows.append([0] + middle + rest)
    return torch.tensor(rows, dtype=torch.long)


class ContextPrompts(nn.Module):
    """The learned context `ctx` of the prompts "{prefix} {name}." and the fixed token embeddings around
    it: SOS (`token_prefix`) and name + '.' + EOS (`token_suffix`). CoOp's and CoCoOp's learners build on it.

    Buffers are not persistent: they come from the current class names, never from a checkpoint.
    """

    def __init__(self, encoder: TextEncoder, classnames: Sequence[str], vectors: torch.Tensor, prefix: str):
        super().__init__()
        n_ctx = vectors.shape[-2]
        print(f'Initial context: "{prefix}"')
        print(f"Number of context words (tokens): {n_ctx}")
        prompts, self.name_lens = class_prompts(prefix, classnames)
        tokenized = tokenize_prompts(prompts, device=encoder.token_embedding.weight.device, names=classnames)
        if int(tokenized.eot_index.min()) <= n_ctx:
            raise UserInputError(f"the prompts are too long for {n_ctx} context tokens in a 77-token text context")
        with torch.no_grad():
            embedding = encoder.embed(tokenized.tokens).to(vectors.dtype)
        self.register_buffer("token_prefix", embedding[:, :1].clone(), persistent=False)
        self.register_buffer("token_suffix", embedding[:, 1 + n_ctx :].clone(), persistent=False)
        self.register_buffer("eot_index", tokenized.eot_index, persistent=False)
        self.n_cls, self.n_ctx, self.length = len(prompts), n_ctx, tokenized.length
        self.ctx = nn.Parameter(vectors)
        self.prefix_length = 1 + n_ctx  # [SOS] + context: what the prompts of one context share
        self._eot_cpu = tokenized.eot_index.cpu()
        self._layouts: dict = {}

    def pair_layout(self, start: int, end: int, groups: int = 1) -> SuffixLayout:
        """Where the name + '.' + EOS positions of the (image, class) pairs start..end-1 go when each
        image's [SOS] + context runs once (`TextEncoder.forward_prefixed`): pair i is image i // n_cls,
        class i % n_cls, of `groups` images. Planned once per range; CoOp's prompts are pairs 0..n_cls-1."""
        device = self.token_suffix.device
        key = (start, end, groups, device)
        if key not in self._layouts:
            index = torch.arange(start, end)
            group = None if groups == 1 else index // self.n_cls
            self._layouts[key] = plan_suffixes(
                self._eot_cpu[index % self.n_cls], self.prefix_length, self.token_suffix.shape[1], group, device
            )
        return self._layouts[key]

    def context_prefix(self, ctx: torch.Tensor) -> torch.Tensor:
        """[SOS] + context, the prompt start every class shares: [G, 1 + n_ctx, dim] for contexts [G, n_ctx, dim]."""
        return torch.cat([self.token_prefix[:1].expand(ctx.shape[0], -1, -1), ctx], dim=1)


class PromptLearner(ContextPrompts):
    """CoOp's prompt learner; its state dict is exactly `{"ctx": ...}`."""

    def __init__(
        self,
        encoder: TextEncoder,
        classnames: Sequence[str],
        n_ctx: int = 16,
        ctx_init: str = "",
        csc: bool = False,
        class_token_position: str = "end",
        initial: tuple[torch.Tensor, str] | None = None,
    ):
        if initial is None:  # else (vectors, prefix) of a method with another rule than CoOp's (ProGrad)
            if not ctx_init:
                print("Initializing class-specific contexts" if csc else "Initializing a generic context")
            elif csc:
                print("Note: CSC is ignored with CTX_INIT (as in CoOp): the context is generic")
            # n_cls only matters without CTX_INIT: context_vectors ignores it for an initial phrase.
            n_cls = len(classnames) if csc else 0
            initial = context_vectors(encoder, n_ctx, ctx_init, encoder.dtype, n_cls=n_cls)
        vectors, prefix = initial
        super().__init__(encoder, classnames, vectors, prefix)
        self.class_token_position = class_token_position
        order = None
        if class_token_position != "end":
            order = token_order(self.eot_index.tolist(), self.name_lens, self.n_ctx, self.length, class_token_position)
            order = order.to(self.eot_index.device)
        self.register_buffer("order", order, persistent=False)

    def forward(self) -> torch.Tensor:
        """Embedded prompts [n_cls, L, dim] in the class-token position's order."""
        ctx = self.ctx
        if ctx.dim() == 2:
            ctx = ctx.unsqueeze(0).expand(self.n_cls, -1, -1)
        prompts = torch.cat([self.token_prefix, ctx, self.token_suffix], dim=1)
        if self.order is not None:
            prompts = prompts.gather(1, self.order.unsqueeze(-1).expand(-1, -1, prompts.shape[-1]))
        return prompts


class FrozenClipMethod(ClipMethod):
    """A frozen CLIP with a text encoder over learned prompts (CoOp, CoCoOp)."""

    def __init__(self, clip: nn.Module):
        super().__init__(clip)
        clip.requires_grad_(False)
        self.text_encoder = TextEncoder(clip)
        self.image_features = frozen_image_features(clip.visual)  # ViTs: the last block for the class token only

    def encode_image(self, image: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():  # the image tower is frozen: no graph
            return self.image_features(image)


class CoOpModel(FrozenClipMethod):
    """Frozen CLIP + CoOp's learned context; class text features from the truncated prompts."""

    def __init__(self, clip: nn.Module, classnames: Sequence[str], n_ctx: int = 16, ctx_init: str = "",
                 csc: bool = False, class_token_position: str = "end"):
        super().__init__(clip)
        self.prompt_learner = PromptLearner(self.text_encoder, classnames, n_ctx, ctx_init, csc, class_token_position,
                                            self.initial_context(classnames, n_ctx, ctx_init))

    def initial_context(self, classnames: Sequence[str], n_ctx: int, ctx_init: str) -> tuple[torch.Tensor, str] | None:
        """Hook: the (vectors, prefix) the context starts from; None: CoOp's rule."""
        return None

    def class_text_features(self) -> torch.Tensor:
        learner = self.prompt_learner
        if learner.ctx.dim() == 2 and learner.class_token_position == "end":
            # A generic context at the start: every prompt begins with [SOS] + ctx, run once.
            prefix = learner.context_prefix(learner.ctx.unsqueeze(0))
            features = self.text_encoder.forward_prefixed(
                prefix, learner.token_suffix, learner.eot_index, layout=learner.pair_layout(0, learner.n_cls)
            )
        else:
            features = self.text_encoder.forward_embeddings(learner(), learner.eot_index)
        return F.normalize(features, dim=-1)


class CoOpRecipe(Recipe):
    """CoCoOp paper's CoOp for base-to-new (ctxv1, 200 epochs, 50 on ImageNet); CoOp paper's few-shot epochs.
    The context (NCTX, CSC, CTP) names a folder level of few-shot runs, as in CoOp's scripts."""

    knobs = ("NCTX", "CSC", "CTP")
    DEFAULTS = {"NCTX": "16", "CSC": "False", "CTP": "end"}

    def cfg(self, run: RunSpec) -> str:
        if run.protocol.startswith("base2new"):
            return "vit_b16_ep50_ctxv1" if run.dataset == "imagenet" else "vit_b16_ctxv1"
        if run.dataset == "imagenet":
            return "vit_b16_ep50"
        return {1: "vit_b16_ep50", 2: "vit_b16_ep100", 4: "vit_b16_ep100"}.get(run.shots, "vit_b16")

    def context(self, run: RunSpec) -> tuple[str, str, str]:
        return tuple(run.knob(name, default) for name, default in self.DEFAULTS.items())

    def opts(self, run: RunSpec) -> list[str]:
        n_ctx, csc, ctp = self.context(run)
        return ["TRAINER.COOP.N_CTX", n_ctx, "TRAINER.COOP.CSC", csc, "TRAINER.COOP.CLASS_TOKEN_POSITION", ctp]

    def variant(self, run: RunSpec) -> str:
        return "nctx{}_csc{}_ctp{}".format(*self.context(run))


@TRAINER_REGISTRY.register()
class CoOp(ClipTrainer):
    """Context Optimization (CoOp), https://arxiv.org/abs/2109.01134."""

    CONFIG_NODE = "COOP"
    RECIPE = CoOpRecipe("CoOp")
    SCRIPT_FOLDER = "coop"

    @classmethod
    def extend_cfg(cls, cfg) -> None:
        """TRAINER.COOP, CoOp's keys; zero-shot CLIP reads its PREC too (CoOp's scripts pass it CoOp's configs)."""
        node = method_node()
        node.N_CTX = 16
        node.CSC = False
        # Initial words; None (no type) lets the authors' KgCoOp and ProGrad configs write `CTX_INIT: True`.
        node.CTX_INIT = None
        node.CLASS_TOKEN_POSITION = "end"
        # The authors' CLIPFit scripts pass these; nothing reads them.
        node.W1 = 1.0
        node.W2 = 1.0
        cfg.TRAINER.COOP = node

    def check_cfg(self, cfg) -> None:
        super().check_cfg(cfg)
        self.check_ctx_init(cfg)
        position = cfg.TRAINER.COOP.CLASS_TOKEN_POSITION
        if position not in CLASS_TOKEN_POSITIONS:
            raise UserInputError(
                f"TRAINER.COOP.CLASS_TOKEN_POSITION is {position!r}; use one of {list(CLASS_TOKEN_POSITIONS)}"
            )

    def check_ctx_init(self, cfg) -> None:
        """CoOp's CTX_INIT is a phrase (or empty); True/False are KgCoOp's and ProGrad's switch."""
        value = cfg.TRAINER.COOP.CTX_INIT
        if isinstance(value, bool):
            raise UserInputError(f"TRAINER.COOP.CTX_INIT is {value}: {cfg.TRAINER.NAME} takes the initial words "
                                 "(e.g. a_photo_of_a) or nothing; True/False is KgCoOp's and ProGrad's switch")

    def build_method(self, clip, classnames):
        node = self.cfg.TRAINER.COOP
        print("Building custom CLIP")
        model = CoOpModel(clip, classnames, node.N_CTX, node.CTX_INIT, node.CSC, node.CLASS_TOKEN_POSITION)
        print("Turning off gradients in both the image and the text encoder")
        return model

    def trained_module(self) -> nn.Module:
        return self.model.prompt_learner
