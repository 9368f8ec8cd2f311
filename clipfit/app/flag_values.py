"""A flag value that is really a missing one is a usage error, not a path.

`--output-dir $UNSET --seed 1` reaches argparse as `--output-dir --seed 1` (an error there), but
`--output-dir "$UNSET"` is an empty value that would fall back to ./output without a word, `--output-dir=--seed`
a folder named `--seed`, and `--output-dir $UNSET DATASET.NUM_SHOTS 16` a folder named after a config key.
"""
from __future__ import annotations

import argparse
import re

_CONFIG_KEY = re.compile(r"^[A-Z][A-Z0-9_]*(\.[A-Z0-9_]+)+$")


def missing_value_reason(value: str) -> str | None:
    """Why `value` cannot be what a user meant to give a flag, or None when it can."""
    if not value.strip():
        return "an empty value"
    if value.startswith("--"):
        return "another flag"
    if _CONFIG_KEY.match(value):
        return "a config key (the KEY VALUE options go after the flags)"
    return None


class GivenValue(argparse.Action):
    """`action=GivenValue` for a flag taking one word: an empty word, a flag or a config key is refused
    (the default is never checked, so an unset optional flag keeps it)."""

    def __call__(self, parser, namespace, values, option_string=None):
        reason = missing_value_reason(values)
        if reason is not None:
            parser.error(f"argument {option_string}: got {values!r}, {reason}: its value is missing (an unset shell "
                         f"variable?); give {option_string} a value")
        setattr(namespace, self.dest, values)
