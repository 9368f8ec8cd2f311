"""The evaluation cache of class text features: recomputed only after the weights changed."""
from __future__ import annotations

from collections.abc import Callable, Iterable

import torch

__all__ = ["TextFeatureCache"]


class TextFeatureCache:
    """Class text features for evaluation, recomputed only after the weights changed.

    Change detection: the storage address and the autograd version counter of every watched tensor.
    Every in-place update bumps the version counter (`optimizer.step()`, `load_state_dict`, `copy_`),
    and moving/recasting a model changes the storage, so the cache refreshes after a training step and
    at no other time. Writes through `.data` bypass version counters and go unseen. Watch all
    text-tower parameters (cheap: a few hundred integers per lookup), so that a change of which
    parameters are trainable cannot make the cache stale.
    """

    def __init__(self, compute: Callable[[], torch.Tensor], watch: Iterable[torch.Tensor]):
        self._compute = compute
        self._watch: list[torch.Tensor] = list(watch)
        self._key: tuple | None = None
        self._value: torch.Tensor | None = None
        self.computations = 0  # how many times the features were computed (for logs and tests)

    def _state(self) -> tuple:
        return tuple((t.data_ptr(), t._version) for t in self._watch)

    def get(self) -> torch.Tensor:
        """The features, recomputed (without grad) if a watched tensor changed since the last call."""
        key = self._state()
        if self._value is None or key != self._key:
            with torch.no_grad():
                self._value = self._compute()
            self._key = key
            self.computations += 1
        return self._value
