"""The built-in engine importable as `dassl`, for Dassl/CoOp-family repositories run unchanged.

`site/` holds a one-file `dassl` package; with that folder on `sys.path` (`clipfit with-dassl` puts it
on PYTHONPATH), `import dassl` installs a finder that serves every Dassl module path listed in
`DASSL_MODULES` as a module re-exporting the engine module that holds its names. The objects are the
engine's own, so `dassl.engine.TRAINER_REGISTRY is clipfit.engine.TRAINER_REGISTRY`. A Dassl path the
engine does not provide fails at import with the reason, never with a half-empty module.

Real Dassl's namespaces also hold what each module imports (`from dassl.engine.trainer import MetricMeter,
OrderedDict, SummaryWriter` works there). `dassl_names.json` lists, per served path, every public name of
Dassl 0.6.3's module and where it comes from (written by tools/dassl_names.py from Dassl's sources); a name
the engine module lacks is looked up there on first use: from the engine module serving its Dassl origin,
or from the outside package it comes from (tensorboard's `SummaryWriter` falls back to a writer that writes
nothing when tensorboard is not installed). A name from Dassl's trainer, dataset or backbone zoos raises
`NotServed`, an ImportError saying so.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import json
import os
import sys
import types
from functools import cache

from ..errors import REAL_DASSL_ADVICE, SERVED_MARK

SITE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "site")
DASSL_VERSION = "0.6.3"  # the Dassl release whose public API the engine has

_ENGINE = "clipfit.engine"
# Dassl module path -> engine module holding (at least) the public names Dassl defines there.
DASSL_MODULES = {
    "dassl.config": "config_defaults",
    "dassl.config.defaults": "config_defaults",
    "dassl.data": "data.data_manager",
    "dassl.data.data_manager": "data.data_manager",
    "dassl.data.samplers": "data.samplers",
    "dassl.data.datasets": "data.base_dataset",
    "dassl.data.datasets.base_dataset": "data.base_dataset",
    "dassl.data.datasets.build": "data.base_dataset",
    "dassl.data.transforms": "data.transforms",
    "dassl.data.transforms.transforms": "data.transforms",
    "dassl.data.transforms.randaugment": "data.randaugment",
    "dassl.data.transforms.autoaugment": "data.autoaugment",
    "dassl.engine": "trainer",
    "dassl.engine.build": "trainer",
    "dassl.engine.trainer": "trainer",
    "dassl.evaluation": "evaluation",
    "dassl.evaluation.build": "evaluation",
    "dassl.evaluation.evaluator": "evaluation",
    "dassl.metrics": "metrics",
    "dassl.metrics.accuracy": "metrics",
    "dassl.metrics.distance": "metrics",
    "dassl.modeling": "modeling",
    "dassl.modeling.backbone": "modeling.backbone",
    "dassl.modeling.backbone.backbone": "modeling.backbone",
    "dassl.modeling.backbone.build": "modeling.backbone",
    "dassl.modeling.backbone.resnet": "modeling.backbone",
    "dassl.modeling.head": "modeling.head",
    "dassl.modeling.head.build": "modeling.head",
    "dassl.modeling.head.mlp": "modeling.head",
    "dassl.modeling.network": "modeling.network",
    "dassl.modeling.network.build": "modeling.network",
    "dassl.optim": "optim",
    "dassl.optim.optimizer": "optim.optimizer",
    "dassl.optim.lr_scheduler": "optim.lr_scheduler",
    "dassl.optim.radam": "optim.radam",
    "dassl.utils": "utils",
    "dassl.utils.logger": "utils",
    "dassl.utils.meters": "utils",
    "dassl.utils.registry": "utils",
    "dassl.utils.tools": "utils",
    "dassl.utils.torchtools": "utils",
}
# Dassl's module for Datum: pickles that third-party dataset code writes itself name this path.
DATUM_MODULE = "dassl.data.datasets.base_dataset"

NOT_PROVIDED = (
    "clipfit's built-in engine serves `dassl` here (clipfit with-dassl) with Dassl's public API, but not "
    "Dassl's domain-adaptation/generalization/semi-supervised trainer and dataset zoos, its model ops or its "
    f"other backbones; {REAL_DASSL_ADVICE} to use those"
)


_MISSING = object()
NAMES_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dassl_names.json")
# An outside object Dassl imports -> what serves it when its package is not installed here.
FALLBACKS = {"torch.utils.tensorboard:SummaryWriter": "clipfit.engine.summary_writer:NoOpSummaryWriter"}


class NotServed(ImportError):
    """A name real Dassl has at this path that the built-in engine does not serve (an ImportError, not an
    AttributeError, so that `from dassl.x import name` shows this message rather than a bare one)."""


@cache
def dassl_names() -> dict:
    """Dassl path -> {"names": {name: "module:attr"}, "__all__": [...] where Dassl's module has one}."""
    with open(NAMES_FILE, encoding="utf-8") as f:
        return json.load(f)["modules"]


def _engine_object(module: str, attr: str):
    target = importlib.import_module(f"{_ENGINE}.{DASSL_MODULES[module]}")
    return getattr(target, attr, _MISSING)


def resolve_origin(path: str, key: str, origin: str):
    """The object `origin` ("module:attr", from dassl_names.json) names, for `key` of Dassl path `path`."""
    module, attr = origin.split(":")
    where = f"`{key}` of {path} (Dassl's {module}.{attr})"
    if module == "dassl" or module.startswith("dassl."):
        value = _engine_object(module, attr) if module in DASSL_MODULES else _MISSING
        if value is _MISSING:
            raise NotServed(f"{where} is not served: {NOT_PROVIDED}", name=path)
        return value
    try:
        return getattr(importlib.import_module(module), attr)
    except ImportError as e:
        if origin in FALLBACKS:
            fallback_module, fallback_attr = FALLBACKS[origin].split(":")
            return getattr(importlib.import_module(fallback_module), fallback_attr)
        raise ImportError(f"{where} comes from {module}, which cannot be imported here ({e}); install the "
                          "package that provides it, as real Dassl requires", name=path) from e


class _ReexportModule(types.ModuleType):
    """A Dassl module path whose names are the engine module's objects (private ones on first use), and the
    names real Dassl's module imports, resolved on first use (`dassl_names`)."""

    def __init__(self, name: str, target: types.ModuleType):
        super().__init__(name, target.__doc__)
        self.__dict__["_target"] = target
        for key, value in vars(target).items():
            if not key.startswith("_") and not isinstance(value, types.ModuleType):
                self.__dict__[key] = value
        listed = dassl_names().get(name, {})
        if "__all__" in listed:
            self.__dict__["__all__"] = list(listed["__all__"])

    def __getattr__(self, key: str):
        submodule = f"{self.__name__}.{key}"
        if submodule in DASSL_MODULES:  # `dassl.modeling.backbone` is the re-export, not the engine module
            return importlib.import_module(submodule)
        value = getattr(self.__dict__["_target"], key, _MISSING)
        if value is not _MISSING and not isinstance(value, types.ModuleType):
            return value
        origin = dassl_names().get(self.__name__, {}).get("names", {}).get(key)
        if origin is None:
            raise AttributeError(f"module {self.__name__!r} has no attribute {key!r}")
        value = resolve_origin(self.__name__, key, origin)
        self.__dict__[key] = value
        return value

    def __dir__(self) -> list[str]:
        return sorted(set(self.__dict__) | set(dassl_names().get(self.__name__, {}).get("names", {})))


class _Loader(importlib.abc.Loader):
    def create_module(self, spec):
        target = importlib.import_module(f"{_ENGINE}.{DASSL_MODULES[spec.name]}")
        return _ReexportModule(spec.name, target)

    def exec_module(self, module):
        pass


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if not fullname.startswith("dassl."):
            return None
        if fullname not in DASSL_MODULES:
            raise ModuleNotFoundError(f"No module named {fullname!r}: {NOT_PROVIDED}", name=fullname)
        is_package = any(name.startswith(fullname + ".") for name in DASSL_MODULES)
        return importlib.machinery.ModuleSpec(fullname, _Loader(), is_package=is_package)


def other_dassl(exclude: str = SITE_DIR) -> str | None:
    """Where `import dassl` would find a Dassl other than this one on the current `sys.path`, if anywhere."""
    excluded = os.path.realpath(exclude)
    entries = [p for p in sys.path if os.path.realpath(p or os.getcwd()) != excluded]
    spec = importlib.machinery.PathFinder.find_spec("dassl", entries)
    if spec is None:
        return None
    return os.path.dirname(spec.origin) if spec.origin else next(iter(spec.submodule_search_locations or []), None)


def shadow_notice(real: str) -> str:
    return (
        f"clipfit: `dassl` is clipfit's built-in engine ({SITE_DIR} is on the path), not the Dassl at {real}; "
        f"take {SITE_DIR} off PYTHONPATH (or run without `clipfit with-dassl`) to use that one"
    )


def install(package: types.ModuleType) -> None:
    """Make `package` (the `dassl` module of `site/`) the front of the engine; say so if it shadows a Dassl."""
    package.__version__ = DASSL_VERSION
    setattr(package, SERVED_MARK, True)  # what clipfit.errors.real_dassl_advice reads, without importing the shim
    package.__path__ = []  # submodules come from the finder only
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
    from ..engine.data.base_dataset import Datum

    # pickle names a class by `__module__`: caches that third-party datasets pickle themselves then name
    # Dassl's Datum, which real Dassl reads without clipfit (and datum_pickle reads both paths).
    Datum.__module__ = DATUM_MODULE
    importlib.import_module(DATUM_MODULE)
    real = other_dassl()
    if real is not None:
        print(shadow_notice(real), file=sys.stderr)
