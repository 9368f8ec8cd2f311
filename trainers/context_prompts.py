"""The learned context of CoOp's family (CoOp, CoCoOp, KgCoOp, ProGrad; the text side of the VL prompts):
the initial context vectors, the class prompts around them, CoOp's class-token positions, and the module
that holds the context with the fixed token embeddings around it (`ContextPrompts`).
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn

from clipfit.clip import TextEncoder, tokenize, tokenize_prompts
from clipfit.clip.shared_prefix import SuffixLayout, plan_suffixes
from clipfit.clip.text import get_tokenizer
from clipfit.errors import UserInputError

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
