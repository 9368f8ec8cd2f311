"""The checks of `train.py`'s arguments that need no registered class: they run before the plugins (and so
torch) are imported, so that a typo is answered at once, not after seconds of imports."""
from __future__ import annotations

import os
import re

from ..errors import UserInputError

_LIST_FLAGS = (("source_domains", "--source-domains"), ("target_domains", "--target-domains"),
               ("transforms", "--transforms"))
_CONFIG_FILES = (("dataset_config_file", "--dataset-config-file"), ("config_file", "--config-file"))


def check_args(args) -> None:
    """The list flags hold no config options, the config files exist, the options come in pairs."""
    _check_list_flags(args)
    for attr, flag in _CONFIG_FILES:
        path = getattr(args, attr)
        if path and not os.path.isfile(path):
            raise UserInputError(f"{flag} {path}: no such file (paths are relative to {os.getcwd()})")
    opts = args.opts or []
    if len(opts) % 2:
        raise UserInputError(f"trailing config options must be KEY VALUE pairs, got an odd number: {opts}")


def _check_list_flags(args) -> None:
    """A list flag takes every word after it, so trailing KEY VALUE options end up as its values, unseen."""
    config_key = re.compile(r"^[A-Z][A-Z0-9_]*(\.[A-Z0-9_]+)+$")
    for attr, flag in _LIST_FLAGS:
        keys = [v for v in getattr(args, attr) or [] if config_key.match(v)]
        if keys:
            raise UserInputError(
                f"{flag} took the config option(s) {keys} as its values (it takes every word after it): put "
                f"{flag} before another flag such as --output-dir, not just before the KEY VALUE options"
            )


def _trainer_required() -> UserInputError:
    from .trainer_names import registered

    return UserInputError(f"--trainer is required (registered trainers: {', '.join(sorted(registered()))}); "
                          "see train.py --help")


def check_trainer_given(args) -> None:
    """No --trainer, no TRAINER.NAME option and no config file that sets one: nothing can run. A file that
    cannot be read as a mapping here leaves the question to the merged config (`check_trainer_named`)."""
    if args.trainer or "TRAINER.NAME" in (args.opts or [])[::2]:
        return
    if not any(_may_set_trainer(getattr(args, attr)) for attr, _ in _CONFIG_FILES):
        raise _trainer_required()


def _may_set_trainer(path: str) -> bool:
    from ..core.config_files import ConfigFileError, load_config_file

    if not path:
        return False
    try:
        top = load_config_file(path, allow_empty=True)
    except ConfigFileError:  # the merge says what is wrong with the file
        return True
    trainer = top.get("TRAINER", {})
    return not isinstance(trainer, dict) or "NAME" in trainer


def check_trainer_named(cfg) -> None:
    """The merged config names a trainer (a file or an option may also have set it to '')."""
    if not cfg.TRAINER.NAME:
        raise _trainer_required()
