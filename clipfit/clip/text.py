"""Tokenization and a text encoder that runs only as many positions as the prompts need.

CLIP's text transformer is causal: position i attends to positions <= i only, and the feature is read
at the end-of-text (EOT) token. Padding after the last EOT therefore cannot change any pooled feature,
so running `L = max EOT position + 1` positions instead of 77 gives the same result as
`CLIP.encode_text` at a fraction of the cost (class prompts are ~10-20 tokens). Going further the same
way, the leading tokens all prompts share run once and each prompt runs only up to its own EOT
(`clipfit.clip.shared_prefix`).
"""
from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import open_clip
import torch
from open_clip.model import CLIP
from torch import nn

from ..errors import UserInputError
from .deep_prompts import check_deep_prompts, run_blocks
from .shared_prefix import (
    SuffixLayout,
    plan_suffixes,
    run_prefixed,
    shared_prefix_length,
    supports_shared_prefix,
    worth_sharing,
)

__all__ = ["get_tokenizer", "PromptTooLong", "tokenize", "TokenizedPrompts", "tokenize_prompts", "TextEncoder"]


@functools.lru_cache(maxsize=4)
def get_tokenizer(context_length: int = 77) -> open_clip.tokenizer.SimpleTokenizer:
    """CLIP's BPE tokenizer (the one of every OpenAI-architecture open_clip model); built once."""
    return open_clip.tokenizer.SimpleTokenizer(context_length=context_length)


class PromptTooLong(UserInputError, ValueError):
    """A prompt has more tokens than the text context: cut, prompts that differ only after the cut would be
    identical (classes indistinguishable). CoOp's tokenizer (`clip.tokenize`) refuses such text too."""


def _shown(text: str, limit: int = 80) -> str:
    return repr(text if len(text) <= limit else f"{text[:limit // 2]} ... {text[-limit // 2:]}")


def tokenize(texts: Sequence[str], context_length: int = 77, names: Sequence[str] | None = None) -> torch.Tensor:
    """Token ids [n, context_length] (SOT ... EOT, zero padded), as open_clip's tokenizer gives them.

    Every prompt of every trainer is tokenized here: a text over `context_length` tokens raises
    `PromptTooLong` (`names`: what each text is the prompt of, e.g. its class name, for the message).
    """
    tokenizer = get_tokenizer(context_length)
    ids = [[tokenizer.sot_token_id, *tokenizer.encode(text), tokenizer.eot_token_id] for text in texts]
    too_long = [i for i, row in enumerate(ids) if len(row) > context_length]
    if too_long:
        shown = "; ".join(
            (f"class {_shown(names[i])}" if names is not None else f"the prompt {_shown(texts[i])}")
            + f": {len(ids[i])} tokens" for i in too_long[:3])
        more = f" (and {len(too_long) - 3} more)" if len(too_long) > 3 else ""
        raise PromptTooLong(
            f"{len(too_long)} prompt(s) are longer than the text encoder's context of {context_length} tokens (start "
            f"and end tokens included): {shown}{more}. Cut to fit, prompts that differ only after the cut would be "
            "identical. Shorten the class name(s) where the dataset takes them from (the class names of its split "
            "file, or classnames.txt), or use a shorter prompt template (or fewer context tokens, N_CTX)"
        )
    result = torch.zeros(len(ids), context_length, dtype=torch.long)
    for i, row in enumerate(ids):
        result[i, :len(row)] = torch.tensor(row)
    return result


@dataclass(frozen=True)
class TokenizedPrompts:
    """Prompts tokenized once, cut to the length the text encoder needs.

    tokens: [n, L] ids with L = max EOT position + 1; eot_index: [n] position of each EOT;
    prefix_length: how many leading tokens all prompts share (run once by `TextEncoder`); layout: where
    the rest of each prompt goes (None when nothing is shared).
    Keeping these avoids recomputing them (and host syncs) on every step.
    """

    tokens: torch.Tensor
    eot_index: torch.Tensor
    texts: tuple[str, ...]
    prefix_length: int = 0
    layout: SuffixLayout | None = None

    @property
    def length(self) -> int:
        return int(self.tokens.shape[1])

    def __len__(self) -> int:
        return len(self.texts)


