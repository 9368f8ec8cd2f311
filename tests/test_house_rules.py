"""The layout rules of DESIGN.md that a change can break without any behaviour test noticing."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SOURCE_DIRS = ("clipfit", "trainers", "datasets", "benchmarks")
# Fixture builders hold one table per dataset layout; their length is data, not logic.
LONG_FILES_ALLOWED = {"clipfit/testing/fixtures.py"}
MAX_LINES = 300


def source_files(*dirs: str) -> list[Path]:
    return sorted(p for d in dirs for p in (REPO / d).rglob("*.py"))


def imported_modules(path: Path) -> set[str]:
    """Every module an `import` or `from ... import` names, at any depth of the file (lazy imports too)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def rel(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def test_no_source_file_is_longer_than_the_limit():
    long = {rel(p): n for p in source_files(*SOURCE_DIRS) if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert set(long) <= LONG_FILES_ALLOWED, f"split these files by job (over {MAX_LINES} lines): {long}"


@pytest.mark.parametrize("plugin_dir", ["trainers", "datasets"])
def test_plugins_take_dassl_names_from_compat_not_from_the_engine(plugin_dir):
    offenders = {
        rel(p): sorted(m for m in imported_modules(p) if m == "clipfit.engine" or m.startswith("clipfit.engine."))
        for p in source_files(plugin_dir)
    }
    assert {f: m for f, m in offenders.items() if m} == {}


def test_only_the_application_layer_imports_trainers_and_datasets():
    app = REPO / "clipfit" / "app"
    library = [p for p in source_files("clipfit") if app not in p.parents]
    assert len(library) > 50  # the walk found the library, not an empty folder
    offenders = {
        rel(p): sorted(m for m in imported_modules(p) if m.split(".")[0] in {"trainers", "datasets"})
        for p in library
    }
    assert {f: m for f, m in offenders.items() if m} == {}


def import_time_modules(path: Path) -> set[str]:
    """The modules a file imports when it is itself imported: every import outside function bodies."""
    names, stack = set(), list(ast.parse(path.read_text(), filename=str(path)).body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
        stack.extend(ast.iter_child_nodes(node))
    return names


def test_the_command_line_imports_torch_only_where_it_is_used():
    """`clipfit --help`, usage errors, report and data check must not wait seconds for torch: the CLI layer
    imports the heavy modules at the point of use (tests/cli/test_cli_no_torch.py checks the whole chain)."""
    entry_points = [REPO / "clipfit" / "__main__.py", REPO / "train.py", REPO / "parse_test_res.py"]
    cli = [*source_files("clipfit/app"), *entry_points]
    heavy = {"torch", "torchvision", "open_clip"}
    offenders = {rel(p): sorted(m for m in import_time_modules(p) if m.split(".")[0] in heavy) for p in cli}
    assert {f: m for f, m in offenders.items() if m} == {}
