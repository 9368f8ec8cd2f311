"""`clipfit.app.trainer_names` reads the registered trainers off the source of trainers/: the same names,
recipes and script folders as the registry holds, in its order; with CLIPFIT_PLUGINS the registry answers."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from clipfit.app.trainer_names import Declared, declared

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLUGINS_DIR = os.path.join(REPO, "tests", "plugins")

COMPARE = """if True:
    import json, sys
    from clipfit.app import trainer_names, trainers_catalog
    declared = trainer_names.declared()
    light = {"registered": list(trainer_names.registered()), "with_recipe": list(trainer_names.with_recipe()),
             "with_scripts": list(trainer_names.with_scripts())}
    read_without_torch = "torch" not in sys.modules
    from clipfit.compat import TRAINER_REGISTRY
    real = {"with_recipe": list(trainers_catalog.names()),
            "with_scripts": [f.name for f in trainers_catalog.scripted().values()]}
    real["registered"] = TRAINER_REGISTRY.registered_names()
    modules = sorted({TRAINER_REGISTRY.get(n).__module__ for n in real["registered"]})
    folders = {d.name: d.script_folder for d in declared}
    real_folders = {f.name: folder for folder, f in trainers_catalog.scripted().items()}
    print(json.dumps({"light": light, "real": real, "modules": modules, "no_torch": read_without_torch,
                      "folders": folders, "real_folders": real_folders}))
"""


def compare(**env: str) -> dict:
    base = {k: v for k, v in os.environ.items() if k not in ("CLIPFIT_PLUGINS", "CLIPFIT_ENGINE")}
    path = os.pathsep.join(p for p in (env.pop("EXTRA_PATH", ""), REPO, base.get("PYTHONPATH")) if p)
    proc = subprocess.run([sys.executable, "-c", COMPARE], cwd=REPO, capture_output=True, text=True,
                          env={**base, "PYTHONPATH": path, **env})
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])


@pytest.fixture(scope="module")
def found() -> dict:
    return compare()


def test_the_names_read_from_source_are_the_registrys_in_its_order(found):
    assert found["light"] == found["real"]
    assert found["light"]["registered"][:2] == ["CLIPFit", "ClipFit"]  # the alias: registered, no recipe
    assert found["no_torch"]
    assert {n: f for n, f in found["folders"].items() if f} == found["real_folders"]


def test_every_file_that_registers_a_trainer_is_imported_by_the_package(found):
    """A trainer file that trainers/__init__.py forgets registers nothing: neither the registry nor the
    reader would list it, so this is checked against the files themselves."""
    registering = sorted(
        f"trainers.{name[:-3]}" for name in os.listdir(os.path.join(REPO, "trainers"))
        if name.endswith(".py") and "@TRAINER_REGISTRY.register(" in open(os.path.join(REPO, "trainers", name)).read()
    )
    assert found["modules"] == registering


def test_with_plugins_the_registry_answers():
    found = compare(CLIPFIT_PLUGINS="shapes_plugin", EXTRA_PATH=PLUGINS_DIR)
    assert found["light"] == found["real"]
    assert "ShapesFit" in found["light"]["registered"] and "ShapesFit" in found["light"]["with_recipe"]


def _package(tmp_path, files: dict[str, str]) -> str:
    root = tmp_path / "trainers"
    root.mkdir()
    for name, text in files.items():
        (root / name).write_text(textwrap.dedent(text))
    return str(root)


def test_the_reader_follows_the_import_order(tmp_path):
    """A module's imports of sibling modules register their classes first, as `import trainers` does."""
    root = _package(tmp_path, {
        "__init__.py": "from . import (b, a)\n",
        "a.py": """\
            from clipfit.compat import TRAINER_REGISTRY
            from .c import Base

            @TRAINER_REGISTRY.register()
            class A(Base):
                RECIPE = object()
                SCRIPT_FOLDER = "a_scripts"
            """,
        "b.py": """\
            from trainers.c import Base

            @TRAINER_REGISTRY.register()
            class B(Base):
                SCRIPT_FOLDER: str = "b_scripts"

            @DATASET_REGISTRY.register()
            class NotATrainer:
                RECIPE = 1
            """,
        "c.py": """\
            class Base:
                RECIPE = "inherited: does not count"

            @TRAINER_REGISTRY.register()
            class C(Base):
                pass
            """,
    })
    assert declared(root) == (Declared("C", False, None), Declared("B", False, "b_scripts"),
                              Declared("A", True, "a_scripts"))


def test_a_script_folder_that_is_not_a_literal_is_named(tmp_path):
    root = _package(tmp_path, {
        "__init__.py": "from . import x\n",
        "x.py": """\
            import os

            @TRAINER_REGISTRY.register()
            class X:
                RECIPE = object()
                SCRIPT_FOLDER = os.environ.get("FOLDER", "x")
            """,
    })
    with pytest.raises(ValueError, match=r"x\.py: X\.SCRIPT_FOLDER must be a string literal"):
        declared(root)
