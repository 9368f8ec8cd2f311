"""What every benchmark script starts with: the checkout importable without installing it, its root (REPO),
the environment a child process needs to import the same checkout, and the parser with the script's
docstring as help. A script begins

    sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/ is no package: its helpers
    from _prologue import REPO, new_parser  # noqa: E402

and imports only public names of clipfit, trainers and datasets (tests/test_house_rules.py checks it).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # run from a checkout without installing


def new_parser(doc: str | None) -> argparse.ArgumentParser:
    """A script's parser, its module docstring as the help text (line breaks kept)."""
    return argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)


def child_env() -> dict[str, str]:
    """This environment with the checkout first on PYTHONPATH: a child process imports the code benchmarked."""
    path = os.environ.get("PYTHONPATH", "")
    return dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(REPO), path) if p))
