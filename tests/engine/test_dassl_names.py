"""Every name real Dassl 0.6.3 has at a `dassl.*` path the shim serves is there under `clipfit with-dassl`:
the list is clipfit/dassl_shim/dassl_names.json, written from Dassl's sources by tools/dassl_names.py."""
import json
import os
import subprocess
import sys
import textwrap

import pytest

from clipfit.dassl_shim import DASSL_MODULES, NAMES_FILE, SITE_DIR
from clipfit.engine.modeling.backbone import DASSL_ONLY_BACKBONES

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# For every listed name: "engine" (the engine's object), "outside" (the object of the package Dassl imports it
# from), "fallback" (that package is not installed here: the engine's stand-in), "refused: <message>".
PROBE = textwrap.dedent("""\
    import importlib, json, sys
    from clipfit.dassl_shim import DASSL_MODULES, FALLBACKS, NotServed, dassl_names
    out = {}
    for path, entry in dassl_names().items():
        module = importlib.import_module(path)
        for name, origin in entry["names"].items():
            source, attr = origin.split(":")
            try:
                value = getattr(module, name)
            except NotServed as e:
                out[f"{path}:{name}"] = "refused: " + str(e)
                continue
            except ImportError as e:
                out[f"{path}:{name}"] = "missing package: " + str(e)
                continue
            if source.startswith("dassl"):
                engine = importlib.import_module("clipfit.engine." + DASSL_MODULES[source])
                out[f"{path}:{name}"] = "engine" if value is getattr(engine, attr) else "other object"
            else:
                try:
                    outside = getattr(importlib.import_module(source), attr)
                    out[f"{path}:{name}"] = "outside" if value is outside else "other object"
                except ImportError:
                    fallback = FALLBACKS[origin].split(":")
                    same = value is getattr(importlib.import_module(fallback[0]), fallback[1])
                    out[f"{path}:{name}"] = "fallback" if same else "other object"
    json.dump(out, sys.stdout)
    """)


@pytest.fixture(scope="module")
def served():
    proc = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join([SITE_DIR, REPO])})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def listing() -> dict:
    with open(NAMES_FILE, encoding="utf-8") as f:
        return json.load(f)


def test_the_list_covers_every_served_path_of_dassl_0_6_3():
    names = listing()
    assert names["dassl_version"] == "0.6.3"
    assert set(names["modules"]) == set(DASSL_MODULES)  # a new path needs tools/dassl_names.py run again
    trainer = names["modules"]["dassl.engine.trainer"]["names"]
    assert {"MetricMeter", "AverageMeter", "SummaryWriter", "build_backbone", "build_head", "load_checkpoint",
            "save_checkpoint", "resume_from_checkpoint", "tolist_if_not", "OrderedDict", "tqdm"} <= set(trainer)
    assert trainer["OrderedDict"] == "collections:OrderedDict"
    assert trainer["MetricMeter"] == "dassl.utils.meters:MetricMeter"
    assert names["modules"]["dassl.config"]["names"]["cfg_default"] == "dassl.config.defaults:_C"


def test_every_listed_name_is_served_or_refused_as_part_of_a_dassl_zoo(served):
    expected_total = sum(len(m["names"]) for m in listing()["modules"].values())
    assert len(served) == expected_total > 350
    wrong = {}
    for key, outcome in served.items():
        path, name = key.split(":")
        origin = listing()["modules"][path]["names"][name].split(":")[0]
        if outcome.startswith("refused: "):
            # Only what lives in the zoos the engine leaves out (trainers, datasets, backbones, ops).
            ok = (origin not in DASSL_MODULES or name in DASSL_ONLY_BACKBONES) and "install Dassl.pytorch" in outcome
        elif outcome.startswith("missing package: "):
            ok = "sklearn" in outcome and "install the package that provides it" in outcome
        else:
            ok = outcome in ("engine", "outside", "fallback")
        if not ok:
            wrong[key] = outcome
    assert wrong == {}
    assert served["dassl.engine.trainer:MetricMeter"] == "engine"
    assert served["dassl.engine.trainer:OrderedDict"] == "outside"
    assert served["dassl.data.transforms.transforms:RandAugment"] == "engine"
    assert served["dassl.engine:ADDA"].startswith("refused: `ADDA` of dassl.engine (Dassl's dassl.engine.da.adda.ADDA) "
                                                  "is not served: clipfit's built-in engine serves `dassl` here")


def test_summary_writer_without_tensorboard_is_a_writer_that_writes_nothing(served, tmp_path, capsys):
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        assert served["dassl.engine.trainer:SummaryWriter"] == "fallback"
    from clipfit.engine import summary_writer

    summary_writer._noted = False
    writer = summary_writer.NoOpSummaryWriter(log_dir=str(tmp_path))
    writer.add_scalar("train/loss", 1.0, 3)
    writer.add_histogram("w", [1, 2], global_step=1)
    with writer as same:
        same.flush()
    writer.close()
    summary_writer.NoOpSummaryWriter(str(tmp_path))
    assert capsys.readouterr().out == (f"Note: tensorboard is not installed, so SummaryWriter(log_dir={tmp_path}) "
                                       "writes no event files (pip install tensorboard to get them)\n")
    assert os.listdir(tmp_path) == []


def test_the_tool_lists_names_from_dassl_like_sources(tmp_path):
    """tools/dassl_names.py on a miniature Dassl: definitions, re-exports, `import *` with and without `__all__`,
    aliases, outside names and modules."""
    root = tmp_path / "Dassl"
    files = {
        "dassl/__init__.py": '__version__ = "9.9"\n',
        "dassl/utils/__init__.py": "from .tools import *\nfrom .meters import *\n",
        "dassl/utils/tools.py": "import os\n__all__ = ['mkdir']\ndef mkdir(p):\n    pass\ndef hidden():\n    pass\n",
        "dassl/utils/meters.py": "from collections import defaultdict\nclass Meter:\n    pass\n_private = 1\n",
        "dassl/engine/__init__.py": "from .trainer import Trainer\n",
        "dassl/engine/trainer.py": ("import torch.nn as nn\nfrom torch import nn as nn2\nfrom collections import "
                                    "OrderedDict\nfrom dassl.utils import Meter, mkdir as make_dir\n"
                                    "from dassl import utils\nclass Trainer:\n    pass\nA, B = 1, 2\n"),
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    sys.path.insert(0, os.path.join(REPO, "tools"))
    try:
        import dassl_names
    finally:
        sys.path.remove(os.path.join(REPO, "tools"))
    built = dassl_names.build(str(root), ["dassl.utils", "dassl.engine.trainer", "dassl.utils.tools"], "abc1234")
    assert built["dassl_version"] == "9.9" and built["dassl_commit"] == "abc1234"
    assert built["modules"]["dassl.utils"] == {"names": {"Meter": "dassl.utils.meters:Meter",
                                                         "defaultdict": "collections:defaultdict",
                                                         "mkdir": "dassl.utils.tools:mkdir"}}
    assert built["modules"]["dassl.utils.tools"] == {"names": {"hidden": "dassl.utils.tools:hidden",
                                                               "mkdir": "dassl.utils.tools:mkdir"},
                                                     "__all__": ["mkdir"]}
    assert built["modules"]["dassl.engine.trainer"] == {"names": {
        "A": "dassl.engine.trainer:A", "B": "dassl.engine.trainer:B", "Meter": "dassl.utils.meters:Meter",
        "OrderedDict": "collections:OrderedDict", "Trainer": "dassl.engine.trainer:Trainer",
        "make_dir": "dassl.utils.tools:mkdir"}}
