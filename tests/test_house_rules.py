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


def absolute_imports(path: Path) -> set[str]:
    """`imported_modules` with relative imports resolved against the file's package (`from ..core import x`
    in clipfit/engine/trainer.py is clipfit.core)."""
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    package = parts if parts[-1] == "__init__" else parts[:-1]
    package = [p for p in package if p != "__init__"]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            names.add(module)
            if not node.module:  # `from . import x`: x is a module of that package
                names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


PUBLIC_ROOT_MODULES = {"compat", "config", "errors"}  # what plugin authors import


def test_the_package_root_holds_only_packages_and_the_public_entry_points():
    root = REPO / "clipfit"
    modules = {p.stem for p in root.glob("*.py")} - {"__init__", "__main__"}
    assert modules == PUBLIC_ROOT_MODULES, "a module of one layer's own goes into that layer or into clipfit/core/"
    for name in PUBLIC_ROOT_MODULES:
        assert "Public:" in ast.get_docstring(ast.parse((root / f"{name}.py").read_text())), name


def unit_of(module: str) -> str | None:
    """The unit of the package graph a module belongs to: a subpackage of clipfit (`clipfit.engine`), a public
    root module (`clipfit.errors`), or the top-level `trainers` / `datasets`; None outside the project."""
    parts = module.split(".")
    if parts[0] in ("trainers", "datasets"):
        return parts[0]
    if parts[0] != "clipfit" or len(parts) == 1:
        return None
    return ".".join(parts[:2])


def package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in source_files("clipfit", "trainers", "datasets"):
        unit = unit_of(".".join(path.relative_to(REPO).with_suffix("").parts))
        targets = {unit_of(m) for m in absolute_imports(path)} - {None, unit}
        graph.setdefault(unit, set()).update(targets)
    return graph


def test_no_package_imports_one_that_imports_it_back():
    graph = package_graph()
    assert "clipfit.dassl_shim" not in graph["clipfit.engine"]  # the shim is a front of the engine, not below it
    assert graph["clipfit.core"] <= {"clipfit.errors"}  # what every layer uses imports no layer
    cycles = []

    def visit(unit: str, trail: list[str]) -> None:
        for target in sorted(graph.get(unit, ())):
            if target in trail:
                cycles.append(trail[trail.index(target):] + [target])
            elif len(trail) < len(graph):
                visit(target, [*trail, target])

    for unit in sorted(graph):
        visit(unit, [unit])
    assert cycles == []


def test_datasets_holds_one_file_per_benchmark_and_its_helpers_in_a_private_subpackage():
    folder = REPO / "datasets"
    assert sorted(p.name for p in folder.iterdir() if p.is_dir() and p.name != "__pycache__") == ["_shared"]
    registered = {p.name: p.read_text().count("@DATASET_REGISTRY.register(") for p in folder.glob("*.py")
                  if p.name != "__init__.py"}
    assert len(registered) == 16 and set(registered.values()) == {1}, registered  # 15 benchmarks and the demo's


def test_benchmarks_import_no_private_names_of_the_project():
    offenders = []
    for path in source_files("benchmarks"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and unit_of(node.module or "") is not None:
                private = [a.name for a in node.names if a.name.startswith("_")]
                private += [p for p in node.module.split(".") if p.startswith("_")]
                if private:
                    offenders.append(f"{rel(path)}: {node.module}: {private}")
    assert offenders == []