def truncate_tokens(tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(tokens[:, :L], eot_index) with L = max EOT position + 1 (EOT = the largest id, as in CLIP)."""
    eot_index = tokens.argmax(dim=-1)
    length = int(eot_index.max()) + 1
    return tokens[:, :length], eot_index


def tokenize_prompts(
    texts: Sequence[str], context_length: int = 77, device: torch.device | str = "cpu",
    names: Sequence[str] | None = None,
) -> TokenizedPrompts:
    """Tokenizes and truncates prompts for `TextEncoder.forward_tokens` (`names`: as for `tokenize`)."""
    if len(texts) == 0:
        raise ValueError("tokenize_prompts: got no texts (is the class list empty?)")
    tokens, eot_index = truncate_tokens(tokenize(texts, context_length, names))
    prefix = shared_prefix_length(tokens, eot_index)
    layout = None
    if worth_sharing(prefix, len(texts), device=device):
        layout = plan_suffixes(eot_index, prefix, tokens.shape[1] - prefix, device=torch.device(device))
    return TokenizedPrompts(tokens.to(device), eot_index.to(device), tuple(texts), prefix, layout)


class TextEncoder(nn.Module):
    """CLIP's text tower over truncated prompts, sharing the parameters of `model` (no copies).

    `forward_tokens` / `forward_embeddings` return projected, NOT normalised features, matching
    `model.encode_text(tokens)` on the full 77-token context. Works with fp32 weights, under autocast,
    and with weights converted to half precision (activations follow the transformer weights' dtype,
    as in open_clip).
    """

    def __init__(self, model: CLIP, share_prefix: bool = True):
        super().__init__()
        parts = ("token_embedding", "positional_embedding", "transformer", "ln_final")
        missing = [a for a in parts if not hasattr(model, a)]
        if missing:
            raise TypeError(
                f"TextEncoder needs an open_clip.model.CLIP with the OpenAI text tower; {type(model).__name__} "
                f"lacks {missing} (CustomTextCLIP / Hugging Face text towers are not supported)"
            )
        if getattr(model, "text_pool_type", "argmax") != "argmax":
            raise ValueError(
                f"TextEncoder pools at the EOT (argmax) token; this model pools with {model.text_pool_type!r}"
            )
        if getattr(model, "attn_mask", None) is None:
            raise ValueError("TextEncoder truncates the context, which is exact only for a causal text transformer")
        # Registered as submodules/parameters of this module: the same objects as in `model`.
        self.token_embedding = model.token_embedding
        self.positional_embedding = model.positional_embedding
        self.transformer = model.transformer
        self.ln_final = model.ln_final
        self.text_projection = model.text_projection
        # Prompts with common leading tokens run them once (clipfit.clip.shared_prefix), where the blocks
        # are open_clip's plain ones; False always runs full prompts (for comparisons).
        self.share_prefix = share_prefix and supports_shared_prefix(self.transformer.resblocks)

    @property
    def dtype(self) -> torch.dtype:
        """Activation dtype: that of the transformer weights (fp16 after `convert_weights_to_lp`)."""
        return self.transformer.get_cast_dtype()

    def embed(self, tokens: torch.Tensor) -> torch.Tensor:
        """Token embeddings [n, L, d] (for methods that replace some of them, e.g. CoOp's context)."""
        return self.token_embedding(tokens)

    def forward_tokens(
        self,
        tokens: torch.Tensor,
        eot_index: torch.Tensor | None = None,
        prefix_length: int = 0,
        layout: SuffixLayout | None = None,
    ) -> torch.Tensor:
        """Text features [n, embed_dim] of token ids [n, T] (any T; cut to max EOT + 1 here).

        Pass `eot_index` (as `TokenizedPrompts` holds it) with already truncated tokens to skip the
        length computation (a host sync on GPU), and `prefix_length`, the number of leading tokens all
        rows share, to run those once (with the rows' `layout`, planned here if not given).
        """
        if eot_index is None:
            tokens, eot_index = truncate_tokens(tokens)
        if self.share_prefix and worth_sharing(prefix_length, tokens.shape[0], device=tokens.device):
            prefix, suffix = self.embed(tokens[:1, :prefix_length]), self.embed(tokens[:, prefix_length:])
            return self.forward_prefixed(prefix, suffix, eot_index, layout=layout)
        return self.forward_embeddings(self.embed(tokens), eot_index)

    def _positioned(self, embeddings: torch.Tensor, start: int = 0) -> torch.Tensor:
        """Embeddings [n, L, d] in the activation dtype with positions start..start+L-1 added."""
        end = start + embeddings.shape[1]
        if end > self.positional_embedding.shape[0]:
            raise ValueError(
                f"prompt embeddings have {end} positions but the text tower has only "
                f"{self.positional_embedding.shape[0]}; shorten the prompts"
            )
        dtype = self.dtype
        return embeddings.to(dtype) + self.positional_embedding[start:end].to(dtype)

    def _project(self, x: torch.Tensor) -> torch.Tensor:
        """Projected features of the EOT outputs x [n, d]."""
        # LayerNorm is per token, so pooling first and normalising n rows instead of n*L is identical.
        x = self.ln_final(x)
        if isinstance(self.text_projection, nn.Linear):
            return self.text_projection(x)
        if self.text_projection is not None:
            return x @ self.text_projection
        return x

    def _check_deep(self, deep_prompts: Sequence[torch.Tensor], positions: int) -> None:
        if deep_prompts and not getattr(self.transformer, "batch_first", True):
            raise ValueError("deep prompts need a batch-first text transformer (open_clip's default)")
        check_deep_prompts(deep_prompts, len(self.transformer.resblocks), positions)

    def forward_embeddings(
        self, prompt_embeddings: torch.Tensor, eot_index: torch.Tensor, deep_prompts: Sequence[torch.Tensor] = ()
    ) -> torch.Tensor:
        """Text features [n, embed_dim] of embedded prompts [n, L, d], L <= context length.

        The caller passes embeddings already truncated to L (max EOT position + 1) and the EOT
        position of every prompt. `deep_prompts` ([n_ctx, d] each, `clipfit.clip.deep_prompts`) take
        positions 1..n_ctx, right after [SOS], before blocks 1, 2, ...; the truncation stays exact as long
        as they lie before every EOT (the callers' prompt layouts ensure it).
        """
        x = self._positioned(prompt_embeddings)
        length = x.shape[1]
        # Same additive causal mask as open_clip's build_causal_mask, cut to L x L.
        mask = torch.full((length, length), float("-inf"), device=x.device, dtype=x.dtype).triu_(1)
        if deep_prompts:
            self._check_deep(deep_prompts, length - 1)
            x = run_blocks(self.transformer.resblocks, x, deep_prompts, 1, mask)
        else:
            x = self.transformer(x, attn_mask=mask)
        return self._project(x[torch.arange(x.shape[0], device=x.device), eot_index])

    def forward_prefixed(
        self,
        prefix: torch.Tensor,
        suffix: torch.Tensor,
        eot_index: torch.Tensor,
        group: torch.Tensor | None = None,
        layout: SuffixLayout | None = None,
        deep_prompts: Sequence[torch.Tensor] = (),
    ) -> torch.Tensor:
        """Features [M, embed_dim] of the prompts prefix[group[m]] ++ suffix[m], equal to
        `forward_embeddings` on those full prompts (with the same `deep_prompts`, which must lie in the
        prefix and need one prefix for all rows), with each prefix run once and each suffix run only up
        to its EOT.

        prefix: [G, P, d] embeddings; suffix: [M, S, d]; eot_index: [M] EOT positions in the full
        prompts (each >= P); group: [M] prefix of each row (None: G must be 1, shared by all rows).
        layout: `plan_suffixes(eot_index, P, S, group)`, which callers running every step keep; planned
        here when None (a host sync on GPU).
        """
        prefix_len = prefix.shape[1]
        if not (self.share_prefix and worth_sharing(prefix_len, suffix.shape[0], prefix.shape[0], suffix.device)):
            shared = prefix.expand(suffix.shape[0], -1, -1) if group is None else prefix[group]
            full = torch.cat([shared.to(suffix.dtype), suffix], dim=1)
            return self.forward_embeddings(full, eot_index, deep_prompts)
        if layout is None:
            layout = plan_suffixes(eot_index, prefix_len, suffix.shape[1], group)
        self._check_deep(deep_prompts, prefix_len - 1)
        x = run_prefixed(
            self.transformer.resblocks, self._positioned(prefix), self._positioned(suffix, prefix_len), layout,
            deep_prompts,
        )
        return self._project(x)

    def forward(self, tokens: torch.Tensor, eot_index: torch.Tensor | None = None) -> torch.Tensor:
        return self.forward_tokens(tokens, eot_index)

    def encode(self, prompts: TokenizedPrompts) -> torch.Tensor:
        """Features of tokenized prompts (projected, not normalised)."""
        return self.forward_tokens(prompts.tokens, prompts.eot_index, prompts.prefix_length, prompts.layout)
