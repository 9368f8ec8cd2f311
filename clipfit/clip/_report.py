"""Error-message pieces shared by the weight loader (`weight_files`) and the trained-state loader
(`trained_state`)."""
from __future__ import annotations

from collections.abc import Iterable, Sequence

SHOW = 5  # how many offending keys an error message lists


def first_few(items: Sequence[str]) -> str:
    """The first SHOW items, comma-separated, with the total when there are more."""
    more = f", ... ({len(items)} in all)" if len(items) > SHOW else ""
    return ", ".join(items[:SHOW]) + more


def mismatch_lines(sections: Iterable[tuple[str, Sequence[str]]]) -> list[str]:
    """One line `  {label} ({count}): {first few keys}` per (label, keys) section that has keys."""
    return [f"  {label} ({len(keys)}): {first_few(keys)}" for label, keys in sections if keys]
