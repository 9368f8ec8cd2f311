"""`clipfit with-dassl`: run a Dassl/CoOp-family repository's own scripts on the built-in engine."""
from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys

from ...errors import UserInputError

NAME = "with-dassl"
HELP = "Run a command (e.g. another repository's `python train.py ...`) with the built-in engine as `dassl`."

EPILOG = """\
The command runs with clipfit's engine importable as `dassl` (dassl.engine, dassl.data, dassl.data.datasets,
dassl.data.samplers, dassl.optim, dassl.modeling, dassl.utils, ...), so a Dassl-based repository runs
unchanged without Dassl installed. `python` in the command is this interpreter. If a real Dassl is
importable too, a notice says which one runs.

examples:
  cd CoOp && clipfit with-dassl python train.py --root $DATA --trainer CoOp ...
  export PYTHONPATH=$(clipfit with-dassl --print-path):$PYTHONPATH   # for shell or SLURM scripts
"""

_PYTHON = re.compile(r"^python(\d+(\.\d+)*)?$")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EPILOG
    parser.add_argument("--print-path", action="store_true",
                        help="print the folder to put on PYTHONPATH for `import dassl` to load the engine, and exit")
    parser.add_argument("cmd", nargs=argparse.REMAINDER, metavar="COMMAND ...", help="the command to run")


def child_command(cmd: list[str]) -> list[str]:
    """`python`/`python3` become this interpreter, so the child sees the same packages."""
    if cmd and _PYTHON.match(os.path.basename(cmd[0])) and os.sep not in cmd[0]:
        return [sys.executable, *cmd[1:]]
    return list(cmd)


def child_env(site_dir: str) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (site_dir, env.get("PYTHONPATH", "")) if p)
    return env


def _script_dassl(cmd: list[str]) -> str | None:
    """A `dassl/` package beside the script: Python puts the script's folder first, so that one runs."""
    if len(cmd) < 2 or cmd[0] != sys.executable or cmd[1].startswith("-"):
        return None
    candidate = os.path.join(os.path.dirname(os.path.abspath(cmd[1])), "dassl")
    return candidate if os.path.isfile(os.path.join(candidate, "__init__.py")) else None


def run(args) -> int:
    from ...dassl_shim import SITE_DIR, other_dassl, shadow_notice

    given = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if args.print_path and given:
        # Printing the path and exiting 0 would drop the command without a word.
        raise UserInputError(f"--print-path takes no command (got `{shlex.join(given)}`); drop --print-path to "
                             "run it, or use --print-path alone to print the folder for PYTHONPATH")
    if args.print_path:
        print(SITE_DIR)
        real = other_dassl()
        if real is not None:
            print(shadow_notice(real), file=sys.stderr)
        return 0
    if not given:
        raise UserInputError("give the command to run, e.g. `clipfit with-dassl python train.py ...`")
    cmd = child_command(given)
    vendored = _script_dassl(cmd)
    if vendored is not None:
        print(f"clipfit with-dassl: the repository's own {vendored} runs as `dassl` (the script's folder comes "
              "first on the path), not clipfit's engine", file=sys.stderr)
    try:
        return subprocess.call(cmd, env=child_env(SITE_DIR))
    except FileNotFoundError:
        print(f"error: command not found: {cmd[0]}", file=sys.stderr)
        return 127
