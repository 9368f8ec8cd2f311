"""Dev tool: list the names that each Dassl module path served by `clipfit with-dassl` exposes in real Dassl.

    python tools/dassl_names.py /path/to/Dassl.pytorch [--out clipfit/dassl_shim/dassl_names.json]

Real Dassl's module namespaces hold what they import as well as what they define (`dassl.engine.trainer`
has `MetricMeter`, `OrderedDict`, `SummaryWriter`, ...), and repositories import those names from there. This
reads Dassl's source files (static analysis, nothing of Dassl is imported) and writes, for every path in
`clipfit.dassl_shim.DASSL_MODULES`, each public name it binds and where the object comes from: the Dassl
module that defines it (resolved through every re-export and `import *`), or the outside module it is
imported from. Names that are modules (`torch`, `np`, `osp`, Dassl's own subpackages) are left out: the
shim serves Dassl subpackages as modules and never re-exports third-party modules. The file is committed;
tests/engine/test_dassl_names.py checks that the shim serves every name in it.
"""
from __future__ import annotations

import argparse
import ast
import importlib.util
import json
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO, "clipfit", "dassl_shim", "dassl_names.json")


class DasslSource:
    """The `dassl` package under `root`, read file by file."""

    def __init__(self, root: str):
        self.root = os.path.join(root, "dassl")
        if not os.path.isfile(os.path.join(self.root, "__init__.py")):
            raise SystemExit(f"{root} is not a Dassl.pytorch checkout (no dassl/__init__.py)")
        self.files = self._module_files()
        self._namespaces: dict[str, dict[str, str]] = {}  # name -> "module:attr" it is bound to
        self._all: dict[str, list[str] | None] = {}

    def _module_files(self) -> dict[str, str]:
        files = {}
        for folder, _, names in os.walk(self.root):
            package = os.path.relpath(folder, os.path.dirname(self.root)).replace(os.sep, ".")
            for name in names:
                if name.endswith(".py"):
                    module = package if name == "__init__.py" else f"{package}.{name[:-3]}"
                    files[module] = os.path.join(folder, name)
        return files

    def is_package(self, module: str) -> bool:
        return self.files.get(module, "").endswith("__init__.py")

    def resolve(self, module: str, node: ast.ImportFrom) -> str:
        if not node.level:
            return node.module
        base = module.split(".") if self.is_package(module) else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        return ".".join(base + ([node.module] if node.module else []))

    def star_names(self, module: str) -> dict[str, str]:
        """What `from module import *` binds: its `__all__`, else its public names."""
        names = self.namespace(module)
        explicit = self._all.get(module)
        keep = explicit if explicit is not None else [n for n in names if not n.startswith("_")]
        return {n: names[n] for n in keep if n in names}

    def namespace(self, module: str) -> dict[str, str]:
        """name -> "module:attr": the Dassl module that defines the object and its name there, or the outside
        module it is imported from; names bound to modules are left out."""
        if module in self._namespaces:
            return self._namespaces[module]
        names: dict[str, str] = {}
        self._namespaces[module] = names  # a cycle sees what is bound so far, as Python does
        with open(self.files[module], encoding="utf-8") as f:
            tree = ast.parse(f.read(), filename=self.files[module])
        self._all[module] = None
        for node in _top_level(tree.body):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names[node.name] = f"{module}:{node.name}"
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for name in _assigned_names(targets):
                    if name == "__all__":
                        self._all[module] = [ast.literal_eval(e) for e in node.value.elts]
                    else:
                        names[name] = f"{module}:{name}"
            elif isinstance(node, ast.Import):
                for alias in node.names:  # binds a module
                    names.pop(alias.asname or alias.name.split(".")[0], None)
            elif isinstance(node, ast.ImportFrom):
                self._import_from(module, node, names)
        return names

    def _import_from(self, module: str, node: ast.ImportFrom, names: dict[str, str]) -> None:
        source = self.resolve(module, node)
        inside = source == "dassl" or source.startswith("dassl.")
        for alias in node.names:
            if alias.name == "*":
                names.update(self.star_names(source) if inside else {})
                continue
            bound = alias.asname or alias.name
            if inside and f"{source}.{alias.name}" in self.files:
                names.pop(bound, None)  # a Dassl submodule
            elif inside:
                names[bound] = self.namespace(source).get(alias.name, f"{source}:{alias.name}")
            elif _is_outside_module(f"{source}.{alias.name}"):
                names.pop(bound, None)
            else:
                names[bound] = f"{source}:{alias.name}"


def _top_level(body: list[ast.stmt]):
    """The statements that run at import: the body, and the branches of top-level `if`/`try`."""
    for node in body:
        if isinstance(node, ast.If):
            yield from _top_level(node.body)
            yield from _top_level(node.orelse)
        elif isinstance(node, ast.Try):
            yield from _top_level(node.body)
            for handler in node.handlers:
                yield from _top_level(handler.body)
        else:
            yield node


def _assigned_names(targets) -> list[str]:
    out = []
    for target in targets:
        if isinstance(target, ast.Name):
            out.append(target.id)
        elif isinstance(target, (ast.Tuple, ast.List)):
            out.extend(_assigned_names(target.elts))
    return out


def _is_outside_module(dotted: str) -> bool:
    """`from torch import nn` binds a module; `from collections import OrderedDict` does not."""
    try:
        return importlib.util.find_spec(dotted) is not None
    except (ImportError, ValueError):  # the parent is not installed here (e.g. tensorboard) or not a package
        return False


def dassl_commit(root: str) -> str:
    try:
        out = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    except OSError:
        return ""
    return out.stdout.strip()


def build(root: str, paths: list[str], commit: str = "") -> dict:
    source = DasslSource(root)
    missing = [p for p in paths if p not in source.files]
    if missing:
        raise SystemExit(f"not Dassl module paths in {root}: {missing}")
    with open(os.path.join(source.root, "__init__.py"), encoding="utf-8") as f:
        version = next((ast.literal_eval(n.value) for n in ast.parse(f.read()).body if isinstance(n, ast.Assign)
                        and _assigned_names(n.targets) == ["__version__"]), "unknown")
    modules = {}
    for path in sorted(paths):
        names = {n: o for n, o in sorted(source.namespace(path).items()) if not n.startswith("_")}
        entry = {"names": names}
        if source._all.get(path) is not None:
            entry["__all__"] = source._all[path]
        modules[path] = entry
    return {"dassl_version": version, "dassl_commit": commit or dassl_commit(root) or "unknown", "modules": modules}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dassl_root", help="a Dassl.pytorch checkout (the folder holding dassl/)")
    parser.add_argument("--out", default=DEFAULT_OUT, help="where to write the list (default: %(default)s)")
    parser.add_argument("--commit", default="", help="the checkout's commit, when it is not a git work tree")
    args = parser.parse_args(argv)
    sys.path.insert(0, REPO)
    from clipfit.dassl_shim import DASSL_MODULES

    listing = build(args.dassl_root, list(DASSL_MODULES), args.commit)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(listing, f, indent=1, sort_keys=False)
        f.write("\n")
    total = sum(len(m["names"]) for m in listing["modules"].values())
    print(f"{total} names of {len(listing['modules'])} Dassl module paths written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
