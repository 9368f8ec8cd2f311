"""The `clipfit` console script: one argparse subcommand per module of `clipfit.app.commands`."""
from __future__ import annotations

import argparse
import importlib
import sys

from ..errors import report_errors

# Each module defines NAME, HELP, add_arguments(parser) and run(args) -> int.
COMMAND_MODULES = [
    "clipfit.app.commands.train",
    "clipfit.app.commands.data",
    "clipfit.app.commands.demo",
    "clipfit.app.commands.report",
    "clipfit.app.commands.sweep",
    "clipfit.app.commands.scripts",
    "clipfit.app.commands.with_dassl",
]


def _available_commands() -> list:
    modules = []
    for name in COMMAND_MODULES:
        try:
            modules.append(importlib.import_module(name))
        except ModuleNotFoundError as e:
            if e.name != name:
                raise
    return modules


def build_parser() -> tuple[argparse.ArgumentParser, dict]:
    parser = argparse.ArgumentParser(
        prog="clipfit",
        description=(
            "CLIPFit and its baselines (zero-shot CLIP, CoOp, CoCoOp) on the few-shot CLIP benchmarks. "
            "Run `clipfit <command> --help` for the options of a command."
        ),
    )
    subparsers = parser.add_subparsers(dest="command", metavar="<command>")
    commands = {}
    for module in _available_commands():
        sub = subparsers.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(sub)
        commands[module.NAME] = module
    return parser, commands


def main(argv: list[str] | None = None) -> int:
    parser, commands = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    return report_errors(lambda: commands[args.command].run(args))


if __name__ == "__main__":
    sys.exit(main())
